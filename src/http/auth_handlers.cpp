// /api/auth/* and /api/users/*.
#include "app/config.hpp"
#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "collab/documents.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "http/browser_session.hpp"
#include "http/handler_util.hpp"
#include "http/views.hpp"
#include "realtime/gateway.hpp"

namespace parley::http {

namespace bj = boost::json;

namespace {

// The answer to a register, login or refresh. A cookie session gets its
// tokens as cookies, not in the body, where page scripts could read them.
Response session_reply(Context& ctx, Services& s, int status, const auth::Session& session) {
  auto body = session_json(session);
  if (!session.device_token.empty()) body["device_token"] = session.device_token;
  if (!wants_cookie_session(ctx)) return json_reply(status, body);
  body.erase("refresh_token");
  body.erase("device_token");
  auto res = json_reply(status, body);
  res.add("Set-Cookie", refresh_cookie(ctx, session.refresh_token, session.refresh_expires_in));
  if (!session.device_token.empty()) {
    res.add("Set-Cookie", device_cookie(ctx, session.device_token, s.cfg.auth.device_token_ttl_s));
  }
  return res;
}

// The refresh token of a refresh or logout: from the body, or (cookie
// sessions, after the CSRF checks) from the cookie.
std::string presented_refresh_token(Context& ctx, Services& s, const bj::object& body) {
  if (body.contains("refresh_token"))
    return std::string(json::require_string(body, "refresh_token", 256));
  if (!wants_cookie_session(ctx)) fail(Errc::bad_request, "'refresh_token' is required");
  check_same_origin(ctx, s.cfg);
  auto token = request_cookie(ctx, refresh_cookie_name(ctx));
  if (!token || token->empty()) fail(Errc::unauthorized, "no session cookie");
  return *token;
}

}  // namespace

void register_auth_routes(Router& r, Services& s) {
  r.add("POST", "/api/auth/register", [&s](Context& ctx) {
    auto body = body_object(ctx, s);
    auto username = json::require_string(body, "username", 64);
    auto password = json::require_string(body, "password",
                                         static_cast<std::size_t>(s.cfg.auth.password_max_bytes));
    auto display = json::optional_string(
        body, "display_name", static_cast<std::size_t>(s.cfg.limits.max_display_name_bytes));
    if (wants_cookie_session(ctx)) check_same_origin(ctx, s.cfg);
    auto session = s.auth.register_user(username, display.value_or(""), password, ctx.client_ip);
    ctx.claims = auth::Claims{};  // for the access log
    ctx.claims->user_id = session.user.id;
    return session_reply(ctx, s, 201, session);
  });

  r.add("POST", "/api/auth/login", [&s](Context& ctx) {
    auto body = body_object(ctx, s);
    auto username = json::require_string(body, "username", 256);
    auto password = json::require_string(body, "password",
                                         static_cast<std::size_t>(s.cfg.auth.password_max_bytes));
    std::optional<std::string> device;
    if (auto given = json::optional_string(body, "device_token", auth::DeviceTokens::kMaxBytes))
      device = std::string(*given);
    if (wants_cookie_session(ctx)) {
      check_same_origin(ctx, s.cfg);
      if (!device) device = request_cookie(ctx, device_cookie_name(ctx));
    }
    auto session = s.auth.login(username, password, ctx.client_ip, device.value_or(""));
    ctx.claims = auth::Claims{};  // for the access log
    ctx.claims->user_id = session.user.id;
    return session_reply(ctx, s, 200, session);
  });

  r.add("POST", "/api/auth/refresh", [&s](Context& ctx) {
    auto body = body_object(ctx, s);
    auto token = presented_refresh_token(ctx, s, body);
    return session_reply(ctx, s, 200, s.auth.refresh(token, ctx.client_ip));
  });

  r.add("POST", "/api/auth/logout", [&s](Context& ctx) {
    auto body = body_object(ctx, s);
    auto token = presented_refresh_token(ctx, s, body);
    s.auth.logout(token, ctx.client_ip);
    auto res = Response::no_content();
    if (wants_cookie_session(ctx)) res.add("Set-Cookie", refresh_cookie(ctx, "", 0));
    return res;
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
    if (auto q = ctx.req.query_param("q")) {
      // Search: users whose username or name starts with q.
      if (q->empty() || q->size() > 64) fail(Errc::bad_request, "'q' must be 1 to 64 bytes");
      int limit = page_limit(ctx, s, 20);
      bj::array users;
      for (const auto& u : s.chat.search_users(*q, limit)) users.push_back(user_json(u));
      return json_reply(200, bj::object{{"users", std::move(users)}});
    }
    auto name = ctx.req.query_param("username");
    if (!name || name->empty() || name->size() > 64) {
      fail(Errc::bad_request, "query parameter 'username' (or 'q' to search) is required");
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
      // Collaboration documents the caller can open; each one's content is
      // at its state_path (a Yjs update: Y.applyUpdate(doc, bytes)).
      bj::array docs;
      if (s.collab) {
        Id after_doc = 0;
        for (;;) {
          auto batch = s.collab->list(me.id, after_doc, page);
          for (const auto& v : batch) {
            auto id = id_to_string(v.doc.id);
            docs.push_back(bj::object{{"id", id},
                                      {"name", v.doc.name},
                                      {"title", v.doc.title},
                                      {"role", v.role},
                                      {"created_at", v.doc.created_at},
                                      {"updated_at", v.doc.updated_at},
                                      {"state_path", "/api/collab/documents/" + id + "/state"}});
          }
          if (static_cast<int>(batch.size()) < page) break;
          after_doc = batch.back().doc.id;
        }
      }
      out["collab_documents"] = std::move(docs);
      bj::array reactions;
      for (const auto& r : s.chat.reactions_of(me.id, page)) {
        reactions.push_back(bj::object{{"conversation_id", id_to_string(r.conversation_id)},
                                       {"seq", r.seq},
                                       {"reaction", r.reaction},
                                       {"created_at", r.created_at}});
      }
      out["reactions"] = std::move(reactions);
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
