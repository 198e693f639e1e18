// The listening HTTP server: W worker threads, each running its own
// io_context; one acceptor hands each new connection to the next worker
// round-robin, and the connection stays there for its whole life (no locks on
// connection state). Requests are handed to a handler thread pool (the
// Api blocks on the store) and answered back on the connection's worker.
//
// Threading: construct, start() and the drain/stop calls from one control
// thread (main); everything else runs on the workers and handler threads.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/options.hpp"
#include "net/websocket.hpp"

namespace parley {
namespace metrics {
class Registry;
}
namespace http {
class Api;
struct ServerState;
}  // namespace http
}  // namespace parley

namespace parley::net {

class HttpServer {
 public:
  // Makes the workers and the handler pool; nothing runs until start().
  HttpServer(HttpOptions opts, http::Api& api, http::ServerState& state, metrics::Registry& m);
  ~HttpServer();

  // Serves a WebSocket protocol at route.path. Call before start().
  void add_websocket(WsRoute route);
  // Also listens on host:port for one protocol alone (a drop-in endpoint
  // such as collab.listen): handshakes on any path go to its routes, a plain
  // GET /health answers 200 while serving (503 draining), anything else 404.
  // Same workers, limits and drain as the main port. Call before start().
  void add_listener(std::string host, unsigned short port, std::vector<WsRoute> routes);
  // The port the i-th added listener is bound to, after start().
  unsigned short listener_port(std::size_t i) const;
  // Each worker's event loop, by worker index (WsConnection::worker()), and
  // the pool for blocking work: valid from construction to stop().
  std::vector<boost::asio::io_context*> worker_contexts();
  boost::asio::thread_pool& handler_pool();
  // Runs fn on worker 0 every sweep (250 ms): the protocols' own timers.
  void on_sweep(std::function<void()> fn);

  // Binds and listens; throws std::runtime_error naming the address on failure.
  void start();
  unsigned short port() const;

  // Stops accepting and closes idle keep-alive connections; connections in
  // the middle of a request finish it and then close; WebSockets get 1001.
  void begin_drain();
  // Waits until no request is in flight and every connection has closed
  // (WebSocket close handshakes included); false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);
  // Closes every connection, stops the workers and the handler pool, joins.
  void stop();

 private:
  void ensure_websocket_state();  // the WebSocket state every listener's sessions share
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::net
