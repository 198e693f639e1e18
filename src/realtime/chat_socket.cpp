#include "realtime/chat_socket.hpp"

#include <boost/asio/post.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <optional>
#include <vector>

#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/flat_map.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "http/message.hpp"
#include "http/views.hpp"
#include "net/ws_frame.hpp"
#include "realtime/gateway.hpp"
#include "realtime/proto_codec.hpp"
#include "realtime/protocol.hpp"

namespace parley::realtime {

namespace asio = boost::asio;
namespace bj = boost::json;
namespace close_code = ws::close_code;
using Clock = std::chrono::steady_clock;

namespace {

std::string error_code_name(Errc c) {
  std::string s(slug(c));
  for (auto& ch : s) {
    if (ch == '-') ch = '_';
  }
  return s;
}

// The binary form of a JSON event frame. The hub hands one frame to all of
// a worker's subscribers in turn, so the last one encoded on this thread is
// kept: an event is encoded once per worker, like the deflated copy.
SharedFrame binary_event(const SharedFrame& json_frame) {
  thread_local SharedFrame last_json, last_binary;
  if (last_json == json_frame) return last_binary;
  SharedFrame out;
  try {
    out = net::binary_frame(encode_proto_event(ws::frame_payload(*json_frame)));
  } catch (const std::exception& e) {
    log::error("proto_event_failed", {{"error", e.what()}});
  }
  last_json = json_frame;
  last_binary = out;
  return out;
}

// One parley.v1 connection: its user, its subscriptions, its rate bucket.
class ChatSocket final : public net::WsHandler, public Subscriber {
 public:
  ChatSocket(ChatProtocol& p, Id user_id, Id family, bool counted_user)
      : p_(p),
        user_id_(user_id),
        family_(family),
        counted_user_(counted_user),
        tokens_(p.opts.rate_burst) {
    connected_at_ = refilled_ = Clock::now();
    if (user_id_) token_exp_s_ = now_s() + p_.opts.access_ttl_s;
  }

  ~ChatSocket() override {
    for (const auto& [conv, sub] : subs_) p_.gateway.hub().unsubscribe(worker_, conv, this);
    if (announced_) {
      p_.gateway.hub().remove_session(worker_, this);
      p_.gateway.user_disconnected(user_id_, now_ms());
    }
    if (counted_user_) p_.uncount_user(user_id_);
  }

  // WsHandler
  void on_open(net::WsConnection& c) override {
    conn_ = &c;
    worker_ = c.worker();
    binary_ = c.subprotocol() == kProtoSubprotocol;
    // Before authentication a message carries only a token: it may be as
    // large as a request head, and a larger one is a bad credential (4001).
    c.set_max_message(user_id_ ? p_.opts.max_message_bytes : p_.opts.preauth_max_message_bytes);
    if (user_id_) announce();
  }
  void on_message(net::WsConnection& c, std::string&& payload, bool binary) override;
  void on_too_big(net::WsConnection& c) override {
    if (!user_id_) {
      c.close(close_code::kUnauthenticated, "authentication message too large");
    } else {
      c.close(close_code::kTooBig, "message too big");
    }
  }
  void on_tick(net::WsConnection& c, Clock::time_point now) override {
    if (!user_id_ && now - connected_at_ > p_.opts.auth_timeout) {
      c.close(close_code::kUnauthenticated, "authenticate first");
    } else if (user_id_ && now_s() > token_exp_s_ + p_.opts.leeway_s) {
      c.close(close_code::kUnauthenticated, "token expired: send auth with a new token");
    }
  }

  // Subscriber (from the hub, on this worker)
  void deliver(Id conv, std::int64_t seq, const SharedFrame& frame, Id left_user) override;
  void deliver_to_user(const SharedFrame& frame) override {
    if (conn_->open()) send_event(frame, true);
  }
  Id user() const override { return user_id_; }
  Id login_family() const override { return family_; }
  void disconnect(std::uint16_t code, const char* reason) override { conn_->close(code, reason); }

 private:
  struct Subscription {
    bool live = false;          // false while the replay is being read
    std::int64_t last_seq = 0;  // newest message seq delivered
    std::vector<std::pair<std::int64_t, SharedFrame>> pending;  // live events during replay
  };

  void announce() {
    announced_ = true;
    p_.gateway.hub().add_session(worker_, this);
    p_.gateway.user_connected(user_id_);
  }
  // A reply to op, in this connection's encoding.
  void send_reply(std::string_view op, const bj::object& o) {
    if (binary_) {
      conn_->send(net::binary_frame(encode_proto_reply(op, o)), false);
    } else {
      conn_->send(net::text_frame(bj::serialize(o)), false);
    }
  }
  void reply_ok(const bj::value& id, std::string_view op, bj::value result) {
    send_reply(op, bj::object{{"id", id}, {"ok", true}, {"result", std::move(result)}});
  }
  void reply_error(const bj::value& id, std::string_view op, Errc code, std::string_view message) {
    send_reply(op, bj::object{{"id", id},
                              {"ok", false},
                              {"error", bj::object{{"code", error_code_name(code)},
                                                   {"status", http_status(code)},
                                                   {"message", message}}}});
  }
  // An event frame (JSON, as the hub carries it), in this connection's
  // encoding. shared: the frame goes to many connections.
  void send_event(const SharedFrame& json_frame, bool shared) {
    if (!binary_) {
      conn_->send(json_frame, shared);
    } else if (auto frame = binary_event(json_frame)) {
      conn_->send(frame, shared);
    }
  }
  // Runs fn on the handler pool, then done(result) back on this worker,
  // with the connection (and so this handler) kept alive in between.
  template <class Fn, class Done>
  void off_thread(Fn fn, Done done);

  void op_auth(const bj::value& id, const bj::object& req);
  void op_subscribe(const bj::value& id, const bj::object& req);
  void op_unsubscribe(const bj::value& id, const bj::object& req);
  void op_send(const bj::value& id, const bj::object& req);
  void op_typing(const bj::value& id, const bj::object& req);
  void op_presence(const bj::value& id, const bj::object& req);
  void op_blocking(const bj::value& id, const bj::object& req, const std::string& op);
  void finish_subscribe(bj::value id, std::vector<std::pair<Id, chat::Replay>> results,
                        std::vector<std::pair<Id, std::string>> errors);
  // Sends the replay, then the events held while it was read; live again.
  void go_live(Subscription& sub, const chat::Replay& replay);
  void repair_gap(Id conv, std::int64_t seq, const SharedFrame& frame);

  ChatProtocol& p_;
  net::WsConnection* conn_ = nullptr;  // set by on_open; owns this handler
  std::size_t worker_ = 0;
  bool binary_ = false;  // parley.v1.proto: Protocol Buffers in binary frames
  Id user_id_ = 0;
  Id family_ = 0;
  bool counted_user_ = false;  // in p_'s per-user count
  bool announced_ = false;     // in the hub's sessions and the user's presence
  std::int64_t token_exp_s_ = 0;
  FlatMap<Id, Subscription> subs_;  // few per connection: one allocation for all
  std::unordered_map<Id, Clock::time_point> last_typing_;  // per conversation
  double tokens_;                                          // rate limit bucket
  Clock::time_point refilled_{};
  Clock::time_point connected_at_{};
};

template <class Fn, class Done>
void ChatSocket::off_thread(Fn fn, Done done) {
  auto keep = conn_->shared();
  auto& ioc = conn_->context();
  asio::post(p_.pool,
             [keep = std::move(keep), &ioc, fn = std::move(fn), done = std::move(done)]() mutable {
               auto result = fn();
               asio::post(ioc, [keep = std::move(keep), done = std::move(done),
                                result = std::move(result)]() mutable { done(std::move(result)); });
             });
}

void ChatSocket::on_message(net::WsConnection& c, std::string&& text, bool binary) {
  if (binary != binary_) {
    c.close(close_code::kUnsupported, binary_ ? "text frames are not part of parley.v1.proto"
                                              : "binary frames are not part of parley.v1");
    return;
  }
  // Rate limit: a token bucket per connection.
  auto now = Clock::now();
  tokens_ = std::min(
      p_.opts.rate_burst,
      tokens_ + std::chrono::duration<double>(now - refilled_).count() * p_.opts.rate_per_s);
  refilled_ = now;
  if (tokens_ < 1) {
    p_.rate_limited.inc();
    c.close(close_code::kRateLimited, "rate limited");
    return;
  }
  tokens_ -= 1;

  bj::value id = nullptr;
  Request request;
  try {
    request = binary_ ? decode_proto_request(text, &id)
                      : decode_request(text, p_.opts.max_json_depth, &id);
  } catch (const Error& e) {
    reply_error(id, "", e.code(), e.detail());
    return;
  }
  const std::string& op = request.op;
  const bj::object& req = request.fields;
  try {
    if (op == "auth") {
      op_auth(id, req);
    } else if (!user_id_) {
      reply_error(id, op, Errc::unauthorized, "authenticate first");
      c.close(close_code::kUnauthenticated, "authenticate first");
    } else if (op == "subscribe") {
      op_subscribe(id, req);
    } else if (op == "unsubscribe") {
      op_unsubscribe(id, req);
    } else if (op == "send") {
      op_send(id, req);
    } else if (op == "read" || op == "edit" || op == "delete" || op == "react" ||
               op == "delivered") {
      op_blocking(id, req, op);
    } else if (op == "typing") {
      op_typing(id, req);
    } else if (op == "presence") {
      op_presence(id, req);
    } else if (op == "ping") {
      reply_ok(id, op, bj::object{{"ts", now_ms()}});
    } else {
      reply_error(id, op, Errc::bad_request, "unknown op '" + op.substr(0, 32) + "'");
    }
  } catch (const Error& e) {
    reply_error(id, op, e.code(), e.detail());
  } catch (const std::exception& e) {
    log::error("ws_op_failed", {{"op", op}, {"error", e.what()}});
    reply_error(id, op, Errc::internal, "internal error");
  }
}

void ChatSocket::op_auth(const bj::value& id, const bj::object& req) {
  auto token = string_field(req, "token", 8192);
  auth::Claims claims = p_.auth.authenticate(token);  // HMAC only: fine on the worker
  if (user_id_ && claims.user_id != user_id_) {
    reply_error(id, "auth", Errc::forbidden, "a connection cannot change user");
    conn_->close(close_code::kForbidden, "user changed");
    return;
  }
  auto* auth = &p_.auth;
  off_thread(
      [auth, claims]() -> std::optional<std::string> {
        try {
          auth->current_user(claims);
          return std::nullopt;
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
      },
      [this, id, claims](std::optional<std::string> err) {
        if (!conn_->open()) return;
        if (err) {
          reply_error(id, "auth", Errc::unauthorized, *err);
          conn_->close(close_code::kUnauthenticated, *err);
          return;
        }
        if (!user_id_) {
          if (!p_.try_count_user(claims.user_id)) {
            p_.rate_limited.inc();
            reply_error(id, "auth", Errc::too_many_requests, "too many connections for this user");
            conn_->close(close_code::kRateLimited, "too many connections for this user");
            return;
          }
          counted_user_ = true;
          user_id_ = claims.user_id;
          conn_->set_max_message(p_.opts.max_message_bytes);
          announce();
        }
        family_ = claims.session_id;
        token_exp_s_ = claims.exp;
        reply_ok(id, "auth",
                 bj::object{{"user_id", id_to_string(user_id_)}, {"expires_at", claims.exp}});
      });
}

void ChatSocket::op_subscribe(const bj::value& id, const bj::object& req) {
  const auto max = p_.opts.max_subscriptions;
  auto requested = subscriptions_field(req, max);
  if (subs_.size() + requested.size() > max) {
    fail(Errc::bad_request, "at most " + std::to_string(max) + " subscriptions per connection");
  }
  // Register first, so nothing committed from now on can slip between the
  // store read and going live; the pending buffer and seq dedupe the overlap.
  for (auto& [conv, since] : requested) {
    auto [sit, fresh] = subs_.try_emplace(conv);
    sit->second.live = false;
    sit->second.pending.clear();
    if (fresh) p_.gateway.hub().subscribe(worker_, conv, this);
  }
  auto* chat = &p_.chat;
  Id user = user_id_;
  int limit = p_.opts.replay_limit;
  // A replay fills at most half the outbound queue, so catching up never
  // trips the slow-consumer close by itself; shared by the conversations.
  auto max_bytes = p_.opts.replay_budget_bytes / std::max<std::size_t>(1, requested.size());
  off_thread(
      [chat, user, limit, max_bytes, requested]() {
        std::vector<std::pair<Id, chat::Replay>> results;
        std::vector<std::pair<Id, std::string>> errors;
        for (auto [conv, since] : requested) {
          try {
            auto r = chat->replay(user, conv, since < 0 ? std::nullopt : std::optional(since),
                                  limit, max_bytes);
            results.emplace_back(conv, std::move(r));
          } catch (const Error& e) {
            errors.emplace_back(conv, error_code_name(e.code()));
          } catch (const std::exception&) {
            errors.emplace_back(conv, "internal");
          }
        }
        return std::make_pair(std::move(results), std::move(errors));
      },
      [this, id](auto result) {
        finish_subscribe(id, std::move(result.first), std::move(result.second));
      });
}

void ChatSocket::finish_subscribe(bj::value id, std::vector<std::pair<Id, chat::Replay>> results,
                                  std::vector<std::pair<Id, std::string>> errors) {
  if (!conn_->open()) return;
  bj::array ok;
  bj::array failed;
  for (auto& [conv, code] : errors) {
    if (auto it = subs_.find(conv); it != subs_.end() && !it->second.live) {
      p_.gateway.hub().unsubscribe(worker_, conv, this);
      subs_.erase(it);
    }
    failed.push_back(bj::object{{"conv", id_to_string(conv)}, {"code", code}});
  }
  for (auto& [conv, replay] : results) {
    auto it = subs_.find(conv);
    if (it == subs_.end()) continue;  // unsubscribed meanwhile
    auto& sub = it->second;
    go_live(sub, replay);
    ok.push_back(bj::object{{"conv", id_to_string(conv)},
                            {"last_seq", sub.last_seq},
                            {"replayed", replay.messages.size()},
                            {"truncated", replay.truncated},
                            {"rewound", replay.rewound}});
  }
  reply_ok(id, "subscribe",
           bj::object{{"subscribed", std::move(ok)}, {"errors", std::move(failed)}});
}

void ChatSocket::go_live(Subscription& sub, const chat::Replay& replay) {
  std::int64_t last = replay.last_seq;
  for (const auto& m : replay.messages) {
    std::string json = message_event(m, true);
    conn_->send(binary_ ? net::binary_frame(encode_proto_event(json)) : text_frame(std::move(json)),
                false);
  }
  if (!replay.messages.empty()) last = std::max(last, replay.messages.back().seq);
  sub.last_seq = std::max(sub.last_seq, last);
  sub.live = true;
  for (auto& [seq, frame] : sub.pending) {
    if (seq > 0 && seq <= sub.last_seq) continue;
    if (seq > 0) sub.last_seq = seq;
    send_event(frame, true);
  }
  sub.pending.clear();
  sub.pending.shrink_to_fit();
}

void ChatSocket::op_unsubscribe(const bj::value& id, const bj::object& req) {
  for (Id conv : id_list_field(req, "conversations", p_.opts.max_subscriptions)) {
    if (subs_.erase(conv)) p_.gateway.hub().unsubscribe(worker_, conv, this);
  }
  reply_ok(id, "unsubscribe", bj::object{{"subscriptions", subs_.size()}});
}

void ChatSocket::op_send(const bj::value& id, const bj::object& req) {
  Id conv = id_field(req, "conv");
  std::string client_id(string_field(req, "client_id", 256));
  std::string body(string_field(req, "body", p_.opts.max_message_bytes));
  chat::SendOptions opts;
  opts.reply_to = json::optional_int(req, "reply_to", 1, INT64_MAX).value_or(0);
  opts.broadcast = json::optional_bool(req, "broadcast").value_or(false);
  opts.mentions = http::mentions_from_json(req, http::kMaxMentionItems);
  opts.poll = http::poll_from_json(req);
  auto keep = conn_->shared();
  auto& ioc = conn_->context();
  auto started = Clock::now();
  auto* hist = &p_.send_ack_seconds;
  // Validation errors throw here and are answered by on_message; the ack
  // comes only after the commit, from the store writer, posted back here.
  p_.chat.send_async(user_id_, conv, std::move(client_id), std::move(body), opts,
                     [this, keep = std::move(keep), &ioc, id, started, hist](
                         std::exception_ptr e, const chat::SendResult& r) mutable {
                       hist->observe(std::chrono::duration<double>(Clock::now() - started).count());
                       std::optional<std::pair<Errc, std::string>> err;
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const Error& x) {
                           err.emplace(x.code(), std::string(x.detail()));
                         } catch (const std::exception& x) {
                           err.emplace(Errc::internal, "internal error");
                         }
                       }
                       asio::post(ioc, [this, keep = std::move(keep), id, r, err]() {
                         if (err) {
                           reply_error(id, "send", err->first, err->second);
                           return;
                         }
                         bj::object ack{{"message_id", id_to_string(r.message.id)},
                                        {"conv", id_to_string(r.message.conversation_id)},
                                        {"seq", r.message.seq},
                                        {"ts", r.message.created_at},
                                        {"duplicate", !r.created}};
                         if (r.message.reply_to) ack["reply_to"] = r.message.reply_to;
                         reply_ok(id, "send", std::move(ack));
                       });
                     });
}

void ChatSocket::op_typing(const bj::value& id, const bj::object& req) {
  Id conv = id_field(req, "conv");
  auto sub = subs_.find(conv);
  if (sub == subs_.end() || !sub->second.live) {
    fail(Errc::forbidden, "subscribe to the conversation first");
  }
  auto now = Clock::now();
  auto& last = last_typing_[conv];
  bool throttled = last.time_since_epoch().count() != 0 && now - last < p_.opts.typing_throttle;
  if (!throttled) {
    last = now;
    p_.gateway.typing(conv, user_id_, p_.opts.typing_ttl_ms);
  }
  reply_ok(id, "typing", bj::object{{"throttled", throttled}});
}

void ChatSocket::op_presence(const bj::value& id, const bj::object& req) {
  auto users = id_list_field(req, "users", 100);
  auto* gateway = &p_.gateway;
  // Off this thread: in a cluster the answer comes from Redis.
  off_thread(
      [gateway, users]() {
        bj::array out;
        for (Id user : users) {
          auto p = gateway->presence(user);
          bj::object o{{"user_id", id_to_string(user)},
                       {"status", p.online ? "online" : "offline"}};
          o["last_seen"] = p.last_seen ? bj::value(p.last_seen) : bj::value(nullptr);
          out.push_back(std::move(o));
        }
        return out;
      },
      [this, id](bj::array out) {
        if (!conn_->open()) return;
        reply_ok(id, "presence", bj::object{{"users", std::move(out)}});
      });
}

void ChatSocket::op_blocking(const bj::value& id, const bj::object& req, const std::string& op) {
  Id conv = id_field(req, "conv");
  std::int64_t seq = seq_field(req, "seq");
  std::string body;
  if (op == "edit") body = std::string(string_field(req, "body", p_.opts.max_message_bytes));
  // react: the reaction in `body`; the service checks it and its length.
  bool remove = false;
  if (op == "react") {
    body = std::string(string_field(req, "reaction", 4096));
    remove = json::optional_bool(req, "remove").value_or(false);
  }
  auto* chat = &p_.chat;
  Id user = user_id_;
  off_thread(
      [chat, user, conv, seq, op, body, remove]() -> std::pair<std::optional<Error>, bj::value> {
        try {
          if (op == "react") {
            auto r = chat->react(user, conv, seq, body, !remove);
            return {std::nullopt, bj::object{{"seq", r.event.seq},
                                             {"reaction", r.event.reaction},
                                             {"count", r.event.count},
                                             {"me", r.event.added}}};
          }
          if (op == "delivered") {
            return {std::nullopt,
                    bj::object{{"delivered_seq", chat->mark_delivered(user, conv, seq)}}};
          }
          if (op == "read") {
            auto v = chat->mark_read(user, conv, seq);
            return {std::nullopt, bj::object{{"last_read_seq", v.me ? v.me->last_read_seq : 0},
                                             {"unread", v.unread}}};
          }
          auto m = op == "edit" ? chat->edit_message(user, conv, seq, body)
                                : chat->delete_message(user, conv, seq);
          return {std::nullopt, bj::object{{"seq", m.seq}, {"deleted", m.deleted_at != 0}}};
        } catch (const Error& e) {
          return {e, nullptr};
        } catch (const std::exception&) {
          return {Error(Errc::internal, "internal error"), nullptr};
        }
      },
      [this, id, op](std::pair<std::optional<Error>, bj::value> r) {
        if (!conn_->open()) return;
        if (r.first) {
          reply_error(id, op, r.first->code(), r.first->detail());
        } else {
          reply_ok(id, op, std::move(r.second));
        }
      });
}

void ChatSocket::deliver(Id conv, std::int64_t seq, const SharedFrame& frame, Id left_user) {
  auto it = subs_.find(conv);
  if (it == subs_.end() || !conn_->open()) return;
  if (left_user != 0 && left_user == user_id_) {
    // Our user is no longer a member: tell this client, then stop its events.
    send_event(frame, true);
    subs_.erase(it);
    p_.gateway.hub().unsubscribe(worker_, conv, this);
    return;
  }
  auto& sub = it->second;
  if (!sub.live) {
    sub.pending.emplace_back(seq, frame);
    return;
  }
  if (seq > 0) {
    if (seq <= sub.last_seq) return;  // already replayed
    if (seq > sub.last_seq + 1) {
      // An earlier message's event has not reached this node (a cluster
      // peer's event lost or late): hold this one and read the gap.
      repair_gap(conv, seq, frame);
      return;
    }
    sub.last_seq = seq;
  }
  send_event(frame, true);
}

void ChatSocket::repair_gap(Id conv, std::int64_t seq, const SharedFrame& frame) {
  auto& sub = subs_.find(conv)->second;  // deliver() found it
  sub.live = false;
  sub.pending.emplace_back(seq, frame);
  p_.gap_repairs.inc();
  auto* chat = &p_.chat;
  Id user = user_id_;
  std::int64_t since = sub.last_seq;
  int limit = p_.opts.replay_limit;
  auto max_bytes = p_.opts.replay_budget_bytes;
  off_thread(
      [chat, user, conv, since, limit, max_bytes]() -> std::optional<chat::Replay> {
        try {
          return chat->replay(user, conv, since, limit, max_bytes);
        } catch (const std::exception&) {
          return std::nullopt;
        }
      },
      [this, conv](std::optional<chat::Replay> replay) {
        if (!conn_->open()) return;
        auto it = subs_.find(conv);
        if (it == subs_.end() || it->second.live) return;
        if (!replay || replay->truncated) {
          // Too far behind (or the store is down): the client resumes itself.
          conn_->close(close_code::kSlowConsumer, "missed events: resume with since");
          return;
        }
        go_live(it->second, *replay);
      });
}

}  // namespace

ChatProtocol::ChatProtocol(ChatSocketOptions o, Gateway& g, chat::ChatService& c,
                           auth::AuthService& a, asio::thread_pool& handlers, metrics::Registry& m)
    : opts(o),
      gateway(g),
      chat(c),
      auth(a),
      pool(handlers),
      rate_limited(m.counter("parley_ws_rate_limited_total",
                             "Connections closed with 4008 or refused for a rate or count limit")),
      gap_repairs(m.counter("parley_ws_gap_repairs_total",
                            "Subscriptions that saw a seq gap and re-read it from the store")),
      send_ack_seconds(m.histogram("parley_ws_send_ack_seconds",
                                   "From a send frame to its ack (after the store commit)")) {}

bool ChatProtocol::try_count_user(Id user) {
  std::lock_guard lock(mu_);
  auto& n = per_user_[user];
  if (n >= opts.max_connections_per_user) return false;
  ++n;
  return true;
}

void ChatProtocol::uncount_user(Id user) {
  std::lock_guard lock(mu_);
  auto it = per_user_.find(user);
  if (it != per_user_.end() && --it->second <= 0) per_user_.erase(it);
}

net::WsRoute ChatProtocol::route() {
  net::WsRoute r;
  r.path = "/ws";
  r.subprotocols = {std::string(kJsonSubprotocol), std::string(kProtoSubprotocol)};
  r.accept = [this](const net::WsUpgrade& up, std::function<void(net::WsAccept)> done) {
    accept(up, std::move(done));
  };
  return r;
}

void ChatProtocol::accept(const net::WsUpgrade& up, std::function<void(net::WsAccept)> done) {
  auto ticket = up.request.query_param("ticket");
  if (!ticket) {
    // Authenticates with an auth frame after the handshake.
    done(net::WsAccept{std::make_unique<ChatSocket>(*this, 0, 0, false)});
    return;
  }
  auto finish = [this, done](std::optional<TicketStore::Holder> holder) {
    if (!holder) {
      done(net::WsAccept{nullptr, Errc::unauthorized, "invalid or expired ticket"});
    } else if (!try_count_user(holder->user_id)) {
      done(net::WsAccept{nullptr, Errc::too_many_requests, "too many connections for this user"});
    } else {
      done(net::WsAccept{
          std::make_unique<ChatSocket>(*this, holder->user_id, holder->family, true)});
    }
  };
  auto& tickets = gateway.tickets();
  auto holder = tickets.redeem(*ticket, now_ms());
  if (!holder && tickets.shared()) {
    // Issued by another node: looked up in Redis without blocking the worker.
    tickets.redeem_shared(*ticket, std::move(finish));
    return;
  }
  finish(holder);
}

}  // namespace parley::realtime
