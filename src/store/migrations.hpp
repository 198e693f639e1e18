// Numbered schema migrations, one list per dialect, embedded at build time
// from src/store/migrations/<dialect>/NNNN_name.sql.
#pragma once

#include <cstdint>
#include <vector>

namespace parley::store {

class Store;

struct Migration {
  std::int64_t version;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& sqlite_migrations();
const std::vector<Migration>& postgres_migrations();

// Applies every migration newer than the store's schema version, each in its
// own transaction. Returns how many ran. Throws Error if the database is newer
// than this binary knows (a downgrade) or a migration fails (nothing of that
// migration is kept).
int apply_migrations(Store& store, const std::vector<Migration>& migrations);

inline std::int64_t latest_version(const std::vector<Migration>& m) {
  return m.empty() ? 0 : m.back().version;
}

}  // namespace parley::store
