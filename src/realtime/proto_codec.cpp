#include "realtime/proto_codec.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "parley/v1/protocol.pb.h"

namespace parley::realtime {

namespace bj = boost::json;
namespace pb = parley::v1;

namespace {

bj::value id_value(std::uint64_t id) { return bj::value(id_to_string(static_cast<Id>(id))); }

// Ids in the JSON form are decimal strings; absent or malformed ones are 0.
std::uint64_t id_of(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return 0;
  auto id = parse_id(it->value().as_string());
  return id ? static_cast<std::uint64_t>(*id) : 0;
}

std::int64_t int_of(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return 0;
  if (it->value().is_int64()) return it->value().as_int64();
  if (it->value().is_uint64()) return static_cast<std::int64_t>(it->value().as_uint64());
  return 0;
}

bool has_int(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && (it->value().is_int64() || it->value().is_uint64());
}

bool bool_of(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_bool() && it->value().as_bool();
}

std::string string_of(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().as_string());
}

const bj::object& object_of(const bj::object& o, std::string_view key) {
  static const bj::object empty;
  auto it = o.find(key);
  return it != o.end() && it->value().is_object() ? it->value().as_object() : empty;
}

const bj::array& array_of(const bj::object& o, std::string_view key) {
  static const bj::array empty;
  auto it = o.find(key);
  return it != o.end() && it->value().is_array() ? it->value().as_array() : empty;
}

template <class M>
void set_id(M& m, const bj::value& id) {
  if (id.is_string()) {
    m.set_id_string(std::string(id.as_string()));
  } else if (id.is_int64()) {
    m.set_id_number(id.as_int64());
  } else if (id.is_uint64()) {
    m.set_id_number(static_cast<std::int64_t>(id.as_uint64()));
  }
}

void to_proto(const bj::object& j, pb::Mentions& m) {
  for (const auto& v : array_of(j, "user_ids")) {
    if (v.is_string()) {
      if (auto id = parse_id(v.get_string())) m.add_user_ids(static_cast<std::uint64_t>(*id));
    }
  }
  m.set_here(bool_of(j, "here"));
  m.set_all(bool_of(j, "all"));
}

bj::object to_json(const pb::Mentions& m) {
  bj::array ids;
  for (auto u : m.user_ids()) ids.push_back(id_value(u));
  return {{"user_ids", std::move(ids)}, {"here", m.here()}, {"all", m.all()}};
}

void to_proto(const bj::object& j, pb::Message& m) {
  m.set_id(id_of(j, "id"));
  m.set_conversation_id(id_of(j, "conversation_id"));
  m.set_seq(int_of(j, "seq"));
  m.set_sender_id(id_of(j, "sender_id"));
  m.set_client_id(string_of(j, "client_id"));
  m.set_body(string_of(j, "body"));
  m.set_created_at(int_of(j, "created_at"));
  if (has_int(j, "edited_at")) m.set_edited_at(int_of(j, "edited_at"));
  m.set_deleted(bool_of(j, "deleted"));
  if (has_int(j, "deleted_at")) m.set_deleted_at(int_of(j, "deleted_at"));
  m.set_reply_to(int_of(j, "reply_to"));
  m.set_broadcast(bool_of(j, "broadcast"));
  if (auto it = j.find("mentions"); it != j.end() && it->value().is_object()) {
    to_proto(it->value().get_object(), *m.mutable_mentions());
  }
  if (auto it = j.find("poll"); it != j.end() && it->value().is_object()) {
    m.set_poll(bj::serialize(it->value()));
  }
}

bj::object to_json(const pb::Message& m) {
  bj::object o{{"id", id_value(m.id())},
               {"conversation_id", id_value(m.conversation_id())},
               {"seq", m.seq()},
               {"sender_id", id_value(m.sender_id())},
               {"client_id", m.client_id()},
               {"body", m.body()},
               {"created_at", m.created_at()}};
  o["edited_at"] = m.has_edited_at() ? bj::value(m.edited_at()) : bj::value(nullptr);
  o["deleted"] = m.deleted();
  o["deleted_at"] = m.has_deleted_at() ? bj::value(m.deleted_at()) : bj::value(nullptr);
  if (m.reply_to()) {
    o["reply_to"] = m.reply_to();
    o["broadcast"] = m.broadcast();
  }
  if (!m.poll().empty()) {
    bj::error_code ec;
    auto poll = bj::parse(m.poll(), ec);
    if (!ec) o["poll"] = std::move(poll);
  }
  if (m.has_mentions()) o["mentions"] = to_json(m.mentions());
  return o;
}

void to_proto(const bj::object& j, pb::Conversation& c) {
  c.set_id(id_of(j, "id"));
  c.set_kind(string_of(j, "kind"));
  c.set_title(string_of(j, "title"));
  c.set_created_by(id_of(j, "created_by"));
  c.set_created_at(int_of(j, "created_at"));
  c.set_updated_at(int_of(j, "updated_at"));
  c.set_last_seq(int_of(j, "last_seq"));
  c.set_activity_at(int_of(j, "activity_at"));
  c.set_pin_role(string_of(j, "pin_role"));
}

bj::object to_json(const pb::Conversation& c) {
  bj::object o{{"id", id_value(c.id())},       {"kind", c.kind()},
               {"title", c.title()},           {"created_by", id_value(c.created_by())},
               {"created_at", c.created_at()}, {"updated_at", c.updated_at()},
               {"last_seq", c.last_seq()},     {"activity_at", c.activity_at()}};
  if (!c.pin_role().empty()) o["pin_role"] = c.pin_role();  // absent from older servers
  return o;
}

std::string serialize(const pb::ServerMessage& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

}  // namespace

Request decode_proto_request(std::string_view bytes, bj::value* id_out) {
  pb::Request r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    fail(Errc::bad_request, "frame is not a parley.v1.Request");
  }
  Request out;
  if (r.id_case() == pb::Request::kIdString) {
    out.id = bj::string(r.id_string());
  } else if (r.id_case() == pb::Request::kIdNumber) {
    out.id = r.id_number();
  }
  if (id_out) *id_out = out.id;
  auto& f = out.fields;
  switch (r.op_case()) {
    case pb::Request::kAuth:
      out.op = "auth";
      f["token"] = r.auth().token();
      break;
    case pb::Request::kSubscribe: {
      out.op = "subscribe";
      bj::array list;
      for (const auto& e : r.subscribe().conversations()) {
        bj::object entry{{"conv", id_value(e.conv())}};
        if (e.has_since()) entry["since"] = e.since();
        list.push_back(std::move(entry));
      }
      f["conversations"] = std::move(list);
      break;
    }
    case pb::Request::kUnsubscribe: {
      out.op = "unsubscribe";
      bj::array list;
      for (auto conv : r.unsubscribe().conversations()) list.push_back(id_value(conv));
      f["conversations"] = std::move(list);
      break;
    }
    case pb::Request::kSend:
      out.op = "send";
      f["conv"] = id_value(r.send().conv());
      f["client_id"] = r.send().client_id();
      f["body"] = r.send().body();
      if (r.send().reply_to()) f["reply_to"] = r.send().reply_to();
      if (r.send().broadcast()) f["broadcast"] = true;
      if (r.send().has_mentions()) f["mentions"] = to_json(r.send().mentions());
      if (r.send().has_poll()) {
        const auto& p = r.send().poll();
        bj::array options;
        for (const auto& o : p.options()) options.push_back(bj::value(o));
        bj::object poll{{"options", std::move(options)},
                        {"max_votes", p.max_votes() ? p.max_votes() : 1},
                        {"anonymous", p.anonymous()},
                        {"open_options", p.open_options()}};
        if (p.closes_at()) poll["closes_at"] = p.closes_at();
        f["poll"] = std::move(poll);
      }
      break;
    case pb::Request::kEdit:
      out.op = "edit";
      f["conv"] = id_value(r.edit().conv());
      f["seq"] = r.edit().seq();
      f["body"] = r.edit().body();
      break;
    case pb::Request::kDelete:
      out.op = "delete";
      f["conv"] = id_value(r.delete_().conv());
      f["seq"] = r.delete_().seq();
      break;
    case pb::Request::kRead:
      out.op = "read";
      f["conv"] = id_value(r.read().conv());
      f["seq"] = r.read().seq();
      break;
    case pb::Request::kTyping:
      out.op = "typing";
      f["conv"] = id_value(r.typing().conv());
      break;
    case pb::Request::kPresence: {
      out.op = "presence";
      bj::array list;
      for (auto user : r.presence().users()) list.push_back(id_value(user));
      f["users"] = std::move(list);
      break;
    }
    case pb::Request::kPing:
      out.op = "ping";
      break;
    case pb::Request::kDelivered:
      out.op = "delivered";
      f["conv"] = id_value(r.delivered().conv());
      f["seq"] = r.delivered().seq();
      break;
    case pb::Request::kReact:
      out.op = "react";
      f["conv"] = id_value(r.react().conv());
      f["seq"] = r.react().seq();
      f["reaction"] = r.react().reaction();
      f["remove"] = r.react().remove();
      break;
    case pb::Request::OP_NOT_SET:
      break;  // answered "unknown op"
  }
  return out;
}

std::string encode_proto_reply(std::string_view op, const bj::object& reply) {
  pb::ServerMessage m;
  auto& r = *m.mutable_reply();
  if (auto it = reply.find("id"); it != reply.end()) set_id(r, it->value());
  r.set_ok(bool_of(reply, "ok"));
  if (!r.ok()) {
    const auto& e = object_of(reply, "error");
    auto& err = *r.mutable_error();
    err.set_code(string_of(e, "code"));
    err.set_status(static_cast<std::int32_t>(int_of(e, "status")));
    err.set_message(string_of(e, "message"));
    return serialize(m);
  }
  const auto& j = object_of(reply, "result");
  if (op == "auth") {
    r.mutable_auth()->set_user_id(id_of(j, "user_id"));
    r.mutable_auth()->set_expires_at(int_of(j, "expires_at"));
  } else if (op == "subscribe") {
    auto& s = *r.mutable_subscribe();
    for (const auto& v : array_of(j, "subscribed")) {
      if (!v.is_object()) continue;
      const auto& o = v.as_object();
      auto& e = *s.add_subscribed();
      e.set_conv(id_of(o, "conv"));
      e.set_last_seq(int_of(o, "last_seq"));
      e.set_replayed(int_of(o, "replayed"));
      e.set_truncated(bool_of(o, "truncated"));
      e.set_rewound(bool_of(o, "rewound"));
    }
    for (const auto& v : array_of(j, "errors")) {
      if (!v.is_object()) continue;
      auto& e = *s.add_errors();
      e.set_conv(id_of(v.as_object(), "conv"));
      e.set_code(string_of(v.as_object(), "code"));
    }
  } else if (op == "unsubscribe") {
    r.mutable_unsubscribe()->set_subscriptions(int_of(j, "subscriptions"));
  } else if (op == "send") {
    auto& s = *r.mutable_send();
    s.set_message_id(id_of(j, "message_id"));
    s.set_conv(id_of(j, "conv"));
    s.set_seq(int_of(j, "seq"));
    s.set_ts(int_of(j, "ts"));
    s.set_duplicate(bool_of(j, "duplicate"));
    s.set_reply_to(int_of(j, "reply_to"));
  } else if (op == "edit" || op == "delete") {
    r.mutable_edit()->set_seq(int_of(j, "seq"));
    r.mutable_edit()->set_deleted(bool_of(j, "deleted"));
  } else if (op == "read") {
    r.mutable_read()->set_last_read_seq(int_of(j, "last_read_seq"));
    r.mutable_read()->set_unread(int_of(j, "unread"));
  } else if (op == "typing") {
    r.mutable_typing()->set_throttled(bool_of(j, "throttled"));
  } else if (op == "presence") {
    auto& p = *r.mutable_presence();
    for (const auto& v : array_of(j, "users")) {
      if (!v.is_object()) continue;
      const auto& o = v.as_object();
      auto& u = *p.add_users();
      u.set_user_id(id_of(o, "user_id"));
      u.set_online(string_of(o, "status") == "online");
      if (has_int(o, "last_seen")) u.set_last_seen(int_of(o, "last_seen"));
    }
  } else if (op == "ping") {
    r.mutable_ping()->set_ts(int_of(j, "ts"));
  } else if (op == "delivered") {
    r.mutable_delivered()->set_delivered_seq(int_of(j, "delivered_seq"));
  } else if (op == "react") {
    auto& x = *r.mutable_react();
    x.set_seq(int_of(j, "seq"));
    x.set_reaction(string_of(j, "reaction"));
    x.set_count(int_of(j, "count"));
    x.set_me(bool_of(j, "me"));
  }
  return serialize(m);
}

std::string encode_proto_event(std::string_view json) {
  bj::error_code ec;
  bj::value v = bj::parse(json, ec);
  if (ec || !v.is_object()) fail(Errc::internal, "event is not a JSON object");
  const auto& j = v.as_object();
  std::string type = string_of(j, "type");
  pb::ServerMessage m;
  auto& e = *m.mutable_event();
  e.set_conv(id_of(j, "conv"));
  auto message_event = [&](pb::MessageEvent* me) {
    me->set_seq(int_of(j, "seq"));
    to_proto(object_of(j, "message"), *me->mutable_message());
  };
  if (type == "message.new") {
    message_event(e.mutable_message_new());
  } else if (type == "message.updated") {
    message_event(e.mutable_message_updated());
  } else if (type == "message.deleted") {
    message_event(e.mutable_message_deleted());
  } else if (type == "read") {
    e.mutable_read()->set_user_id(id_of(j, "user_id"));
    e.mutable_read()->set_seq(int_of(j, "seq"));
  } else if (type == "member.joined") {
    e.mutable_member_joined()->set_user_id(id_of(j, "user_id"));
    e.mutable_member_joined()->set_role(string_of(j, "role"));
  } else if (type == "member.left") {
    e.mutable_member_left()->set_user_id(id_of(j, "user_id"));
  } else if (type == "conversation.updated") {
    to_proto(object_of(j, "conversation"),
             *e.mutable_conversation_updated()->mutable_conversation());
  } else if (type == "typing") {
    e.mutable_typing()->set_user_id(id_of(j, "user_id"));
    e.mutable_typing()->set_expires_in_ms(int_of(j, "expires_in_ms"));
  } else if (type == "conversation.added") {
    e.mutable_conversation_added()->set_role(string_of(j, "role"));
  } else if (type == "presence") {
    auto& p = *e.mutable_presence();
    p.set_user_id(id_of(j, "user_id"));
    p.set_online(string_of(j, "status") == "online");
    if (has_int(j, "last_seen")) p.set_last_seen(int_of(j, "last_seen"));
  } else if (type == "delivered") {
    e.mutable_delivered()->set_user_id(id_of(j, "user_id"));
    e.mutable_delivered()->set_seq(int_of(j, "seq"));
  } else if (type == "poll") {
    const auto& p = object_of(j, "poll");
    auto& x = *e.mutable_poll();
    x.set_seq(int_of(p, "seq"));
    for (const auto& v : array_of(p, "options")) {
      if (!v.is_object()) continue;
      auto& o = *x.add_options();
      o.set_id(int_of(v.as_object(), "id"));
      o.set_text(string_of(v.as_object(), "text"));
      o.set_votes(int_of(v.as_object(), "votes"));
    }
    x.set_voters(int_of(p, "voters"));
    x.set_closed(bool_of(p, "closed"));
  } else if (type == "pin") {
    auto& x = *e.mutable_pin();
    x.set_seq(int_of(j, "seq"));
    x.set_user_id(id_of(j, "user_id"));
    x.set_pinned(bool_of(j, "pinned"));
  } else if (type == "mention") {
    auto& x = *e.mutable_mention();
    x.set_seq(int_of(j, "seq"));
    x.set_sender_id(id_of(j, "sender_id"));
    x.set_kind(string_of(j, "kind"));
    x.set_reply_to(int_of(j, "reply_to"));
  } else if (type == "reaction") {
    auto& r = *e.mutable_reaction();
    r.set_seq(int_of(j, "seq"));
    r.set_reaction(string_of(j, "reaction"));
    r.set_user_id(id_of(j, "user_id"));
    r.set_added(string_of(j, "action") == "added");
    r.set_count(int_of(j, "count"));
  } else {
    fail(Errc::internal, "event type '" + type + "' has no binary encoding");
  }
  return serialize(m);
}

bj::object decode_proto_event(std::string_view bytes) {
  pb::ServerMessage m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !m.has_event()) {
    fail(Errc::bad_request, "not a ServerMessage holding an event");
  }
  const auto& e = m.event();
  bj::object o;
  auto message_event = [&](const char* type, const pb::MessageEvent& me) {
    o = {{"type", type},
         {"conv", id_value(e.conv())},
         {"seq", me.seq()},
         {"message", to_json(me.message())}};
  };
  switch (e.type_case()) {
    case pb::Event::kMessageNew:
      message_event("message.new", e.message_new());
      break;
    case pb::Event::kMessageUpdated:
      message_event("message.updated", e.message_updated());
      break;
    case pb::Event::kMessageDeleted:
      message_event("message.deleted", e.message_deleted());
      break;
    case pb::Event::kRead:
      o = {{"type", "read"},
           {"conv", id_value(e.conv())},
           {"user_id", id_value(e.read().user_id())},
           {"seq", e.read().seq()}};
      break;
    case pb::Event::kMemberJoined:
      o = {{"type", "member.joined"},
           {"conv", id_value(e.conv())},
           {"user_id", id_value(e.member_joined().user_id())},
           {"role", e.member_joined().role()}};
      break;
    case pb::Event::kMemberLeft:
      o = {{"type", "member.left"},
           {"conv", id_value(e.conv())},
           {"user_id", id_value(e.member_left().user_id())}};
      break;
    case pb::Event::kConversationUpdated:
      o = {{"type", "conversation.updated"},
           {"conv", id_value(e.conv())},
           {"conversation", to_json(e.conversation_updated().conversation())}};
      break;
    case pb::Event::kTyping:
      o = {{"type", "typing"},
           {"conv", id_value(e.conv())},
           {"user_id", id_value(e.typing().user_id())},
           {"expires_in_ms", e.typing().expires_in_ms()}};
      break;
    case pb::Event::kConversationAdded:
      o = {{"type", "conversation.added"},
           {"conv", id_value(e.conv())},
           {"role", e.conversation_added().role()}};
      break;
    case pb::Event::kPresence:
      o = {{"type", "presence"},
           {"user_id", id_value(e.presence().user_id())},
           {"status", e.presence().online() ? "online" : "offline"},
           {"conv", id_value(e.conv())}};
      if (e.presence().has_last_seen()) o["last_seen"] = e.presence().last_seen();
      break;
    case pb::Event::kReaction:
      o = {{"type", "reaction"},
           {"conv", id_value(e.conv())},
           {"seq", e.reaction().seq()},
           {"reaction", e.reaction().reaction()},
           {"user_id", id_value(e.reaction().user_id())},
           {"action", e.reaction().added() ? "added" : "removed"},
           {"count", e.reaction().count()}};
      break;
    case pb::Event::kDelivered:
      o = {{"type", "delivered"},
           {"conv", id_value(e.conv())},
           {"user_id", id_value(e.delivered().user_id())},
           {"seq", e.delivered().seq()}};
      break;
    case pb::Event::kPoll: {
      bj::array options;
      for (const auto& opt : e.poll().options()) {
        options.push_back(
            bj::object{{"id", opt.id()}, {"text", opt.text()}, {"votes", opt.votes()}});
      }
      o = {{"type", "poll"},
           {"conv", id_value(e.conv())},
           {"poll", bj::object{{"seq", e.poll().seq()},
                               {"options", std::move(options)},
                               {"voters", e.poll().voters()},
                               {"closed", e.poll().closed()}}}};
      break;
    }
    case pb::Event::kPin:
      o = {{"type", "pin"},
           {"conv", id_value(e.conv())},
           {"seq", e.pin().seq()},
           {"user_id", id_value(e.pin().user_id())},
           {"pinned", e.pin().pinned()}};
      break;
    case pb::Event::kMention:
      o = {{"type", "mention"},
           {"conv", id_value(e.conv())},
           {"seq", e.mention().seq()},
           {"sender_id", id_value(e.mention().sender_id())},
           {"kind", e.mention().kind()}};
      if (e.mention().reply_to()) o["reply_to"] = e.mention().reply_to();
      break;
    case pb::Event::TYPE_NOT_SET:
      fail(Errc::bad_request, "event of a type this build does not know");
  }
  return o;
}

}  // namespace parley::realtime
