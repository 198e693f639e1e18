#include "core/process_stats.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <memory>
#include <vector>

namespace parley {
namespace {

TEST(ProcessStats, ReadsThisProcess) {
  ProcessStats s = read_process_stats();
  EXPECT_GT(s.rss_bytes, 0u);
  EXPECT_GT(s.open_fds, 2u);  // stdin, stdout, stderr at least
  EXPECT_GE(s.threads, 1u);
}

TEST(ProcessStats, HeapInUseFollowsAllocations) {
  // Skipped where another allocator answers (sanitizers replace malloc).
  if (read_process_stats().heap_in_use_bytes == 0) GTEST_SKIP() << "no glibc heap figures";
  auto before = read_process_stats().heap_in_use_bytes;
  std::vector<std::unique_ptr<char[]>> held;
  for (int i = 0; i < 64; ++i) held.push_back(std::make_unique<char[]>(64 * 1024));
  auto during = read_process_stats().heap_in_use_bytes;
  EXPECT_GE(during, before + 64 * 64 * 1024);
  held.clear();
  release_free_memory();
  EXPECT_LT(read_process_stats().heap_in_use_bytes, during - 60 * 64 * 1024);
}

TEST(ProcessStats, RaisesTheSoftOpenFileLimitWithinTheHardOne) {
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  rlimit lowered = rl;
  lowered.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  std::uint64_t want = rl.rlim_max == RLIM_INFINITY ? 4096 : std::min<rlim_t>(4096, rl.rlim_max);
  EXPECT_EQ(raise_open_file_limit(want), want);
  EXPECT_EQ(read_process_stats().max_fds, want);
  // Never past the hard limit, never lowered.
  if (rl.rlim_max != RLIM_INFINITY) EXPECT_EQ(raise_open_file_limit(rl.rlim_max + 1), rl.rlim_max);
  EXPECT_GE(raise_open_file_limit(16), want);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

}  // namespace
}  // namespace parley
