// Wall-clock time in UTC, as the store and tokens carry it.
#pragma once

#include <chrono>
#include <cstdint>

namespace parley {

inline std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
inline std::int64_t now_s() { return now_ms() / 1000; }
inline double now_seconds_f() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace parley
