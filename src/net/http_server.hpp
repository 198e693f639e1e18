// The listening HTTP server: W worker threads, each running its own
// io_context; one acceptor hands each new connection to the next worker
// round-robin, and the connection stays there for its whole life (no locks on
// connection state). Requests are handed to a handler thread pool (the
// Api blocks on the store) and answered back on the connection's worker.
//
// Threading: construct, start() and the drain/stop calls from one control
// thread (main); everything else runs on the workers and handler threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace parley {
struct Config;
namespace metrics {
class Registry;
}
namespace http {
class Api;
struct ServerState;
}  // namespace http
namespace realtime {
class Gateway;
}
namespace chat {
class ChatService;
}
namespace auth {
class AuthService;
}
}  // namespace parley

namespace parley::net {

class HttpServer {
 public:
  HttpServer(const Config& cfg, http::Api& api, http::ServerState& state, metrics::Registry& m);
  ~HttpServer();

  // Serves the WebSocket gateway at /ws. Call before start().
  void enable_websocket(realtime::Gateway& gateway, chat::ChatService& chat,
                        auth::AuthService& auth);
  // Binds and listens; throws std::runtime_error naming the address on failure.
  void start();
  unsigned short port() const;

  // Stops accepting and closes idle keep-alive connections; connections in
  // the middle of a request finish it and then close.
  void begin_drain();
  // Waits until no request is in flight and every connection has closed
  // (WebSocket close handshakes included); false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);
  // Closes every connection, stops the workers and the handler pool, joins.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::net
