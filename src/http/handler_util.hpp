// Helpers shared by REST handlers: authentication, path and query parsing,
// JSON bodies and JSON responses. Each throws parley::Error with a detail
// that names what was wrong.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/ids.hpp"
#include "http/api.hpp"
#include "http/context.hpp"

namespace parley::http {

// The token of an "Authorization: Bearer <token>" header; nullopt when the
// header is missing, of another scheme, or empty after the scheme.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// Verifies the Bearer token and that its account still exists and is not
// disabled; caches claims and user on ctx.
const auth::Claims& require_auth(Context& ctx, Services& s);
const store::User& require_user(Context& ctx, Services& s);
// Parses a request body that must be a JSON object (415 unless JSON).
boost::json::object body_object(Context& ctx, Services& s);
// A path placeholder holding an id; 404 naming what when it is not one.
Id path_id(Context& ctx, std::string_view name, std::string_view what);
std::int64_t path_int(Context& ctx, std::string_view name, std::string_view what);
std::optional<std::int64_t> query_int(Context& ctx, std::string_view name, std::int64_t min,
                                      std::int64_t max);
int page_limit(Context& ctx, Services& s, int fallback = 50);
// An id given in JSON either as a decimal string or as a number.
Id json_id(const boost::json::object& o, std::string_view key);
Id json_id_value(const boost::json::value& v, std::string_view what);

Response json_reply(int status, const boost::json::value& v);

}  // namespace parley::http
