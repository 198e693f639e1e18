#include "http/api.hpp"

#include <chrono>

#include "app/config.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/validate.hpp"
#include "http/context.hpp"
#include "http/problem.hpp"

namespace parley::http {

Api::Api(Services services)
    : s_(services),
      cors_(s_.cfg.cors.allowed_origins, static_cast<long>(s_.cfg.cors.max_age_s)),
      web_(std::make_unique<WebApp>(s_.cfg)),
      in_flight_(
          s_.metrics.gauge("parley_http_requests_in_flight", "HTTP requests being handled")) {
  register_ops_routes(router_, s_);
  register_auth_routes(router_, s_);
  register_conversation_routes(router_, s_);
  register_message_routes(router_, s_);
  register_moderation_routes(router_, s_);
  register_admin_routes(router_, s_);
  register_collab_routes(router_, s_);
}

Response Api::handle(Request& req) {
  in_flight_.inc();
  Context ctx(req);
  ctx.request_id = request_id_for(req);
  ctx.client_ip = client_ip_for(req, s_.cfg.server.trusted_proxies);
  ctx.https = is_https(req, s_.cfg.server.trusted_proxies);
  // The instance member echoes the path; only when it is printable UTF-8.
  std::string_view instance = validate::is_utf8(req.path) ? std::string_view(req.path) : "";

  Response res;
  try {
    auto match = router_.match(req.method, req.path);
    if (match.kind != Router::Match::not_found) ctx.route = match.pattern;
    if (req.method == "OPTIONS" && match.kind != Router::Match::not_found) {
      if (req.has_header("origin") && req.has_header("access-control-request-method")) {
        res = cors_.preflight(req, match.allowed);
      } else {
        res = Response::no_content();
        std::string allow;
        for (const auto& m : match.allowed) allow += (allow.empty() ? "" : ", ") + m;
        res.set("Allow", allow + ", OPTIONS");
      }
      if (match.kind == Router::Match::method_not_allowed) ctx.route = "options";
    } else if (match.kind == Router::Match::not_found) {
      std::optional<Response> page;
      if (req.method == "GET" || req.method == "HEAD") page = web_->serve(req);
      if (page) {
        ctx.route = "web";
        res = std::move(*page);
      } else {
        res = problem(Errc::not_found, "no route for " + std::string(instance), instance,
                      ctx.request_id);
      }
    } else if (match.kind == Router::Match::method_not_allowed) {
      res = problem(Errc::method_not_allowed, "method " + req.method + " is not allowed here",
                    instance, ctx.request_id);
      std::string allow;
      for (const auto& m : match.allowed) allow += (allow.empty() ? "" : ", ") + m;
      res.set("Allow", allow);
    } else {
      ctx.params = std::move(match.params);
      res = (*match.handler)(ctx);
    }
  } catch (const Error& e) {
    res = problem(e.code(), e.detail(), instance, ctx.request_id);
    if (e.code() == Errc::unauthorized) res.set("WWW-Authenticate", "Bearer");
    if (e.retry_after_s() > 0) res.set("Retry-After", std::to_string(e.retry_after_s()));
  } catch (const std::exception& e) {
    log::error("request_failed", {{"request_id", ctx.request_id}, {"error", e.what()}});
    res = problem(Errc::internal, "internal error; quote the request id when reporting it",
                  instance, ctx.request_id);
  }
  if (req.method == "HEAD") res.body.clear();
  finish(ctx, res);
  in_flight_.dec();
  return res;
}

Response Api::transport_error(const Request* req, Errc code, std::string_view detail) {
  Request empty;
  Context ctx(req ? const_cast<Request&>(*req) : empty);
  ctx.request_id = req ? request_id_for(*req) : request_id_for(empty);
  ctx.client_ip = req ? client_ip_for(*req, s_.cfg.server.trusted_proxies) : "";
  ctx.https = req && is_https(*req, s_.cfg.server.trusted_proxies);
  ctx.route = "transport";
  Response res = problem(code, detail, "", ctx.request_id);
  res.close = true;
  if (code == Errc::unavailable) res.set("Retry-After", "1");
  finish(ctx, res);
  return res;
}

void Api::finish(Context& ctx, Response& res) {
  apply_security_headers(res, ctx.https);
  cors_.apply(ctx.req, res);
  res.set("X-Request-Id", ctx.request_id);

  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started).count();
  // Unknown methods share one label so clients cannot grow the series set.
  static const char* kKnown[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  std::string method = "OTHER";
  for (const char* m : kKnown) {
    if (ctx.req.method == m) method = m;
  }
  std::string status = std::to_string(res.status);
  s_.metrics
      .counter("parley_http_requests_total", "HTTP requests by method, route and status",
               {{"method", method}, {"route", ctx.route}, {"status", status}})
      .inc();
  s_.metrics
      .histogram("parley_http_request_duration_seconds", "HTTP request latency by route",
                 {{"route", ctx.route}})
      .observe(seconds);
  if (s_.cfg.log.access_log) {
    log::info("http_request", {{"request_id", ctx.request_id},
                               {"method", method},
                               {"path", ctx.req.path},
                               {"route", ctx.route},
                               {"status", res.status},
                               {"duration_ms", seconds * 1000.0},
                               {"bytes", res.body.size()},
                               {"client", ctx.client_ip},
                               {"user_id", ctx.claims ? ctx.claims->user_id : 0}});
  }
}

}  // namespace parley::http
