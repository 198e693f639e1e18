#include "http/middleware.hpp"

#include <algorithm>

#include "auth/tokens.hpp"
#include "core/address.hpp"

namespace parley::http {

namespace {
bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
bool trusted_hop(const std::vector<std::string>& trusted, std::string_view address) {
  return std::any_of(trusted.begin(), trusted.end(),
                     [&](const std::string& p) { return address_matches(p, address); });
}
std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}
}  // namespace

std::string request_id_for(const Request& req) {
  auto id = req.header("x-request-id");
  bool ok = !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
  return ok ? std::string(id) : auth::random_token(12);
}

std::string client_ip_for(const Request& req, const std::vector<std::string>& trusted) {
  if (!trusted_hop(trusted, req.remote_addr)) return req.remote_addr;
  auto xff = req.header("x-forwarded-for");
  std::string client = req.remote_addr;
  // Walk from the right: each hop appended by a proxy we trust is skipped.
  std::size_t end = xff.size();
  while (end > 0) {
    auto comma = xff.rfind(',', end - 1);
    std::size_t start = comma == std::string_view::npos ? 0 : comma + 1;
    std::string hop = trim(xff.substr(start, end - start));
    if (!hop.empty()) {
      client = hop;
      if (!trusted_hop(trusted, hop)) break;
    }
    if (comma == std::string_view::npos) break;
    end = comma;
  }
  return client.size() > 64 ? client.substr(0, 64) : client;
}

bool is_https(const Request& req, const std::vector<std::string>& trusted) {
  if (req.tls) return true;
  return trusted_hop(trusted, req.remote_addr) && req.header("x-forwarded-proto") == "https";
}

Cors::Cors(std::vector<std::string> origins, long max_age_s)
    : origins_(std::move(origins)), any_(contains(origins_, "*")), max_age_s_(max_age_s) {}

bool Cors::origin_allowed(std::string_view origin) const {
  return !origin.empty() && (any_ || contains(origins_, origin));
}

void Cors::apply(const Request& req, Response& res) const {
  auto origin = req.header("origin");
  auto vary = res.get("Vary");
  res.set("Vary", vary.empty() ? std::string("Origin") : std::string(vary) + ", Origin");
  if (!origin_allowed(origin)) return;
  res.set("Access-Control-Allow-Origin", std::string(origin));
  res.set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Location");
}

Response Cors::preflight(const Request& req, const std::vector<std::string>& methods) const {
  auto origin = req.header("origin");
  if (!origin_allowed(origin)) {
    Response r = Response::json(
        403, R"({"type":"urn:parley:problem:forbidden","title":"Forbidden","status":403,)"
             R"("detail":"origin not allowed by CORS policy"})");
    r.set("Content-Type", "application/problem+json");
    return r;
  }
  Response r = Response::no_content();
  std::string allow;
  for (const auto& m : methods) allow += (allow.empty() ? "" : ", ") + m;
  r.set("Access-Control-Allow-Methods", allow);
  r.set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id");
  r.set("Access-Control-Max-Age", std::to_string(max_age_s_));
  return r;
}

void apply_security_headers(Response& res, bool https) {
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  // The web app's pages bring their own policy (http/web_app.cpp).
  if (res.get("Content-Security-Policy").empty())
    res.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  if (res.get("Cache-Control").empty()) res.set("Cache-Control", "no-store");
  if (https) res.set("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
}

}  // namespace parley::http
