// The WebSocket transport's public face: what a protocol handler sees of a
// connection, and what it implements to be one.
//
// The transport (net/ws_session.cpp) owns frames and bytes: RFC 6455 parsing,
// permessage-deflate, the worker's shared read buffer, the per-worker
// gathered flush, the byte-limited outbound queue (4009 past
// WsOptions::max_outbound_bytes), pings, the dead-peer timeout and the close
// handshake. A protocol (parley.v1 in realtime/, Yjs in collab/) is a
// WsHandler: it gets whole messages and decides what they mean, in the shape
// of uWebSockets' per-route behaviour (open, message, close) with the
// per-connection state in the handler object itself.
//
// Threading: a connection and its handler live on one worker thread. Every
// call below is made on that thread; work done elsewhere posts back with
// context() and keeps the connection alive with shared().
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace parley::http {
struct Request;
}

namespace parley::net {

// A complete frame (header and payload), immutable, shared by every
// connection it goes to.
using Frame = std::shared_ptr<const std::string>;
Frame text_frame(std::string_view payload);
Frame binary_frame(std::string_view payload);

class WsHandler;

class WsConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // Queues a frame. shared: the same frame goes to many connections, so a
  // compressed copy is made once per worker rather than once per connection.
  virtual void send(const Frame& frame, bool shared) = 0;
  void send_text(std::string_view payload) { send(text_frame(payload), false); }
  void send_binary(std::string_view payload) { send(binary_frame(payload), false); }
  // Sends a close frame; nothing is sent after it. Idempotent.
  virtual void close(std::uint16_t code, std::string_view reason) = 0;
  // False once closing or closed: further sends are dropped.
  virtual bool open() const = 0;
  // Largest inbound message from the next message on (the transport's
  // WsOptions::max_message_bytes at the start).
  virtual void set_max_message(std::size_t bytes) = 0;

  virtual std::size_t worker() const = 0;  // index of the worker it lives on
  virtual boost::asio::io_context& context() = 0;
  virtual std::shared_ptr<WsConnection> shared() = 0;
  virtual const std::string& remote() const = 0;       // client address
  virtual const std::string& subprotocol() const = 0;  // as negotiated; may be empty
  virtual WsHandler& handler() = 0;

 protected:
  ~WsConnection() = default;
};

class WsHandler {
 public:
  using Clock = WsConnection::Clock;
  // Destroyed with its connection, on its worker: unregister here, but do
  // not call the connection any more.
  virtual ~WsHandler() = default;
  // Before any message, with the connection ready to send.
  virtual void on_open(WsConnection& c) { (void)c; }
  // One whole message (reassembled, inflated, text already UTF-8 checked).
  virtual void on_message(WsConnection& c, std::string&& payload, bool binary) = 0;
  // A message over the limit arrived; the default closes with 1009.
  virtual void on_too_big(WsConnection& c);
  // A few times a second: protocol deadlines (authentication, token expiry).
  virtual void on_tick(WsConnection& c, Clock::time_point now) {
    (void)c;
    (void)now;
  }
};

// A WebSocket endpoint on the HTTP server: the path, the subprotocols it
// speaks, and how a handshake becomes a handler.
struct WsUpgrade {
  const http::Request& request;  // headers and query of the handshake
  std::string remote;            // client address (trusted proxies resolved)
  std::string subprotocol;       // the one chosen, "" when none was
  std::size_t worker = 0;        // the worker the connection will live on
};
struct WsAccept {
  std::unique_ptr<WsHandler> handler;  // null: refused with code and detail
  Errc code = Errc::bad_request;
  std::string detail;
};
struct WsRoute {
  // "/ws" matches that path only; "/collab/" matches every path under it.
  std::string path;
  // Offered by the server in order of preference; the first one the client
  // also offers is chosen. Empty: no subprotocol is negotiated.
  std::vector<std::string> subprotocols;
  bool require_subprotocol = true;  // refuse clients that offer none of them
  // Called on the worker; done() may be called later from any thread.
  std::function<void(const WsUpgrade&, std::function<void(WsAccept)> done)> accept;

  bool matches(std::string_view target_path) const;
};

}  // namespace parley::net
