#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "core/log.hpp"

namespace parley::store {

// One cached sqlite3 statement; reset() puts it back for the next use.
class SqliteStore::SqliteCursor final : public Cursor {
 public:
  SqliteCursor(SqliteStore& owner, sqlite3_stmt* s) : owner_(owner), s_(s) {}
  ~SqliteCursor() override { sqlite3_finalize(s_); }
  SqliteCursor(const SqliteCursor&) = delete;
  SqliteCursor& operator=(const SqliteCursor&) = delete;

  void bind(int i, std::int64_t v) override { check(sqlite3_bind_int64(s_, i, v)); }
  void bind(int i, std::string_view v) override {
    check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  void bind_null(int i) override { check(sqlite3_bind_null(s_, i)); }
  void bind_blob(int i, std::string_view v) override {
    check(sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT));
  }
  bool step() override {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    owner_.raise(rc, sqlite3_sql(s_));
  }
  std::int64_t i64(int col) const override { return sqlite3_column_int64(s_, col); }
  bool is_null(int col) const override { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string text(int col) const override {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  std::string blob(int col) const override {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  void reset() override {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) owner_.raise(rc, "bind");
  }
  SqliteStore& owner_;
  sqlite3_stmt* s_;
};

namespace {
// Once per process, before SQLite initialises: no global memory statistics,
// which otherwise take a process-wide mutex on every allocation.
void configure_sqlite_once() {
  static const int kDone = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return 0;
  }();
  (void)kDone;
}
}  // namespace

// Checkpoints the WAL on its own thread and connection when told the WAL
// has grown past the threshold; PASSIVE, so it never blocks the writer.
class SqliteStore::Checkpointer {
 public:
  explicit Checkpointer(const std::string& path) {
    int rc =
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      fail(Errc::unavailable, "cannot open database " + path + " for checkpoints: " + msg);
    }
    sqlite3_wal_autocheckpoint(db_, 0);
    thread_ = std::thread([this] { run(); });
  }
  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
    sqlite3_close(db_);
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  void request() {
    {
      std::lock_guard lock(mu_);
      wanted_ = true;
    }
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return wanted_ || stopping_; });
      if (stopping_) return;
      wanted_ = false;
      lock.unlock();
      // A connection learns that the file is in WAL mode only when it reads
      // it (the file was empty when this one opened); this also checks it.
      int rc = sqlite3_exec(db_, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) {
        rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        log::warn("sqlite_checkpoint_failed", {{"code", rc}, {"message", sqlite3_errmsg(db_)}});
      }
      lock.lock();
    }
  }

  sqlite3* db_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

int SqliteStore::on_wal_commit(void* self, sqlite3* db, const char* name, int pages) {
  if (pages >= 4 * kCheckpointPages) {
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= kCheckpointPages) {
    static_cast<SqliteStore*>(self)->checkpointer_->request();
  }
  return SQLITE_OK;
}

SqliteStore::SqliteStore(const SqliteOptions& options) {
  configure_sqlite_once();
  std::filesystem::path path(options.path);
  if (!options.read_only && path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  int flags =
      SQLITE_OPEN_NOMUTEX |
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(options.path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    fail(Errc::unavailable, "cannot open database " + options.path + ": " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  if (!options.read_only) {
    exec("PRAGMA journal_mode = WAL");
  }
  exec(options.synchronous == "normal" ? "PRAGMA synchronous = NORMAL"
                                       : "PRAGMA synchronous = FULL");
  exec("PRAGMA foreign_keys = ON");
  exec("PRAGMA temp_store = MEMORY");
  if (options.background_checkpoint && !options.read_only) {
    checkpointer_ = std::make_unique<Checkpointer>(options.path);
    sqlite3_wal_hook(db_, &SqliteStore::on_wal_commit, this);  // replaces auto-checkpoint
  }
}

SqliteStore::~SqliteStore() {
  cache_.clear();         // finalizes every statement before the connection closes
  checkpointer_.reset();  // its connection closes first: the last one checkpoints
  if (db_) sqlite3_close(db_);
}

void SqliteStore::raise(int rc, const char* what) {
  std::string msg = sqlite3_errmsg(db_);
  int primary = rc & 0xFF;
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    fail(Errc::conflict, "already exists (" + msg + ")");
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    fail(Errc::unavailable, "database is busy; try again");
  }
  if (primary == SQLITE_FULL) fail(Errc::unavailable, "database disk is full");
  if (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY) {
    log::error("store_io_error", {{"code", rc}, {"message", msg}});
    fail(Errc::unavailable, "database is unavailable");
  }
  log::error("store_error", {{"code", rc}, {"message", msg}, {"sql", what ? what : ""}});
  fail(Errc::internal, "store error");
}

void SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) raise(rc, sql);
}

SqlStore::Cursor& SqliteStore::cursor(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) raise(rc, sql);
    it = cache_.emplace(sql, std::make_unique<SqliteCursor>(*this, s)).first;
  }
  return *it->second;
}

// Transaction control runs once per write job in a group-commit batch:
// cached prepared statements, not sqlite3_exec, so SQLite parses them once.
void SqliteStore::begin(bool write) { prepare(write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED").run(); }
void SqliteStore::commit() { prepare("COMMIT").run(); }
void SqliteStore::rollback() {
  if (!sqlite3_get_autocommit(db_)) prepare("ROLLBACK").run();
}
void SqliteStore::savepoint() { prepare("SAVEPOINT job").run(); }
void SqliteStore::release() { prepare("RELEASE job").run(); }
void SqliteStore::rollback_to() { prepare("ROLLBACK TO job").run(); }
std::int64_t SqliteStore::total_changes() { return sqlite3_total_changes64(db_); }
bool SqliteStore::in_transaction() { return sqlite3_get_autocommit(db_) == 0; }

void SqliteStore::ping() { prepare("SELECT 1").run(); }

void SqliteStore::exec_script(std::string_view sql) { exec(std::string(sql).c_str()); }

std::int64_t SqliteStore::schema_version() {
  exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
      "NULL, applied_at INTEGER NOT NULL)");
  return recorded_version();
}

bool SqliteStore::integrity_ok() {
  auto s = prepare("PRAGMA integrity_check");
  return s.step() && s.text(0) == "ok";
}

}  // namespace parley::store
