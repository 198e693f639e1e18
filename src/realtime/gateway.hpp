// The real-time gateway's shared parts: tickets, the hub, and the event
// encoder that turns committed chat changes into protocol v1 event frames.
//
// Threading: EventSink calls come from the store writer thread (commit order);
// everything else is safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "chat/event_sink.hpp"
#include "realtime/hub.hpp"
#include "realtime/tickets.hpp"

namespace parley::realtime {

class Gateway final : public chat::EventSink {
 public:
  Gateway(std::int64_t ticket_ttl_ms, metrics::Registry& m);

  TicketStore& tickets() { return tickets_; }
  Hub& hub() { return hub_; }

  void message_created(const store::Message& m) override;
  void message_updated(const store::Message& m) override;
  void read_marker(Id conversation_id, Id user_id, std::int64_t seq) override;
  void member_joined(const store::Member& m) override;
  void member_left(Id conversation_id, Id user_id) override;
  void conversation_updated(const store::Conversation& c) override;

  // A login was revoked (logout, refresh reuse) or a user disabled (family 0):
  // their live connections are closed with 4001.
  void revoke(Id user_id, Id family);

 private:
  TicketStore tickets_;
  Hub hub_;
};

// Builds a text frame holding json, ready to share.
SharedFrame text_frame(std::string json);
// {"type":"message.new","conv":..,"seq":..,"message":{..}}
std::string message_event(const store::Message& m, bool created);

}  // namespace parley::realtime
