// Per-request state shared by middleware and handlers.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "store/types.hpp"

namespace parley::http {

struct Context {
  explicit Context(Request& r) : req(r) {}

  Request& req;
  Params params;
  std::string request_id;
  std::string client_ip;
  std::string route = "unmatched";  // pattern of the matched route, for metrics
  bool https = false;
  std::optional<auth::Claims> claims;
  std::optional<store::User> user;  // the authenticated account, as stored now
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  std::string_view param(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return v;
    }
    return {};
  }
};

}  // namespace parley::http
