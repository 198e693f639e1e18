// What an HTTP session needs from its server. Internal to net/.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/ids.hpp"
#include "net/options.hpp"
#include "net/websocket.hpp"

namespace parley {
namespace http {
class Api;
struct ServerState;
}  // namespace http
namespace metrics {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace metrics
}  // namespace parley

namespace parley::net {

class HttpSession;
class WsSession;
}  // namespace parley::net
namespace parley::ws {
class Deflater;
class Inflater;
}  // namespace parley::ws
namespace parley::net {

// One event loop thread. Its session sets and read buffer are touched only on
// that thread. They are declared before ioc so they outlive it: destroying
// ioc destroys any suspended session, whose destructor erases itself.
struct Worker {
  std::size_t index = 0;
  // permessage-deflate, shared by the worker's connections (no context takeover).
  std::unique_ptr<ws::Deflater> deflater;
  std::unique_ptr<ws::Inflater> inflater;
  // The last shared frame compressed here, kept alive so its address stays unique:
  // one hub delivery compresses an event once for all local subscribers.
  std::shared_ptr<const std::string> deflated_for, deflated;
  std::unordered_set<HttpSession*> sessions;
  std::unordered_set<WsSession*> ws_sessions;
  std::vector<char> read_buffer = std::vector<char>(64 * 1024);  // shared by its WS sessions
  // WebSocket sessions that queued frames this turn of the loop: one posted
  // flush then writes each with a single gathered non-blocking send.
  std::vector<std::shared_ptr<WsSession>> dirty;
  bool flush_posted = false;
  boost::asio::io_context ioc{1};
};

// What WebSocket sessions share across workers.
struct WsShared {
  const WsOptions* opts = nullptr;  // the server's (SessionEnv::opts.ws)
  std::vector<WsRoute> routes;

  // Connection counts for the per-address cap.
  std::mutex mu;
  std::unordered_map<std::string, int> per_ip;

  metrics::Gauge* connections = nullptr;
  metrics::Counter* handshakes_refused = nullptr;
  metrics::Counter* frames_in = nullptr;
  metrics::Counter* frames_out = nullptr;
  metrics::Counter* slow_consumers = nullptr;
  metrics::Registry* registry = nullptr;  // for close-code counters
};

struct SessionMetrics {
  metrics::Gauge* active = nullptr;
  metrics::Counter* accepted = nullptr;
  metrics::Counter* rejected = nullptr;
  metrics::Counter* timeouts = nullptr;
  metrics::Counter* header_too_large = nullptr;
  metrics::Counter* body_too_large = nullptr;
  metrics::Counter* bad_requests = nullptr;
  metrics::Counter* overloaded = nullptr;
  metrics::Counter* lingering_drained = nullptr;
  metrics::Counter* lingering_timeouts = nullptr;
  metrics::Counter* lingering_bytes = nullptr;
};

struct SessionEnv {
  http::Api* api = nullptr;
  http::ServerState* state = nullptr;
  boost::asio::thread_pool* handlers = nullptr;
  HttpOptions opts;  // limits, timeouts, trusted proxies; opts.ws for the WebSocket transport
  SessionMetrics metrics;
  std::atomic<std::int64_t> in_flight{0};    // requests between head read and response sent
  std::atomic<std::int64_t> pending{0};      // requests queued or running on handler threads
  std::atomic<std::int64_t> connections{0};  // open sessions
  std::atomic<std::int64_t> lingering{0};    // answered, reading what the client still sends
  WsShared* ws = nullptr;                    // null: no WebSocket gateway
};

// A protocol's own listener (collab.listen): its connections are handed to
// these routes whatever their path, plus GET /health.
struct DropIn {
  std::string host;
  unsigned short port = 0;
  std::vector<WsRoute> routes;
};

// Starts serving one accepted connection on worker w. When reject is set the
// session answers 503 at once and closes (connection cap reached). drop_in:
// accepted on that listener rather than the main one.
void start_session(Worker& w, SessionEnv& env, boost::asio::ip::tcp::socket socket, bool reject,
                   const DropIn* drop_in = nullptr);
// On w's thread: close sessions waiting for a request (all of them if all).
void close_sessions(Worker& w, bool all);

// Takes over an upgraded connection (the 101 answer already sent), handing
// its messages to handler. leftover: bytes read past the handshake.
void start_ws_session(Worker& w, SessionEnv& env, boost::asio::ip::tcp::socket socket,
                      std::string leftover, std::unique_ptr<WsHandler> handler, std::string remote,
                      std::string subprotocol, bool deflate);
// On w's thread: pings, dead peers, close deadlines, and each handler's on_tick.
void sweep_ws_sessions(Worker& w, std::chrono::steady_clock::time_point now);
// On w's thread: close every WebSocket with code (1001 on shutdown).
void close_ws_sessions(Worker& w, std::uint16_t code, const char* reason);

}  // namespace parley::net
