#include "cluster/redis_url.hpp"

#include <charconv>
#include <stdexcept>

namespace parley::cluster {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) throw std::invalid_argument("bad percent-escape in the Redis URL");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

int parse_number(std::string_view s, int lo, int hi, const char* what) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
    throw std::invalid_argument(std::string("the Redis URL's ") + what + " '" + std::string(s) +
                                "' is not a number from " + std::to_string(lo) + " to " +
                                std::to_string(hi));
  }
  return v;
}

}  // namespace

RedisUrl parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) throw std::invalid_argument("a Redis URL starts with redis://");
  std::string_view rest = url.substr(kScheme.size());
  RedisUrl out;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = cred.find(':');
    if (colon == std::string_view::npos) {
      out.password = percent_decode(cred);  // redis://password@host
    } else {
      out.user = percent_decode(cred.substr(0, colon));
      out.password = percent_decode(cred.substr(colon + 1));
    }
  }
  std::string_view hostport = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) out.db = parse_number(db, 0, 1000000, "database");
  }
  if (hostport.starts_with('[')) {  // [::1]:6379
    auto close = hostport.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("unclosed [ in the Redis URL");
    out.host = std::string(hostport.substr(1, close - 1));
    hostport = hostport.substr(close + 1);
    if (hostport.starts_with(':')) out.port = parse_number(hostport.substr(1), 1, 65535, "port");
  } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    out.host = std::string(hostport.substr(0, colon));
    out.port = parse_number(hostport.substr(colon + 1), 1, 65535, "port");
  } else {
    out.host = std::string(hostport);
  }
  if (out.host.empty()) throw std::invalid_argument("the Redis URL names no host");
  return out;
}

}  // namespace parley::cluster
