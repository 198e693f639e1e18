// Reads this process's resource use from /proc (Linux), and adjusts it.
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
  std::uint64_t heap_in_use_bytes = 0;  // allocated and not yet freed (glibc malloc)
};

ProcessStats read_process_stats();

// Raises the soft limit on open files towards `wanted` (at most the hard
// limit). Returns the soft limit in force afterwards.
std::uint64_t raise_open_file_limit(std::uint64_t wanted);

// Hands heap pages freed since the last call back to the kernel (glibc keeps
// them otherwise), so memory returns after many connections close.
void release_free_memory();

}  // namespace parley
