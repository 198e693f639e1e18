#include "core/process_stats.hpp"

#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace parley {

namespace {
double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}
}  // namespace

ProcessStats read_process_stats() {
  ProcessStats s;
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (std::getline(in, line)) {
    // Fields after the parenthesised command name, which may contain spaces.
    auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(line.substr(close + 2));
      std::string f[50];
      for (int i = 0; i < 50 && rest >> f[i]; ++i) {
      }
      // rest starts at field 3 (state): utime=14, stime=15, threads=20,
      // starttime=22, vsize=23, rss=24 (1-based over the whole line).
      s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(ticks);
      s.threads = std::stoull(f[17]);
      s.start_time_seconds = boot_time_seconds() + std::stod(f[19]) / static_cast<double>(ticks);
      s.virtual_bytes = std::stoull(f[20]);
      s.rss_bytes = std::stoull(f[21]) * static_cast<std::uint64_t>(page);
    }
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++s.open_fds;
    }
    closedir(d);
    if (s.open_fds > 0) --s.open_fds;  // the directory stream itself
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) s.max_fds = rl.rlim_cur;
  struct mallinfo2 mi = mallinfo2();  // summed over every arena
  s.heap_in_use_bytes = mi.uordblks + mi.hblkhd;
  return s;
}

std::uint64_t raise_open_file_limit(std::uint64_t wanted) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < wanted && rl.rlim_cur != RLIM_INFINITY) {
    rlim_t target = rl.rlim_max == RLIM_INFINITY ? wanted : std::min<rlim_t>(wanted, rl.rlim_max);
    if (target > rl.rlim_cur) {
      rl.rlim_cur = target;
      setrlimit(RLIMIT_NOFILE, &rl);
      getrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  return rl.rlim_cur;
}

void release_free_memory() { malloc_trim(0); }

}  // namespace parley
