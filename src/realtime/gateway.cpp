#include "realtime/gateway.hpp"

#include <boost/json/serialize.hpp>

#include "http/views.hpp"
#include "net/ws_frame.hpp"

namespace parley::realtime {

namespace bj = boost::json;

Gateway::Gateway(std::int64_t ticket_ttl_ms, metrics::Registry& m)
    : tickets_(ticket_ttl_ms, 100000), hub_(m) {}

SharedFrame text_frame(std::string json) {
  return std::make_shared<const std::string>(ws::make_frame(ws::Opcode::text, json));
}

std::string message_event(const store::Message& m, bool created) {
  const char* type = created ? "message.new" : m.deleted_at ? "message.deleted" : "message.updated";
  bj::object o{{"type", type},
               {"conv", id_to_string(m.conversation_id)},
               {"seq", m.seq},
               {"message", http::message_json(m)}};
  return bj::serialize(o);
}

void Gateway::message_created(const store::Message& m) {
  hub_.publish(m.conversation_id, m.seq, text_frame(message_event(m, true)));
}

void Gateway::message_updated(const store::Message& m) {
  hub_.publish(m.conversation_id, 0, text_frame(message_event(m, false)));
}

void Gateway::read_marker(Id conversation_id, Id user_id, std::int64_t seq) {
  bj::object o{{"type", "read"},
               {"conv", id_to_string(conversation_id)},
               {"user_id", id_to_string(user_id)},
               {"seq", seq}};
  hub_.publish(conversation_id, 0, text_frame(bj::serialize(o)));
}

void Gateway::revoke(Id user_id, Id family) {
  hub_.disconnect(user_id, family, 4001, "session revoked");
}

void Gateway::member_joined(const store::Member& m) {
  bj::object o{{"type", "member.joined"},
               {"conv", id_to_string(m.conversation_id)},
               {"user_id", id_to_string(m.user_id)},
               {"role", m.role}};
  hub_.publish(m.conversation_id, 0, text_frame(bj::serialize(o)));
}

void Gateway::member_left(Id conversation_id, Id user_id) {
  bj::object o{{"type", "member.left"},
               {"conv", id_to_string(conversation_id)},
               {"user_id", id_to_string(user_id)}};
  hub_.publish(conversation_id, 0, text_frame(bj::serialize(o)), user_id);
}

void Gateway::conversation_updated(const store::Conversation& c) {
  bj::object o{{"type", "conversation.updated"},
               {"conv", id_to_string(c.id)},
               {"conversation", http::conversation_json(c)}};
  hub_.publish(c.id, 0, text_frame(bj::serialize(o)));
}

}  // namespace parley::realtime
