// Broker: how the nodes of a cluster hear about each other's committed events.
//
// Each node publishes what it committed (the event frame's JSON, with the
// conversation and seq) and receives what the others committed; delivery is
// best effort. The store stays the truth: a receiver puts message events back
// in seq order and fills any gap from the store (realtime/sequencer.hpp), and
// after an outage resynchronises from it. A single node runs with no broker.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/ids.hpp"

namespace parley::cluster {

struct ClusterEvent {
  enum class Kind : char {
    event = 'E',          // a protocol event for the subscribers of conv
    revoke = 'R',         // close user's sockets (family 0: all of them)
    resync = 'S',         // the origin may have dropped events: refetch from the store
    user = 'U',           // a protocol event for every connection of user
    collab = 'C',         // a committed Yjs update: conv = document id, seq = its seq in the
                          // document's log, json = the document's name, '\n', the update
    collab_access = 'A',  // a document's access changed: conv = its id, json = its name,
                          // user = whose (0: the document was deleted), family = 1 if removed
  };
  Kind kind = Kind::event;
  std::uint32_t origin = 0;  // server.node_id of the publisher
  Id conv = 0;
  std::int64_t seq = 0;  // message.new: the message's seq; otherwise 0
  Id left_user = 0;      // member.left: whose subscription ends
  Id user = 0;           // revoke, user
  Id family = 0;         // revoke
  std::string json;      // the event as sent to clients
};

// "E|origin|conv|seq|left|user|family\n" followed by the JSON.
std::string encode(const ClusterEvent& e);
// nullopt for anything malformed.
std::optional<ClusterEvent> decode(std::string_view wire);

class Broker {
 public:
  struct Handlers {
    std::function<void(ClusterEvent)> event;  // another node's event (broker thread)
    std::function<void()> resync;             // traffic may have been missed: refetch
  };
  virtual ~Broker() = default;
  virtual void start(Handlers handlers) = 0;
  virtual void stop() = 0;
  // Any thread; never blocks. Dropped (and counted) while disconnected.
  virtual void publish(const ClusterEvent& e) = 0;
  virtual bool healthy() const = 0;
  // "ok", or why not.
  virtual std::string status() const = 0;
};

}  // namespace parley::cluster
