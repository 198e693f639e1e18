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
class Gauge;
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

// Adds messages sent since the last pass to the search indexes (SQLite; a
// PostgreSQL store indexes as it writes), every search.index_interval_ms,
// search.index_batch per write job. Indexing yields to sends (each message
// indexed costs several times its send): a pass is skipped while messages
// arrive faster than search.busy_sends_per_s, unless more than
// search.max_backlog messages wait; so the index
// lags by about one interval at ordinary rates, and by at most
// search.max_backlog messages through a burst.
// parley_search_backlog says how many wait.
class SearchIndexer {
 public:
  SearchIndexer(const Config& cfg, store::Database& db, metrics::Registry& m);
  ~SearchIndexer() { stop(); }
  void start();
  void stop() { thread_.stop(); }
  // Indexes everything queued now; returns how many (tests, the thread).
  std::int64_t run_once();

 private:
  store::Database& db_;
  std::int64_t interval_ms_;
  int batch_;
  std::int64_t max_backlog_;
  std::int64_t busy_sends_per_s_;
  metrics::Counter* sends_;  // parley_messages_total
  std::uint64_t last_sends_ = 0;
  std::int64_t last_at_ = 0;
  metrics::Counter* indexed_;
  metrics::Gauge* backlog_;
  metrics::Counter* failures_;
  PeriodicThread thread_;
};

}  // namespace parley::app
