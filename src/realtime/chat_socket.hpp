// Protocol v1 (docs/protocol.md) as a WebSocket protocol handler on the
// transport in net/websocket.hpp: authentication, subscriptions with
// gapless replay, sends acknowledged after the commit, typing, presence,
// and live delivery from the hub.
//
// ChatProtocol is what every parley.v1 connection shares (options, services,
// per-user connection counts, metrics); route() is its endpoint at /ws. Each
// accepted connection gets its own handler, defined in chat_socket.cpp.
//
// Threading: a connection's handler runs on its worker; store work runs on
// the handler pool (or the store writer) and posts its result back.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "core/ids.hpp"
#include "net/websocket.hpp"

namespace parley {
namespace auth {
class AuthService;
}
namespace chat {
class ChatService;
}
namespace metrics {
class Counter;
class Histogram;
class Registry;
}  // namespace metrics
}  // namespace parley

namespace parley::realtime {

class Gateway;

struct ChatSocketOptions {
  std::size_t max_message_bytes = 128 * 1024;     // once authenticated
  std::size_t preauth_max_message_bytes = 16384;  // before: an auth frame with a token
  std::size_t replay_budget_bytes = 512 * 1024;   // half the transport's outbound cap
  std::size_t max_json_depth = 32;
  int replay_limit = 500;
  std::size_t max_subscriptions = 1000;
  std::int64_t max_connections_per_user = 20;
  double rate_per_s = 50;
  double rate_burst = 100;
  std::chrono::milliseconds auth_timeout{5000};
  std::chrono::milliseconds typing_throttle{1000};
  std::int64_t typing_ttl_ms = 5000;
  std::int64_t access_ttl_s = 900;  // a ticket's connection counts as authenticated this long
  std::int64_t leeway_s = 30;
};

class ChatProtocol {
 public:
  ChatProtocol(ChatSocketOptions opts, Gateway& gateway, chat::ChatService& chat,
               auth::AuthService& auth, boost::asio::thread_pool& pool, metrics::Registry& m);

  // The endpoint: /ws, subprotocol parley.v1, authenticated by a ticket in
  // the query or by an auth frame after the handshake.
  net::WsRoute route();

  // Used by the connections (chat_socket.cpp).
  const ChatSocketOptions opts;
  Gateway& gateway;
  chat::ChatService& chat;
  auth::AuthService& auth;
  boost::asio::thread_pool& pool;
  metrics::Counter& rate_limited;
  metrics::Counter& gap_repairs;
  metrics::Histogram& send_ack_seconds;

  // Connections per user, for ws.max_connections_per_user.
  bool try_count_user(Id user);
  void uncount_user(Id user);

 private:
  void accept(const net::WsUpgrade& up, std::function<void(net::WsAccept)> done);

  std::mutex mu_;
  std::unordered_map<Id, std::int64_t> per_user_;
};

}  // namespace parley::realtime
