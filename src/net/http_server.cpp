#include "net/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "app/config.hpp"
#include "chat/chat_service.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/process_stats.hpp"
#include "http/api.hpp"
#include "net/session_env.hpp"
#include "net/ws_deflate.hpp"
#include "net/ws_frame.hpp"
#include "realtime/gateway.hpp"

namespace parley::net {

namespace asio = boost::asio;
using asio::ip::tcp;

struct HttpServer::Impl {
  using Guard = asio::executor_work_guard<asio::io_context::executor_type>;

  const Config& cfg;
  http::ServerState& state;
  SessionEnv env;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<Guard> guards;
  std::vector<std::thread> threads;
  std::unique_ptr<asio::thread_pool> handlers;
  std::unique_ptr<tcp::acceptor> acceptor;  // lives on workers[0]
  std::unique_ptr<WsShared> ws;
  realtime::Gateway* gateway = nullptr;
  std::vector<std::unique_ptr<asio::steady_timer>> sweepers;  // one per worker
  std::size_t next = 0;
  unsigned short port = 0;
  bool stopped = false;

  metrics::Registry* registry = nullptr;

  // Connections closed in bulk (a reconnect storm, clients moving to another
  // node) leave their memory in the allocator's free lists: once 1,000 fewer
  // are open than at the peak and the closing has stopped (none since the
  // last sweep), hand the free pages back to the kernel.
  static constexpr std::int64_t kTrimAfterClosed = 1000;
  std::int64_t peak_connections = 0, last_open = 0;
  metrics::Counter* memory_trims = nullptr;

  void return_memory_after_closes() {
    std::int64_t open = env.connections.load();
    bool settled = open >= last_open;
    last_open = open;
    peak_connections = std::max(peak_connections, open);
    if (peak_connections - open < kTrimAfterClosed || !settled) return;
    release_free_memory();
    memory_trims->inc();
    peak_connections = open;
  }

  Impl(const Config& c, http::ServerState& s) : cfg(c), state(s) {}

  void accept_loop() {
    Worker& target = *workers[next];
    next = (next + 1) % workers.size();
    acceptor->async_accept(
        target.ioc, [this, &target](boost::system::error_code ec, tcp::socket socket) {
          if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
            // EMFILE and friends: log, back off by simply trying again.
            log::warn("accept_failed", {{"error", ec.message()}});
          } else {
            bool reject = env.connections.load() >= cfg.server.max_connections;
            // Hand the socket to its worker's thread; the session lives there.
            asio::post(target.ioc, [this, &target, s = std::move(socket), reject]() mutable {
              start_session(target, env, std::move(s), reject);
            });
          }
          accept_loop();
        });
  }

  // Every 250 ms on each worker: WebSocket pings, deadlines, dead peers.
  void sweep(Worker& w, asio::steady_timer& t) {
    t.expires_after(std::chrono::milliseconds(250));
    t.async_wait([this, &w, &t](boost::system::error_code ec) {
      if (ec) return;
      sweep_ws_sessions(w, std::chrono::steady_clock::now());
      if (w.index == 0 && gateway) gateway->tick(now_ms());
      if (w.index == 0) return_memory_after_closes();
      sweep(w, t);
    });
  }

  // Runs fn on every worker's thread and waits for all of them.
  template <class F>
  void on_each_worker(F fn) {
    std::vector<std::future<void>> done;
    for (auto& w : workers) {
      auto p = std::make_shared<std::promise<void>>();
      done.push_back(p->get_future());
      asio::post(w->ioc, [p, fn, &w] {
        fn(*w);
        p->set_value();
      });
    }
    for (auto& f : done) f.wait_for(std::chrono::seconds(5));
  }
};

HttpServer::HttpServer(const Config& cfg, http::Api& api, http::ServerState& state,
                       metrics::Registry& m)
    : impl_(std::make_unique<Impl>(cfg, state)) {
  impl_->registry = &m;
  auto& env = impl_->env;
  env.api = &api;
  env.state = &state;
  env.limits.max_header_bytes = static_cast<std::uint32_t>(cfg.http.max_header_bytes);
  env.limits.max_body_bytes = static_cast<std::uint64_t>(cfg.http.max_body_bytes);
  env.limits.header_timeout = std::chrono::milliseconds(cfg.http.header_timeout_ms);
  env.limits.body_timeout = std::chrono::milliseconds(cfg.http.body_timeout_ms);
  env.limits.idle_timeout = std::chrono::milliseconds(cfg.http.idle_timeout_ms);
  env.limits.write_timeout = std::chrono::milliseconds(cfg.http.write_timeout_ms);
  env.limits.lingering_time = std::chrono::milliseconds(cfg.http.lingering_time_ms);
  env.limits.max_pending = cfg.http.max_pending_requests;
  const std::string errors = "parley_http_transport_errors_total";
  const std::string errors_help = "Requests answered by the transport before reaching a handler";
  env.metrics.active = &m.gauge("parley_http_connections_active", "Open HTTP connections");
  impl_->memory_trims =
      &m.counter("parley_process_memory_trims_total",
                 "Times freed heap was returned to the kernel after 1,000 connections closed");
  env.metrics.accepted = &m.counter("parley_http_connections_total", "HTTP connections accepted");
  env.metrics.rejected =
      &m.counter("parley_http_connections_rejected_total",
                 "Connections refused because server.max_connections was reached");
  env.metrics.timeouts = &m.counter(errors, errors_help, {{"kind", "timeout"}});
  env.metrics.header_too_large = &m.counter(errors, errors_help, {{"kind", "header_too_large"}});
  env.metrics.body_too_large = &m.counter(errors, errors_help, {{"kind", "body_too_large"}});
  env.metrics.bad_requests = &m.counter(errors, errors_help, {{"kind", "malformed"}});
  env.metrics.overloaded = &m.counter(errors, errors_help, {{"kind", "overloaded"}});
  const std::string lingering = "parley_http_lingering_closes_total";
  const std::string lingering_help =
      "Connections closed after reading what the client still sent (drained: it closed too)";
  env.metrics.lingering_drained = &m.counter(lingering, lingering_help, {{"outcome", "drained"}});
  env.metrics.lingering_timeouts = &m.counter(lingering, lingering_help, {{"outcome", "timeout"}});
  env.metrics.lingering_bytes = &m.counter("parley_http_lingering_discarded_bytes_total",
                                           "Bytes read and discarded from clients while closing");
  m.on_collect([this, &m] {
    m.gauge("parley_http_requests_pending", "Requests queued for or running on handler threads")
        .set(static_cast<double>(impl_->env.pending.load()));
  });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::enable_websocket(realtime::Gateway& gateway, chat::ChatService& chat,
                                  auth::AuthService& auth) {
  auto& d = *impl_;
  d.gateway = &gateway;
  d.ws = std::make_unique<WsShared>();
  auto& ws = *d.ws;
  auto& m = *d.registry;
  ws.cfg = &d.cfg;
  ws.gateway = &gateway;
  ws.chat = &chat;
  ws.auth = &auth;
  ws.registry = &m;
  ws.connections = &m.gauge("parley_ws_connections", "Open WebSocket connections");
  ws.handshakes_refused = &m.counter("parley_ws_handshakes_refused_total",
                                     "WebSocket handshakes answered with an error");
  ws.frames_in = &m.counter("parley_ws_frames_in_total", "WebSocket messages received");
  ws.frames_out = &m.counter("parley_ws_frames_out_total", "WebSocket frames queued for sending");
  ws.slow_consumers =
      &m.counter("parley_ws_slow_consumer_closes_total",
                 "Connections closed with 4009 for exceeding ws.max_outbound_bytes");
  ws.gap_repairs = &m.counter("parley_ws_gap_repairs_total",
                              "Subscriptions that saw a seq gap and re-read it from the store");
  ws.rate_limited = &m.counter("parley_ws_rate_limited_total",
                               "Connections closed with 4008 or refused for a rate or count limit");
  ws.send_ack_seconds = &m.histogram("parley_ws_send_ack_seconds",
                                     "From a send frame to its ack (after the store commit)");
  d.env.ws = d.ws.get();
}

void HttpServer::start() {
  auto& d = *impl_;
  const auto& cfg = d.cfg;
  unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  std::size_t nworkers =
      cfg.server.workers > 0 ? static_cast<std::size_t>(cfg.server.workers) : cores;
  std::size_t nhandlers = cfg.server.handler_threads > 0
                              ? static_cast<std::size_t>(cfg.server.handler_threads)
                              : std::max<std::size_t>(4, 2 * cores);
  for (std::size_t i = 0; i < nworkers; ++i) {
    d.workers.push_back(std::make_unique<Worker>());
    d.workers.back()->index = i;
    if (cfg.ws.permessage_deflate) {
      d.workers.back()->deflater =
          std::make_unique<ws::Deflater>(static_cast<int>(cfg.ws.deflate_level));
      d.workers.back()->inflater = std::make_unique<ws::Inflater>();
    }
    d.guards.emplace_back(d.workers.back()->ioc.get_executor());
  }
  if (d.gateway) {
    std::vector<asio::io_context*> iocs;
    for (auto& w : d.workers) iocs.push_back(&w->ioc);
    d.gateway->hub().attach(std::move(iocs));
    for (auto& w : d.workers) {
      d.sweepers.push_back(std::make_unique<asio::steady_timer>(w->ioc));
      d.sweep(*w, *d.sweepers.back());
    }
  }
  d.handlers = std::make_unique<asio::thread_pool>(nhandlers);
  d.env.handlers = d.handlers.get();
  if (d.gateway && d.ws) {
    auto* pool = d.handlers.get();
    auto* chat = d.ws->chat;
    d.gateway->set_presence_fanout(
        [pool](std::function<void()> fn) { asio::post(*pool, std::move(fn)); },
        [chat](Id user) { return chat->conversation_ids(user); });
    d.gateway->set_gap_fill([pool](std::function<void()> fn) { asio::post(*pool, std::move(fn)); },
                            [chat](Id conv, std::int64_t after, int limit) {
                              return chat->messages_after(conv, after, limit);
                            });
  }

  boost::system::error_code ec;
  auto address = asio::ip::make_address(cfg.server.host, ec);
  if (ec) throw std::runtime_error("server.host '" + cfg.server.host + "' is not an IP address");
  tcp::endpoint ep(address, static_cast<unsigned short>(cfg.server.port));
  d.acceptor = std::make_unique<tcp::acceptor>(d.workers[0]->ioc);
  d.acceptor->open(ep.protocol(), ec);
  if (!ec) d.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) d.acceptor->bind(ep, ec);
  if (!ec) d.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + cfg.server.host + ":" +
                             std::to_string(cfg.server.port) + ": " + ec.message());
  }
  d.port = d.acceptor->local_endpoint().port();
  asio::post(d.workers[0]->ioc, [&d] { d.accept_loop(); });
  for (auto& w : d.workers) {
    d.threads.emplace_back([&ioc = w->ioc] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          log::error("worker_exception", {{"error", e.what()}});
        }
      }
    });
  }
  log::info("http_listening", {{"host", cfg.server.host},
                               {"port", d.port},
                               {"workers", d.workers.size()},
                               {"handler_threads", nhandlers}});
}

unsigned short HttpServer::port() const { return impl_->port; }

void HttpServer::begin_drain() {
  auto& d = *impl_;
  if (d.workers.empty()) return;
  std::promise<void> closed;
  asio::post(d.workers[0]->ioc, [&] {
    boost::system::error_code ec;
    d.acceptor->close(ec);
    closed.set_value();
  });
  closed.get_future().wait_for(std::chrono::seconds(5));
  d.on_each_worker([](Worker& w) {
    close_sessions(w, false);
    close_ws_sessions(w, ws::close_code::kGoingAway, "server shutting down");
  });
}

bool HttpServer::wait_idle(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Every connection gone: requests answered, WebSocket close frames written
  // and echoed (or given up after the close grace period). Connections in a
  // lingering close have their answer already.
  auto& env = impl_->env;
  while (env.in_flight.load() > 0 || env.pending.load() > 0 ||
         env.connections.load() - env.lingering.load() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

void HttpServer::stop() {
  auto& d = *impl_;
  if (d.stopped || d.workers.empty()) return;
  d.stopped = true;
  d.on_each_worker([](Worker& w) { close_sessions(w, true); });
  if (d.handlers) d.handlers->join();
  d.guards.clear();
  for (auto& w : d.workers) w->ioc.stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
  d.sweepers.clear();
  d.acceptor.reset();
  d.workers.clear();
}

}  // namespace parley::net
