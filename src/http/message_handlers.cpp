// /api/conversations/{id}/messages and read markers.
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

// The reactions of message `seq` among `counts` (ordered by seq).
bj::array reactions_json(const std::vector<store::ReactionCount>& counts, std::int64_t seq) {
  bj::array out;
  for (const auto& c : counts) {
    if (c.seq != seq) continue;
    out.push_back(bj::object{{"reaction", c.reaction}, {"count", c.count}, {"me", c.me}});
  }
  return out;
}

bj::object pin_json(const store::Pin& p) {
  return {{"by", id_to_string(p.pinned_by)}, {"at", p.pinned_at}};
}

// Messages as REST shows them: each with its reactions and, for a root with
// replies, its thread summary.
bj::array page_json(Services& s, Id me, Id conv, std::span<const store::Message> page) {
  std::vector<std::int64_t> seqs;
  for (const auto& m : page) seqs.push_back(m.seq);
  auto counts = s.chat.reactions(me, conv, seqs);
  auto threads = s.chat.thread_summaries(me, conv, seqs);
  auto pins = s.chat.pins_among(me, conv, seqs);
  bj::array items;
  for (const auto& m : page) {
    auto o = message_json(m);
    o["reactions"] = reactions_json(counts, m.seq);
    for (const auto& t : threads) {
      if (t.root_seq == m.seq) o["thread"] = thread_json(t);
    }
    for (const auto& p : pins) {
      if (p.seq == m.seq) o["pinned"] = pin_json(p);
    }
    if (!m.poll.empty() && !m.deleted_at) o["poll"] = poll_json(s.chat.poll(me, conv, m.seq), true);
    items.push_back(std::move(o));
  }
  return items;
}

bj::object reaction_json(const chat::ReactionEvent& e) {
  return {{"seq", e.seq}, {"reaction", e.reaction}, {"count", e.count}, {"me", e.added}};
}

}  // namespace

void register_message_routes(Router& r, Services& s) {
  r.add("POST", "/api/conversations/{id}/messages", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto body = body_object(ctx, s);
    auto client_id = json::require_string(
        body, "client_id", static_cast<std::size_t>(s.cfg.limits.max_client_id_bytes));
    // The byte limit is checked by the service (413); accept the field here.
    auto text = json::require_string(body, "body", SIZE_MAX, 0);
    chat::SendOptions opts;
    opts.reply_to = json::optional_int(body, "reply_to", 1, INT64_MAX).value_or(0);
    opts.broadcast = json::optional_bool(body, "broadcast").value_or(false);
    opts.mentions = mentions_from_json(body, kMaxMentionItems);
    opts.poll = poll_from_json(body);
    auto sent = s.chat.send(me, conv, client_id, text, opts);
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
    std::vector<std::int64_t> seqs;
    for (const auto& m : page) seqs.push_back(m.seq);
    bj::array items = page_json(s, me, conv, page);
    return json_reply(200, bj::object{{"messages", std::move(items)},
                                      {"order", after ? "asc" : "desc"},
                                      {"has_more", static_cast<int>(page.size()) == limit}});
  });

  r.add("GET", "/api/conversations/{id}/messages/{seq}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto m = s.chat.get_message(me, conv, path_int(ctx, "seq", "message"));
    return json_reply(200, page_json(s, me, conv, {&m, 1}).at(0));
  });

  // A thread: its root (with its summary) and a page of replies, ascending.
  r.add("GET", "/api/conversations/{id}/messages/{seq}/thread", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto after = query_int(ctx, "after", 0, INT64_MAX).value_or(0);
    int limit = page_limit(ctx, s, 50);
    auto t = s.chat.thread(me, conv, path_int(ctx, "seq", "message"), after, limit);
    auto root = page_json(s, me, conv, {&t.root, 1}).at(0);
    bj::array replies = page_json(s, me, conv, t.replies);
    bool more = static_cast<int>(t.replies.size()) == limit;
    bj::object out{{"root", std::move(root)}, {"replies", std::move(replies)}, {"has_more", more}};
    out["next_after"] = more ? bj::value(t.replies.back().seq) : bj::value(nullptr);
    return json_reply(200, std::move(out));
  });

  // Reactions: the summary of a message, who reacted with one, add, remove.
  r.add("GET", "/api/conversations/{id}/messages/{seq}/reactions", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto seq = path_int(ctx, "seq", "message");
    auto m = s.chat.get_message(me, conv, seq);  // 404 for a seq that does not exist
    if (auto reaction = ctx.req.query_param("reaction")) {
      auto after = query_int(ctx, "after", 0, INT64_MAX);
      int limit = page_limit(ctx, s, 50);
      auto users = s.chat.reaction_users(me, conv, seq, *reaction, after.value_or(0), limit);
      bj::array ids;
      for (Id u : users) ids.push_back(bj::value(id_to_string(u)));
      return json_reply(200, bj::object{{"reaction", *reaction},
                                        {"user_ids", std::move(ids)},
                                        {"has_more", static_cast<int>(users.size()) == limit}});
    }
    std::vector<std::int64_t> one{m.seq};
    return json_reply(
        200, bj::object{{"seq", seq},
                        {"reactions", reactions_json(s.chat.reactions(me, conv, one), seq)}});
  });

  r.add("POST", "/api/conversations/{id}/messages/{seq}/reactions", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto seq = path_int(ctx, "seq", "message");
    auto body = body_object(ctx, s);
    // The byte limit is the service's (limits.max_reaction_bytes).
    auto reaction = json::require_string(body, "reaction", 4096);
    auto r = s.chat.react(me, conv, seq, reaction, true);
    return json_reply(r.changed ? 201 : 200, reaction_json(r.event));
  });

  r.add("DELETE", "/api/conversations/{id}/messages/{seq}/reactions", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto seq = path_int(ctx, "seq", "message");
    auto reaction = ctx.req.query_param("reaction");
    if (!reaction) fail(Errc::bad_request, "query parameter 'reaction' is required");
    auto r = s.chat.react(me, conv, seq, *reaction, false);
    return json_reply(200, reaction_json(r.event));
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

  // Pins: the pinned messages (newest seq first), pin, unpin.
  r.add("GET", "/api/conversations/{id}/pins", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto before = query_int(ctx, "before", 1, INT64_MAX).value_or(INT64_MAX);
    int limit = page_limit(ctx, s, 50);
    auto list = s.chat.pinned(me, conv, before, limit);
    std::vector<store::Message> msgs;
    for (auto& [p, m] : list) msgs.push_back(m);
    bj::array items = page_json(s, me, conv, msgs);
    return json_reply(200, bj::object{{"messages", std::move(items)},
                                      {"has_more", static_cast<int>(list.size()) == limit}});
  });

  for (const char* method : {"PUT", "DELETE"}) {
    bool pinned = std::string_view(method) == "PUT";
    r.add(method, "/api/conversations/{id}/pins/{seq}", [&s, pinned](Context& ctx) {
      Id me = require_auth(ctx, s).user_id;
      Id conv = path_id(ctx, "id", "conversation");
      auto seq = path_int(ctx, "seq", "message");
      bool changed = s.chat.pin(me, conv, seq, pinned);
      return json_reply(pinned && changed ? 201 : 200,
                        bj::object{{"seq", seq}, {"pinned", pinned}, {"changed", changed}});
    });
  }

  // Search over the messages of my conversations (the query language is
  // ChatService::search's), best first, with snippets.
  r.add("GET", "/api/search/messages", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    auto q = ctx.req.query_param("q");
    if (!q) fail(Errc::bad_request, "query parameter 'q' is required");
    int limit = page_limit(ctx, s, 20);
    auto offset = static_cast<int>(query_int(ctx, "offset", 0, 1000).value_or(0));
    auto sort = ctx.req.query_param("sort").value_or("recent");
    if (sort != "recent" && sort != "relevance") {
      fail(Errc::bad_request, "'sort' must be recent or relevance");
    }
    auto result = s.chat.search(me, *q, limit, offset, sort == "relevance");
    bj::array items;
    for (const auto& m : result.messages) {
      auto o = message_json(m);
      o["snippet"] = snippet_json(m.body, result.terms);
      items.push_back(std::move(o));
    }
    return json_reply(200,
                      bj::object{{"messages", std::move(items)},
                                 {"has_more", static_cast<int>(result.messages.size()) == limit}});
  });

  // Polls: the state, my votes (replaced; [] retracts), options, closing.
  r.add("GET", "/api/conversations/{id}/messages/{seq}/poll", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    return json_reply(200, poll_json(s.chat.poll(me, conv, path_int(ctx, "seq", "message")), true));
  });

  r.add("PUT", "/api/conversations/{id}/messages/{seq}/poll/votes", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto seq = path_int(ctx, "seq", "message");
    auto body = body_object(ctx, s);
    std::vector<std::int64_t> ids;
    for (const auto& v : json::require_array(body, "option_ids", 100)) {
      if (!v.is_int64() || v.get_int64() < 1) {
        fail(Errc::bad_request, "'option_ids' must hold option ids (integers)");
      }
      ids.push_back(v.get_int64());
    }
    return json_reply(200, poll_json(s.chat.vote(me, conv, seq, std::move(ids)), true));
  });

  r.add("POST", "/api/conversations/{id}/messages/{seq}/poll/options", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto seq = path_int(ctx, "seq", "message");
    auto body = body_object(ctx, s);
    auto text = json::require_string(body, "text", 4096);
    return json_reply(201, poll_json(s.chat.add_poll_option(me, conv, seq, text), true));
  });

  r.add("POST", "/api/conversations/{id}/messages/{seq}/poll/close", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    return json_reply(
        200, poll_json(s.chat.close_poll(me, conv, path_int(ctx, "seq", "message")), true));
  });

  r.add("POST", "/api/conversations/{id}/read", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto body = body_object(ctx, s);
    auto seq = json::require_int(body, "seq", 0, INT64_MAX);
    auto view = s.chat.mark_read(me, conv, seq);
    return json_reply(200, bj::object{{"conversation_id", id_to_string(conv)},
                                      {"last_read_seq", view.me ? view.me->last_read_seq : 0},
                                      {"unread", view.unread},
                                      {"unread_mentions", view.unread_mentions}});
  });

  // My delivered marker: the highest seq one of my devices has received.
  r.add("POST", "/api/conversations/{id}/delivered", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto body = body_object(ctx, s);
    auto seq = json::require_int(body, "seq", 0, INT64_MAX);
    return json_reply(200, bj::object{{"conversation_id", id_to_string(conv)},
                                      {"delivered_seq", s.chat.mark_delivered(me, conv, seq)}});
  });

  // My notification level in the conversation.
  r.add("PUT", "/api/conversations/{id}/notify", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id conv = path_id(ctx, "id", "conversation");
    auto body = body_object(ctx, s);
    auto level = json::require_string(body, "notify", 16);
    return json_reply(200, conversation_view_json(s.chat.set_notify(me, conv, level)));
  });
}

}  // namespace parley::http
