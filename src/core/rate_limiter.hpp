// Keyed rate limiter using GCRA (the generic cell rate algorithm): each key
// allows `burst` events at once, refilled at `rate` events per second. Memory
// is bounded: at most max_keys keys are tracked; when full, keys whose state
// has fully refilled are dropped first, then the oldest.
//
// Threading: any thread; guarded by mu_. Not for per-frame hot paths.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace parley {

class RateLimiter {
 public:
  RateLimiter(double rate_per_second, double burst, std::size_t max_keys);

  // Takes one event for key at time now (seconds). Returns 0 when allowed,
  // otherwise the seconds until one would be (nothing is taken).
  double acquire(std::string_view key, double now);
  // Like acquire but takes nothing.
  double peek(std::string_view key, double now) const;
  // Forgets key (e.g. after a successful login).
  void reset(std::string_view key);
  std::size_t size() const;

 private:
  void evict(double now);

  double interval_;   // seconds per event
  double tolerance_;  // interval * (burst - 1)
  std::size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, double> tat_;  // theoretical arrival time per key
};

}  // namespace parley
