// One HTTP/1.1 connection: read a request head (bounded, timed), then its
// body (bounded, timed), hand it to a handler thread, write the response,
// repeat while keep-alive. Transport errors get a problem+json answer with
// the right status before the connection closes: 431 head too large, 413 body
// too large, 400 malformed, 408 too slow, 503 overloaded.
//
// Threading: a session lives on one worker; every member is touched only on
// that worker's thread. The request itself runs on a handler thread and the
// result is posted back.
#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <memory>
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "http/api.hpp"
#include "http/middleware.hpp"
#include "net/session_env.hpp"
#include "net/ws_deflate.hpp"
#include "net/ws_frame.hpp"

namespace parley::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Counts itself in n for as long as it lives.
struct Counted {
  explicit Counted(std::atomic<std::int64_t>& c) : n(c) { n.fetch_add(1); }
  ~Counted() { n.fetch_sub(1); }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  std::atomic<std::int64_t>& n;
};

// Runs api.handle(req) on a handler thread; completes on the caller's executor.
template <class Token>
auto async_handle(http::Api& api, asio::thread_pool& pool, http::Request req, Token&& token) {
  return asio::async_initiate<Token, void(http::Response)>(
      [&api, &pool](auto handler, http::Request r) {
        auto ex = asio::get_associated_executor(handler);
        asio::post(pool, [&api, ex, r = std::move(r), handler = std::move(handler)]() mutable {
          http::Response res = api.handle(r);
          asio::post(ex, [handler = std::move(handler), res = std::move(res)]() mutable {
            handler(std::move(res));
          });
        });
      },
      token, std::move(req));
}

http::Request to_request(bhttp::request<bhttp::string_body>&& msg, const std::string& remote) {
  http::Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  for (const auto& field : msg) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  req.body = std::move(msg.body());
  req.remote_addr = remote;
  http::split_target(req);
  return req;
}

bhttp::response<bhttp::string_body> to_beast(http::Response&& res, bool keep_alive) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), 11};
  for (auto& [name, value] : res.headers) out.insert(name, value);
  out.body() = std::move(res.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  if (res.head_length && out.body().empty()) out.content_length(*res.head_length);
  return out;
}

}  // namespace

namespace {

// Calls fn(item) for each comma-separated item of a header value, trimmed of
// spaces, until fn returns true; true if it did.
template <class Fn>
bool any_item(std::string_view header, Fn fn) {
  std::size_t i = 0;
  while (i <= header.size()) {
    auto j = header.find(',', i);
    if (j == std::string_view::npos) j = header.size();
    auto item = header.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (fn(item)) return true;
    i = j + 1;
  }
  return false;
}

// Case-insensitive tokens (Connection: keep-alive, Upgrade).
bool has_token(std::string_view header, std::string_view token) {
  return any_item(header, [token](std::string_view item) {
    return item.size() == token.size() &&
           std::equal(item.begin(), item.end(), token.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  });
}

// The first of the client's offered subprotocols (case-sensitive, RFC 6455
// 4.1) that the route speaks, or "" when there is none.
std::string choose_subprotocol(std::string_view offered, const std::vector<std::string>& ours) {
  std::string chosen;
  any_item(offered, [&](std::string_view item) {
    if (item.empty() || std::find(ours.begin(), ours.end(), item) == ours.end()) return false;
    chosen = item;
    return true;
  });
  return chosen;
}

// Asks the route for a handler; completes on the caller's executor. Not a
// coroutine itself (GCC 12 destroys a by-value temporary argument of a
// co_awaited coroutine call twice): co_await the operation it returns, made
// in a statement of its own.
auto accept_upgrade(const WsRoute& route, const WsUpgrade& up) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(WsAccept)>(
      [&route, &up](auto handler) {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        route.accept(up, [h, ex](WsAccept a) {
          asio::post(ex, [h, a = std::move(a)]() mutable { std::move (*h)(std::move(a)); });
        });
      },
      asio::use_awaitable);
}

}  // namespace

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Worker& w, SessionEnv& env, tcp::socket socket, const DropIn* drop_in)
      : worker_(w), env_(env), drop_in_(drop_in), stream_(std::move(socket)) {
    boost::system::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
    worker_.sessions.insert(this);
    env_.connections.fetch_add(1);
    env_.metrics.active->inc();
  }
  ~HttpSession() {
    worker_.sessions.erase(this);
    env_.connections.fetch_sub(1);
    env_.metrics.active->dec();
  }

  static asio::awaitable<void> run(std::shared_ptr<HttpSession> self, bool reject);

  bool idle() const { return idle_; }
  void close() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  asio::awaitable<void> serve();
  asio::awaitable<void> send_error(const http::Request* req, Errc code, std::string_view detail);
  asio::awaitable<void> send_too_large();
  asio::awaitable<void> linger();
  asio::awaitable<void> upgrade(const WsRoute& route, bhttp::request<bhttp::string_body> msg);
  http::Response drop_in_answer(std::string_view path) const;

  bool upgraded_ = false;  // the socket now belongs to a WebSocket session
  asio::awaitable<bool> send(http::Response res, bool keep_alive);

  Worker& worker_;
  SessionEnv& env_;
  const DropIn* drop_in_;  // accepted on a protocol's own listener: only its routes
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string remote_;
  bool idle_ = true;
};

asio::awaitable<void> HttpSession::run(std::shared_ptr<HttpSession> self, bool reject) {
  try {
    if (reject) {
      self->env_.metrics.rejected->inc();
      co_await self->send_error(nullptr, Errc::unavailable, "too many connections");
    } else {
      co_await self->serve();
    }
    if (!self->upgraded_) co_await self->linger();
  } catch (const std::exception& e) {
    log::error("http_session_failed", {{"error", e.what()}});
  }
  if (!self->upgraded_) self->close();
}

// Lingering close, as nginx does it: a client may still be sending when we
// answer and close (a 413, a 431, a 1 MB token). Closing a socket with unread
// input makes the kernel send RST, which can destroy our answer before the
// client reads it. So: shut down our side, read and discard what the client
// still sends until it closes too, for at most http.lingering_time_ms.
asio::awaitable<void> HttpSession::linger() {
  auto& sock = stream_.socket();
  if (!sock.is_open()) co_return;
  boost::system::error_code ec;
  sock.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  idle_ = true;  // a draining server closes it at once
  // Answered: a drain does not wait for it (stop() closes what still lingers).
  Counted lingering(env_.lingering);
  stream_.expires_after(env_.opts.lingering_time);
  std::array<char, 16 * 1024> sink;
  for (;;) {
    auto [rec, n] = co_await stream_.async_read_some(asio::buffer(sink), kTuple);
    if (rec == beast::error::timeout) {
      env_.metrics.lingering_timeouts->inc();
      co_return;
    }
    if (rec) {
      if (rec == asio::error::eof) env_.metrics.lingering_drained->inc();
      co_return;
    }
    env_.metrics.lingering_bytes->inc(n);
  }
}

asio::awaitable<bool> HttpSession::send(http::Response res, bool keep_alive) {
  auto msg = to_beast(std::move(res), keep_alive);
  stream_.expires_after(env_.opts.write_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream_, msg, kTuple);
  if (ec == beast::error::timeout) env_.metrics.timeouts->inc();
  co_return !ec;
}

asio::awaitable<void> HttpSession::send_error(const http::Request* req, Errc code,
                                              std::string_view detail) {
  co_await send(env_.api->transport_error(req, code, detail), false);
}

asio::awaitable<void> HttpSession::send_too_large() {
  env_.metrics.body_too_large->inc();
  co_await send_error(
      nullptr, Errc::payload_too_large,
      "request body exceeds " + std::to_string(env_.opts.max_body_bytes) + " bytes");
}

asio::awaitable<void> HttpSession::serve() {
  const auto& lim = env_.opts;
  bool first = true;
  for (;;) {
    idle_ = true;
    if (env_.state->draining.load()) co_return;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(lim.max_header_bytes);
    parser.body_limit(lim.max_body_bytes);
    stream_.expires_after(first ? lim.header_timeout : lim.idle_timeout);
    first = false;
    auto [ec, n] = co_await bhttp::async_read_header(stream_, buffer_, parser, kTuple);
    idle_ = false;
    if (ec) {
      if (ec == bhttp::error::header_limit) {
        env_.metrics.header_too_large->inc();
        std::string_view partial(static_cast<const char*>(buffer_.data().data()), buffer_.size());
        if (http::unfinished_header(partial) == "authorization") {
          // A credential too large to be ours: refused as a credential.
          auto res = env_.api->transport_error(nullptr, Errc::unauthorized,
                                               "the Authorization header is too large");
          res.set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
          co_await send(std::move(res), false);
        } else {
          co_await send_error(nullptr, Errc::header_too_large, "request head is too large");
        }
      } else if (ec == bhttp::error::body_limit) {
        // A declared Content-Length past the limit fails here, before any body is read.
        co_await send_too_large();
      } else if (ec == beast::error::timeout) {
        // Idle keep-alive connections time out silently; a partial head is slowloris.
        env_.metrics.timeouts->inc();
      } else if (ec.category() == bhttp::make_error_code(bhttp::error::header_limit).category() &&
                 ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        env_.metrics.bad_requests->inc();
        co_await send_error(nullptr, Errc::bad_request, "malformed request: " + ec.message());
      }
      co_return;
    }

    Counted in_flight(env_.in_flight);

    auto& head = parser.get();
    auto path = head.target().substr(0, head.target().find('?'));
    if (drop_in_) {
      // A protocol's own port: a handshake on any path is its (even
      // /health), a plain GET /health says whether the server serves, and
      // nothing else is here.
      auto upgrade_header = head[bhttp::field::upgrade];
      bool handshake = has_token({upgrade_header.data(), upgrade_header.size()}, "websocket");
      if (head.method() == bhttp::verb::get && handshake) {
        for (const auto& route : drop_in_->routes) {
          if (route.matches(path)) {
            co_await upgrade(route, parser.release());
            co_return;
          }
        }
      }
      bool keep = parser.get().keep_alive() && parser.is_done();
      http::Response res = head.method() == bhttp::verb::get || head.method() == bhttp::verb::head
                               ? drop_in_answer(path)
                               : env_.api->transport_error(nullptr, Errc::method_not_allowed,
                                                           "only GET is served on this port");
      if (head.method() == bhttp::verb::head) {
        res.head_length = res.body.size();
        res.body.clear();
      }
      if (!co_await send(std::move(res), keep && !env_.state->draining.load())) co_return;
      if (!keep) co_return;
      continue;
    }
    if (env_.ws && head.method() == bhttp::verb::get) {
      for (const auto& route : env_.ws->routes) {
        if (route.matches(path)) {
          co_await upgrade(route, parser.release());
          co_return;
        }
      }
    }
    if (auto len = parser.content_length(); len && *len > lim.max_body_bytes) {
      co_await send_too_large();
      co_return;
    }
    if (head[bhttp::field::expect] == "100-continue") {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
      stream_.expires_after(lim.write_timeout);
      auto [wec, wn] = co_await bhttp::async_write(stream_, cont, kTuple);
      if (wec) co_return;
    }
    if (!parser.is_done()) {
      stream_.expires_after(lim.body_timeout);
      auto [bec, bn] = co_await bhttp::async_read(stream_, buffer_, parser, kTuple);
      if (bec) {
        if (bec == bhttp::error::body_limit) {
          co_await send_too_large();
        } else if (bec == beast::error::timeout) {
          // tcp_stream has already closed the socket: nothing can be sent.
          env_.metrics.timeouts->inc();
        } else if (bec.category() == bhttp::make_error_code(bhttp::error::body_limit).category() &&
                   bec != bhttp::error::partial_message) {
          env_.metrics.bad_requests->inc();
          co_await send_error(nullptr, Errc::bad_request, "malformed request: " + bec.message());
        }
        co_return;
      }
    }

    bool keep_alive = parser.get().keep_alive();
    http::Request req = to_request(parser.release(), remote_);
    http::Response res;
    if (env_.pending.fetch_add(1) >= lim.max_pending) {
      env_.pending.fetch_sub(1);
      env_.metrics.overloaded->inc();
      res = env_.api->transport_error(&req, Errc::unavailable, "server is overloaded; retry");
    } else {
      stream_.expires_never();
      res = co_await async_handle(*env_.api, *env_.handlers, std::move(req), asio::use_awaitable);
      env_.pending.fetch_sub(1);
    }
    keep_alive = keep_alive && !res.close && !env_.state->draining.load();
    // Not kept alive: run() closes it, lingering.
    if (!co_await send(std::move(res), keep_alive) || !keep_alive) co_return;
  }
}

// The WebSocket handshake (RFC 6455 4.2): checked here, the route's protocol
// makes a handler (or refuses), answered with 101 by hand, then the raw
// socket goes to a WebSocket session on this same worker.
asio::awaitable<void> HttpSession::upgrade(const WsRoute& route,
                                           bhttp::request<bhttp::string_body> msg) {
  WsShared& ws = *env_.ws;
  const WsOptions& opts = *ws.opts;
  http::Request req = to_request(std::move(msg), remote_);
  auto refuse = [&](Errc code, std::string detail) {
    ws.handshakes_refused->inc();
    return env_.api->transport_error(&req, code, std::move(detail));
  };
  std::optional<http::Response> refusal;
  auto key = req.header("sec-websocket-key");
  std::string origin(req.header("origin"));
  const auto& allowed = opts.allowed_origins;
  // The server's own pages (the web app) are same-origin: Origin names the Host.
  std::string host(req.header("host"));
  bool same_origin = !host.empty() && (origin == "http://" + host || origin == "https://" + host);
  bool origin_ok = origin.empty()
                       ? opts.allow_missing_origin
                       : same_origin ||
                             std::find(allowed.begin(), allowed.end(), origin) != allowed.end() ||
                             std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
  std::string client_ip = http::client_ip_for(req, env_.opts.trusted_proxies);
  std::string subprotocol =
      choose_subprotocol(req.header("sec-websocket-protocol"), route.subprotocols);
  if (!has_token(req.header("upgrade"), "websocket") ||
      !has_token(req.header("connection"), "upgrade")) {
    refusal = refuse(Errc::bad_request, "not a WebSocket upgrade request");
  } else if (req.header("sec-websocket-version") != "13") {
    refusal = refuse(Errc::bad_request, "Sec-WebSocket-Version must be 13");
    refusal->set("Sec-WebSocket-Version", "13");
  } else if (key.size() != 24) {
    refusal = refuse(Errc::bad_request, "Sec-WebSocket-Key must be 16 bytes, base64-encoded");
  } else if (subprotocol.empty() && route.require_subprotocol && !route.subprotocols.empty()) {
    std::string names;
    for (const auto& p : route.subprotocols) names += (names.empty() ? "" : " or ") + p;
    refusal = refuse(Errc::bad_request, "offer the subprotocol " + names);
  } else if (!origin_ok) {
    refusal = refuse(Errc::forbidden, "origin not allowed");
  } else if (env_.state->draining.load()) {
    refusal = refuse(Errc::unavailable, "server is shutting down");
  } else {
    std::lock_guard lock(ws.mu);
    auto ip = ws.per_ip.find(client_ip);
    if (ip != ws.per_ip.end() && ip->second >= opts.max_connections_per_ip) {
      refusal = refuse(Errc::too_many_requests, "too many connections from this address");
    }
  }
  std::unique_ptr<WsHandler> handler;
  if (!refusal) {
    WsUpgrade up{req, client_ip, subprotocol, worker_.index};
    auto op = accept_upgrade(route, up);
    WsAccept accepted = co_await std::move(op);
    if (!accepted.handler) {
      refusal = refuse(accepted.code, std::move(accepted.detail));
    } else {
      handler = std::move(accepted.handler);
    }
  }
  if (refusal) {
    co_await send(std::move(*refusal), false);
    co_return;
  }
  ws::DeflateOffer deflate;
  if (opts.permessage_deflate)
    deflate = ws::negotiate_deflate(req.header("sec-websocket-extensions"));
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      ws::accept_key(key) + "\r\n";
  if (!subprotocol.empty()) response += "Sec-WebSocket-Protocol: " + subprotocol + "\r\n";
  if (deflate.accepted) response += "Sec-WebSocket-Extensions: " + deflate.response + "\r\n";
  response += "\r\n";
  stream_.expires_after(env_.opts.write_timeout);
  auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(response), kTuple);
  if (ec) co_return;
  stream_.expires_never();
  std::string leftover(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  upgraded_ = true;
  start_ws_session(worker_, env_, stream_.release_socket(), std::move(leftover), std::move(handler),
                   client_ip, std::move(subprotocol), deflate.accepted);
}

// GET /health on a drop-in port (the seed's y-websocket health check asks
// for a 200) and a 404 for any other plain request.
http::Response HttpSession::drop_in_answer(std::string_view path) const {
  if (path != "/health") {
    return env_.api->transport_error(nullptr, Errc::not_found,
                                     "this port serves WebSocket handshakes and /health");
  }
  bool serving = env_.state->serving.load() && !env_.state->draining.load();
  auto res = http::Response::json(serving ? 200 : 503,
                                  serving ? R"({"status":"ok"})" : R"({"status":"unavailable"})");
  res.set("Cache-Control", "no-store");
  return res;
}

void start_session(Worker& w, SessionEnv& env, tcp::socket socket, bool reject,
                   const DropIn* drop_in) {
  env.metrics.accepted->inc();
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  auto session = std::make_shared<HttpSession>(w, env, std::move(socket), drop_in);
  asio::co_spawn(w.ioc, HttpSession::run(std::move(session), reject), asio::detached);
}

void close_sessions(Worker& w, bool all) {
  std::vector<HttpSession*> victims;
  for (auto* s : w.sessions) {
    if (all || s->idle()) victims.push_back(s);
  }
  for (auto* s : victims) s->close();
}

}  // namespace parley::net
