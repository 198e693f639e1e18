#include "app/backups.hpp"

#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "store/migrations.hpp"
#include "store/sqlite/sqlite_backup.hpp"
#include "store/sqlite/sqlite_lock.hpp"

namespace parley::app {

namespace {

namespace bj = boost::json;

std::string report_json(const store::BackupReport& r) {
  return bj::serialize(bj::object{{"backup", r.path},
                                  {"bytes", r.bytes},
                                  {"schema_version", r.schema_version},
                                  {"messages", r.messages},
                                  {"integrity", "ok"},
                                  {"seconds", r.seconds}});
}

}  // namespace

int run_backup(const Config& cfg, const std::string& to, const std::string& verify) {
  if (cfg.uses_postgres()) {
    std::fprintf(stderr,
                 "parley: backup copies the SQLite database; back PostgreSQL up with its own "
                 "tools (pg_dump -Fc, or base backups with WAL archiving): README \"Backups\"\n");
    return 2;
  }
  try {
    auto r = verify.empty() ? store::backup_sqlite(cfg.sqlite_path(), to)
                            : store::verify_sqlite_backup(verify);
    std::printf("%s\n", report_json(r).c_str());
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "parley: backup failed: %s\n", e.what());
    return 1;
  }
}

int run_restore(const Config& cfg, const std::string& from) {
  if (cfg.uses_postgres()) {
    std::fprintf(stderr,
                 "parley: restore replaces the SQLite database; restore PostgreSQL with its own "
                 "tools (pg_restore, or a base backup with WAL replay): README \"Backups\"\n");
    return 2;
  }
  try {
    store::SqliteLock lock(cfg.sqlite_path());
    auto r = store::restore_sqlite(from, cfg.sqlite_path(),
                                   store::latest_version(store::sqlite_migrations()));
    bj::object out{{"restored", r.backup.path},
                   {"database", r.database},
                   {"previous", r.previous.empty() ? bj::value(nullptr) : bj::value(r.previous)},
                   {"schema_version", r.backup.schema_version},
                   {"messages", r.backup.messages},
                   {"integrity", "ok"},
                   {"seconds", r.backup.seconds}};
    std::printf("%s\n", bj::serialize(out).c_str());
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "parley: restore failed: %s\n", e.what());
    return 1;
  }
}

BackupScheduler::BackupScheduler(const Config& cfg, metrics::Registry& m)
    : db_path_(cfg.sqlite_path()),
      dir_(cfg.backup.dir),
      interval_s_(cfg.backup.interval_s),
      keep_(static_cast<int>(cfg.backup.keep)),
      ok_(&m.counter("parley_backups_total", "Scheduled backups taken", {{"outcome", "ok"}})),
      failed_(
          &m.counter("parley_backups_total", "Scheduled backups taken", {{"outcome", "failed"}})),
      last_success_(&m.gauge("parley_backup_last_success_timestamp_seconds",
                             "When the newest verified backup finished (Unix time; 0: none yet)")),
      last_bytes_(&m.gauge("parley_backup_last_bytes", "Size of the newest verified backup")),
      last_seconds_(&m.gauge("parley_backup_last_duration_seconds",
                             "Time the newest verified backup took to copy and verify")) {}

BackupScheduler::~BackupScheduler() { stop(); }

void BackupScheduler::start() {
  if (dir_.empty()) return;
  thread_.start(std::chrono::seconds(interval_s_), [this] { once(); });
}

void BackupScheduler::stop() { thread_.stop(); }

void BackupScheduler::once() {
  try {
    auto r = store::rotate_sqlite_backup(db_path_, dir_, keep_);
    ok_->inc();
    last_success_->set(
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    last_bytes_->set(static_cast<double>(r.bytes));
    last_seconds_->set(r.seconds);
    log::info("backup_done", {{"path", r.path},
                              {"bytes", r.bytes},
                              {"messages", r.messages},
                              {"schema_version", r.schema_version},
                              {"seconds", r.seconds}});
  } catch (const std::exception& e) {
    failed_->inc();
    log::error("backup_failed", {{"dir", dir_}, {"error", e.what()}});
  }
}

}  // namespace parley::app
