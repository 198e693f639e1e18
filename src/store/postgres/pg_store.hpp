// Store on PostgreSQL (15 and later) through libpq: one connection, named
// prepared statements cached per connection, text-format parameters.
//
// Durability: synchronous_commit is on unless configured off, so COMMIT
// returns only once the WAL is flushed. A lost connection is reopened at the
// next begin() or ping(), never in the middle of a transaction: a statement
// on a broken connection throws Error(unavailable).
//
// Threading: one thread at a time (see store.hpp).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "store/sql_store.hpp"

struct pg_conn;
struct pg_result;

namespace parley::store {

struct PostgresOptions {
  std::string url;     // postgres://user:password@host:port/database?...
  std::string schema;  // search_path for every session; empty keeps the server's
  bool synchronous_commit = true;
  int connect_timeout_ms = 5000;
  // A statement running longer is cancelled (0: never). With TCP keepalives
  // and tcp_user_timeout it bounds how long a hung server can hold a caller.
  int statement_timeout_ms = 30000;
  bool read_only = false;
};

class PgStore final : public SqlStore {
 public:
  // Connects; throws Error(unavailable) when the server cannot be reached.
  explicit PgStore(PostgresOptions options);
  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  void begin(bool write) override;
  void commit() override;
  void rollback() override;
  void savepoint() override;
  void release() override;
  void rollback_to() override;
  std::int64_t total_changes() override { return changes_; }
  bool in_transaction() override;

  void ping() override;
  void exec_script(std::string_view sql) override;
  std::int64_t schema_version() override;
  void lock_schema() override;
  // One statement for the whole run instead of round trips per message.
  void append_messages(std::span<Message* const> in, std::span<std::int64_t> out) override;
  // PostgreSQL's indexes follow the rows (0011_search.sql): nothing to queue.
  bool postgres_dialect() const override { return true; }
  void unindex_message(Id, std::string_view, bool) override {}
  std::int64_t index_pending(int) override { return 0; }
  std::int64_t search_backlog() override { return 0; }
  void append_collab_updates(std::span<const CollabAppend> in, std::int64_t now,
                             std::span<std::int64_t> out) override;

  // Rewrites ?N parameters as $N (outside quoted literals); how the shared
  // SQL of SqlStore reaches PostgreSQL. Sets *params to the highest N.
  static std::string dialect_sql(std::string_view sql, int* params);

 private:
  class PgCursor;
  Cursor& cursor(const char* sql) override;
  void connect();
  bool connected() const;
  void check_usable();
  // The first statement after a pause (BEGIN, a ping): (re)connects first, and
  // once more if the server turns out to have gone away meanwhile.
  void exec_first(const char* sql);
  // Runs a statement with no parameters; returns the command tag.
  std::string exec(const char* sql);
  // Throws the Error that describes a failed result (and clears it).
  [[noreturn]] void raise(pg_result* r, const char* what);

  PostgresOptions options_;
  pg_conn* conn_ = nullptr;
  std::int64_t changes_ = 0;
  int next_statement_ = 0;
  std::unordered_map<const char*, std::unique_ptr<PgCursor>> cache_;
};

}  // namespace parley::store
