// One WebSocket connection speaking protocol v1 (docs/protocol.md) with our
// own RFC 6455 framing on the raw socket.
//
// Reading holds no per-connection buffer while idle: the session waits until
// the socket is readable, then reads into its worker's shared buffer and runs
// the frame parser over it before yielding. Writing gathers every queued
// frame into one write; frames are shared, immutable buffers built once per
// event. A queue past ws.max_outbound_bytes closes the connection with 4009.
//
// Threading: lives on one worker; every member is touched on that worker's
// thread only. Store work runs on the handler pool or the store writer and
// posts its result back here.
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <span>

#include "app/config.hpp"
#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/flat_map.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "net/session_env.hpp"
#include "net/ws_deflate.hpp"
#include "net/ws_frame.hpp"
#include "realtime/gateway.hpp"
#include "realtime/protocol.hpp"

namespace parley::net {

namespace asio = boost::asio;
namespace bj = boost::json;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using realtime::SharedFrame;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxGather = 64;
constexpr auto kCloseGrace = std::chrono::seconds(3);

std::string error_code_name(Errc c) {
  std::string s(slug(c));
  for (auto& ch : s) {
    if (ch == '-') ch = '_';
  }
  return s;
}
}  // namespace

class WsSession : public std::enable_shared_from_this<WsSession>, public realtime::Subscriber {
 public:
  WsSession(Worker& w, SessionEnv& env, tcp::socket socket, std::string leftover, Id user_id,
            std::string remote)
      : worker_(w),
        env_(env),
        ws_(*env.ws),
        cfg_(*ws_.cfg),
        socket_(std::move(socket)),
        leftover_(std::move(leftover)),
        remote_(std::move(remote)),
        parser_(static_cast<std::size_t>(cfg_.ws.max_message_bytes)),
        user_id_(user_id),
        tokens_(static_cast<double>(cfg_.ws.rate_burst)) {
    connected_at_ = last_activity_ = Clock::now();
    if (user_id_) token_exp_s_ = now_s() + cfg_.auth.access_ttl_s;
    // Before authentication a message carries only a token: it may be as
    // large as a request head, and a larger one is a bad credential (4001).
    if (!user_id_) parser_.set_max_message(preauth_max_message());
    worker_.ws_sessions.insert(this);
    env_.connections.fetch_add(1);
    ws_.connections->inc();
  }

  ~WsSession() override {
    for (const auto& [conv, sub] : subs_) {
      ws_.gateway->hub().unsubscribe(worker_.index, conv, this);
    }
    ws_.gateway->hub().remove_session(worker_.index, this);
    if (counted_user_) ws_.gateway->user_disconnected(user_id_, now_ms());
    release_counts();
    worker_.ws_sessions.erase(this);
    env_.connections.fetch_sub(1);
    ws_.connections->dec();
  }

  static void start(std::shared_ptr<WsSession> self) {
    boost::system::error_code ec;
    self->socket_.non_blocking(true, ec);
    if (!self->leftover_.empty()) {
      std::string bytes = std::move(self->leftover_);
      self->leftover_ = std::string();
      if (!self->process(bytes.data(), bytes.size())) return;
    }
    wait_readable(std::move(self));
  }

  void deliver(Id conv, std::int64_t seq, const SharedFrame& frame, Id left_user) override;
  void deliver_to_user(const SharedFrame& frame) override {
    if (!dead_ && !closing_) enqueue(outgoing(frame, true));
  }
  void repair_gap(Id conv, std::int64_t seq, const SharedFrame& frame);
  Id user() const override { return user_id_; }
  Id login_family() const override { return family_; }
  void disconnect(std::uint16_t code, const char* reason) override { close(code, reason); }
  void tick(Clock::time_point now);
  void close(std::uint16_t code, std::string_view reason);

 private:
  struct Subscription {
    bool live = false;          // false while the replay is being read
    std::int64_t last_seq = 0;  // newest message seq delivered
    std::vector<std::pair<std::int64_t, SharedFrame>> pending;  // live events during replay
  };

  // Reading: a plain callback chain on async_wait rather than a coroutine,
  // so an idle connection holds one small pending handler, not a frame.
  static void wait_readable(std::shared_ptr<WsSession> self);
  void on_readable(boost::system::error_code ec, std::shared_ptr<WsSession> self);
  static asio::awaitable<void> write_loop(std::shared_ptr<WsSession> self);
  bool process(const char* data, std::size_t n);
  void on_text(std::string&& text);
  void enqueue(SharedFrame frame);
  // Writing: enqueue() marks the session dirty; the worker's flush sends
  // everything queued with one non-blocking gathered write. Only when the
  // socket pushes back does a write_loop coroutine take over.
  static void flush_worker(Worker& w);
  void flush_now();
  void start_write_loop();
  void send_json(const bj::object& o) {
    enqueue(outgoing(realtime::text_frame(bj::serialize(o)), false));
  }
  // The frame to send for a text frame: compressed when this connection
  // negotiated permessage-deflate and it is long enough. Shared event frames
  // are compressed once per worker (the worker keeps the last one).
  SharedFrame outgoing(const SharedFrame& plain, bool shared);
  void reply_ok(const bj::value& id, bj::value result);
  void reply_error(const bj::value& id, Errc code, std::string_view message);
  void force_close();
  void release_counts();

  // Protocol operations.
  void op_auth(const bj::value& id, const bj::object& req);
  void op_subscribe(const bj::value& id, const bj::object& req);
  void op_unsubscribe(const bj::value& id, const bj::object& req);
  void op_send(const bj::value& id, const bj::object& req);
  void op_typing(const bj::value& id, const bj::object& req);
  void op_presence(const bj::value& id, const bj::object& req);
  void op_blocking(const bj::value& id, const bj::object& req, const std::string& op);
  // Sends the replay, then the events held while it was read; live again.
  void go_live(Subscription& sub, const chat::Replay& replay);
  std::size_t preauth_max_message() const {
    return static_cast<std::size_t>(
        std::min(cfg_.ws.max_message_bytes, cfg_.http.max_header_bytes));
  }
  // A replay fills at most half the outbound queue (ws.max_outbound_bytes),
  // so catching up never trips the slow-consumer close by itself.
  std::size_t replay_budget() const {
    return static_cast<std::size_t>(cfg_.ws.max_outbound_bytes) / 2;
  }
  void finish_subscribe(bj::value id, std::vector<std::pair<Id, chat::Replay>> results,
                        std::vector<std::pair<Id, std::string>> errors);

  // Runs fn on the handler pool, then done(result) back on this worker.
  template <class Fn, class Done>
  void off_thread(Fn fn, Done done);

  Worker& worker_;
  SessionEnv& env_;
  WsShared& ws_;
  const Config& cfg_;
  tcp::socket socket_;
  std::string leftover_;
  std::string remote_;
  ws::FrameParser parser_;

  Id user_id_ = 0;
  Id family_ = 0;
  bool deflate_ = false;
  std::int64_t token_exp_s_ = 0;
  bool counted_user_ = false;
  bool counted_ip_ = false;
  FlatMap<Id, Subscription> subs_;  // few per connection: one allocation for all
  std::unordered_map<Id, Clock::time_point> last_typing_;  // per conversation

  // Outbound frames: [queue_head_, size) are waiting. A vector, not a deque:
  // an empty vector holds no memory, an idle std::deque holds ~600 bytes.
  std::vector<SharedFrame> queue_;
  std::size_t queue_head_ = 0;
  std::size_t queued_bytes_ = 0;
  std::size_t head_offset_ = 0;  // bytes of queue_[queue_head_] already sent
  bool writing_ = false;         // a write_loop owns the socket's sending side
  bool flush_pending_ = false;   // in worker_.dirty
  bool closing_ = false;         // close frame queued; nothing else is sent
  bool dead_ = false;            // socket closed
  Clock::time_point closing_since_{};
  Clock::time_point connected_at_{};
  Clock::time_point last_activity_{};
  bool ping_outstanding_ = false;

  double tokens_;  // rate limit bucket
  Clock::time_point refilled_ = Clock::now();

  friend void start_ws_session(Worker&, SessionEnv&, tcp::socket, std::string, Id, Id, std::string,
                               bool);
};

void WsSession::release_counts() {
  std::lock_guard lock(ws_.mu);
  if (counted_user_) {
    if (--ws_.per_user[user_id_] <= 0) ws_.per_user.erase(user_id_);
    counted_user_ = false;
  }
  if (counted_ip_) {
    if (--ws_.per_ip[remote_] <= 0) ws_.per_ip.erase(remote_);
    counted_ip_ = false;
  }
}

template <class Fn, class Done>
void WsSession::off_thread(Fn fn, Done done) {
  auto self = shared_from_this();
  auto& ioc = worker_.ioc;
  asio::post(*env_.handlers,
             [self = std::move(self), &ioc, fn = std::move(fn), done = std::move(done)]() mutable {
               auto result = fn();
               asio::post(ioc, [self = std::move(self), done = std::move(done),
                                result = std::move(result)]() mutable { done(std::move(result)); });
             });
}

void WsSession::wait_readable(std::shared_ptr<WsSession> self) {
  if (self->dead_) return;
  auto& socket = self->socket_;
  socket.async_wait(tcp::socket::wait_read,
                    [self = std::move(self)](boost::system::error_code ec) mutable {
                      WsSession* s = self.get();
                      s->on_readable(ec, std::move(self));
                    });
}

void WsSession::on_readable(boost::system::error_code ec, std::shared_ptr<WsSession> self) {
  if (ec || dead_) {
    force_close();
    return;
  }
  auto& buf = worker_.read_buffer;
  for (;;) {
    boost::system::error_code rec;
    std::size_t n = socket_.read_some(asio::buffer(buf), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) break;
    if (rec || n == 0) {
      force_close();
      return;
    }
    last_activity_ = Clock::now();
    ping_outstanding_ = false;
    if (!process(buf.data(), n)) return;  // closing: the write side finishes the job
    if (n < buf.size()) break;
  }
  wait_readable(std::move(self));
}

bool WsSession::process(const char* data, std::size_t n) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(data);
  std::size_t off = 0;
  while (off < n || n == 0) {
    std::size_t used = 0;
    ws::FrameEvent e = parser_.next(p + off, n - off, used);
    off += used;
    switch (e.kind) {
      case ws::FrameEvent::need_more:
        return !dead_;
      case ws::FrameEvent::message:
        ws_.frames_in->inc();
        if (closing_) break;
        if (e.opcode != ws::Opcode::text) {
          close(ws::close_code::kUnsupported, "binary frames are not part of parley.v1");
          break;
        }
        if (e.compressed) {
          // Inflate with the message limit as the cap: a deflate bomb is
          // refused after at most that much memory, never expanded in full.
          std::string inflated;
          auto r = worker_.inflater->decompress(
              e.payload, static_cast<std::size_t>(cfg_.ws.max_message_bytes), inflated);
          if (r == ws::Inflater::Result::too_big) {
            close(ws::close_code::kTooBig, "message too big once decompressed");
            break;
          }
          ws::Utf8Validator utf8;
          if (r == ws::Inflater::Result::corrupt || !utf8.feed(inflated) || !utf8.complete()) {
            close(ws::close_code::kInvalidPayload, "invalid compressed or UTF-8 data");
            break;
          }
          e.payload = std::move(inflated);
        }
        on_text(std::move(e.payload));
        break;
      case ws::FrameEvent::ping:
        if (!closing_) {
          enqueue(std::make_shared<const std::string>(ws::make_frame(ws::Opcode::pong, e.payload)));
        }
        break;
      case ws::FrameEvent::pong:
        break;
      case ws::FrameEvent::close:
        // Echo the peer's code (1000 when it gave none), then close.
        close(e.close_code == ws::close_code::kNoStatus ? ws::close_code::kNormal : e.close_code,
              "");
        return false;
      case ws::FrameEvent::error:
        if (e.close_code == ws::close_code::kTooBig && !user_id_) {
          close(ws::close_code::kUnauthenticated, "authentication message too large");
        } else {
          close(e.close_code, e.payload);
        }
        return false;
    }
    if (dead_) return false;
  }
  return !dead_;
}

SharedFrame WsSession::outgoing(const SharedFrame& plain, bool shared) {
  if (!deflate_) return plain;
  auto payload = ws::frame_payload(*plain);
  if (payload.size() < static_cast<std::size_t>(cfg_.ws.deflate_min_bytes)) return plain;
  if (shared && worker_.deflated_for == plain) return worker_.deflated;
  auto compressed = std::make_shared<const std::string>(
      ws::make_frame(ws::Opcode::text, worker_.deflater->compress(payload), true));
  if (shared) {
    worker_.deflated_for = plain;
    worker_.deflated = compressed;
  }
  return compressed;
}

void WsSession::enqueue(SharedFrame frame) {
  if (dead_ || closing_) return;
  queued_bytes_ += frame->size();
  if (queued_bytes_ > static_cast<std::size_t>(cfg_.ws.max_outbound_bytes)) {
    // Slow consumer: drop what is queued, say why, and let the client resume from the store.
    ws_.slow_consumers->inc();
    if (head_offset_ > 0) {
      // A frame is out in part: it must finish before the close frame.
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(queue_head_) + 1, queue_.end());
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(queue_head_));
      queued_bytes_ = queue_.front()->size();
    } else {
      queue_.clear();
      queued_bytes_ = 0;
    }
    queue_head_ = 0;
    close(ws::close_code::kSlowConsumer, "slow consumer: resume with since");
    return;
  }
  queue_.push_back(std::move(frame));
  ws_.frames_out->inc();
  if (writing_ || flush_pending_) return;
  flush_pending_ = true;
  worker_.dirty.push_back(shared_from_this());
  if (!worker_.flush_posted) {
    worker_.flush_posted = true;
    asio::post(worker_.ioc, [&w = worker_] { flush_worker(w); });
  }
}

void WsSession::flush_worker(Worker& w) {
  std::vector<std::shared_ptr<WsSession>> dirty;
  dirty.swap(w.dirty);
  w.flush_posted = false;
  for (auto& s : dirty) {
    s->flush_pending_ = false;
    s->flush_now();
  }
}

void WsSession::flush_now() {
  if (dead_ || writing_ || queue_head_ >= queue_.size()) return;
  std::array<asio::const_buffer, kMaxGather> buffers;
  std::size_t count = 0;
  for (std::size_t i = queue_head_; i < queue_.size() && count < kMaxGather; ++i) {
    buffers[count++] = asio::buffer(*queue_[i]) + (i == queue_head_ ? head_offset_ : 0);
  }
  boost::system::error_code ec;
  std::size_t n = socket_.write_some(std::span(buffers.data(), count), ec);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    force_close();
    return;
  }
  // Drop what went out; a frame sent in part keeps its offset.
  while (n > 0) {
    std::size_t left = queue_[queue_head_]->size() - head_offset_;
    if (n < left) {
      head_offset_ += n;
      break;
    }
    n -= left;
    queued_bytes_ -= std::min(queued_bytes_, queue_[queue_head_]->size());
    queue_[queue_head_++].reset();
    head_offset_ = 0;
  }
  if (queue_head_ == queue_.size()) {
    std::vector<SharedFrame>().swap(queue_);  // an idle connection keeps no queue memory
    queue_head_ = 0;
    return;
  }
  start_write_loop();  // the socket pushed back, or more than one gather's worth
}

void WsSession::start_write_loop() {
  if (writing_) return;
  writing_ = true;
  asio::co_spawn(worker_.ioc, write_loop(shared_from_this()), asio::detached);
}

asio::awaitable<void> WsSession::write_loop(std::shared_ptr<WsSession> self) {
  std::vector<SharedFrame> inflight;
  std::vector<asio::const_buffer> buffers;
  while (self->queue_head_ < self->queue_.size() && !self->dead_) {
    inflight.clear();
    buffers.clear();
    while (self->queue_head_ < self->queue_.size() && inflight.size() < kMaxGather) {
      inflight.push_back(std::move(self->queue_[self->queue_head_++]));
      if (self->queue_head_ == self->queue_.size()) {
        self->queue_.clear();  // keeps capacity while busy; released once idle
        self->queue_head_ = 0;
      }
      self->queued_bytes_ -= std::min(self->queued_bytes_, inflight.back()->size());
      buffers.emplace_back(asio::buffer(*inflight.back()) + self->head_offset_);
      self->head_offset_ = 0;  // only the first frame can have been sent in part
    }
    auto [ec, n] = co_await asio::async_write(self->socket_, buffers, kTuple);
    if (ec) {
      self->writing_ = false;
      self->force_close();
      co_return;
    }
  }
  self->writing_ = false;
  if (self->queue_.empty()) {
    std::vector<SharedFrame>().swap(self->queue_);  // an idle connection keeps no queue memory
    self->queue_head_ = 0;
  }
  if (self->closing_ && self->queue_.empty()) {
    // The close frame is out: stop sending; the peer's close or the grace timer ends it.
    boost::system::error_code ec;
    self->socket_.shutdown(tcp::socket::shutdown_send, ec);
  }
}

void WsSession::close(std::uint16_t code, std::string_view reason) {
  if (closing_ || dead_) return;
  ws_.registry
      ->counter("parley_ws_closes_total", "WebSocket connections closed by the server, by code",
                {{"code", std::to_string(code)}})
      .inc();
  std::string frame = ws::make_close_frame(code, reason);
  queued_bytes_ += frame.size();
  queue_.push_back(std::make_shared<const std::string>(std::move(frame)));
  closing_ = true;
  closing_since_ = Clock::now();
  start_write_loop();
}

void WsSession::force_close() {
  if (dead_) return;
  dead_ = true;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  queue_.clear();
  queue_head_ = 0;
  queued_bytes_ = 0;
  head_offset_ = 0;
}

void WsSession::tick(Clock::time_point now) {
  if (dead_) return;
  if (closing_) {
    if (now - closing_since_ > kCloseGrace) force_close();
    return;
  }
  using ms = std::chrono::milliseconds;
  if (!user_id_ && now - connected_at_ > ms(cfg_.ws.auth_timeout_ms)) {
    close(ws::close_code::kUnauthenticated, "authenticate first");
    return;
  }
  if (user_id_ && now_s() > token_exp_s_ + cfg_.auth.leeway_s) {
    close(ws::close_code::kUnauthenticated, "token expired: send auth with a new token");
    return;
  }
  if (now - last_activity_ > ms(cfg_.ws.idle_timeout_ms)) {
    force_close();  // dead peer: no close handshake possible
    return;
  }
  if (!ping_outstanding_ && now - last_activity_ > ms(cfg_.ws.ping_interval_ms)) {
    ping_outstanding_ = true;
    enqueue(std::make_shared<const std::string>(ws::make_frame(ws::Opcode::ping, "")));
  }
}

void WsSession::deliver(Id conv, std::int64_t seq, const SharedFrame& frame, Id left_user) {
  auto it = subs_.find(conv);
  if (it == subs_.end() || dead_ || closing_) return;
  if (left_user != 0 && left_user == user_id_) {
    // Our user is no longer a member: tell this client, then stop its events.
    enqueue(outgoing(frame, true));
    subs_.erase(it);
    ws_.gateway->hub().unsubscribe(worker_.index, conv, this);
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
  enqueue(outgoing(frame, true));
}

void WsSession::repair_gap(Id conv, std::int64_t seq, const SharedFrame& frame) {
  auto& sub = subs_.find(conv)->second;  // deliver() found it
  sub.live = false;
  sub.pending.emplace_back(seq, frame);
  ws_.gap_repairs->inc();
  auto chat = ws_.chat;
  Id user = user_id_;
  std::int64_t since = sub.last_seq;
  int limit = static_cast<int>(cfg_.ws.replay_limit);
  auto max_bytes = replay_budget();
  off_thread(
      [chat, user, conv, since, limit, max_bytes]() -> std::optional<chat::Replay> {
        try {
          return chat->replay(user, conv, since, limit, max_bytes);
        } catch (const std::exception&) {
          return std::nullopt;
        }
      },
      [this, conv](std::optional<chat::Replay> replay) {
        if (dead_ || closing_) return;
        auto it = subs_.find(conv);
        if (it == subs_.end() || it->second.live) return;
        if (!replay || replay->truncated) {
          // Too far behind (or the store is down): the client resumes itself.
          close(ws::close_code::kSlowConsumer, "missed events: resume with since");
          return;
        }
        go_live(it->second, *replay);
      });
}

void WsSession::go_live(Subscription& sub, const chat::Replay& replay) {
  std::int64_t last = replay.last_seq;
  for (const auto& m : replay.messages) {
    enqueue(outgoing(realtime::text_frame(realtime::message_event(m, true)), false));
  }
  if (!replay.messages.empty()) last = std::max(last, replay.messages.back().seq);
  sub.last_seq = std::max(sub.last_seq, last);
  sub.live = true;
  for (auto& [seq, frame] : sub.pending) {
    if (seq > 0 && seq <= sub.last_seq) continue;
    if (seq > 0) sub.last_seq = seq;
    enqueue(outgoing(frame, true));
  }
  sub.pending.clear();
  sub.pending.shrink_to_fit();
}

void WsSession::reply_ok(const bj::value& id, bj::value result) {
  send_json(bj::object{{"id", id}, {"ok", true}, {"result", std::move(result)}});
}

void WsSession::reply_error(const bj::value& id, Errc code, std::string_view message) {
  send_json(bj::object{{"id", id},
                       {"ok", false},
                       {"error", bj::object{{"code", error_code_name(code)},
                                            {"status", http_status(code)},
                                            {"message", message}}}});
}

void WsSession::on_text(std::string&& text) {
  // Rate limit: a token bucket per connection.
  auto now = Clock::now();
  tokens_ = std::min(static_cast<double>(cfg_.ws.rate_burst),
                     tokens_ + std::chrono::duration<double>(now - refilled_).count() *
                                   static_cast<double>(cfg_.ws.rate_per_s));
  refilled_ = now;
  if (tokens_ < 1) {
    ws_.rate_limited->inc();
    close(ws::close_code::kRateLimited, "rate limited");
    return;
  }
  tokens_ -= 1;

  bj::value id = nullptr;
  realtime::Request request;
  try {
    request =
        realtime::decode_request(text, static_cast<std::size_t>(cfg_.http.max_json_depth), &id);
  } catch (const Error& e) {
    reply_error(id, e.code(), e.detail());
    return;
  }
  const std::string& op = request.op;
  const bj::object& req = request.fields;
  try {
    if (op == "auth") {
      op_auth(id, req);
    } else if (!user_id_) {
      reply_error(id, Errc::unauthorized, "authenticate first");
      close(ws::close_code::kUnauthenticated, "authenticate first");
    } else if (op == "subscribe") {
      op_subscribe(id, req);
    } else if (op == "unsubscribe") {
      op_unsubscribe(id, req);
    } else if (op == "send") {
      op_send(id, req);
    } else if (op == "read" || op == "edit" || op == "delete") {
      op_blocking(id, req, op);
    } else if (op == "typing") {
      op_typing(id, req);
    } else if (op == "presence") {
      op_presence(id, req);
    } else if (op == "ping") {
      reply_ok(id, bj::object{{"ts", now_ms()}});
    } else {
      reply_error(id, Errc::bad_request, "unknown op '" + op.substr(0, 32) + "'");
    }
  } catch (const Error& e) {
    reply_error(id, e.code(), e.detail());
  } catch (const std::exception& e) {
    log::error("ws_op_failed", {{"op", op}, {"error", e.what()}});
    reply_error(id, Errc::internal, "internal error");
  }
}

void WsSession::op_auth(const bj::value& id, const bj::object& req) {
  auto token = realtime::string_field(req, "token", 8192);
  auth::Claims claims = ws_.auth->authenticate(token);  // HMAC only: fine on the worker
  if (user_id_ && claims.user_id != user_id_) {
    reply_error(id, Errc::forbidden, "a connection cannot change user");
    close(ws::close_code::kForbidden, "user changed");
    return;
  }
  off_thread(
      [auth = ws_.auth, claims]() -> std::optional<std::string> {
        try {
          auth->current_user(claims);
          return std::nullopt;
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
      },
      [this, id, claims](std::optional<std::string> err) {
        if (dead_ || closing_) return;
        if (err) {
          reply_error(id, Errc::unauthorized, *err);
          close(ws::close_code::kUnauthenticated, *err);
          return;
        }
        if (!user_id_) {
          std::lock_guard lock(ws_.mu);
          if (ws_.per_user[claims.user_id] >= cfg_.ws.max_connections_per_user) {
            ws_.rate_limited->inc();
            reply_error(id, Errc::too_many_requests, "too many connections for this user");
            close(ws::close_code::kRateLimited, "too many connections for this user");
            return;
          }
          ++ws_.per_user[claims.user_id];
          counted_user_ = true;
          user_id_ = claims.user_id;
          parser_.set_max_message(static_cast<std::size_t>(cfg_.ws.max_message_bytes));
          ws_.gateway->hub().add_session(worker_.index, this);
          ws_.gateway->user_connected(user_id_);
        }
        family_ = claims.session_id;
        token_exp_s_ = claims.exp;
        reply_ok(id, bj::object{{"user_id", id_to_string(user_id_)}, {"expires_at", claims.exp}});
      });
}

void WsSession::op_subscribe(const bj::value& id, const bj::object& req) {
  auto requested =
      realtime::subscriptions_field(req, static_cast<std::size_t>(cfg_.ws.max_subscriptions));
  if (subs_.size() + requested.size() > static_cast<std::size_t>(cfg_.ws.max_subscriptions)) {
    fail(Errc::bad_request,
         "at most " + std::to_string(cfg_.ws.max_subscriptions) + " subscriptions per connection");
  }
  // Register first, so nothing committed from now on can slip between the
  // store read and going live; the pending buffer and seq dedupe the overlap.
  for (auto& [conv, since] : requested) {
    auto [sit, fresh] = subs_.try_emplace(conv);
    sit->second.live = false;
    sit->second.pending.clear();
    if (fresh) ws_.gateway->hub().subscribe(worker_.index, conv, this);
  }
  auto chat = ws_.chat;
  Id user = user_id_;
  int limit = static_cast<int>(cfg_.ws.replay_limit);
  auto max_bytes = replay_budget() / std::max<std::size_t>(1, requested.size());  // shared
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

void WsSession::finish_subscribe(bj::value id, std::vector<std::pair<Id, chat::Replay>> results,
                                 std::vector<std::pair<Id, std::string>> errors) {
  if (dead_ || closing_) return;
  bj::array ok;
  bj::array failed;
  for (auto& [conv, code] : errors) {
    if (auto it = subs_.find(conv); it != subs_.end() && !it->second.live) {
      ws_.gateway->hub().unsubscribe(worker_.index, conv, this);
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
  reply_ok(id, bj::object{{"subscribed", std::move(ok)}, {"errors", std::move(failed)}});
}

void WsSession::op_unsubscribe(const bj::value& id, const bj::object& req) {
  for (Id conv : realtime::id_list_field(req, "conversations",
                                         static_cast<std::size_t>(cfg_.ws.max_subscriptions))) {
    if (subs_.erase(conv)) ws_.gateway->hub().unsubscribe(worker_.index, conv, this);
  }
  reply_ok(id, bj::object{{"subscriptions", subs_.size()}});
}

void WsSession::op_send(const bj::value& id, const bj::object& req) {
  Id conv = realtime::id_field(req, "conv");
  std::string client_id(realtime::string_field(req, "client_id", 256));
  std::string body(
      realtime::string_field(req, "body", static_cast<std::size_t>(cfg_.ws.max_message_bytes)));
  auto self = shared_from_this();
  auto& ioc = worker_.ioc;
  auto started = Clock::now();
  auto* hist = ws_.send_ack_seconds;
  // Validation errors throw here and are answered by on_text; the ack comes
  // only after the commit, from the store writer, posted back to this worker.
  ws_.chat->send_async(
      user_id_, conv, std::move(client_id), std::move(body),
      [self = std::move(self), &ioc, id, started, hist](std::exception_ptr e,
                                                        const chat::SendResult& r) mutable {
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
        asio::post(ioc, [self = std::move(self), id, r, err]() {
          if (err) {
            self->reply_error(id, err->first, err->second);
            return;
          }
          self->reply_ok(id, bj::object{{"message_id", id_to_string(r.message.id)},
                                        {"conv", id_to_string(r.message.conversation_id)},
                                        {"seq", r.message.seq},
                                        {"ts", r.message.created_at},
                                        {"duplicate", !r.created}});
        });
      });
}

void WsSession::op_typing(const bj::value& id, const bj::object& req) {
  Id conv = realtime::id_field(req, "conv");
  auto sub = subs_.find(conv);
  if (sub == subs_.end() || !sub->second.live) {
    fail(Errc::forbidden, "subscribe to the conversation first");
  }
  auto now = Clock::now();
  auto& last = last_typing_[conv];
  bool throttled = last.time_since_epoch().count() != 0 &&
                   now - last < std::chrono::milliseconds(cfg_.ws.typing_throttle_ms);
  if (!throttled) {
    last = now;
    ws_.gateway->typing(conv, user_id_, cfg_.ws.typing_ttl_ms);
  }
  reply_ok(id, bj::object{{"throttled", throttled}});
}

void WsSession::op_presence(const bj::value& id, const bj::object& req) {
  auto users = realtime::id_list_field(req, "users", 100);
  auto* gateway = ws_.gateway;
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
        if (dead_ || closing_) return;
        reply_ok(id, bj::object{{"users", std::move(out)}});
      });
}

void WsSession::op_blocking(const bj::value& id, const bj::object& req, const std::string& op) {
  Id conv = realtime::id_field(req, "conv");
  std::int64_t seq = realtime::seq_field(req, "seq");
  std::string body;
  if (op == "edit") {
    body = std::string(
        realtime::string_field(req, "body", static_cast<std::size_t>(cfg_.ws.max_message_bytes)));
  }
  auto chat = ws_.chat;
  Id user = user_id_;
  off_thread(
      [chat, user, conv, seq, op, body]() -> std::pair<std::optional<Error>, bj::value> {
        try {
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
      [this, id](std::pair<std::optional<Error>, bj::value> r) {
        if (dead_ || closing_) return;
        if (r.first) {
          reply_error(id, r.first->code(), r.first->detail());
        } else {
          reply_ok(id, std::move(r.second));
        }
      });
}

void start_ws_session(Worker& w, SessionEnv& env, tcp::socket socket, std::string leftover,
                      Id user_id, Id family, std::string remote, bool deflate) {
  auto session = std::make_shared<WsSession>(w, env, std::move(socket), std::move(leftover),
                                             user_id, std::move(remote));
  {
    std::lock_guard lock(env.ws->mu);
    ++env.ws->per_ip[session->remote_];
    session->counted_ip_ = true;
    if (user_id) {
      ++env.ws->per_user[user_id];
      session->counted_user_ = true;
    }
  }
  session->family_ = family;
  if (deflate && w.deflater && w.inflater) {
    session->deflate_ = true;
    session->parser_.enable_compression();
  }
  if (user_id) {
    env.ws->gateway->hub().add_session(w.index, session.get());
    env.ws->gateway->user_connected(user_id);
  }
  WsSession::start(std::move(session));
}

void sweep_ws_sessions(Worker& w, std::chrono::steady_clock::time_point now) {
  std::vector<WsSession*> all(w.ws_sessions.begin(), w.ws_sessions.end());
  for (auto* s : all) {
    if (w.ws_sessions.count(s)) s->tick(now);
  }
}

void close_ws_sessions(Worker& w, std::uint16_t code, const char* reason) {
  std::vector<WsSession*> all(w.ws_sessions.begin(), w.ws_sessions.end());
  for (auto* s : all) {
    if (w.ws_sessions.count(s)) s->close(code, reason);
  }
}

}  // namespace parley::net
