// /api/admin/*: user administration, for accounts with the admin role.
#include <boost/json/array.hpp>

#include "app/config.hpp"
#include "auth/auth_service.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"
#include "http/handler_util.hpp"
#include "http/views.hpp"

namespace parley::http {

namespace bj = boost::json;

namespace {
bj::object admin_user_json(const store::User& u) {
  bj::object o = user_json(u);
  o["disabled"] = u.disabled;
  return o;
}
}  // namespace

// What the admin area's live charts read every few seconds: a few series of
// this node's metrics, summed over labels. Histograms come as bucket counts
// so the page computes percentiles over the interval between two reads.
const std::vector<std::string> kStatsSeries = {
    "parley_ws_connections",       "parley_http_connections_active",
    "parley_messages_total",       "parley_ws_frames_in_total",
    "parley_ws_frames_out_total",  "parley_http_requests_total",
    "parley_store_queue_depth",    "parley_process_heap_bytes",
    "parley_ws_send_ack_seconds",  "parley_ws_publish_to_deliver_seconds",
    "parley_store_commit_seconds",
};

void register_admin_routes(Router& r, Services& s) {
  r.add("GET", "/api/admin/stats", [&s](Context& ctx) {
    const auto& actor = require_user(ctx, s);
    if (actor.role != "admin") fail(Errc::forbidden, "administrators only");
    bj::object series;
    for (const auto& [name, t] : s.metrics.totals(kStatsSeries)) {
      if (!t.found) continue;
      if (t.bounds.empty()) {
        series[name] = t.value;
        continue;
      }
      bj::array bounds(t.bounds.begin(), t.bounds.end());
      bj::array buckets;
      for (auto b : t.buckets) buckets.push_back(b);
      series[name] = bj::object{{"bounds", std::move(bounds)},
                                {"buckets", std::move(buckets)},
                                {"count", t.count},
                                {"sum", t.sum}};
    }
    return json_reply(200, bj::object{{"ts", now_ms()}, {"series", std::move(series)}});
  });

  r.add("GET", "/api/admin/users", [&s](Context& ctx) {
    const auto& actor = require_user(ctx, s);
    auto after = query_int(ctx, "after", 0, INT64_MAX).value_or(0);
    int limit = page_limit(ctx, s, 100);
    auto users = s.auth.list_users(actor, after, limit);
    bj::array items;
    for (const auto& u : users) items.push_back(admin_user_json(u));
    bj::object out{{"users", std::move(items)}};
    out["next_after"] = static_cast<int>(users.size()) == limit
                            ? bj::value(id_to_string(users.back().id))
                            : bj::value(nullptr);
    return json_reply(200, out);
  });

  r.add("GET", "/api/admin/audit", [&s](Context& ctx) {
    const auto& actor = require_user(ctx, s);
    auto before = query_int(ctx, "before", 1, INT64_MAX).value_or(INT64_MAX);
    auto user = query_int(ctx, "user", 1, INT64_MAX).value_or(0);
    std::string action = ctx.req.query_param("action").value_or("");
    if (action.size() > 64) fail(Errc::bad_request, "query parameter 'action' is too long");
    int limit = page_limit(ctx, s, 100);
    auto events = s.auth.audit_events(actor, before, action, user, limit);
    bj::array items;
    for (const auto& e : events) {
      bj::object o{{"id", id_to_string(e.id)},
                   {"at", e.at},
                   {"actor_id", e.actor_id ? bj::value(id_to_string(e.actor_id)) : nullptr},
                   {"action", e.action},
                   {"target_id", e.target_id ? bj::value(id_to_string(e.target_id)) : nullptr},
                   {"ip", e.ip}};
      // Written by the server as a JSON object; anything else is shown as text.
      try {
        o["detail"] = json::parse_object(e.detail, 8);
      } catch (const Error&) {
        o["detail"] = e.detail;
      }
      items.push_back(std::move(o));
    }
    bj::object out{{"events", std::move(items)}};
    out["next_before"] = static_cast<int>(events.size()) == limit
                             ? bj::value(id_to_string(events.back().id))
                             : bj::value(nullptr);
    return json_reply(200, out);
  });

  r.add("DELETE", "/api/admin/users/{id}", [&s](Context& ctx) {
    const auto& actor = require_user(ctx, s);
    Id id = path_id(ctx, "id", "user");
    s.auth.delete_user(actor, id, std::nullopt, ctx.client_ip);
    auto erased = s.chat.erase_messages_sent_by(id);
    return json_reply(200, bj::object{{"deleted", true}, {"messages_erased", erased}});
  });

  r.add("PATCH", "/api/admin/users/{id}", [&s](Context& ctx) {
    const auto& actor = require_user(ctx, s);
    Id id = path_id(ctx, "id", "user");
    auto body = body_object(ctx, s);
    std::optional<std::string> role;
    if (auto v = json::optional_string(body, "role", 16)) role = std::string(*v);
    std::optional<bool> disabled;
    if (auto it = body.find("disabled"); it != body.end()) {
      if (!it->value().is_bool()) fail(Errc::bad_request, "'disabled' must be true or false");
      disabled = it->value().get_bool();
    }
    if (!role && !disabled) fail(Errc::bad_request, "nothing to change: give 'role' or 'disabled'");
    return json_reply(
        200, admin_user_json(s.auth.update_user(actor, id, role, disabled, ctx.client_ip)));
  });
}

}  // namespace parley::http
