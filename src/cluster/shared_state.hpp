// State the nodes of a cluster share, kept in Redis with TTLs: WebSocket
// tickets (issued on one node, redeemed on another), presence heartbeats and
// rate-limit counters. Every call is bounded by a timeout and reports
// failure rather than blocking on a Redis that is gone; callers fall back to
// what their own node knows.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace parley::cluster {

class SharedState {
 public:
  virtual ~SharedState() = default;

  // Blocking (handler threads only). False when Redis did not store it.
  virtual bool put(const std::string& key, const std::string& value, std::int64_t ttl_ms) = 0;
  // Never blocks: removes key and passes its value to done on the broker
  // thread; nullopt when absent or when Redis is unavailable or slow.
  virtual void take(const std::string& key,
                    std::function<void(std::optional<std::string>)> done) = 0;

  // GCRA, atomically in Redis (a Lua script on the server's clock). Blocking.
  // op: "acquire" takes one event, "peek" takes none, "reset" forgets key.
  // Seconds to wait (0: allowed); nullopt when Redis is unavailable.
  virtual std::optional<double> limit(const std::string& op, const std::string& key,
                                      double rate_per_second, double burst) = 0;

  // Presence: this node holds `connections` > 0 for each user listed, for
  // ttl_ms (refreshed by heartbeats); users it no longer holds are dropped.
  // Fire and forget.
  virtual void heartbeat(const std::vector<std::int64_t>& online_users,
                         const std::vector<std::int64_t>& gone_users, std::int64_t ttl_ms,
                         std::int64_t now_ms) = 0;
  // Blocking. Whether any node holds the user, and when it was last seen
  // (ms; 0 unknown); nullopt when Redis is unavailable.
  struct Presence {
    bool online = false;
    std::int64_t last_seen = 0;
  };
  virtual std::optional<Presence> presence(std::int64_t user_id, std::int64_t now_ms) = 0;
};

}  // namespace parley::cluster
