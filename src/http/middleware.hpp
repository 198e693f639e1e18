// Request and response middleware: request ids, client address behind
// trusted proxies, CORS, security headers. Pure functions of their inputs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "http/message.hpp"

namespace parley::http {

// The incoming X-Request-Id when it is 1..128 chars of [A-Za-z0-9._-],
// otherwise a fresh random id.
std::string request_id_for(const Request& req);

// The client's address: the peer, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For entry that is not itself a trusted proxy.
std::string client_ip_for(const Request& req, const std::vector<std::string>& trusted_proxies);

// True for TLS connections, and for X-Forwarded-Proto: https from a trusted proxy.
bool is_https(const Request& req, const std::vector<std::string>& trusted_proxies);

class Cors {
 public:
  Cors(std::vector<std::string> allowed_origins, long max_age_s);
  bool origin_allowed(std::string_view origin) const;
  // Adds Access-Control-Allow-Origin and friends when the request's Origin is allowed.
  void apply(const Request& req, Response& res) const;
  // Answers a preflight (OPTIONS with Access-Control-Request-Method):
  // 204 with the allowed methods, or 403 when the origin is not allowed.
  Response preflight(const Request& req, const std::vector<std::string>& methods) const;

 private:
  std::vector<std::string> origins_;
  bool any_ = false;
  long max_age_s_;
};

// X-Content-Type-Options, X-Frame-Options, Referrer-Policy, a strict CSP,
// Cache-Control: no-store, and HSTS when https.
void apply_security_headers(Response& res, bool https);

}  // namespace parley::http
