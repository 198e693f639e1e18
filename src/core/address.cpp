#include "core/address.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace parley {

namespace {

// An address as 16 bytes; IPv4 in the IPv4-mapped IPv6 form (::ffff:a.b.c.d),
// so both families compare in one way.
struct Address {
  std::array<std::uint8_t, 16> bytes{};
  bool v4 = false;
};

std::optional<Address> parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  Address a;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    a.bytes[10] = a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], &v4, 4);
    a.v4 = true;
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
  std::memcpy(a.bytes.data(), &v6, 16);
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  a.v4 = std::memcmp(a.bytes.data(), kMapped, 12) == 0;
  return a;
}

struct Network {
  Address base;
  int prefix = 128;  // bits of `base` that must match, counted on the 16-byte form
};

std::optional<Network> parse_network(std::string_view pattern) {
  auto slash = pattern.find('/');
  auto base = parse(pattern.substr(0, slash));
  if (!base) return std::nullopt;
  Network n{*base, 128};
  if (slash == std::string_view::npos) return n;
  auto bits_text = pattern.substr(slash + 1);
  int bits = -1;
  auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
  int max = base->v4 ? 32 : 128;
  if (ec != std::errc() || end != bits_text.data() + bits_text.size() || bits < 0 || bits > max) {
    return std::nullopt;
  }
  n.prefix = base->v4 ? 96 + bits : bits;
  return n;
}

}  // namespace

bool valid_address_pattern(std::string_view pattern) { return parse_network(pattern).has_value(); }

bool address_matches(std::string_view pattern, std::string_view address) {
  if (pattern == address) return true;
  auto n = parse_network(pattern);
  auto a = parse(address);
  if (!n || !a) return false;
  int full = n->prefix / 8, rest = n->prefix % 8;
  if (std::memcmp(n->base.bytes.data(), a->bytes.data(), static_cast<std::size_t>(full)) != 0) {
    return false;
  }
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (n->base.bytes[full] & mask) == (a->bytes[full] & mask);
}

}  // namespace parley
