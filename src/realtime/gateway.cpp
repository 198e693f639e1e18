#include "realtime/gateway.hpp"

#include <boost/json/serialize.hpp>
#include <charconv>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "http/views.hpp"
#include "net/ws_frame.hpp"

namespace parley::realtime {

namespace bj = boost::json;

Gateway::Gateway(std::int64_t ticket_ttl_ms, std::int64_t presence_grace_ms, metrics::Registry& m,
                 std::int64_t reorder_wait_ms)
    : tickets_(ticket_ttl_ms, 100000),
      hub_(m),
      sequencer_(hub_, reorder_wait_ms, m),
      presence_grace_ms_(presence_grace_ms) {}

void Gateway::set_cluster(cluster::Broker* broker, cluster::SharedState* shared,
                          std::uint32_t node_id) {
  broker_ = broker;
  shared_ = shared;
  node_id_ = node_id;
}

void Gateway::set_gap_fill(Sequencer::Run run, Sequencer::Fetch fetch) {
  sequencer_.set_fill(std::move(run), std::move(fetch));
}

void Gateway::deliver_here(Id conversation_id, std::int64_t seq, SharedFrame frame, Id left_user) {
  if (left_user && access_) access_->left(conversation_id, left_user);
  if (seq > 0 && broker_) {
    sequencer_.offer(conversation_id, seq, std::move(frame), now_ms());
  } else {
    hub_.publish(conversation_id, seq, std::move(frame), left_user);
  }
}

void Gateway::emit(Id conversation_id, std::int64_t seq, std::string json, Id left_user) {
  deliver_here(conversation_id, seq, text_frame(json), left_user);
  if (broker_) {
    cluster::ClusterEvent e;
    e.origin = node_id_;
    e.conv = conversation_id;
    e.seq = seq;
    e.left_user = left_user;
    e.json = std::move(json);
    broker_->publish(e);
  }
}

void Gateway::on_cluster_event(cluster::ClusterEvent e) {
  using Kind = cluster::ClusterEvent::Kind;
  switch (e.kind) {
    case Kind::event:
      deliver_here(e.conv, e.seq, text_frame(std::move(e.json)), e.left_user);
      break;
    case Kind::revoke:
      hub_.disconnect(e.user, e.family, 4001, "session revoked");
      if (access_) access_->revoked(e.user, e.family);
      break;
    case Kind::resync:
      resync();
      break;
    case Kind::user:
      hub_.to_user(e.user, text_frame(std::move(e.json)));
      break;
    case Kind::collab:
    case Kind::collab_access:
      break;  // collaboration documents (collab/service.hpp)
  }
}

void Gateway::resync() { sequencer_.resync(now_ms()); }

void Gateway::tick(std::int64_t now) {
  presence_tick(now);
  flush_polls(now);
  sequencer_.tick(now);
  if (shared_ && now >= next_heartbeat_) {
    next_heartbeat_ = now + kHeartbeatMs;
    std::vector<Id> online;
    {
      std::lock_guard lock(presence_mu_);
      for (const auto& [user, p] : presence_) {
        if (p.connections > 0) online.push_back(user);
      }
    }
    if (!online.empty()) shared_->heartbeat(online, {}, kPresenceTtlMs, now);
  }
}

void Gateway::set_presence_fanout(std::function<void(std::function<void()>)> run,
                                  std::function<std::vector<Id>(Id)> conversations_of) {
  run_ = std::move(run);
  conversations_of_ = std::move(conversations_of);
}

void Gateway::user_connected(Id user_id) {
  bool announce_online = false;
  {
    std::lock_guard lock(presence_mu_);
    auto& p = presence_[user_id];
    ++p.connections;
    p.offline_due = 0;  // a reconnect within the grace period is not news
    if (!p.announced_online) {
      p.announced_online = true;
      announce_online = true;
    }
  }
  if (announce_online) {
    if (shared_) shared_->heartbeat({user_id}, {}, kPresenceTtlMs, now_ms());
    announce(user_id, true, 0);
  }
}

void Gateway::user_disconnected(Id user_id, std::int64_t now_ms) {
  std::lock_guard lock(presence_mu_);
  auto it = presence_.find(user_id);
  if (it == presence_.end()) return;
  auto& p = it->second;
  p.last_seen = now_ms;
  if (--p.connections <= 0) {
    p.connections = 0;
    p.offline_due = now_ms + presence_grace_ms_;
  }
}

void Gateway::presence_tick(std::int64_t now_ms) {
  std::vector<std::pair<Id, std::int64_t>> offline;
  {
    std::lock_guard lock(presence_mu_);
    for (auto& [user, p] : presence_) {
      if (p.offline_due && now_ms >= p.offline_due && p.connections == 0) {
        p.offline_due = 0;
        p.announced_online = false;
        offline.emplace_back(user, p.last_seen);
      }
    }
  }
  if (shared_ && !offline.empty()) {
    std::vector<Id> gone;
    for (auto [user, seen] : offline) gone.push_back(user);
    shared_->heartbeat({}, gone, kPresenceTtlMs, now_ms);
  }
  for (auto [user, seen] : offline) announce(user, false, seen);
}

Gateway::Presence Gateway::presence(Id user_id) const {
  Presence local;
  {
    std::lock_guard lock(presence_mu_);
    if (auto it = presence_.find(user_id); it != presence_.end()) {
      local = {it->second.announced_online, it->second.last_seen};
    }
  }
  if (local.online || !shared_) return local;
  // Another node may hold the user; Redis knows (this node's view if not).
  if (auto p = shared_->presence(user_id, now_ms())) {
    return {p->online, std::max(p->last_seen, local.last_seen)};
  }
  return local;
}

void Gateway::announce(Id user_id, bool online, std::int64_t at_ms) {
  if (!run_ || !conversations_of_) return;
  bj::object o{{"type", "presence"},
               {"user_id", id_to_string(user_id)},
               {"status", online ? "online" : "offline"}};
  if (!online) o["last_seen"] = at_ms;
  // The user's conversations come from the store: look them up off the I/O thread.
  run_([this, user_id, o = std::move(o)]() mutable {
    std::vector<Id> convs;
    try {
      convs = conversations_of_(user_id);
    } catch (const std::exception&) {
      return;  // presence is best effort; the store being down must not spread
    }
    for (Id conv : convs) {
      o["conv"] = id_to_string(conv);
      emit(conv, 0, bj::serialize(o));
    }
  });
}

void Gateway::typing(Id conversation_id, Id user_id, std::int64_t ttl_ms) {
  bj::object o{{"type", "typing"},
               {"conv", id_to_string(conversation_id)},
               {"user_id", id_to_string(user_id)},
               {"expires_in_ms", ttl_ms}};
  emit(conversation_id, 0, bj::serialize(o));
}

SharedFrame text_frame(std::string json) {
  return std::make_shared<const std::string>(ws::make_frame(ws::Opcode::text, json));
}

namespace {

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, end);
}

void append_id(std::string& out, Id id) {
  out += '"';
  append_int(out, id);
  out += '"';
}

}  // namespace

// Written directly rather than through a JSON DOM: it runs on the store
// writer thread once per committed message (the DOM and its allocations were
// a fifth of the writer's time). Same members, order and escaping as
// http::message_json serialized (RealtimeGateway.MessageEventIsTheRestMessageJson).
std::string message_event(const store::Message& m, bool created) {
  const char* type = created ? "message.new" : m.deleted_at ? "message.deleted" : "message.updated";
  std::string out;
  out.reserve(256 + m.body.size() + m.client_id.size());
  out += R"({"type":")";
  out += type;
  out += R"(","conv":)";
  append_id(out, m.conversation_id);
  out += R"(,"seq":)";
  append_int(out, m.seq);
  out += R"(,"message":{"id":)";
  append_id(out, m.id);
  out += R"(,"conversation_id":)";
  append_id(out, m.conversation_id);
  out += R"(,"seq":)";
  append_int(out, m.seq);
  out += R"(,"sender_id":)";
  append_id(out, m.sender_id);
  out += R"(,"client_id":)";
  json::append_quoted(out, m.client_id);
  out += R"(,"body":)";
  json::append_quoted(out, m.body);
  out += R"(,"created_at":)";
  append_int(out, m.created_at);
  out += m.deleted_at ? R"(,"deleted":true,"edited_at":)" : R"(,"deleted":false,"edited_at":)";
  if (m.edited_at) {
    append_int(out, m.edited_at);
  } else {
    out += "null";
  }
  out += R"(,"deleted_at":)";
  if (m.deleted_at) {
    append_int(out, m.deleted_at);
  } else {
    out += "null";
  }
  if (m.reply_to) {
    out += R"(,"reply_to":)";
    append_int(out, m.reply_to);
    out += m.broadcast ? R"(,"broadcast":true)" : R"(,"broadcast":false)";
  }
  if (!m.poll.empty()) {
    out += R"(,"poll":)";
    out += m.poll;  // JSON the service wrote
  }
  if (!m.mentions.empty()) {
    out += R"(,"mentions":{"user_ids":[)";
    for (std::size_t i = 0; i < m.mentions.user_ids.size(); ++i) {
      if (i) out += ',';
      append_id(out, m.mentions.user_ids[i]);
    }
    out += m.mentions.here ? R"(],"here":true)" : R"(],"here":false)";
    out += m.mentions.all ? R"(,"all":true})" : R"(,"all":false})";
  }
  out += "}}";
  return out;
}

void Gateway::message_created(const store::Message& m) {
  emit(m.conversation_id, m.seq, message_event(m, true));
}

void Gateway::message_updated(const store::Message& m) {
  emit(m.conversation_id, 0, message_event(m, false));
}

void Gateway::read_marker(Id conversation_id, Id user_id, std::int64_t seq) {
  bj::object o{{"type", "read"},
               {"conv", id_to_string(conversation_id)},
               {"user_id", id_to_string(user_id)},
               {"seq", seq}};
  emit(conversation_id, 0, bj::serialize(o));
}

void Gateway::revoke(Id user_id, Id family) {
  hub_.disconnect(user_id, family, 4001, "session revoked");
  if (access_) access_->revoked(user_id, family);
  if (broker_) {
    cluster::ClusterEvent e;
    e.kind = cluster::ClusterEvent::Kind::revoke;
    e.origin = node_id_;
    e.user = user_id;
    e.family = family;
    broker_->publish(e);
  }
}

void Gateway::to_user(Id user_id, std::string json) {
  hub_.to_user(user_id, text_frame(json));
  if (broker_) {
    cluster::ClusterEvent e;
    e.kind = cluster::ClusterEvent::Kind::user;
    e.origin = node_id_;
    e.user = user_id;
    e.json = std::move(json);
    broker_->publish(e);
  }
}

void Gateway::delivered(Id conversation_id, Id user_id, std::int64_t seq) {
  bj::object o{{"type", "delivered"},
               {"conv", id_to_string(conversation_id)},
               {"user_id", id_to_string(user_id)},
               {"seq", seq}};
  emit(conversation_id, 0, bj::serialize(o));
}

void Gateway::member_joined(const store::Member& m) {
  bj::object o{{"type", "member.joined"},
               {"conv", id_to_string(m.conversation_id)},
               {"user_id", id_to_string(m.user_id)},
               {"role", m.role}};
  emit(m.conversation_id, 0, bj::serialize(o));
  // The new member is not subscribed yet: tell each of their connections, so
  // the conversation appears in their list at once.
  to_user(m.user_id, bj::serialize(bj::object{{"type", "conversation.added"},
                                              {"conv", id_to_string(m.conversation_id)},
                                              {"role", m.role}}));
}

void Gateway::member_left(Id conversation_id, Id user_id) {
  bj::object o{{"type", "member.left"},
               {"conv", id_to_string(conversation_id)},
               {"user_id", id_to_string(user_id)}};
  emit(conversation_id, 0, bj::serialize(o), user_id);
}

void Gateway::conversation_updated(const store::Conversation& c) {
  bj::object o{{"type", "conversation.updated"},
               {"conv", id_to_string(c.id)},
               {"conversation", http::conversation_json(c)}};
  emit(c.id, 0, bj::serialize(o));
}

void Gateway::mentioned(const store::Message& m, const std::vector<Id>& users) {
  bj::object o{{"type", "mention"},
               {"conv", id_to_string(m.conversation_id)},
               {"seq", m.seq},
               {"sender_id", id_to_string(m.sender_id)},
               {"kind", m.mentions.all    ? "all"
                        : m.mentions.here ? "here"
                                          : "user"}};
  if (m.reply_to) o["reply_to"] = m.reply_to;
  auto json = bj::serialize(o);
  for (Id u : users) to_user(u, json);
}

void Gateway::pin_changed(Id conversation_id, std::int64_t seq, Id user_id, bool pinned) {
  bj::object o{{"type", "pin"},
               {"conv", id_to_string(conversation_id)},
               {"seq", seq},
               {"user_id", id_to_string(user_id)},
               {"pinned", pinned}};
  emit(conversation_id, 0, bj::serialize(o));
}

void Gateway::poll_changed(const store::Poll& p) {
  bj::object o{{"type", "poll"}, {"conv", id_to_string(p.conversation_id)}};
  o["poll"] = http::poll_json(p, false);
  auto json = bj::serialize(o);
  auto now = now_ms();
  auto key = std::to_string(p.conversation_id) + ":" + std::to_string(p.seq);
  {
    std::lock_guard lock(polls_mu_);
    auto& pending = polls_[key];
    pending.conversation_id = p.conversation_id;
    if (!pending.json.empty() || now - pending.last_sent < kPollCoalesceMs) {
      pending.json = std::move(json);  // tick() sends the latest
      return;
    }
    pending.last_sent = now;
  }
  emit(p.conversation_id, 0, std::move(json));
}

void Gateway::flush_polls(std::int64_t now) {
  std::vector<std::pair<Id, std::string>> due;
  {
    std::lock_guard lock(polls_mu_);
    for (auto it = polls_.begin(); it != polls_.end();) {
      auto& p = it->second;
      if (!p.json.empty() && now - p.last_sent >= kPollCoalesceMs) {
        due.emplace_back(p.conversation_id, std::move(p.json));
        p.json.clear();
        p.last_sent = now;
      }
      // Quiet polls are forgotten; the next change goes out at once.
      if (p.json.empty() && now - p.last_sent > 10 * kPollCoalesceMs) {
        it = polls_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [conv, json] : due) emit(conv, 0, std::move(json));
}

void Gateway::reaction_changed(const chat::ReactionEvent& e) {
  bj::object o{{"type", "reaction"},
               {"conv", id_to_string(e.conversation_id)},
               {"seq", e.seq},
               {"reaction", e.reaction},
               {"user_id", id_to_string(e.user_id)},
               {"action", e.added ? "added" : "removed"},
               {"count", e.count}};
  emit(e.conversation_id, 0, bj::serialize(o));
}

}  // namespace parley::realtime
