// /api/auth/* and /api/users/*.
#include "app/config.hpp"
#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "http/handler_util.hpp"
#include "http/views.hpp"
#include "realtime/gateway.hpp"

namespace parley::http {

namespace bj = boost::json;

void register_auth_routes(Router& r, Services& s) {
  r.add("POST", "/api/auth/register", [&s](Context& ctx) {
    auto body = body_object(ctx, s);
    auto username = json::require_string(body, "username", 64);
    auto password = json::require_string(body, "password",
                                         static_cast<std::size_t>(s.cfg.auth.password_max_bytes));
    auto display = json::optional_string(
        body, "display_name", static_cast<std::size_t>(s.cfg.limits.max_display_name_bytes));
    auto session = s.auth.register_user(username, display.value_or(""), password, ctx.client_ip);
    ctx.claims = auth::Claims{};  // for the access log
    ctx.claims->user_id = session.user.id;
    return json_reply(201, session_json(session));
  });

  r.add("POST", "/api/auth/login", [&s](Context& ctx) {
    auto body = body_object(ctx, s);
    auto username = json::require_string(body, "username", 256);
    auto password = json::require_string(body, "password",
                                         static_cast<std::size_t>(s.cfg.auth.password_max_bytes));
    auto session = s.auth.login(username, password, ctx.client_ip);
    ctx.claims = auth::Claims{};  // for the access log
    ctx.claims->user_id = session.user.id;
    return json_reply(200, session_json(session));
  });

  r.add("POST", "/api/auth/refresh", [&s](Context& ctx) {
    auto body = body_object(ctx, s);
    auto token = json::require_string(body, "refresh_token", 256);
    return json_reply(200, session_json(s.auth.refresh(token, ctx.client_ip)));
  });

  r.add("POST", "/api/auth/logout", [&s](Context& ctx) {
    auto body = body_object(ctx, s);
    auto token = json::require_string(body, "refresh_token", 256);
    s.auth.logout(token, ctx.client_ip);
    return Response::no_content();
  });

  r.add("GET", "/api/auth/me",
        [&s](Context& ctx) { return json_reply(200, user_json(require_user(ctx, s))); });

  r.add("POST", "/api/ws/ticket", [&s](Context& ctx) {
    const auto& user = require_user(ctx, s);
    if (!s.gateway) fail(Errc::not_found, "the WebSocket gateway is not enabled");
    auto ticket = s.gateway->tickets().issue(user.id, ctx.claims->session_id, now_ms());
    return json_reply(201, bj::object{{"ticket", ticket},
                                      {"expires_in_ms", s.gateway->tickets().ttl_ms()},
                                      {"url", "/ws?ticket=" + ticket}});
  });

  r.add("GET", "/api/users", [&s](Context& ctx) {
    require_auth(ctx, s);
    auto name = ctx.req.query_param("username");
    if (!name || name->empty() || name->size() > 64) {
      fail(Errc::bad_request, "query parameter 'username' is required");
    }
    auto user = s.chat.find_user(*name);
    if (!user || user->disabled) fail(Errc::not_found, "user not found");
    return json_reply(200, user_json(*user));
  });

  // Data export: everything the server holds about the caller. The first
  // page (no `after`) carries the account and every conversation; messages
  // the caller sent come in pages of `limit`, continued with next_after.
  r.add("GET", "/api/users/me/export", [&s](Context& ctx) {
    const auto& me = require_user(ctx, s);
    auto after = query_int(ctx, "after", 1, INT64_MAX);
    int limit = page_limit(ctx, s, 200);
    bj::object out{{"exported_at", now_ms()}, {"user", user_json(me)}};
    if (!after) {
      bj::array convs;
      std::optional<store::ConversationCursor> cursor;
      const int page = static_cast<int>(s.cfg.limits.max_page_size);
      for (;;) {
        auto batch = s.chat.list_conversations(me.id, cursor, page);
        for (const auto& c : batch) convs.push_back(summary_json(c));
        if (static_cast<int>(batch.size()) < page) break;
        cursor = store::ConversationCursor{batch.back().conversation.activity_at,
                                           batch.back().conversation.id};
      }
      out["conversations"] = std::move(convs);
    }
    auto messages = s.chat.messages_sent_by(me.id, after.value_or(0), limit);
    bj::array items;
    for (const auto& m : messages) items.push_back(message_json(m));
    out["next_after"] = static_cast<int>(messages.size()) == limit
                            ? bj::value(id_to_string(messages.back().id))
                            : bj::value(nullptr);
    out["messages"] = std::move(items);
    return json_reply(200, out);
  });

  // Erasure of one's own account; the password is asked again.
  r.add("DELETE", "/api/users/me", [&s](Context& ctx) {
    const auto& me = require_user(ctx, s);
    auto body = body_object(ctx, s);
    auto password = json::optional_string(body, "password",
                                          static_cast<std::size_t>(s.cfg.auth.password_max_bytes));
    s.auth.delete_user(me, me.id, password, ctx.client_ip);
    auto erased = s.chat.erase_messages_sent_by(me.id);
    return json_reply(200, bj::object{{"deleted", true}, {"messages_erased", erased}});
  });

  r.add("GET", "/api/users/{id}", [&s](Context& ctx) {
    require_auth(ctx, s);
    auto user = s.chat.user(path_id(ctx, "id", "user"));
    if (!user || user->disabled) fail(Errc::not_found, "user not found");
    return json_reply(200, user_json(*user));
  });
}

}  // namespace parley::http
