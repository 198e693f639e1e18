#include "core/ids.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>
#include <vector>

namespace parley {
namespace {

TEST(IdGenerator, IdsIncreaseAndAreUniqueAcrossThreads) {
  IdGenerator gen(7);
  std::vector<std::vector<Id>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&gen, &out] {
      for (int i = 0; i < 20000; ++i) out.push_back(gen.next());
    });
  }
  for (auto& t : threads) t.join();
  std::set<Id> all;
  for (const auto& out : per_thread) {
    for (std::size_t i = 1; i < out.size(); ++i) ASSERT_LT(out[i - 1], out[i]);
    all.insert(out.begin(), out.end());
  }
  EXPECT_EQ(all.size(), 80000U);
}

TEST(IdGenerator, CarriesNodeId) {
  IdGenerator a(1), b(2);
  EXPECT_EQ((a.next() >> 12) & 1023, 1);
  EXPECT_EQ((b.next() >> 12) & 1023, 2);
}

TEST(IdGenerator, FirstIdAtBoundsTheIdsMadeAroundThatTime) {
  using namespace std::chrono;
  auto ms = [] {
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  };
  IdGenerator gen(1023);  // the largest node id: still below the next millisecond's floor
  auto before = ms();
  Id id = gen.next();
  auto after = ms();
  EXPECT_GE(id, first_id_at(before));
  EXPECT_LT(id, first_id_at(after + 1));
  EXPECT_EQ(first_id_at(0), 0);  // before the id epoch
}

TEST(ParseId, AcceptsPositiveDecimalOnly) {
  EXPECT_EQ(parse_id("42").value(), 42);
  EXPECT_FALSE(parse_id("").has_value());
  EXPECT_FALSE(parse_id("0").has_value());
  EXPECT_FALSE(parse_id("-5").has_value());
  EXPECT_FALSE(parse_id("12a").has_value());
  EXPECT_FALSE(parse_id("99999999999999999999").has_value());
  EXPECT_FALSE(parse_id("1 OR 1=1").has_value());
}

}  // namespace
}  // namespace parley
