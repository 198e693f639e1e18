// IP address patterns: an exact address ("10.0.0.7", "::1") or a network in
// CIDR notation ("10.89.0.0/16", "fd00::/8"), as server.trusted_proxies lists
// them (a container's proxy has an address from its network's range, not a
// fixed one). IPv4-mapped IPv6 addresses ("::ffff:10.0.0.7") match IPv4 patterns.
#pragma once

#include <string_view>

namespace parley {

// Whether `pattern` is an address or a network this module understands.
bool valid_address_pattern(std::string_view pattern);

// Whether `address` is `pattern` (exact) or inside it (CIDR). False for an
// address or pattern that does not parse.
bool address_matches(std::string_view pattern, std::string_view address);

}  // namespace parley
