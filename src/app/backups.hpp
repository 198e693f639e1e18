// Backups of the embedded SQLite database: `parley backup` on demand, and a
// scheduler inside the server (backup.dir, backup.interval_s, backup.keep).
#pragma once

#include <string>

#include "app/config.hpp"
#include "core/periodic.hpp"

namespace parley::metrics {
class Registry;
class Counter;
class Gauge;
}  // namespace parley::metrics

namespace parley::app {

// `parley backup --to PATH` (copy and verify) or `--verify PATH` (check a
// copy). Prints one JSON line; returns the process exit code.
int run_backup(const Config& cfg, const std::string& to, const std::string& verify);

// `parley restore --from PATH`: with no server running on the database, puts
// a verified backup in its place and keeps the replaced one aside. Prints one
// JSON line; returns the process exit code.
int run_restore(const Config& cfg, const std::string& from);

// Takes a backup at start and then every interval on a thread of its own.
class BackupScheduler {
 public:
  BackupScheduler(const Config& cfg, metrics::Registry& m);
  ~BackupScheduler();
  void start();
  void stop();

 private:
  void once();

  std::string db_path_, dir_;
  std::int64_t interval_s_;
  int keep_;
  metrics::Counter* ok_;
  metrics::Counter* failed_;
  metrics::Gauge* last_success_;
  metrics::Gauge* last_bytes_;
  metrics::Gauge* last_seconds_;
  PeriodicThread thread_;
};

}  // namespace parley::app
