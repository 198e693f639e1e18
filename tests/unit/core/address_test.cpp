#include "core/address.hpp"

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(Address, ExactAddressesMatchThemselvesOnly) {
  EXPECT_TRUE(address_matches("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(address_matches("127.0.0.1", "127.0.0.2"));
  EXPECT_TRUE(address_matches("::1", "::1"));
  EXPECT_TRUE(address_matches("2001:db8::1", "2001:db8:0::1"));  // same address, other spelling
  EXPECT_FALSE(address_matches("::1", "127.0.0.1"));
}

TEST(Address, Ipv4Networks) {
  EXPECT_TRUE(address_matches("10.89.0.0/16", "10.89.3.7"));
  EXPECT_FALSE(address_matches("10.89.0.0/16", "10.90.0.1"));
  EXPECT_TRUE(address_matches("172.16.0.0/12", "172.31.255.254"));
  EXPECT_FALSE(address_matches("172.16.0.0/12", "172.32.0.1"));
  EXPECT_TRUE(address_matches("192.168.1.128/25", "192.168.1.200"));
  EXPECT_FALSE(address_matches("192.168.1.128/25", "192.168.1.100"));
  EXPECT_TRUE(address_matches("0.0.0.0/0", "8.8.8.8"));
  EXPECT_TRUE(address_matches("10.0.0.5/32", "10.0.0.5"));
  EXPECT_FALSE(address_matches("10.0.0.5/32", "10.0.0.4"));
}

TEST(Address, Ipv6NetworksAndMappedIpv4) {
  EXPECT_TRUE(address_matches("fd00::/8", "fd12:3456::1"));
  EXPECT_FALSE(address_matches("fd00::/8", "fe80::1"));
  EXPECT_TRUE(address_matches("10.0.0.0/8", "::ffff:10.1.2.3"));
  EXPECT_FALSE(address_matches("10.0.0.0/8", "::ffff:11.1.2.3"));
  EXPECT_FALSE(address_matches("10.0.0.0/8", "fd00::a01:203"));  // not mapped: another family
}

TEST(Address, GarbageNeverMatches) {
  EXPECT_FALSE(address_matches("10.0.0.0/8", "not-an-ip"));
  EXPECT_FALSE(address_matches("10.0.0.0/33", "10.0.0.1"));
  EXPECT_FALSE(address_matches("10.0.0.0/x", "10.0.0.1"));
  EXPECT_FALSE(address_matches("", "10.0.0.1"));
  EXPECT_FALSE(address_matches("nginx", "10.0.0.1"));
}

TEST(Address, ValidPatterns) {
  EXPECT_TRUE(valid_address_pattern("127.0.0.1"));
  EXPECT_TRUE(valid_address_pattern("10.89.0.0/16"));
  EXPECT_TRUE(valid_address_pattern("fd00::/8"));
  EXPECT_TRUE(valid_address_pattern("::1/128"));
  EXPECT_FALSE(valid_address_pattern("::1/129"));
  EXPECT_FALSE(valid_address_pattern("10.0.0.0/"));
  EXPECT_FALSE(valid_address_pattern("10.0.0.0/-1"));
  EXPECT_FALSE(valid_address_pattern("nginx"));
  EXPECT_FALSE(valid_address_pattern("10.0.0.0/8 "));
}

}  // namespace
}  // namespace parley
