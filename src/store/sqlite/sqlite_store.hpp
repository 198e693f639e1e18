// Store on SQLite 3: one sqlite3 connection, prepared statements cached per
// connection. WAL journal; synchronous=FULL by default so a committed
// transaction survives power loss and kill -9.
//
// Threading: one thread at a time (see store.hpp).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "store/sql_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace parley::store {

struct SqliteOptions {
  std::string path;
  std::string synchronous = "full";  // "full" | "normal"
  int busy_timeout_ms = 5000;
  bool read_only = false;
  // The writer's connection: WAL checkpoints run on a thread of their own
  // (its own connection, PASSIVE, from kCheckpointPages WAL pages on)
  // instead of inside the COMMIT that crossed the threshold; the writer
  // checkpoints itself only if the WAL reaches 4x that (the background one
  // held back, e.g. by a long read).
  bool background_checkpoint = false;
};

class SqliteStore final : public SqlStore {
 public:
  static constexpr int kCheckpointPages = 1000;  // SQLite's own auto-checkpoint default

  // Opens (creating the file and its directory if needed) and configures the
  // connection. Throws Error(unavailable) when the file cannot be opened.
  explicit SqliteStore(const SqliteOptions& options);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void begin(bool write) override;
  void commit() override;
  void rollback() override;
  void savepoint() override;
  void release() override;
  void rollback_to() override;
  std::int64_t total_changes() override;
  bool in_transaction() override;

  void ping() override;
  void exec_script(std::string_view sql) override;
  std::int64_t schema_version() override;

  void lock_schema() override {}  // BEGIN IMMEDIATE already serialises writers

  // PRAGMA integrity_check == "ok".
  bool integrity_ok();

 private:
  class SqliteCursor;
  Cursor& cursor(const char* sql) override;
  void exec(const char* sql);
  [[noreturn]] void raise(int rc, const char* what);

  class Checkpointer;
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);

  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, std::unique_ptr<SqliteCursor>> cache_;
  std::unique_ptr<Checkpointer> checkpointer_;
};

}  // namespace parley::store
