#include "store/migrations.hpp"

#include <chrono>

#include "core/error.hpp"
#include "core/log.hpp"
#include "store/store.hpp"

namespace parley::store {

int apply_migrations(Store& store, const std::vector<Migration>& migrations) {
  std::int64_t current = store.schema_version();
  std::int64_t latest = latest_version(migrations);
  if (current > latest) {
    fail(Errc::internal, "database schema version " + std::to_string(current) +
                             " is newer than this binary supports (" + std::to_string(latest) +
                             "); refusing to run an older parley against it");
  }
  int applied = 0;
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    store.begin(true);
    try {
      store.exec_script(m.sql);
      store.record_migration(m.version, m.name, now);
      store.commit();
    } catch (const std::exception& e) {
      store.rollback();
      fail(Errc::internal, "migration " + std::string(m.name) + " failed: " + e.what());
    }
    log::info("migration_applied", {{"version", m.version}, {"name", m.name}});
    ++applied;
  }
  return applied;
}

}  // namespace parley::store
