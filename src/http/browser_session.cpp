#include "http/browser_session.hpp"

#include <algorithm>

#include "app/config.hpp"
#include "core/error.hpp"

namespace parley::http {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string cookie(const Context& ctx, std::string_view name, std::string_view path,
                   std::string_view value, std::int64_t max_age_s) {
  std::string out(name);
  out += "=";
  out += value;
  out += "; Path=";
  out += path;
  out += "; Max-Age=" + std::to_string(max_age_s) + "; HttpOnly; SameSite=Strict";
  if (ctx.https) out += "; Secure";
  return out;
}
}  // namespace

bool wants_cookie_session(const Context& ctx) {
  return ctx.req.header("x-parley-session") == "cookie";
}

void check_same_origin(const Context& ctx, const Config& cfg) {
  auto site = ctx.req.header("sec-fetch-site");
  if (!site.empty() && site != "same-origin" && site != "none") {
    fail(Errc::forbidden, "a cookie session is not usable from another site (Sec-Fetch-Site: " +
                              std::string(site) + ")");
  }
  auto origin = ctx.req.header("origin");
  if (origin.empty()) return;  // not a browser, or a same-origin GET: the custom header suffices
  std::string own =
      std::string(ctx.https ? "https://" : "http://") + std::string(ctx.req.header("host"));
  const auto& allowed = cfg.cors.allowed_origins;
  bool listed = std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
  if (origin != own && !listed) {
    fail(Errc::forbidden, "a cookie session is not usable from origin " + std::string(origin));
  }
}

std::optional<std::string> request_cookie(const Context& ctx, std::string_view name) {
  for (const auto& [k, v] : ctx.req.headers) {
    if (k != "cookie") continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto pair = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      auto eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (trim(pair.substr(0, eq)) == name) return std::string(trim(pair.substr(eq + 1)));
    }
  }
  return std::nullopt;
}

std::string refresh_cookie_name(const Context& ctx) {
  return ctx.https ? "__Secure-parley_refresh" : "parley_refresh";
}
std::string device_cookie_name(const Context& ctx) {
  return ctx.https ? "__Secure-parley_device" : "parley_device";
}

std::string refresh_cookie(const Context& ctx, std::string_view value, std::int64_t max_age_s) {
  return cookie(ctx, refresh_cookie_name(ctx), "/api/auth", value, max_age_s);
}
std::string device_cookie(const Context& ctx, std::string_view value, std::int64_t max_age_s) {
  return cookie(ctx, device_cookie_name(ctx), "/api/auth/login", value, max_age_s);
}

}  // namespace parley::http
