#include "store/migrations.hpp"

#include <chrono>

#include "core/error.hpp"
#include "core/log.hpp"
#include "store/store.hpp"

namespace parley::store {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The schema version, read under the schema lock inside the current write
// transaction (creating the bookkeeping table on first use).
std::int64_t locked_version(Store& store) {
  store.lock_schema();
  return store.schema_version();
}

}  // namespace

int apply_migrations(Store& store, const std::vector<Migration>& migrations) {
  std::int64_t latest = latest_version(migrations);
  store.begin(true);
  std::int64_t current = 0;
  try {
    current = locked_version(store);
    store.commit();
  } catch (...) {
    store.rollback();
    throw;
  }
  if (current > latest) {
    fail(Errc::internal, "database schema version " + std::to_string(current) +
                             " is newer than this binary supports (" + std::to_string(latest) +
                             "); refusing to run an older parley against it");
  }
  int applied = 0;
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    store.begin(true);
    try {
      // Another node may have applied it since we looked.
      if (locked_version(store) >= m.version) {
        store.commit();
        continue;
      }
      store.exec_script(m.sql);
      store.record_migration(m.version, m.name, now_ms());
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
