#include "store/sqlite/sqlite_backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <vector>

#include "core/error.hpp"

namespace parley::store {

namespace {

namespace fs = std::filesystem;

struct Closer {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, Closer>;

Db open_read_only(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    fail(Errc::unavailable,
         "cannot open " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, 10000);
  return db;
}

// Runs sql (with an optional text parameter) and returns the first column of
// its first row as text ("" when there is none).
std::string first_text(sqlite3* db, const char* sql, const std::string* param = nullptr) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    fail(Errc::internal, std::string(sql) + ": " + sqlite3_errmsg(db));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  if (param) sqlite3_bind_text(raw, 1, param->c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(raw);
  if (rc == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(raw, 0);
    return text ? reinterpret_cast<const char*>(text) : "";
  }
  if (rc != SQLITE_DONE) {
    int primary = rc & 0xFF;
    fail(primary == SQLITE_FULL ? Errc::unavailable : Errc::internal,
         std::string(sql) + ": " + sqlite3_errmsg(db));
  }
  return "";
}

std::string utc_stamp() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  return stamp;
}

void fsync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    fail(Errc::unavailable, "cannot fsync " + path.string() + ": " + std::strerror(err));
  }
  ::close(fd);
}

// The database file and the files SQLite keeps beside it.
constexpr const char* kCompanions[] = {"", "-wal", "-shm", "-journal"};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

BackupReport verify_sqlite_backup(const std::string& path) {
  auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(Errc::not_found, "no backup file at " + path);
  Db db = open_read_only(path);
  std::string integrity = first_text(db.get(), "PRAGMA integrity_check");
  if (integrity != "ok") fail(Errc::internal, "integrity check of " + path + ": " + integrity);
  if (first_text(db.get(),
                 "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                 "('schema_migrations', 'messages', 'users', 'conversations')") != "4") {
    fail(Errc::bad_request, path + " is not a Parley database");
  }
  BackupReport r;
  r.path = path;
  r.bytes = fs::file_size(path, ec);
  r.schema_version = std::stoll(
      "0" + first_text(db.get(), "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  r.messages = std::stoll("0" + first_text(db.get(), "SELECT count(*) FROM messages"));
  r.seconds = seconds_since(t0);
  return r;
}

BackupReport backup_sqlite(const std::string& from, const std::string& to) {
  auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  if (fs::exists(to, ec)) fail(Errc::conflict, to + " already exists; backups never overwrite");
  if (!fs::is_regular_file(from, ec)) fail(Errc::not_found, "no database at " + from);
  try {
    Db db = open_read_only(from);
    first_text(db.get(), "VACUUM INTO ?1", &to);
    db.reset();
    BackupReport r = verify_sqlite_backup(to);
    r.seconds = seconds_since(t0);
    return r;
  } catch (...) {
    fs::remove(to, ec);  // never leave a copy that did not verify
    throw;
  }
}

BackupReport rotate_sqlite_backup(const std::string& from, const std::string& dir, int keep) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(Errc::unavailable, "cannot create backup directory " + dir + ": " + ec.message());
  std::string stamp = utc_stamp();
  // Written under a temporary name and renamed once verified: a backup that
  // has the final name is complete.
  fs::path final_path = fs::path(dir) / ("parley-" + stamp + ".db");
  fs::path tmp = final_path;
  tmp += ".tmp";
  fs::remove(tmp, ec);
  BackupReport r = backup_sqlite(from, tmp.string());
  fs::rename(tmp, final_path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail(Errc::unavailable, "cannot rename backup into place: " + ec.message());
  }
  r.path = final_path.string();
  // Retention: the newest `keep` of ours (names sort by time), nothing else touched.
  std::vector<fs::path> ours;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name.starts_with("parley-") && name.ends_with(".db") && e.is_regular_file()) {
      ours.push_back(e.path());
    }
  }
  std::sort(ours.begin(), ours.end());
  for (std::size_t i = 0; i + static_cast<std::size_t>(std::max(keep, 1)) < ours.size(); ++i) {
    fs::remove(ours[i], ec);
  }
  return r;
}

RestoreReport restore_sqlite(const std::string& from, const std::string& db_path,
                             std::int64_t latest_schema_version) {
  auto t0 = std::chrono::steady_clock::now();
  BackupReport checked = verify_sqlite_backup(from);
  if (checked.schema_version > latest_schema_version) {
    fail(Errc::bad_request, from + " has schema version " + std::to_string(checked.schema_version) +
                                ", newer than this binary's " +
                                std::to_string(latest_schema_version) +
                                "; restore it with the parley that wrote it");
  }
  fs::path db(db_path);
  std::error_code ec;
  fs::create_directories(db.parent_path(), ec);
  fs::path staged = db;
  staged += ".restoring";
  fs::remove(staged, ec);
  if (!fs::copy_file(from, staged, ec)) {
    fail(Errc::unavailable, "cannot copy " + from + " to " + staged.string() + ": " + ec.message());
  }
  try {
    fsync_path(staged, O_RDONLY);
  } catch (...) {
    fs::remove(staged, ec);
    throw;
  }

  RestoreReport r;
  r.database = db.string();
  fs::path aside = db;
  aside += ".before-restore-" + utc_stamp();
  std::vector<std::pair<fs::path, fs::path>> moved;
  auto undo = [&] {
    std::error_code ignored;
    for (auto it = moved.rbegin(); it != moved.rend(); ++it)
      fs::rename(it->second, it->first, ignored);
    fs::remove(staged, ignored);
  };
  if (fs::exists(db, ec)) {
    if (fs::exists(aside, ec)) {
      fs::remove(staged, ec);
      fail(Errc::conflict, aside.string() + " already exists; try again in a second");
    }
    for (const char* suffix : kCompanions) {
      fs::path file = db.string() + suffix;
      if (!fs::exists(file, ec)) continue;
      fs::path to = aside.string() + suffix;
      fs::rename(file, to, ec);
      if (ec) {
        undo();
        fail(Errc::unavailable, "cannot move " + file.string() + " aside: " + ec.message());
      }
      moved.emplace_back(file, to);
    }
    r.previous = aside.string();
  } else {
    for (const char* suffix : kCompanions) fs::remove(db.string() + suffix, ec);  // strays
  }
  fs::rename(staged, db, ec);
  if (ec) {
    undo();
    fail(Errc::unavailable, "cannot rename " + staged.string() + " into place: " + ec.message());
  }
  fsync_path(db.parent_path().empty() ? fs::path(".") : db.parent_path(), O_RDONLY | O_DIRECTORY);
  r.backup = verify_sqlite_backup(db.string());
  r.backup.path = from;
  r.backup.seconds = seconds_since(t0);
  return r;
}

}  // namespace parley::store
