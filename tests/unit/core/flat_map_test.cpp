#include "core/flat_map.hpp"

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(FlatMap, BehavesLikeAMapForTheOperationsItHas) {
  FlatMap<long, int> m;
  EXPECT_TRUE(m.try_emplace(5).second);
  EXPECT_TRUE(m.try_emplace(1).second);
  EXPECT_TRUE(m.try_emplace(3).second);
  EXPECT_FALSE(m.try_emplace(3).second);
  m.find(3)->second = 33;
  EXPECT_EQ(m.find(3)->second, 33);
  EXPECT_EQ(m.find(4), m.end());
  std::vector<long> keys;
  for (const auto& [k, v] : m) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<long>{1, 3, 5}));
  EXPECT_EQ(m.erase(3), 1U);
  EXPECT_EQ(m.erase(3), 0U);
  m.erase(m.find(1));
  EXPECT_EQ(m.size(), 1U);
  EXPECT_EQ(m.erase(5), 1U);
  EXPECT_TRUE(m.empty());
}

}  // namespace
}  // namespace parley
