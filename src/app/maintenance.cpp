#include "app/maintenance.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

#include "app/config.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "store/database.hpp"

namespace parley::app {

namespace {

constexpr auto kInterval = std::chrono::hours(1);
// Rows deleted per write job: short jobs keep message writes flowing.
constexpr int kBatch = 5000;
// Refresh tokens are kept a while past expiry, so that one presented late is
// still recognised (and a rotated one still counts as reuse).
constexpr std::int64_t kExpiredTokenGraceMs = 7LL * 24 * 3600 * 1000;

}  // namespace

Maintenance::Maintenance(const Config& cfg, store::Database& db, metrics::Registry& m)
    : db_(db),
      audit_retention_ms_(cfg.audit.retention_days * 24 * 3600 * 1000),
      message_retention_ms_(cfg.messages.retention_days * 24 * 3600 * 1000),
      purged_audit_(&m.counter("parley_purged_rows_total", "Rows deleted by housekeeping",
                               {{"table", "audit_events"}})),
      purged_tokens_(&m.counter("parley_purged_rows_total", "Rows deleted by housekeeping",
                                {{"table", "refresh_tokens"}})),
      erased_messages_(&m.counter("parley_messages_erased_by_retention_total",
                                  "Message bodies erased for being older than "
                                  "messages.retention_days")),
      failures_(&m.counter("parley_maintenance_failures_total",
                           "Housekeeping passes that failed (retried at the next one)")) {}

void Maintenance::start() {
  thread_.start(std::chrono::duration_cast<std::chrono::milliseconds>(kInterval),
                [this] { run_once(); });
}

void Maintenance::run_once() {
  try {
    std::int64_t now = now_ms();
    // One write job per batch until a batch comes back short; returns the total.
    auto until_done = [this](auto job) {
      std::int64_t total = 0, n = 0;
      do {
        n = db_.write(job);
        total += n;
      } while (n == kBatch);
      return total;
    };
    std::int64_t audit = until_done([&](store::Store& s) {
      return s.delete_audit_events_before(now - audit_retention_ms_, kBatch);
    });
    std::int64_t tokens = until_done([&](store::Store& s) {
      return s.delete_refresh_tokens_expired_before(now - kExpiredTokenGraceMs, kBatch);
    });
    std::int64_t messages = 0;
    if (message_retention_ms_ > 0) {
      Id before = first_id_at(now - message_retention_ms_);
      messages = until_done(
          [&](store::Store& s) { return s.tombstone_messages_before(before, now, kBatch); });
    }
    erased_messages_->inc(static_cast<std::uint64_t>(messages));
    purged_audit_->inc(static_cast<std::uint64_t>(audit));
    purged_tokens_->inc(static_cast<std::uint64_t>(tokens));
    if (audit || tokens || messages) {
      log::info("housekeeping", {{"audit_events_deleted", audit},
                                 {"refresh_tokens_deleted", tokens},
                                 {"messages_erased", messages}});
    }
  } catch (const std::exception& e) {
    failures_->inc();
    log::warn("housekeeping_failed", {{"error", e.what()}});
  }
}

SearchIndexer::SearchIndexer(const Config& cfg, store::Database& db, metrics::Registry& m)
    : db_(db),
      interval_ms_(cfg.search.index_interval_ms),
      batch_(static_cast<int>(cfg.search.index_batch)),
      max_backlog_(cfg.search.max_backlog),
      busy_sends_per_s_(cfg.search.busy_sends_per_s),
      sends_(&m.counter("parley_messages_total", "Messages committed to the store")),
      indexed_(&m.counter("parley_search_indexed_total", "Messages added to the search indexes")),
      backlog_(&m.gauge("parley_search_backlog", "Messages sent but not yet searchable")),
      failures_(&m.counter("parley_search_index_failures_total",
                           "Indexing passes that failed (retried at the next one)")) {}

void SearchIndexer::start() {
  if (db_.postgres()) return;
  thread_.start(std::chrono::milliseconds(interval_ms_), [this] {
    try {
      run_once();
    } catch (const std::exception& e) {
      failures_->inc();
      log::warn("search_index_failed", {{"error", e.what()}});
    }
  });
}

std::int64_t SearchIndexer::run_once() {
  std::int64_t total = 0;
  auto backlog = db_.read([](store::Store& s) { return s.search_backlog(); });
  // The send rate since the last pass.
  auto now = now_ms();
  auto sends = sends_->value();
  bool busy =
      last_at_ && now > last_at_ &&
      static_cast<std::int64_t>((sends - last_sends_) * 1000 /
                                static_cast<std::uint64_t>(now - last_at_)) > busy_sends_per_s_;
  last_at_ = now;
  last_sends_ = sends;
  if (busy && backlog <= max_backlog_) {
    backlog_->set(static_cast<double>(backlog));
    return 0;
  }
  for (;;) {
    auto n = db_.write([this](store::Store& s) { return s.index_pending(batch_); });
    total += n;
    indexed_->inc(static_cast<std::uint64_t>(n));
    if (n < batch_) break;
  }
  backlog_->set(static_cast<double>(std::max<std::int64_t>(0, backlog - total)));
  return total;
}

}  // namespace parley::app
