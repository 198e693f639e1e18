// The WebSocket transport: one connection with our own RFC 6455 framing on
// the raw socket, handing whole messages to its protocol handler
// (net/websocket.hpp).
//
// Reading holds no per-connection buffer while idle: the session waits until
// the socket is readable, then reads into its worker's shared buffer and runs
// the frame parser over it before yielding. Writing gathers every queued
// frame into one write; frames are shared, immutable buffers built once per
// event. A queue past WsOptions::max_outbound_bytes closes the connection
// with 4009.
//
// Threading: lives on one worker; every member is touched on that worker's
// thread only.
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <span>

#include "core/metrics.hpp"
#include "net/session_env.hpp"
#include "net/websocket.hpp"
#include "net/ws_deflate.hpp"
#include "net/ws_frame.hpp"

namespace parley::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxGather = 64;
}  // namespace

Frame text_frame(std::string_view payload) {
  return std::make_shared<const std::string>(ws::make_frame(ws::Opcode::text, payload));
}

Frame binary_frame(std::string_view payload) {
  return std::make_shared<const std::string>(ws::make_frame(ws::Opcode::binary, payload));
}

void WsHandler::on_too_big(WsConnection& c) { c.close(ws::close_code::kTooBig, "message too big"); }

bool WsRoute::matches(std::string_view target_path) const {
  if (!path.empty() && path.back() == '/') {
    return target_path.size() > path.size() && target_path.substr(0, path.size()) == path;
  }
  return target_path == path;
}

class WsSession final : public std::enable_shared_from_this<WsSession>, public WsConnection {
 public:
  WsSession(Worker& w, SessionEnv& env, tcp::socket socket, std::string leftover,
            std::unique_ptr<WsHandler> handler, std::string remote, std::string subprotocol)
      : worker_(w),
        env_(env),
        ws_(*env.ws),
        opts_(*ws_.opts),
        socket_(std::move(socket)),
        leftover_(std::move(leftover)),
        remote_(std::move(remote)),
        subprotocol_(std::move(subprotocol)),
        parser_(opts_.max_message_bytes),
        handler_(std::move(handler)) {
    connected_at_ = last_activity_ = Clock::now();
    worker_.ws_sessions.insert(this);
    env_.connections.fetch_add(1);
    ws_.connections->inc();
  }

  ~WsSession() {
    handler_.reset();  // first: it may unregister itself from what refers to this connection
    release_ip();
    worker_.ws_sessions.erase(this);
    env_.connections.fetch_sub(1);
    ws_.connections->dec();
  }

  static void start(std::shared_ptr<WsSession> self) {
    boost::system::error_code ec;
    self->socket_.non_blocking(true, ec);
    self->handler_->on_open(*self);
    if (!self->leftover_.empty()) {
      std::string bytes = std::move(self->leftover_);
      self->leftover_ = std::string();
      if (!self->process(bytes.data(), bytes.size())) return;
    }
    wait_readable(std::move(self));
  }

  // WsConnection
  void send(const Frame& frame, bool shared) override {
    if (dead_ || closing_) return;
    enqueue(outgoing(frame, shared));
  }
  void close(std::uint16_t code, std::string_view reason) override;
  bool open() const override { return !dead_ && !closing_; }
  void set_max_message(std::size_t bytes) override { parser_.set_max_message(bytes); }
  std::size_t worker() const override { return worker_.index; }
  asio::io_context& context() override { return worker_.ioc; }
  std::shared_ptr<WsConnection> shared() override { return shared_from_this(); }
  const std::string& remote() const override { return remote_; }
  const std::string& subprotocol() const override { return subprotocol_; }
  WsHandler& handler() override { return *handler_; }

  void tick(Clock::time_point now);
  static void flush_worker(Worker& w);

 private:
  // Reading: a plain callback chain on async_wait rather than a coroutine,
  // so an idle connection holds one small pending handler, not a frame.
  static void wait_readable(std::shared_ptr<WsSession> self);
  void on_readable(boost::system::error_code ec, std::shared_ptr<WsSession> self);
  bool process(const char* data, std::size_t n);
  void enqueue(Frame frame);
  // Writing: enqueue() marks the session dirty; the worker's flush sends
  // everything queued with one non-blocking gathered write. Only when the
  // socket pushes back does a write_loop coroutine take over.
  void flush_now();
  void start_write_loop();
  static asio::awaitable<void> write_loop(std::shared_ptr<WsSession> self);
  // The frame to send: compressed when this connection negotiated
  // permessage-deflate and the payload is long enough. Shared frames are
  // compressed once per worker (the worker keeps the last one).
  Frame outgoing(const Frame& plain, bool shared);
  void force_close();
  void release_ip();

  Worker& worker_;
  SessionEnv& env_;
  WsShared& ws_;
  const WsOptions& opts_;
  tcp::socket socket_;
  std::string leftover_;
  std::string remote_;
  std::string subprotocol_;
  ws::FrameParser parser_;
  std::unique_ptr<WsHandler> handler_;
  bool deflate_ = false;
  bool counted_ip_ = false;

  // Outbound frames: [queue_head_, size) are waiting. A vector, not a deque:
  // an empty vector holds no memory, an idle std::deque holds ~600 bytes.
  std::vector<Frame> queue_;
  std::size_t queue_head_ = 0;
  std::size_t queued_bytes_ = 0;
  std::size_t head_offset_ = 0;  // bytes of queue_[queue_head_] already sent
  bool writing_ = false;         // a write_loop owns the socket's sending side
  bool flush_pending_ = false;   // in worker_.dirty
  bool closing_ = false;         // close frame queued; nothing else is sent
  bool dead_ = false;            // socket closed
  bool ping_outstanding_ = false;
  Clock::time_point closing_since_{};
  Clock::time_point connected_at_{};
  Clock::time_point last_activity_{};

  friend void start_ws_session(Worker&, SessionEnv&, tcp::socket, std::string,
                               std::unique_ptr<WsHandler>, std::string, std::string, bool);
};

void WsSession::release_ip() {
  if (!counted_ip_) return;
  std::lock_guard lock(ws_.mu);
  if (--ws_.per_ip[remote_] <= 0) ws_.per_ip.erase(remote_);
  counted_ip_ = false;
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
      case ws::FrameEvent::message: {
        ws_.frames_in->inc();
        if (closing_) break;
        bool binary = e.opcode == ws::Opcode::binary;
        if (e.compressed) {
          // Inflate with the message limit as the cap: a deflate bomb is
          // refused after at most that much memory, never expanded in full.
          std::string inflated;
          auto r = worker_.inflater->decompress(e.payload, opts_.max_message_bytes, inflated);
          if (r == ws::Inflater::Result::too_big) {
            close(ws::close_code::kTooBig, "message too big once decompressed");
            break;
          }
          ws::Utf8Validator utf8;
          if (r == ws::Inflater::Result::corrupt ||
              (!binary && (!utf8.feed(inflated) || !utf8.complete()))) {
            close(ws::close_code::kInvalidPayload, "invalid compressed or UTF-8 data");
            break;
          }
          e.payload = std::move(inflated);
        }
        handler_->on_message(*this, std::move(e.payload), binary);
        break;
      }
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
        if (e.close_code == ws::close_code::kTooBig) {
          handler_->on_too_big(*this);
          close(ws::close_code::kTooBig, "message too big");  // unless the handler closed
        } else {
          close(e.close_code, e.payload);
        }
        return false;
    }
    if (dead_) return false;
  }
  return !dead_;
}

Frame WsSession::outgoing(const Frame& plain, bool shared) {
  if (!deflate_) return plain;
  auto payload = ws::frame_payload(*plain);
  if (payload.size() < opts_.deflate_min_bytes) return plain;
  if (shared && worker_.deflated_for == plain) return worker_.deflated;
  auto opcode = static_cast<ws::Opcode>(static_cast<std::uint8_t>((*plain)[0]) & 0x0F);
  auto compressed = std::make_shared<const std::string>(
      ws::make_frame(opcode, worker_.deflater->compress(payload), true));
  if (shared) {
    worker_.deflated_for = plain;
    worker_.deflated = compressed;
  }
  return compressed;
}

void WsSession::enqueue(Frame frame) {
  if (dead_ || closing_) return;
  queued_bytes_ += frame->size();
  if (queued_bytes_ > opts_.max_outbound_bytes) {
    // Slow consumer: drop what is queued, say why; the protocol's client resumes.
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
    std::vector<Frame>().swap(queue_);  // an idle connection keeps no queue memory
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
  std::vector<Frame> inflight;
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
    std::vector<Frame>().swap(self->queue_);  // an idle connection keeps no queue memory
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
    if (now - closing_since_ > opts_.close_grace) force_close();
    return;
  }
  handler_->on_tick(*this, now);
  if (closing_ || dead_) return;
  if (now - last_activity_ > opts_.idle_timeout) {
    force_close();  // dead peer: no close handshake possible
    return;
  }
  if (!ping_outstanding_ && now - last_activity_ > opts_.ping_interval) {
    ping_outstanding_ = true;
    enqueue(std::make_shared<const std::string>(ws::make_frame(ws::Opcode::ping, "")));
  }
}

void start_ws_session(Worker& w, SessionEnv& env, tcp::socket socket, std::string leftover,
                      std::unique_ptr<WsHandler> handler, std::string remote,
                      std::string subprotocol, bool deflate) {
  auto session =
      std::make_shared<WsSession>(w, env, std::move(socket), std::move(leftover),
                                  std::move(handler), std::move(remote), std::move(subprotocol));
  {
    std::lock_guard lock(env.ws->mu);
    ++env.ws->per_ip[session->remote_];
    session->counted_ip_ = true;
  }
  if (deflate && w.deflater && w.inflater) {
    session->deflate_ = true;
    session->parser_.enable_compression();
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
