// The REST application: routes, middleware pipeline, problem responses.
// Api::handle runs one request start to finish; it blocks (store, password
// hashing) so the network layer calls it on a handler thread, never on an
// I/O worker.
//
// Threading: any thread; immutable after construction except for metrics.
#pragma once

#include <memory>

#include <atomic>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "http/message.hpp"
#include "http/middleware.hpp"
#include "http/router.hpp"
#include "http/web_app.hpp"

namespace parley {
struct Config;
namespace auth {
class AuthService;
}
namespace chat {
class ChatService;
}
namespace store {
class Database;
}
namespace cluster {
class Broker;
}
namespace realtime {
class Gateway;
}
namespace collab {
class Documents;
}
namespace metrics {
class Registry;
class Gauge;
}  // namespace metrics
}  // namespace parley

namespace parley::http {

// Process-wide state the operator endpoints report.
struct ServerState {
  std::atomic<bool> draining{false};
  std::atomic<bool> serving{false};
  std::int64_t started_at_ms = 0;
};

struct Services {
  const Config& cfg;
  auth::AuthService& auth;
  chat::ChatService& chat;
  store::Database& db;
  metrics::Registry& metrics;
  ServerState& state;
  realtime::Gateway* gateway = nullptr;  // null: no WebSocket gateway
  cluster::Broker* broker = nullptr;     // null: a single node
  collab::Documents* collab = nullptr;   // null: collab.enabled is off
};

class Api {
 public:
  explicit Api(Services services);

  Response handle(Request& req);
  // A response for an error the network layer detects before a request is
  // complete (413, 431, 400, 408, 503), with the same headers as any other.
  Response transport_error(const Request* req, Errc code, std::string_view detail);

  const Router& router() const { return router_; }
  // For extensions and tests: add routes before the server starts.
  Router& mutable_router() { return router_; }

 private:
  void finish(Context& ctx, Response& res);

  Services s_;
  Router router_;
  Cors cors_;
  std::unique_ptr<WebApp> web_;
  metrics::Gauge& in_flight_;
};

// Route registration, one function per resource file.
void register_auth_routes(Router& r, Services& s);
void register_conversation_routes(Router& r, Services& s);
void register_message_routes(Router& r, Services& s);
void register_moderation_routes(Router& r, Services& s);
void register_ops_routes(Router& r, Services& s);
void register_admin_routes(Router& r, Services& s);
void register_collab_routes(Router& r, Services& s);

}  // namespace parley::http
