// Browser sessions: the refresh token (and the device token) travel in
// HttpOnly, SameSite=Strict cookies scoped to /api/auth, so page scripts never
// see them; the access token stays in the page's memory.
//
// A request opts in with the header `X-Parley-Session: cookie`. A custom
// header cannot be sent cross-site without a CORS preflight that we do not
// grant, and the Origin (and Sec-Fetch-Site, when sent) must also name this
// server or an allowed origin: the two CSRF defences for every request a
// cookie can authenticate (refresh, logout).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/context.hpp"

namespace parley {
struct Config;
}

namespace parley::http {

// Whether the request asks for a cookie session (X-Parley-Session: cookie).
bool wants_cookie_session(const Context& ctx);
// Throws forbidden unless the request comes from this server's own pages or
// an allowed origin (see above).
void check_same_origin(const Context& ctx, const Config& cfg);
// The value of a request cookie; nullopt when absent.
std::optional<std::string> request_cookie(const Context& ctx, std::string_view name);

// Cookie names: __Secure- prefixed when the request came over https.
std::string refresh_cookie_name(const Context& ctx);
std::string device_cookie_name(const Context& ctx);
// Set-Cookie values; max_age_s 0 deletes the cookie.
std::string refresh_cookie(const Context& ctx, std::string_view value, std::int64_t max_age_s);
std::string device_cookie(const Context& ctx, std::string_view value, std::int64_t max_age_s);

}  // namespace parley::http
