// Housekeeping the database needs to stay bounded: audit events older than
// audit.retention_days, and refresh tokens a week past their expiry, are
// deleted, and message bodies older than messages.retention_days (when set)
// are erased, at start and then hourly, in batches so no write holds the store's
// writer for long. Every node does it; the deletes are idempotent.
#pragma once

#include <cstdint>

#include "core/periodic.hpp"

namespace parley {
struct Config;
namespace metrics {
class Registry;
class Counter;
}  // namespace metrics
namespace store {
class Database;
}
}  // namespace parley

namespace parley::app {

class Maintenance {
 public:
  Maintenance(const Config& cfg, store::Database& db, metrics::Registry& m);
  ~Maintenance() { stop(); }
  void start();
  void stop() { thread_.stop(); }
  // One pass (what the thread runs); safe to call directly.
  void run_once();

 private:
  store::Database& db_;
  std::int64_t audit_retention_ms_;
  std::int64_t message_retention_ms_;  // 0: off
  metrics::Counter* purged_audit_;
  metrics::Counter* purged_tokens_;
  metrics::Counter* erased_messages_;
  metrics::Counter* failures_;
  PeriodicThread thread_;
};

}  // namespace parley::app
