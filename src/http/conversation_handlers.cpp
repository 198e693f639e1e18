// /api/conversations and members.
#include <boost/json/array.hpp>
#include <charconv>

#include "app/config.hpp"
#include "chat/chat_service.hpp"
#include "core/json.hpp"
#include "http/handler_util.hpp"
#include "http/views.hpp"

namespace parley::http {

namespace bj = boost::json;

namespace {

// Cursor text: "<activity_at>.<id>".
std::optional<store::ConversationCursor> parse_cursor(Context& ctx) {
  auto text = ctx.req.query_param("cursor");
  if (!text || text->empty()) return std::nullopt;
  auto dot = text->find('.');
  store::ConversationCursor c;
  bool ok = dot != std::string::npos;
  if (ok) {
    auto [p1, e1] = std::from_chars(text->data(), text->data() + dot, c.activity_at);
    auto [p2, e2] = std::from_chars(text->data() + dot + 1, text->data() + text->size(), c.id);
    ok = e1 == std::errc{} && e2 == std::errc{} && p1 == text->data() + dot &&
         p2 == text->data() + text->size();
  }
  if (!ok) fail(Errc::bad_request, "query parameter 'cursor' is malformed");
  return c;
}

}  // namespace

void register_conversation_routes(Router& r, Services& s) {
  r.add("POST", "/api/conversations", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    auto body = body_object(ctx, s);
    auto kind = json::require_string(body, "kind", 16);
    auto title = json::optional_string(body, "title",
                                       static_cast<std::size_t>(s.cfg.limits.max_title_bytes));
    std::vector<Id> members;
    if (const auto* arr = json::optional_array(
            body, "members", static_cast<std::size_t>(s.cfg.limits.max_members))) {
      for (const auto& v : *arr) members.push_back(json_id_value(v, "members[]"));
    }
    auto created = s.chat.create_conversation(me, kind, title.value_or(""), members);
    auto view = s.chat.get_conversation(me, created.conversation.id);
    Response res = json_reply(created.created ? 201 : 200, conversation_view_json(view));
    res.set("Location", "/api/conversations/" + id_to_string(created.conversation.id));
    return res;
  });

  r.add("GET", "/api/conversations", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    int limit = page_limit(ctx, s, 50);
    auto page = s.chat.list_conversations(me, parse_cursor(ctx), limit);
    bj::array items;
    for (const auto& sum : page) items.push_back(summary_json(sum));
    bj::object out{{"conversations", std::move(items)}};
    if (static_cast<int>(page.size()) == limit) {
      const auto& last = page.back().conversation;
      out["next_cursor"] = std::to_string(last.activity_at) + "." + std::to_string(last.id);
    } else {
      out["next_cursor"] = nullptr;
    }
    return json_reply(200, out);
  });

  r.add("GET", "/api/conversations/{id}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    return json_reply(200, conversation_view_json(
                               s.chat.get_conversation(me, path_id(ctx, "id", "conversation"))));
  });

  r.add("PATCH", "/api/conversations/{id}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto body = body_object(ctx, s);
    auto title = json::optional_string(body, "title",
                                       static_cast<std::size_t>(s.cfg.limits.max_title_bytes));
    auto pin_role = json::optional_string(body, "pin_role", 16);
    auto slow = json::optional_int(body, "slow_mode_s", 0, INT64_MAX);
    if (!title && !pin_role && !slow) {
      fail(Errc::bad_request, "nothing to change: give 'title', 'pin_role' or 'slow_mode_s'");
    }
    if (slow) s.chat.set_slow_mode(me, conv, *slow, ctx.client_ip);
    if (pin_role) s.chat.set_pin_role(me, conv, *pin_role);
    if (title) s.chat.rename(me, conv, *title);
    return json_reply(200, conversation_view_json(s.chat.get_conversation(me, conv)));
  });

  r.add("GET", "/api/conversations/{id}/members", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    bj::array items;
    for (const auto& m : s.chat.members(me, path_id(ctx, "id", "conversation"))) {
      items.push_back(member_view_json(m));
    }
    return json_reply(200, bj::object{{"members", std::move(items)}});
  });

  r.add("POST", "/api/conversations/{id}/members", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto body = body_object(ctx, s);
    Id user = json_id(body, "user_id");
    auto role = json::optional_string(body, "role", 16).value_or("member");
    return json_reply(201, member_json(s.chat.add_member(me, conv, user, role)));
  });

  r.add("PATCH", "/api/conversations/{id}/members/{user_id}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    Id user = path_id(ctx, "user_id", "member");
    auto body = body_object(ctx, s);
    auto role = json::require_string(body, "role", 16);
    return json_reply(200, member_json(s.chat.set_member_role(me, conv, user, role)));
  });

  r.add("DELETE", "/api/conversations/{id}/members/{user_id}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    s.chat.remove_member(me, path_id(ctx, "id", "conversation"), path_id(ctx, "user_id", "member"));
    return Response::no_content();
  });

  r.add("POST", "/api/conversations/{id}/leave", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    s.chat.remove_member(me, path_id(ctx, "id", "conversation"), me);
    return Response::no_content();
  });
}

}  // namespace parley::http
