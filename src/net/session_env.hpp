// What an HTTP session needs from its server. Internal to net/.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <unordered_set>

namespace parley {
namespace http {
class Api;
struct ServerState;
}  // namespace http
namespace metrics {
class Counter;
class Gauge;
}  // namespace metrics
}  // namespace parley

namespace parley::net {

class HttpSession;

// One event loop thread. Its sessions set is touched only on that thread.
// sessions is declared first so it outlives ioc: destroying ioc destroys any
// suspended session, whose destructor erases itself from the set.
struct Worker {
  std::unordered_set<HttpSession*> sessions;
  boost::asio::io_context ioc{1};
};

struct SessionLimits {
  std::uint32_t max_header_bytes = 16384;
  std::uint64_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{30000};
  std::int64_t max_pending = 1024;
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
};

struct SessionEnv {
  http::Api* api = nullptr;
  http::ServerState* state = nullptr;
  boost::asio::thread_pool* handlers = nullptr;
  SessionLimits limits;
  SessionMetrics metrics;
  std::atomic<std::int64_t> in_flight{0};    // requests between head read and response sent
  std::atomic<std::int64_t> pending{0};      // requests queued or running on handler threads
  std::atomic<std::int64_t> connections{0};  // open sessions
};

// Starts serving one accepted connection on worker w. When reject is set the
// session answers 503 at once and closes (connection cap reached).
void start_session(Worker& w, SessionEnv& env, boost::asio::ip::tcp::socket socket, bool reject);
// On w's thread: close sessions waiting for a request (all of them if all).
void close_sessions(Worker& w, bool all);

}  // namespace parley::net
