// /api/conversations/{id}/messages and read markers.
#include <boost/json/array.hpp>

#include "app/config.hpp"
#include "chat/chat_service.hpp"
#include "core/json.hpp"
#include "http/handler_util.hpp"
#include "http/views.hpp"

namespace parley::http {

namespace bj = boost::json;

void register_message_routes(Router& r, Services& s) {
  r.add("POST", "/api/conversations/{id}/messages", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto body = body_object(ctx, s);
    auto client_id = json::require_string(
        body, "client_id", static_cast<std::size_t>(s.cfg.limits.max_client_id_bytes));
    // The byte limit is checked by the service (413); accept the field here.
    auto text = json::require_string(body, "body", SIZE_MAX, 0);
    auto sent = s.chat.send(me, conv, client_id, text);
    Response res = json_reply(sent.created ? 201 : 200, message_json(sent.message));
    res.set("Location", "/api/conversations/" + id_to_string(conv) + "/messages/" +
                            std::to_string(sent.message.seq));
    return res;
  });

  r.add("GET", "/api/conversations/{id}/messages", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto after = query_int(ctx, "after", 0, INT64_MAX);
    auto before = query_int(ctx, "before", 1, INT64_MAX);
    int limit = page_limit(ctx, s, 50);
    auto page = s.chat.list_messages(me, conv, after, before, limit);
    bj::array items;
    for (const auto& m : page) items.push_back(message_json(m));
    return json_reply(200, bj::object{{"messages", std::move(items)},
                                      {"order", after ? "asc" : "desc"},
                                      {"has_more", static_cast<int>(page.size()) == limit}});
  });

  r.add("GET", "/api/conversations/{id}/messages/{seq}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    return json_reply(200, message_json(s.chat.get_message(me, path_id(ctx, "id", "conversation"),
                                                           path_int(ctx, "seq", "message"))));
  });

  r.add("PATCH", "/api/conversations/{id}/messages/{seq}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto seq = path_int(ctx, "seq", "message");
    auto body = body_object(ctx, s);
    auto text = json::require_string(body, "body", SIZE_MAX, 0);
    return json_reply(200, message_json(s.chat.edit_message(me, conv, seq, text)));
  });

  r.add("DELETE", "/api/conversations/{id}/messages/{seq}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    return json_reply(200,
                      message_json(s.chat.delete_message(me, path_id(ctx, "id", "conversation"),
                                                         path_int(ctx, "seq", "message"))));
  });

  r.add("POST", "/api/conversations/{id}/read", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto body = body_object(ctx, s);
    auto seq = json::require_int(body, "seq", 0, INT64_MAX);
    auto view = s.chat.mark_read(me, conv, seq);
    return json_reply(200, bj::object{{"conversation_id", id_to_string(conv)},
                                      {"last_read_seq", view.me ? view.me->last_read_seq : 0},
                                      {"unread", view.unread}});
  });
}

}  // namespace parley::http
