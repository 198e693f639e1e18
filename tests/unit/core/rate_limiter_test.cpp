#include "core/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(RateLimiter, AllowsBurstThenRefillsAtRate) {
  RateLimiter rl(1.0, 3, 100);  // 1 per second, burst 3
  EXPECT_EQ(rl.acquire("k", 100.0), 0);
  EXPECT_EQ(rl.acquire("k", 100.0), 0);
  EXPECT_EQ(rl.acquire("k", 100.0), 0);
  double wait = rl.acquire("k", 100.0);
  EXPECT_NEAR(wait, 1.0, 1e-9);
  EXPECT_GT(rl.acquire("k", 100.5), 0);
  EXPECT_EQ(rl.acquire("k", 101.0), 0);
}

TEST(RateLimiter, KeysAreIndependentAndResettable) {
  RateLimiter rl(0.1, 1, 100);
  EXPECT_EQ(rl.acquire("a", 0), 0);
  EXPECT_GT(rl.acquire("a", 0), 0);
  EXPECT_EQ(rl.acquire("b", 0), 0);
  rl.reset("a");
  EXPECT_EQ(rl.acquire("a", 0), 0);
}

TEST(RateLimiter, PeekTakesNothing) {
  RateLimiter rl(1, 1, 100);
  EXPECT_EQ(rl.peek("a", 0), 0);
  EXPECT_EQ(rl.peek("a", 0), 0);
  EXPECT_EQ(rl.acquire("a", 0), 0);
  EXPECT_GT(rl.peek("a", 0), 0);
}

TEST(RateLimiter, MemoryIsBoundedByMaxKeys) {
  RateLimiter rl(1, 5, 50);
  for (int i = 0; i < 10000; ++i) rl.acquire("key" + std::to_string(i), 0);
  EXPECT_LE(rl.size(), 50U);
}

}  // namespace
}  // namespace parley
