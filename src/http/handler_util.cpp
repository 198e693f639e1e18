#include "http/handler_util.hpp"

#include <boost/json/serialize.hpp>
#include <charconv>

#include "app/config.hpp"
#include "auth/auth_service.hpp"
#include "core/json.hpp"

namespace parley::http {

namespace bj = boost::json;

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || !authorization.starts_with(kBearer)) {
    return std::nullopt;
  }
  return authorization.substr(kBearer.size());
}

const auth::Claims& require_auth(Context& ctx, Services& s) {
  if (ctx.claims) return *ctx.claims;
  auto token = bearer_token(ctx.req.header("authorization"));
  if (!token) fail(Errc::unauthorized, "missing bearer token");
  auto claims = s.auth.authenticate(*token);
  ctx.user = s.auth.current_user(claims);
  ctx.claims = std::move(claims);
  return *ctx.claims;
}

const store::User& require_user(Context& ctx, Services& s) {
  require_auth(ctx, s);
  return *ctx.user;
}

bj::object body_object(Context& ctx, Services& s) {
  auto type = ctx.req.header("content-type");
  auto semi = type.find(';');
  auto base = type.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  if (base != "application/json") {
    fail(Errc::unsupported_media, "request body must be application/json");
  }
  return json::parse_object(ctx.req.body, static_cast<std::size_t>(s.cfg.http.max_json_depth));
}

Id path_id(Context& ctx, std::string_view name, std::string_view what) {
  auto id = parse_id(ctx.param(name));
  if (!id) fail(Errc::not_found, std::string(what) + " not found");
  return *id;
}

std::int64_t path_int(Context& ctx, std::string_view name, std::string_view what) {
  auto text = ctx.param(name);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || v < 0) {
    fail(Errc::not_found, std::string(what) + " not found");
  }
  return v;
}

std::optional<std::int64_t> query_int(Context& ctx, std::string_view name, std::int64_t min,
                                      std::int64_t max) {
  auto text = ctx.req.query_param(name);
  if (!text) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc{} || p != text->data() + text->size() || v < min || v > max) {
    fail(Errc::bad_request, "query parameter '" + std::string(name) + "' must be an integer from " +
                                std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

int page_limit(Context& ctx, Services& s, int fallback) {
  auto max = s.cfg.limits.max_page_size;
  auto v = query_int(ctx, "limit", 1, max);
  return static_cast<int>(v ? *v : std::min<std::int64_t>(fallback, max));
}

Id json_id_value(const bj::value& v, std::string_view what) {
  std::optional<Id> id;
  if (v.is_string()) {
    id = parse_id(std::string_view(v.get_string().data(), v.get_string().size()));
  } else if (v.is_int64() && v.get_int64() > 0) {
    id = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    id = static_cast<Id>(v.get_uint64());
  }
  if (!id) fail(Errc::bad_request, "'" + std::string(what) + "' must be an id");
  return *id;
}

Id json_id(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    fail(Errc::bad_request, "missing required field '" + std::string(key) + "'");
  }
  return json_id_value(it->value(), key);
}

Response json_reply(int status, const bj::value& v) {
  return Response::json(status, bj::serialize(v));
}

}  // namespace parley::http
