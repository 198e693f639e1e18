// Moderation: mutes, bans, reports (/api/conversations/{id}/..., and the
// server admins' /api/admin/reports). Slow mode is a conversation setting
// (PATCH /api/conversations/{id}).
#include <boost/json/array.hpp>

#include "app/config.hpp"
#include "chat/chat_service.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "http/handler_util.hpp"
#include "http/views.hpp"

namespace parley::http {

namespace bj = boost::json;

namespace {

bj::object ban_json(const store::Ban& b) {
  return {{"user_id", id_to_string(b.user_id)},
          {"banned_by", id_to_string(b.banned_by)},
          {"banned_at", b.banned_at},
          {"reason", b.reason}};
}

bj::object report_json(const store::Report& r) {
  bj::object o{{"id", id_to_string(r.id)},
               {"conversation_id", id_to_string(r.conversation_id)},
               {"seq", r.seq},
               {"reporter_id", id_to_string(r.reporter_id)},
               {"reason", r.reason},
               {"created_at", r.created_at}};
  o["resolved_at"] = r.resolved_at ? bj::value(r.resolved_at) : bj::value(nullptr);
  o["resolved_by"] = r.resolved_by ? bj::value(id_to_string(r.resolved_by)) : bj::value(nullptr);
  o["resolution"] = r.resolution.empty() ? bj::value(nullptr) : bj::value(r.resolution);
  return o;
}

}  // namespace

void register_moderation_routes(Router& r, Services& s) {
  r.add("POST", "/api/conversations/{id}/members/{user_id}/mute", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    Id user = path_id(ctx, "user_id", "member");
    auto body = body_object(ctx, s);
    auto seconds = json::require_int(body, "seconds", 0, INT64_MAX);
    return json_reply(200, member_json(s.chat.mute(me, conv, user, seconds, ctx.client_ip)));
  });

  r.add("GET", "/api/conversations/{id}/bans", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto after = query_int(ctx, "after", 0, INT64_MAX).value_or(0);
    int limit = page_limit(ctx, s, 50);
    bj::array items;
    auto list = s.chat.bans(me, conv, after, limit);
    for (const auto& b : list) items.push_back(ban_json(b));
    return json_reply(200, bj::object{{"bans", std::move(items)},
                                      {"has_more", static_cast<int>(list.size()) == limit}});
  });

  r.add("POST", "/api/conversations/{id}/bans", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto body = body_object(ctx, s);
    Id user = json_id(body, "user_id");
    auto reason = json::optional_string(body, "reason", 4096).value_or("");
    s.chat.ban(me, conv, user, reason, ctx.client_ip);
    return Response::no_content();
  });

  r.add("DELETE", "/api/conversations/{id}/bans/{user_id}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    Id user = path_id(ctx, "user_id", "ban");
    if (!s.chat.unban(me, conv, user, ctx.client_ip)) fail(Errc::not_found, "not banned");
    return Response::no_content();
  });

  r.add("POST", "/api/conversations/{id}/messages/{seq}/reports", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto seq = path_int(ctx, "seq", "message");
    auto body = body_object(ctx, s);
    auto reason = json::require_string(body, "reason", 4096);
    return json_reply(201, report_json(s.chat.report(me, conv, seq, reason, ctx.client_ip)));
  });

  r.add("GET", "/api/admin/reports", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    auto status = ctx.req.query_param("status").value_or("open");
    if (status != "open" && status != "all")
      fail(Errc::bad_request, "'status' must be open or all");
    auto before = query_int(ctx, "before", 1, INT64_MAX).value_or(INT64_MAX);
    int limit = page_limit(ctx, s, 50);
    auto list = s.chat.reports(me, status == "open", before, limit);
    bj::array items;
    for (const auto& rep : list) items.push_back(report_json(rep));
    return json_reply(200, bj::object{{"reports", std::move(items)},
                                      {"has_more", static_cast<int>(list.size()) == limit}});
  });

  r.add("POST", "/api/admin/reports/{id}/resolve", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id id = path_id(ctx, "id", "report");
    auto body = body_object(ctx, s);
    auto action = json::require_string(body, "action", 32);
    return json_reply(200, report_json(s.chat.resolve_report(me, id, action, ctx.client_ip)));
  });
}

}  // namespace parley::http
