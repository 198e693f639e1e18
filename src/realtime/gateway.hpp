// The real-time gateway's shared parts: tickets, the hub, and the event
// encoder that turns committed chat changes into protocol v1 event frames.
//
// Threading: EventSink calls come from the store writer thread (commit order);
// everything else is safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/event_sink.hpp"
#include "cluster/broker.hpp"
#include "cluster/shared_state.hpp"
#include "realtime/hub.hpp"
#include "realtime/sequencer.hpp"
#include "realtime/tickets.hpp"

namespace parley::realtime {

class Gateway final : public chat::EventSink {
 public:
  Gateway(std::int64_t ticket_ttl_ms, std::int64_t presence_grace_ms, metrics::Registry& m,
          std::int64_t reorder_wait_ms = 100);

  // Cluster mode: events committed here are published to the other nodes,
  // and on_cluster_event() takes theirs. Message events then pass through
  // the sequencer, which needs set_gap_fill(). Set before serving.
  // shared: presence heartbeats and lookups across nodes (may be null).
  void set_cluster(cluster::Broker* broker, cluster::SharedState* shared, std::uint32_t node_id);
  void set_gap_fill(Sequencer::Run run, Sequencer::Fetch fetch);
  void on_cluster_event(cluster::ClusterEvent e);
  void resync();

  // How presence reaches conversations: run(fn) runs fn off the I/O threads;
  // conversations_of(user) is a blocking store read. Set before serving.
  void set_presence_fanout(std::function<void(std::function<void()>)> run,
                           std::function<std::vector<Id>(Id)> conversations_of);

  // Presence across all of a user's connections, any thread. The first
  // connection announces "online" at once; "offline" follows presence_grace_ms
  // after the last one closed, unless the user reconnects meanwhile.
  void user_connected(Id user_id);
  void user_disconnected(Id user_id, std::int64_t now_ms);
  void presence_tick(std::int64_t now_ms);
  // From one timer, a few times a second: presence and sequencer deadlines.
  void tick(std::int64_t now_ms);
  struct Presence {
    bool online = false;
    std::int64_t last_seen = 0;  // ms; 0 when never seen since start
  };
  // Blocking in cluster mode (a Redis lookup): call off the I/O threads.
  Presence presence(Id user_id) const;
  // How long a node's word that a user is online lasts without a heartbeat.
  static constexpr std::int64_t kPresenceTtlMs = 15000;
  static constexpr std::int64_t kHeartbeatMs = 5000;

  // A typing indicator, to the conversation's subscribers.
  void typing(Id conversation_id, Id user_id, std::int64_t ttl_ms);

  TicketStore& tickets() { return tickets_; }
  Hub& hub() { return hub_; }

  void message_created(const store::Message& m) override;
  void message_updated(const store::Message& m) override;
  void read_marker(Id conversation_id, Id user_id, std::int64_t seq) override;
  void delivered(Id conversation_id, Id user_id, std::int64_t seq) override;
  void member_joined(const store::Member& m) override;
  void member_left(Id conversation_id, Id user_id) override;
  void conversation_updated(const store::Conversation& c) override;
  void reaction_changed(const chat::ReactionEvent& e) override;
  void mentioned(const store::Message& m, const std::vector<Id>& users) override;
  void pin_changed(Id conversation_id, std::int64_t seq, Id user_id, bool pinned) override;
  // Coalesced: a poll's first change goes out at once; changes within
  // kPollCoalesceMs of the last event wait for tick(), which sends only the
  // latest, so under load a poll costs a few events a second and the last
  // one is always the committed state.
  void poll_changed(const store::Poll& p) override;
  static constexpr std::int64_t kPollCoalesceMs = 200;

  // An event for every connection of user_id, on this node and the others.
  void to_user(Id user_id, std::string json);

  // A login was revoked (logout, refresh reuse) or a user disabled (family 0):
  // their live connections are closed with 4001.
  void revoke(Id user_id, Id family);

  // Told when a user's access ends, on this node or another: a login revoked
  // (family 0: all of the user's), or the user left a conversation. Called
  // on the store writer's or the broker's thread: must not block. Set
  // before serving.
  struct AccessListener {
    virtual ~AccessListener() = default;
    virtual void revoked(Id user_id, Id family) = 0;
    virtual void left(Id conversation_id, Id user_id) = 0;
  };
  void set_access_listener(AccessListener* l) { access_ = l; }

 private:
  struct UserPresence {
    int connections = 0;
    bool announced_online = false;
    std::int64_t offline_due = 0;  // ms; 0 when no offline announcement is pending
    std::int64_t last_seen = 0;
  };
  void announce(Id user_id, bool online, std::int64_t at_ms);
  // To this node's subscribers and, in a cluster, the other nodes'.
  void emit(Id conversation_id, std::int64_t seq, std::string json, Id left_user = 0);
  // To this node's subscribers; in a cluster message events (seq > 0) go
  // through the sequencer, as they may arrive out of order.
  void deliver_here(Id conversation_id, std::int64_t seq, SharedFrame frame, Id left_user);

  TicketStore tickets_;
  Hub hub_;
  Sequencer sequencer_;
  cluster::Broker* broker_ = nullptr;
  cluster::SharedState* shared_ = nullptr;
  AccessListener* access_ = nullptr;
  std::int64_t next_heartbeat_ = 0;
  std::uint32_t node_id_ = 0;
  std::int64_t presence_grace_ms_;
  std::function<void(std::function<void()>)> run_;
  std::function<std::vector<Id>(Id)> conversations_of_;
  mutable std::mutex presence_mu_;
  std::unordered_map<Id, UserPresence> presence_;

  struct PendingPoll {
    Id conversation_id = 0;
    std::int64_t last_sent = 0;  // ms
    std::string json;            // the latest unsent state; empty when none
  };
  void flush_polls(std::int64_t now_ms);
  std::mutex polls_mu_;
  std::unordered_map<std::string, PendingPoll> polls_;  // by "conv:seq"
};

// Builds a text frame holding json, ready to share.
SharedFrame text_frame(std::string json);
// {"type":"message.new","conv":..,"seq":..,"message":{..}}
std::string message_event(const store::Message& m, bool created);

}  // namespace parley::realtime
