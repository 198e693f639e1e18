#include "core/rate_limiter.hpp"

#include <algorithm>

namespace parley {

RateLimiter::RateLimiter(double rate_per_second, double burst, std::size_t max_keys)
    : interval_(1.0 / rate_per_second),
      tolerance_(interval_ * (std::max(burst, 1.0) - 1.0)),
      max_keys_(std::max<std::size_t>(max_keys, 1)) {}

double RateLimiter::peek(std::string_view key, double now) const {
  std::lock_guard lock(mu_);
  auto it = tat_.find(std::string(key));
  if (it == tat_.end()) return 0;
  double allow_at = it->second - tolerance_;
  return now >= allow_at ? 0 : allow_at - now;
}

double RateLimiter::acquire(std::string_view key, double now) {
  std::lock_guard lock(mu_);
  auto it = tat_.find(std::string(key));
  if (it == tat_.end()) {
    if (tat_.size() >= max_keys_) evict(now);
    tat_.emplace(std::string(key), now + interval_);
    return 0;
  }
  double tat = std::max(it->second, now);
  double allow_at = tat - tolerance_;
  if (now < allow_at) return allow_at - now;
  it->second = tat + interval_;
  return 0;
}

void RateLimiter::reset(std::string_view key) {
  std::lock_guard lock(mu_);
  tat_.erase(std::string(key));
}

std::size_t RateLimiter::size() const {
  std::lock_guard lock(mu_);
  return tat_.size();
}

void RateLimiter::evict(double now) {
  // Keys whose TAT has passed carry no state worth keeping.
  for (auto it = tat_.begin(); it != tat_.end();) {
    it = it->second <= now ? tat_.erase(it) : std::next(it);
  }
  if (tat_.size() < max_keys_) return;
  auto oldest = std::min_element(tat_.begin(), tat_.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
  tat_.erase(oldest);
}

}  // namespace parley
