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

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/process_stats.hpp"
#include "http/api.hpp"
#include "net/session_env.hpp"
#include "net/ws_deflate.hpp"
#include "net/ws_frame.hpp"

namespace parley::net {

namespace asio = boost::asio;
using asio::ip::tcp;

struct HttpServer::Impl {
  using Guard = asio::executor_work_guard<asio::io_context::executor_type>;

  http::ServerState& state;
  SessionEnv env;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<Guard> guards;
  std::vector<std::thread> threads;
  std::unique_ptr<asio::thread_pool> handlers;
  // The main port's acceptor and the drop-in listeners', all on workers[0].
  struct Listener {
    DropIn routes;  // empty routes: the main port
    std::unique_ptr<tcp::acceptor> acceptor;
    unsigned short port = 0;
  };
  std::vector<Listener> listeners;
  std::unique_ptr<WsShared> ws;
  std::vector<std::function<void()>> sweep_hooks;             // on worker 0
  std::vector<std::unique_ptr<asio::steady_timer>> sweepers;  // one per worker
  std::size_t next = 0;
  std::size_t nhandlers = 0;
  unsigned short port = 0;
  bool stopped = false;

  metrics::Registry* registry = nullptr;

  // Connections closed in bulk (a reconnect storm, clients moving to another
  // node) leave their memory in the allocator's free lists: once 1,000 fewer
  // are open than at the peak and the closing has stopped (none since the
  // last sweep), hand the free pages back to the kernel. A burst of 1,000 or
  // more new connections does the same once it has stopped: each handshake's
  // request buffers and coroutine frame (about 4 KB) were freed when it
  // became a WebSocket, but the burst's high-water mark stays mapped.
  static constexpr std::int64_t kTrimAfterClosed = 1000;
  static constexpr std::int64_t kTrimAfterAccepted = 1000;
  std::int64_t peak_connections = 0, last_open = 0;
  std::atomic<std::int64_t> accepted{0};
  std::int64_t accepted_at_trim = 0, last_accepted = 0;
  metrics::Counter* memory_trims = nullptr;

  void return_memory_after_bursts() {
    std::int64_t open = env.connections.load();
    bool settled = open >= last_open;
    last_open = open;
    peak_connections = std::max(peak_connections, open);
    std::int64_t now_accepted = accepted.load();
    bool accepts_settled = now_accepted == last_accepted;
    last_accepted = now_accepted;
    bool after_closes = peak_connections - open >= kTrimAfterClosed && settled;
    bool after_accepts = now_accepted - accepted_at_trim >= kTrimAfterAccepted && accepts_settled;
    if (!after_closes && !after_accepts) return;
    release_free_memory();
    memory_trims->inc();
    peak_connections = open;
    accepted_at_trim = now_accepted;
  }

  explicit Impl(http::ServerState& s) : state(s) {}

  void accept_loop(Listener& l) {
    Worker& target = *workers[next];
    next = (next + 1) % workers.size();
    const DropIn* drop_in = l.routes.routes.empty() ? nullptr : &l.routes;
    l.acceptor->async_accept(target.ioc, [this, &l, &target, drop_in](boost::system::error_code ec,
                                                                      tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !l.acceptor->is_open()) return;
        // EMFILE and friends: log, back off by simply trying again.
        log::warn("accept_failed", {{"error", ec.message()}});
      } else {
        accepted.fetch_add(1, std::memory_order_relaxed);
        bool reject = env.connections.load() >= env.opts.max_connections;
        // Hand the socket to its worker's thread; the session lives there.
        asio::post(target.ioc, [this, &target, s = std::move(socket), reject, drop_in]() mutable {
          start_session(target, env, std::move(s), reject, drop_in);
        });
      }
      accept_loop(l);
    });
  }

  // Binds and listens on host:port; throws naming the address on failure.
  void listen(Listener& l, const std::string& host, unsigned short port, const char* key) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) throw std::runtime_error(std::string(key) + " '" + host + "' is not an IP address");
    tcp::endpoint ep(address, port);
    l.acceptor = std::make_unique<tcp::acceptor>(workers[0]->ioc);
    l.acceptor->open(ep.protocol(), ec);
    if (!ec) l.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) l.acceptor->bind(ep, ec);
    if (!ec) l.acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                               ec.message());
    }
    l.port = l.acceptor->local_endpoint().port();
  }

  // Every 250 ms on each worker: WebSocket pings, deadlines, dead peers.
  void sweep(Worker& w, asio::steady_timer& t) {
    t.expires_after(std::chrono::milliseconds(250));
    t.async_wait([this, &w, &t](boost::system::error_code ec) {
      if (ec) return;
      sweep_ws_sessions(w, std::chrono::steady_clock::now());
      if (w.index == 0) {
        for (auto& hook : sweep_hooks) hook();
        return_memory_after_bursts();
      }
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

HttpServer::HttpServer(HttpOptions opts, http::Api& api, http::ServerState& state,
                       metrics::Registry& m)
    : impl_(std::make_unique<Impl>(state)) {
  impl_->registry = &m;
  auto& env = impl_->env;
  env.api = &api;
  env.state = &state;
  env.opts = std::move(opts);
  const auto& o = env.opts;
  auto& d = *impl_;
  unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  std::size_t nworkers = o.workers > 0 ? o.workers : cores;
  d.nhandlers = o.handler_threads > 0 ? o.handler_threads : std::max<std::size_t>(4, 2 * cores);
  for (std::size_t i = 0; i < nworkers; ++i) {
    d.workers.push_back(std::make_unique<Worker>());
    d.workers.back()->index = i;
    if (o.ws.permessage_deflate) {
      d.workers.back()->deflater = std::make_unique<ws::Deflater>(o.ws.deflate_level);
      d.workers.back()->inflater = std::make_unique<ws::Inflater>();
    }
    d.guards.emplace_back(d.workers.back()->ioc.get_executor());
  }
  d.handlers = std::make_unique<asio::thread_pool>(d.nhandlers);
  env.handlers = d.handlers.get();
  const std::string errors = "parley_http_transport_errors_total";
  const std::string errors_help = "Requests answered by the transport before reaching a handler";
  env.metrics.active = &m.gauge("parley_http_connections_active", "Open HTTP connections");
  impl_->memory_trims = &m.counter(
      "parley_process_memory_trims_total",
      "Times freed heap was returned to the kernel after 1,000 connections closed or opened");
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

void HttpServer::add_websocket(WsRoute route) {
  ensure_websocket_state();
  impl_->ws->routes.push_back(std::move(route));
}

void HttpServer::add_listener(std::string host, unsigned short port, std::vector<WsRoute> routes) {
  ensure_websocket_state();
  Impl::Listener l;
  l.routes = DropIn{std::move(host), port, std::move(routes)};
  impl_->listeners.push_back(std::move(l));
}

unsigned short HttpServer::listener_port(std::size_t i) const {
  return impl_->listeners.at(i + 1).port;
}

void HttpServer::ensure_websocket_state() {
  auto& d = *impl_;
  if (d.listeners.empty()) d.listeners.emplace_back();  // the main port comes first
  if (!d.ws) {
    d.ws = std::make_unique<WsShared>();
    auto& ws = *d.ws;
    auto& m = *d.registry;
    ws.opts = &d.env.opts.ws;
    ws.registry = &m;
    ws.connections = &m.gauge("parley_ws_connections", "Open WebSocket connections");
    ws.handshakes_refused = &m.counter("parley_ws_handshakes_refused_total",
                                       "WebSocket handshakes answered with an error");
    ws.frames_in = &m.counter("parley_ws_frames_in_total", "WebSocket messages received");
    ws.frames_out = &m.counter("parley_ws_frames_out_total", "WebSocket frames queued for sending");
    ws.slow_consumers =
        &m.counter("parley_ws_slow_consumer_closes_total",
                   "Connections closed with 4009 for exceeding ws.max_outbound_bytes");
    d.env.ws = d.ws.get();
  }
}

std::vector<asio::io_context*> HttpServer::worker_contexts() {
  std::vector<asio::io_context*> out;
  for (auto& w : impl_->workers) out.push_back(&w->ioc);
  return out;
}

asio::thread_pool& HttpServer::handler_pool() { return *impl_->handlers; }

void HttpServer::on_sweep(std::function<void()> fn) { impl_->sweep_hooks.push_back(std::move(fn)); }

void HttpServer::start() {
  auto& d = *impl_;
  const auto& opts = d.env.opts;
  if (d.ws) {
    for (auto& w : d.workers) {
      d.sweepers.push_back(std::make_unique<asio::steady_timer>(w->ioc));
      d.sweep(*w, *d.sweepers.back());
    }
  }
  if (d.listeners.empty()) d.listeners.emplace_back();
  d.listen(d.listeners[0], opts.host, opts.port, "server.host");
  for (std::size_t i = 1; i < d.listeners.size(); ++i) {
    d.listen(d.listeners[i], d.listeners[i].routes.host, d.listeners[i].routes.port, "listener");
  }
  d.port = d.listeners[0].port;
  for (auto& l : d.listeners) {
    asio::post(d.workers[0]->ioc, [&d, &l] { d.accept_loop(l); });
  }
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
  log::info("http_listening", {{"host", opts.host},
                               {"port", d.port},
                               {"workers", d.workers.size()},
                               {"handler_threads", d.nhandlers}});
  for (std::size_t i = 1; i < d.listeners.size(); ++i) {
    log::info("http_listening", {{"host", d.listeners[i].routes.host},
                                 {"port", d.listeners[i].port},
                                 {"routes", d.listeners[i].routes.routes.size()}});
  }
}

unsigned short HttpServer::port() const { return impl_->port; }

void HttpServer::begin_drain() {
  auto& d = *impl_;
  if (d.threads.empty()) return;
  std::promise<void> closed;
  asio::post(d.workers[0]->ioc, [&] {
    boost::system::error_code ec;
    for (auto& l : d.listeners) {
      if (l.acceptor) l.acceptor->close(ec);
    }
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
  if (!d.threads.empty()) d.on_each_worker([](Worker& w) { close_sessions(w, true); });
  if (d.handlers) d.handlers->join();
  d.guards.clear();
  for (auto& w : d.workers) w->ioc.stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
  d.sweepers.clear();
  d.listeners.clear();
  d.workers.clear();
}

}  // namespace parley::net
