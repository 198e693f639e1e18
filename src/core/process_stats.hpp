// Reads this process's resource use from /proc (Linux).
#pragma once

#include <cstdint>

namespace parley {

struct ProcessStats {
  std::uint64_t rss_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  double cpu_seconds = 0;  // user + system
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  std::uint64_t threads = 0;
};

ProcessStats read_process_stats();

}  // namespace parley
