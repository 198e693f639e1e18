// Where committed chat changes go (the real-time gateway implements it).
// Every call happens on the store writer thread right after the COMMIT that
// made the change durable, in commit order, so for one conversation
// message_created calls arrive in seq order. Implementations must not block.
#pragma once

#include <cstdint>
#include <string>

#include "store/types.hpp"

namespace parley::chat {

// A reaction added or removed (only when that changed something).
struct ReactionEvent {
  Id conversation_id = 0;
  std::int64_t seq = 0;
  std::string reaction;
  Id user_id = 0;
  bool added = false;
  std::int64_t count = 0;  // users with this reaction on the message now
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void message_created(const store::Message& m) = 0;
  // An edit or a deletion (tombstone).
  virtual void message_updated(const store::Message& m) = 0;
  virtual void read_marker(Id conversation_id, Id user_id, std::int64_t seq) = 0;
  virtual void delivered(Id conversation_id, Id user_id, std::int64_t seq) = 0;
  virtual void member_joined(const store::Member& m) = 0;
  // The user left or was removed: their subscriptions to it must end.
  virtual void member_left(Id conversation_id, Id user_id) = 0;
  virtual void conversation_updated(const store::Conversation& c) = 0;
  virtual void reaction_changed(const ReactionEvent& e) = 0;
  // A poll's results changed (votes, options, closed); p carries no viewer.
  virtual void poll_changed(const store::Poll& p) = 0;
  // A message was pinned or unpinned by user_id.
  virtual void pin_changed(Id conversation_id, std::int64_t seq, Id user_id, bool pinned) = 0;
  // m mentions these users (after message_created for it).
  virtual void mentioned(const store::Message& m, const std::vector<Id>& users) = 0;
};

}  // namespace parley::chat
