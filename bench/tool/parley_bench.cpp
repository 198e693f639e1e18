// parley-bench: a load generator that speaks Parley's protocol v1.
//
// One thread, one io_context: N subscriber connections spread over K
// conversations ("rooms"), P publishers each keeping a window of unacked
// sends. Every message body carries (publisher, sequence, send time), so each
// subscriber counts loss, duplicates and order per publisher and measures
// publish-to-deliver latency. Prints one JSON line. --smoke runs a few
// seconds with a handful of clients and fails (exit 1) on any loss,
// duplicate or reordering; it never judges timing.
//
//   parley_bench --port 8080 fanout --clients 1000 --rooms 1 --publishers 1 --window 100 --seconds
//   10 parley_bench --port 8080 --smoke
//   parley_bench --port 8081 --cluster-ports 8082,8083 fanout ...   (every delivery crosses nodes)
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/ws_frame.hpp"
#include "parley/v1/protocol.pb.h"
#include "server_frames.hpp"

namespace asio = boost::asio;
namespace bj = boost::json;
namespace ws = parley::ws;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Minimal blocking HTTP/1.1 call: the status and the body.
std::pair<int, std::string> http_call(const std::string& host, unsigned short port,
                                      const std::string& method, const std::string& target,
                                      const std::string& payload, const std::string& token) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address(host), port));
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host +
                    "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(payload.size()) + "\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += "\r\n" + payload;
  asio::write(s, asio::buffer(req));
  std::string response;
  boost::system::error_code ec;
  char buf[8192];
  for (;;) {
    std::size_t n = s.read_some(asio::buffer(buf), ec);
    if (n) response.append(buf, n);
    if (ec) break;
  }
  auto split = response.find("\r\n\r\n");
  if (split == std::string::npos) throw std::runtime_error("bad HTTP response from " + target);
  return {std::stoi(response.substr(9, 3)), response.substr(split + 4)};
}

// A JSON call for set-up (register, create rooms); throws unless 2xx.
bj::value http_json(const std::string& host, unsigned short port, const std::string& method,
                    const std::string& target, const bj::value& body, const std::string& token) {
  auto [status, json] = http_call(host, port, method, target, bj::serialize(body), token);
  if (status >= 300)
    throw std::runtime_error(target + " -> " + std::to_string(status) + " " + json);
  return bj::parse(json);
}

struct Stats {
  std::vector<std::int64_t> latencies_ns;  // publish-to-deliver, measured window only
  std::vector<std::int64_t> ack_ns;        // send-to-ack (includes the store commit)
  std::uint64_t deliveries = 0, measured_deliveries = 0, lost = 0, duplicates = 0, reordered = 0;
  std::uint64_t sent = 0, acked = 0, measured_acked = 0, errors = 0;
};

struct Bench;

// One WebSocket connection (subscriber or publisher).
struct Conn : std::enable_shared_from_this<Conn> {
  Conn(Bench& b, asio::io_context& ioc, int id, int room, bool publisher)
      : bench(b), sock(ioc), id(id), room(room), publisher(publisher) {}

  Bench& bench;
  tcp::socket sock;
  int id, room;
  bool publisher;
  bool churner = false;  // churn: connects, subscribes, leaves
  bool dropped = false;  // storm: this socket was dropped on purpose
  // storm: the conversation's highest seq seen (from the subscribe reply, then
  // each message.new), and the since to resubscribe with (-1: live).
  std::int64_t room_seq = 0, since = -1;
  std::int64_t connect_started = 0;
  std::string carry;  // an unfinished frame from the previous read
  std::array<char, 65536> buf{};
  std::string head;
  bool upgraded = false, writing = false, ready = false;
  std::deque<std::string> outq;
  std::vector<std::int64_t> next_expected;  // per publisher: the next sequence
  std::int64_t seq = 0;                     // publisher: next sequence to send
  int inflight = 0;
  std::unordered_map<std::int64_t, std::int64_t> sent_at;  // publisher: seq -> send time

  void start(const tcp::endpoint& ep);
  void read();
  void on_bytes(const char* p, std::size_t n);
  void on_frames(const std::uint8_t* d, std::size_t n, std::size_t& used);
  void on_message(std::string_view text, std::int64_t now);
  // A message.new event's body ("~pub:seq:sent:"), wherever it was read from;
  // seq: the event's seq when known (storm), -1 otherwise.
  void on_new(std::string_view text, std::int64_t seq, std::int64_t now);
  void on_reply(const std::string& rid, bool ok, bool truncated, std::string_view text,
                std::int64_t now);
  void on_binary(std::string_view bytes, std::int64_t now);  // --proto subscribers
  bool binary() const;
  void send_text(const std::string& json);
  void send_binary(const std::string& bytes);
  void flush();
  void publish_more();
  void send_one(std::int64_t t);  // t: the send time carried in the body
  void leave();                   // churners: close handshake, then go
};

struct Bench {
  asio::io_context ioc{1};
  tcp::endpoint ep;
  std::string token;
  std::vector<std::string> rooms;
  std::vector<std::shared_ptr<Conn>> conns;
  int publishers = 1, window = 10, size = 64;
  bool measuring = false, publishing = false;
  bool raw = false;   // plain broadcast rooms (peer servers): no auth, no JSON
  bool echo = false;  // publishers time round trips (v1: the ping op; raw: own room)
  bool smoke = false;
  bool storm = false;   // subscribers track seqs and resubscribe with since
  bool proto = false;   // subscribers speak parley.v1.proto (publishers stay JSON)
  int connections = 0;  // opened so far: past 2,000 the source address moves on
  // Open loop (--rate): messages per second over all publishers, sent on a
  // schedule whatever the replies; latency counts from the scheduled time,
  // so a server that falls behind cannot hide it (no coordinated omission).
  double rate = 0;
  std::int64_t rate_start_ns = 0;
  std::uint64_t scheduled = 0;
  std::vector<Conn*> publisher_conns;
  // Churn: connections that connect, authenticate, subscribe and leave.
  std::uint64_t churn_started = 0, churn_done = 0;
  std::vector<std::int64_t> churn_ns;  // connect to subscribed
  int ready = 0, expected_ready = 0;
  Stats stats;
  std::vector<std::int64_t> acked_per_publisher;
  std::vector<int> subscribers_per_room;
  std::string failure;
};

bool Conn::binary() const { return bench.proto && !publisher; }

void Conn::start(const tcp::endpoint& ep) {
  auto self = shared_from_this();
  // Spread sources over 127.0.0.x past a few thousand connections: one source
  // address has ~28 k ephemeral ports, and TIME_WAIT from earlier runs eats them.
  int n = bench.connections++;
  connect_started = now_ns();
  if (n >= 2000 && ep.address().is_loopback()) {
    sock.open(tcp::v4());
    sock.bind(tcp::endpoint(
        asio::ip::make_address_v4(0x7F000000u + 2u + static_cast<unsigned>(n / 2000)), 0));
  }
  sock.async_connect(ep, [self](boost::system::error_code ec) {
    if (ec) {
      self->bench.failure = "connect: " + ec.message();
      self->bench.ioc.stop();
      return;
    }
    self->sock.set_option(tcp::no_delay(true));
    std::string path = self->bench.raw ? "/room" + std::to_string(self->room) : "/ws";
    std::string req =
        "GET " + path +
        " HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    if (!self->bench.raw) {
      req += self->binary() ? "Sec-WebSocket-Protocol: parley.v1.proto\r\n"
                            : "Sec-WebSocket-Protocol: parley.v1\r\n";
    }
    req += "\r\n";
    self->outq.push_back(std::move(req));
    self->flush();
    self->read();
  });
}

void Conn::read() {
  auto self = shared_from_this();
  sock.async_read_some(asio::buffer(buf), [self](boost::system::error_code ec, std::size_t n) {
    // A read that completed just before its socket was dropped still runs:
    // its bytes belong to the crashed client, not to the one that resumes
    // from the seq saved at the drop (counting them counted that message twice:
    // test_storm once saw deliveries = expected + 1 under ASan).
    if (self->dropped) return;
    if (ec) {
      if (self->bench.publishing && self->bench.failure.empty() && !self->churner) {
        self->bench.failure = "connection " + std::to_string(self->id) + " closed: " + ec.message();
      }
      return;
    }
    self->on_bytes(self->buf.data(), n);
    self->read();
  });
}

void Conn::on_bytes(const char* p, std::size_t n) {
  if (!upgraded) {
    head.append(p, n);
    auto end = head.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
      bench.failure = "handshake refused: " + head.substr(0, head.find("\r\n"));
      bench.ioc.stop();
      return;
    }
    upgraded = true;
    std::string rest = head.substr(end + 4);
    head.clear();
    if (bench.raw) {
      ready = true;
      ++bench.ready;
    } else if (binary()) {
      parley::v1::Request r;
      r.set_id_string("auth");
      r.mutable_auth()->set_token(bench.token);
      send_binary(r.SerializeAsString());
    } else {
      send_text(bj::serialize(bj::object{{"id", "auth"}, {"op", "auth"}, {"token", bench.token}}));
    }
    if (!rest.empty()) on_bytes(rest.data(), rest.size());
    return;
  }
  // The client's own decoding stays lean so the server, not the client, is
  // measured: frames are read in place from the socket buffer (the server
  // never masks or fragments), and only a split frame is copied.
  const auto* data = reinterpret_cast<const std::uint8_t*>(p);
  if (carry.empty()) {
    std::size_t used = 0;
    on_frames(data, n, used);
    if (used < n) carry.assign(p + used, n - used);
  } else {
    carry.append(p, n);
    std::size_t used = 0;
    on_frames(reinterpret_cast<const std::uint8_t*>(carry.data()), carry.size(), used);
    carry.erase(0, used);
  }
}

void Conn::on_frames(const std::uint8_t* d, std::size_t n, std::size_t& used) {
  std::int64_t now = now_ns();  // one clock read per socket read
  std::string error;
  used = parley::bench::read_server_frames(
      d, n, error, [&](std::uint8_t op, std::string_view payload) {
        switch (static_cast<ws::Opcode>(op)) {
          case ws::Opcode::text:
          case ws::Opcode::binary:
            if (binary()) {
              on_binary(payload, now);
            } else {
              on_message(payload, now);
            }
            break;
          case ws::Opcode::ping:
            outq.push_back(ws::make_masked_frame(ws::Opcode::pong, payload, 0x01020304));
            flush();
            break;
          case ws::Opcode::pong:
            break;
          default:
            if (churner) {  // the server's answer to our close
              boost::system::error_code ec;
              sock.close(ec);
              return false;
            }
            bench.failure = "server closed connection " + std::to_string(id) + ": " +
                            std::string(payload.substr(std::min<std::size_t>(2, payload.size())));
            break;
        }
        return bench.failure.empty();
      });
  if (!error.empty() && bench.failure.empty()) {
    bench.failure = "connection " + std::to_string(id) + ": " + error;
  }
}

void Conn::on_message(std::string_view text, std::int64_t now) {
  // Events are the hot path: read just what we need from the text (the type
  // and the body's numbers) so the client stays cheaper than the server.
  constexpr std::string_view kNew = R"({"type":"message.new")";
  if (churner && text.starts_with(R"({"type")")) return;  // counts nothing: it is leaving
  if (bench.raw || text.starts_with(kNew)) {
    std::int64_t seq = -1;
    if (bench.storm) {  // {"type":"message.new","conv":"..","seq":N,...
      constexpr std::string_view kSeq = R"(,"seq":)";
      auto at = text.find(kSeq);
      seq = 0;
      for (auto i = at == std::string_view::npos ? text.size() : at + kSeq.size();
           i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        seq = seq * 10 + (text[i] - '0');
      }
    }
    on_new(text, seq, now);
    return;
  }
  constexpr std::string_view kEvent = R"({"type")";
  if (text.starts_with(kEvent)) return;  // other events (presence, ...)
  // A reply: {"id": ..., "ok": ..., ...}. Anything else is reported, never trusted.
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  const bj::object* o = ec ? nullptr : v.if_object();
  const bj::value* id_v = o ? o->if_contains("id") : nullptr;
  const bj::value* ok_v = o ? o->if_contains("ok") : nullptr;
  if (!id_v || !ok_v || !ok_v->is_bool()) {
    ++bench.stats.errors;
    bench.failure = "unexpected frame: " + std::string(text.substr(0, 200));
    return;
  }
  std::string rid = id_v->is_string() ? std::string(id_v->as_string()) : "";
  on_reply(rid, ok_v->as_bool(), text.find(R"("truncated":true)") != std::string_view::npos, text,
           now);
}

void Conn::on_new(std::string_view text, std::int64_t seq, std::int64_t now) {
  {
    if (bench.storm) {
      std::int64_t s = seq;
      if (s != room_seq + 1) {
        bench.failure = "connection " + std::to_string(id) + " expected seq " +
                        std::to_string(room_seq + 1) + ", got " + std::to_string(s);
      }
      room_seq = std::max(room_seq, s);
    }
    // Bodies start with '~', which nothing before the body in an event
    // contains (ids are alphanumeric, client ids "b<n>-<seq>").
    const auto* at = static_cast<const char*>(std::memchr(text.data(), '~', text.size()));
    if (at == nullptr) return;
    const char* p = at + 1;
    auto read_int = [&p]() {
      std::int64_t v = 0;
      while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
      ++p;  // the ':'
      return v;
    };
    int pub = static_cast<int>(read_int());
    std::int64_t s = read_int();
    std::int64_t sent = read_int();
    auto& st = bench.stats;
    if (bench.raw && publisher) {
      // A broadcast room echoes to its sender too: that copy is the "ack".
      if (pub == id) {
        --inflight;
        ++st.acked;
        ++bench.acked_per_publisher[id];
        if (bench.measuring) {
          ++st.measured_acked;
          st.ack_ns.push_back(now - sent);
        }
        publish_more();
      }
      return;
    }
    if (next_expected.size() <= static_cast<std::size_t>(pub)) next_expected.resize(pub + 1, -1);
    auto& expect = next_expected[pub];
    if (expect < 0) expect = s;  // first seen from this publisher (joined mid-stream)
    if (s == expect) {
      ++expect;
    } else if (s < expect) {
      ++st.duplicates;
    } else {
      st.lost += static_cast<std::uint64_t>(s - expect);
      ++st.reordered;
      expect = s + 1;
    }
    ++st.deliveries;
    if (bench.measuring) {
      ++st.measured_deliveries;
      st.latencies_ns.push_back(now - sent);
    }
    return;
  }
}

void Conn::on_binary(std::string_view bytes, std::int64_t now) {
  parley::v1::ServerMessage m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    ++bench.stats.errors;
    bench.failure = "connection " + std::to_string(id) + ": not a ServerMessage";
    return;
  }
  if (m.has_event()) {
    if (m.event().has_message_new()) {
      const auto& e = m.event().message_new();
      on_new(e.message().body(), e.seq(), now);
    }
    return;  // other events (presence, ...)
  }
  const auto& r = m.reply();
  bool truncated = r.has_subscribe() && r.subscribe().subscribed_size() > 0 &&
                   r.subscribe().subscribed(0).truncated();
  on_reply(r.id_string(), r.ok(), truncated, r.ok() ? "" : r.error().message(), now);
}

void Conn::on_reply(const std::string& rid, bool ok, bool truncated, std::string_view text,
                    std::int64_t now) {
  if (!ok) {
    ++bench.stats.errors;
    bench.failure = "error reply: " + std::string(text.substr(0, 200));
    return;
  }
  if (rid == "auth") {
    if (publisher) {
      ready = true;
      ++bench.ready;
    } else if (binary()) {
      parley::v1::Request r;
      r.set_id_string("sub");
      auto* e = r.mutable_subscribe()->add_conversations();
      e->set_conv(std::stoull(bench.rooms[room]));
      if (since >= 0) e->set_since(since);
      send_binary(r.SerializeAsString());
    } else {
      bj::object sub{{"conv", bench.rooms[room]}};
      if (since >= 0) sub["since"] = since;
      bj::array subs{std::move(sub)};
      send_text(
          bj::serialize(bj::object{{"id", "sub"}, {"op", "subscribe"}, {"conversations", subs}}));
    }
  } else if (rid == "sub" && churner) {
    if (bench.measuring) bench.churn_ns.push_back(now - connect_started);
    ++bench.churn_done;
    leave();
  } else if (rid == "sub") {
    if (bench.storm && truncated) {
      // More were missed than one replay holds: a real client reads the
      // rest over REST; here it means the run was set up too small.
      bench.failure = "connection " + std::to_string(id) +
                      ": replay truncated (raise ws.replay_limit / ws.max_outbound_bytes)";
      return;
    }
    ready = true;
    ++bench.ready;
    // Regression (events other than message.new were parsed as replies and
    // crashed the client): in smoke runs every subscriber sends one typing
    // op, so each run receives typing events between its messages.
    if (bench.smoke && binary()) {
      parley::v1::Request r;
      r.set_id_string("typing");
      r.mutable_typing()->set_conv(std::stoull(bench.rooms[room]));
      send_binary(r.SerializeAsString());
    } else if (bench.smoke) {
      send_text(bj::serialize(
          bj::object{{"id", "typing"}, {"op", "typing"}, {"conv", bench.rooms[room]}}));
    }
  } else if (rid == "typing") {
    // a typing op's reply: nothing to count
  } else {  // a send ack; its id is the sequence
    --inflight;
    if (auto it = sent_at.find(std::stoll(rid)); it != sent_at.end()) {
      if (bench.measuring) bench.stats.ack_ns.push_back(now - it->second);
      sent_at.erase(it);
    }
    ++bench.stats.acked;
    ++bench.acked_per_publisher[id];
    if (bench.measuring) ++bench.stats.measured_acked;
    publish_more();
  }
}

void Conn::publish_more() {
  if (!publisher || bench.rate > 0) return;  // open loop: the pacer sends
  while (bench.publishing && inflight < bench.window) send_one(now_ns());
}

void Conn::send_one(std::int64_t t) {
  std::string body =
      "~" + std::to_string(id) + ":" + std::to_string(seq) + ":" + std::to_string(t) + ":";
  if (body.size() < static_cast<std::size_t>(bench.size)) {
    body.append(bench.size - body.size(), 'x');
  }
  if (bench.raw) {
    send_text(body);  // the room's echo back to us is the ack
  } else if (bench.echo) {
    sent_at[seq] = t;
    send_text(bj::serialize(bj::object{{"id", std::to_string(seq)}, {"op", "ping"}}));
  } else {
    sent_at[seq] = t;
    send_text(bj::serialize(
        bj::object{{"id", std::to_string(seq)},
                   {"op", "send"},
                   {"conv", bench.rooms[room]},
                   {"client_id", "b" + std::to_string(id) + "-" + std::to_string(seq)},
                   {"body", body}}));
  }
  ++seq;
  ++inflight;
  ++bench.stats.sent;
}

void Conn::leave() {
  outq.push_back(ws::make_masked_frame(ws::Opcode::close, std::string("\x03\xe8", 2), 0x0badf00d));
  flush();
}

void Conn::send_text(const std::string& json) {
  outq.push_back(ws::make_masked_frame(ws::Opcode::text, json, 0x5a5a5a5a));
  flush();
}

void Conn::send_binary(const std::string& bytes) {
  outq.push_back(ws::make_masked_frame(ws::Opcode::binary, bytes, 0x5a5a5a5a));
  flush();
}

void Conn::flush() {
  if (writing || outq.empty()) return;
  writing = true;
  // Gather everything queued into one write.
  auto batch = std::make_shared<std::string>();
  while (!outq.empty()) {
    *batch += outq.front();
    outq.pop_front();
  }
  auto self = shared_from_this();
  asio::async_write(sock, asio::buffer(*batch),
                    [self, batch](boost::system::error_code ec, std::size_t) {
                      self->writing = false;
                      if (!ec) self->flush();
                    });
}

std::int64_t percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  std::size_t k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parley-bench: load generator for Parley protocol v1"};
  std::string host = "127.0.0.1", scenario = "fanout";
  unsigned short port = 8080;
  int clients = 100, rooms = 1, publishers = 1, window = 10, size = 64;
  double seconds = 5, warmup = 1;
  bool smoke = false;
  app.add_option("--host", host);
  app.add_option("--port", port);
  std::vector<unsigned short> cluster_ports;
  app.add_option("--cluster-ports", cluster_ports,
                 "other nodes of a cluster: subscribers connect to these (spread evenly), "
                 "publishers to --port, so every delivery crosses nodes")
      ->delimiter(',')
      ->allow_extra_args(false);  // one comma-separated token; the scenario follows
  app.add_option("scenario", scenario,
                 "fanout: subscribers in rooms, publishers windowed or paced (--rate); echo: "
                 "round trips (--clients connections, each with --window in flight); idle: hold "
                 "--clients connections and report the server's RSS per connection "
                 "(--server-pid); churn: fanout while --churn connections/s connect, subscribe "
                 "and leave; persist: --publishers each with its own conversation and one "
                 "subscriber, every message stored (stored+delivered/s, send-to-ack latency); "
                 "storm: fanout (best paced with --rate) while every subscriber is dropped at "
                 "once --storms times and resubscribes with since; fails on a gap, a duplicate, "
                 "or server file descriptors not back to their counts (--server-pid)");
  int server_pid = 0;
  app.add_option("--server-pid", server_pid, "for idle: read this process's VmRSS from /proc");
  app.add_option("--clients", clients, "subscriber connections");
  app.add_option("--rooms", rooms, "conversations the subscribers are spread over");
  app.add_option("--publishers", publishers);
  app.add_option("--window", window, "unacked sends per publisher");
  app.add_option("--size", size, "message body bytes");
  app.add_option("--seconds", seconds, "measured duration");
  app.add_option("--warmup", warmup, "discarded warm-up");
  double rate = 0, churn = 200;
  int storms = 1;
  app.add_option("--storms", storms, "storm: times every subscriber is dropped at once");
  app.add_option("--rate", rate,
                 "open loop: messages/s over all publishers on a fixed schedule (0: windowed)");
  app.add_option("--churn", churn, "churn: connections/s that connect, subscribe and leave");
  app.add_flag("--smoke", smoke, "a few seconds, few clients; fail on loss, duplicate or reorder");
  bool raw = false;
  app.add_flag("--raw", raw,
               "plain broadcast rooms at ws://host/roomN (peer servers): no auth, bodies as text");
  bool proto = false;
  app.add_flag("--proto", proto,
               "subscribers speak parley.v1.proto (Protocol Buffers); publishers stay JSON");
  CLI11_PARSE(app, argc, argv);
  if (smoke) {
    clients = 20;
    rooms = 2;
    publishers = 2;
    window = 5;
    seconds = 2;
    warmup = 0.5;
  }
  if (scenario == "echo") {
    publishers = clients;  // every connection times its own round trips
    clients = 0;
    // raw: each alone in its room, so the echo is its own; v1: one room is enough.
    rooms = raw ? std::max(1, publishers) : 1;
  } else if (scenario == "idle") {
    publishers = 0;
  } else if (scenario == "persist") {
    rooms = publishers;  // each publisher its own conversation, one subscriber each
    clients = publishers;
  } else if (scenario != "fanout" && scenario != "churn" && scenario != "storm") {
    std::fprintf(stderr, "parley-bench: scenario '%s' is not implemented yet\n", scenario.c_str());
    return 2;
  }

  Bench bench;
  bench.ep = tcp::endpoint(asio::ip::make_address(host), port);
  bench.publishers = publishers;
  bench.window = window;
  bench.size = size;
  bench.raw = raw;
  bench.proto = proto && !raw;
  bench.echo = scenario == "echo";
  bench.smoke = smoke;
  bench.rate = rate;
  bench.storm = scenario == "storm";
  if (scenario == "churn" && raw) {
    std::fprintf(stderr, "parley-bench: churn speaks protocol v1 only\n");
    return 2;
  }
  {  // up to the hard limit on open files: one per connection
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  if (!raw) try {
      std::mt19937_64 rng(std::random_device{}());
      std::string user = "bench" + std::to_string(rng() % 1000000000);
      auto reg = http_json(host, port, "POST", "/api/auth/register",
                           bj::object{{"username", user}, {"password", "bench-password-123"}}, "");
      const auto* token = reg.as_object().if_contains("access_token");
      if (!token || !token->is_string()) throw std::runtime_error("register: no access_token");
      bench.token = std::string(token->as_string());
      for (int r = 0; r < rooms; ++r) {
        auto conv =
            http_json(host, port, "POST", "/api/conversations",
                      bj::object{{"kind", "group"}, {"title", "bench room " + std::to_string(r)}},
                      bench.token);
        const auto* id = conv.as_object().if_contains("id");
        if (!id || !id->is_string()) throw std::runtime_error("create conversation: no id");
        bench.rooms.emplace_back(id->as_string());
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "parley-bench: set-up failed: %s\n", e.what());
      return 2;
    }

  bench.subscribers_per_room.assign(rooms, 0);
  for (int i = 0; i < clients; ++i) {
    bench.conns.push_back(std::make_shared<Conn>(bench, bench.ioc, i, i % rooms, false));
    if (bench.storm) bench.conns.back()->since = 0;  // fresh rooms: every seq from 1
    ++bench.subscribers_per_room[i % rooms];
  }
  for (int p = 0; p < publishers; ++p) {
    bench.conns.push_back(std::make_shared<Conn>(bench, bench.ioc, p, p % rooms, true));
    bench.publisher_conns.push_back(bench.conns.back().get());
  }
  bench.acked_per_publisher.assign(publishers, 0);
  // The server's heap in use, from its /metrics (0 if it does not say).
  auto read_heap = [&host, port]() -> long long {
    try {
      auto [status, text] = http_call(host, port, "GET", "/metrics", "", "");
      constexpr std::string_view kName = "\nparley_process_heap_bytes ";
      auto at = text.find(kName);
      if (status != 200 || at == std::string::npos) return 0;
      return static_cast<long long>(std::stod(text.substr(at + kName.size())));
    } catch (const std::exception&) {
      return 0;
    }
  };
  auto read_rss = [server_pid]() -> long long {
    if (server_pid <= 0) return 0;
    std::FILE* f = std::fopen(("/proc/" + std::to_string(server_pid) + "/status").c_str(), "r");
    if (!f) return 0;
    char line[256];
    long long kb = 0;
    while (std::fgets(line, sizeof line, f)) {
      if (std::sscanf(line, "VmRSS: %lld kB", &kb) == 1) break;
    }
    std::fclose(f);
    return kb * 1024;
  };
  // The server's CPU seconds (utime + stime), to show how busy it was while
  // measured: deliveries per server CPU second is its capacity on one core.
  auto read_server_cpu = [server_pid]() -> double {
    if (server_pid <= 0) return 0;
    std::FILE* f = std::fopen(("/proc/" + std::to_string(server_pid) + "/stat").c_str(), "r");
    if (!f) return 0;
    char line[1024];
    double secs = 0;
    if (std::fgets(line, sizeof line, f)) {
      // Fields after the ")" that closes the command name: state is field 3;
      // utime and stime are fields 14 and 15.
      const char* p = std::strrchr(line, ')');
      unsigned long long ut = 0, st = 0;
      if (p && std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                           &st) == 2) {
        secs = static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
      }
    }
    std::fclose(f);
    return secs;
  };
  // The server's open sockets (storm: they must come back to their counts;
  // other descriptors, such as database files opened on first use, are not
  // the connections').
  auto count_fds = [server_pid]() -> long long {
    if (server_pid <= 0) return 0;
    std::string dir = "/proc/" + std::to_string(server_pid) + "/fd/";
    DIR* d = opendir(dir.c_str());
    if (!d) return 0;
    long long n = 0;
    char target[64];
    while (const dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      auto len = readlink((dir + e->d_name).c_str(), target, sizeof target - 1);
      n += len > 7 && std::string_view(target, 7) == "socket:";
    }
    closedir(d);
    return n;
  };
  long long fds_before = count_fds(), fds_connected = 0, fds_after_storm = 0, fds_after_close = 0;
  long long rss_connected = 0, rss_after_storm = 0, rss_after_close = 0;
  long long heap_before = bench.storm ? read_heap() : 0, heap_connected = 0, heap_after_close = 0;
  std::vector<std::int64_t> storm_ms;  // drop to every subscriber resubscribed, per storm
  std::vector<long long> storm_rss;    // the server's RSS after each storm's traffic
  std::vector<long long> storm_heap;   // and its heap in use
  double server_cpu0 = 0, server_cpu1 = 0;
  // Before any connection starts: async_connect begins connecting at once.
  long long rss_before = read_rss(), rss_after = 0;
  bench.expected_ready = clients + publishers;
  for (auto& c : bench.conns) {
    if (c->publisher || cluster_ports.empty()) {
      c->start(bench.ep);
    } else {
      auto node = cluster_ports[static_cast<std::size_t>(c->id) % cluster_ports.size()];
      c->start(tcp::endpoint(bench.ep.address(), node));
    }
  }

  // Phases on a timer: wait for every connection, warm up, measure, drain.
  asio::steady_timer timer(bench.ioc);
  // Open loop: every millisecond, send what the schedule says is due, round
  // robin over the publishers, each stamped with its scheduled time.
  asio::steady_timer pacer(bench.ioc);
  std::function<void()> pace = [&] {
    if (!bench.publishing) return;
    std::int64_t now = now_ns();
    auto due = static_cast<std::uint64_t>(static_cast<double>(now - bench.rate_start_ns) *
                                          bench.rate / 1e9);
    while (bench.scheduled < due) {
      auto at = bench.rate_start_ns +
                static_cast<std::int64_t>(static_cast<double>(bench.scheduled) * 1e9 / bench.rate);
      bench.publisher_conns[bench.scheduled % bench.publisher_conns.size()]->send_one(at);
      ++bench.scheduled;
    }
    pacer.expires_after(std::chrono::milliseconds(1));
    pacer.async_wait([&](boost::system::error_code ec) {
      if (!ec) pace();
    });
  };
  // Churn: every 10 ms, start the connections due; each leaves once subscribed.
  asio::steady_timer churner(bench.ioc);
  std::int64_t churn_start_ns = 0;
  std::function<void()> churn_tick = [&] {
    if (!bench.publishing) return;
    auto due =
        static_cast<std::uint64_t>(static_cast<double>(now_ns() - churn_start_ns) * churn / 1e9);
    while (bench.churn_started < due) {
      int r = static_cast<int>(bench.churn_started % static_cast<std::uint64_t>(rooms));
      auto c = std::make_shared<Conn>(bench, bench.ioc, -1, r, false);
      c->churner = true;
      c->start(bench.ep);
      ++bench.churn_started;
    }
    churner.expires_after(std::chrono::milliseconds(10));
    churner.async_wait([&](boost::system::error_code ec) {
      if (!ec) churn_tick();
    });
  };
  double cpu0 = 0, cpu1 = 0;
  std::uint64_t churn_measured0 = 0, churn_measured1 = 0;
  Clock::time_point t0, t1;
  Clock::time_point drain_deadline;
  std::function<void()> after_drain;  // storm: measure and close; otherwise stop
  // Drain: wait until every acked message reached every subscriber of its room.
  std::function<void()> drain = [&] {
    std::uint64_t expected = 0;
    for (int p = 0; p < publishers; ++p) {
      expected += static_cast<std::uint64_t>(bench.acked_per_publisher[p]) *
                  static_cast<std::uint64_t>(bench.subscribers_per_room[p % rooms]);
    }
    bool inflight = false;
    for (auto& c : bench.conns) inflight = inflight || (c->publisher && c->inflight > 0);
    if ((!inflight && bench.stats.deliveries >= expected) || Clock::now() > drain_deadline ||
        !bench.failure.empty()) {
      return after_drain && bench.failure.empty() ? after_drain() : bench.ioc.stop();
    }
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait([&](boost::system::error_code) { drain(); });
  };
  // Storm: drop every subscriber at once (half with a reset, half with a FIN,
  // no close frame), reconnect them all with since = the last seq each saw,
  // wait until all are subscribed again, let traffic run, repeat; then drain,
  // count the server's descriptors and memory, close everyone and count again.
  Clock::time_point storm_started;
  int storms_done = 0;
  std::function<void()> drop_all, wait_resumed, storm_close, wait_closed;
  drop_all = [&] {
    if (storms_done == 0) {
      fds_connected = count_fds();
      rss_connected = read_rss();
      heap_connected = read_heap();
    }
    storm_started = Clock::now();
    for (auto& c : bench.conns) {
      if (c->publisher) continue;
      c->dropped = true;
      boost::system::error_code ec;
      if (c->id % 2 == 1) c->sock.set_option(asio::socket_base::linger(true, 0), ec);
      c->sock.close(ec);
      auto fresh = std::make_shared<Conn>(bench, bench.ioc, c->id, c->room, false);
      fresh->next_expected = c->next_expected;  // per-publisher order continues
      fresh->room_seq = c->room_seq;
      fresh->since = c->room_seq;
      c = std::move(fresh);
      --bench.ready;
    }
    for (auto& c : bench.conns) {
      if (!c->publisher) c->start(bench.ep);
    }
    wait_resumed();
  };
  wait_resumed = [&] {
    timer.expires_after(std::chrono::milliseconds(10));
    timer.async_wait([&](boost::system::error_code) {
      if (!bench.failure.empty()) return bench.ioc.stop();
      if (bench.ready < bench.expected_ready) return wait_resumed();
      storm_ms.push_back(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - storm_started)
              .count());
      ++storms_done;
      timer.expires_after(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
      timer.async_wait([&](boost::system::error_code) {
        storm_rss.push_back(read_rss());
        storm_heap.push_back(read_heap());
        if (storms_done < storms) return drop_all();
        t1 = Clock::now();
        cpu1 = cpu_seconds();
        server_cpu1 = read_server_cpu();
        bench.publishing = false;
        drain_deadline = Clock::now() + std::chrono::seconds(20);
        drain();
      });
    });
  };
  storm_close = [&] {
    // Let the server finish with the dropped sockets, then count.
    timer.expires_after(std::chrono::seconds(1));
    timer.async_wait([&](boost::system::error_code) {
      fds_after_storm = count_fds();
      rss_after_storm = read_rss();
      for (auto& c : bench.conns) {
        c->churner = true;  // leaving: the server's close reply ends it
        c->leave();
      }
      drain_deadline = Clock::now() + std::chrono::seconds(10);
      wait_closed();
    });
  };
  wait_closed = [&] {
    timer.expires_after(std::chrono::milliseconds(50));
    timer.async_wait([&](boost::system::error_code) {
      fds_after_close = count_fds();
      if (fds_after_close > fds_before && Clock::now() < drain_deadline) return wait_closed();
      timer.expires_after(std::chrono::seconds(1));  // the server's sweeps settle
      timer.async_wait([&](boost::system::error_code) {
        rss_after_close = read_rss();
        heap_after_close = read_heap();
        bench.ioc.stop();
      });
    });
  };
  if (bench.storm) after_drain = storm_close;
  std::function<void()> wait_ready = [&] {
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait([&](boost::system::error_code) {
      if (!bench.failure.empty()) return bench.ioc.stop();
      if (bench.ready < bench.expected_ready) return wait_ready();
      if (scenario == "idle") {
        // Everyone connected (and subscribed): let the server settle, then read it.
        timer.expires_after(std::chrono::seconds(1));
        timer.async_wait([&](boost::system::error_code) {
          rss_after = read_rss();
          bench.ioc.stop();
        });
        return;
      }
      bench.publishing = true;
      for (auto& c : bench.conns) c->publish_more();
      if (bench.rate > 0 && !bench.publisher_conns.empty()) {
        bench.rate_start_ns = now_ns();
        pace();
      }
      if (scenario == "churn") {
        churn_start_ns = now_ns();
        churn_tick();
      }
      if (bench.storm) {  // traffic flows for --warmup, then the first drop
        t0 = Clock::now();
        cpu0 = cpu_seconds();
        server_cpu0 = read_server_cpu();
        timer.expires_after(
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup)));
        timer.async_wait([&](boost::system::error_code) { drop_all(); });
        return;
      }
      timer.expires_after(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup)));
      timer.async_wait([&](boost::system::error_code) {
        bench.measuring = true;
        churn_measured0 = bench.churn_done;
        t0 = Clock::now();
        cpu0 = cpu_seconds();
        server_cpu0 = read_server_cpu();
        timer.expires_after(
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
        timer.async_wait([&](boost::system::error_code) {
          t1 = Clock::now();
          cpu1 = cpu_seconds();
          server_cpu1 = read_server_cpu();
          bench.measuring = false;
          churn_measured1 = bench.churn_done;
          bench.publishing = false;
          drain_deadline = Clock::now() + std::chrono::seconds(10);
          drain();
        });
      });
    });
  };
  wait_ready();
  bench.ioc.run();

  if (scenario == "idle") {
    bj::object idle{{"scenario", "idle"},
                    {"connections", clients},
                    {"raw", raw},
                    {"server_rss_before", rss_before},
                    {"server_rss_after", rss_after}};
    idle["bytes_per_connection"] =
        server_pid > 0 && clients > 0 ? (rss_after - rss_before) / clients : 0;
    if (!bench.failure.empty()) idle["failure"] = bench.failure;
    std::cout << bj::serialize(idle) << std::endl;
    return bench.failure.empty() ? 0 : 1;
  }
  auto& st = bench.stats;
  double measured = std::max(0.0, std::chrono::duration<double>(t1 - t0).count());
  double cpu = cpu1 - cpu0;  // the measured window only, not the drain
  std::uint64_t expected = 0;
  for (int p = 0; p < publishers; ++p) {
    expected += static_cast<std::uint64_t>(bench.acked_per_publisher[p]) *
                static_cast<std::uint64_t>(bench.subscribers_per_room[p % rooms]);
  }
  // Deliveries still missing after the drain are lost too.
  std::uint64_t missing = st.deliveries < expected ? expected - st.deliveries : 0;
  bj::object out{
      {"scenario", scenario},
      {"encoding", bench.raw     ? "raw"
                   : bench.proto ? "parley.v1.proto"
                                 : "parley.v1"},
      {"clients", clients},
      {"rooms", rooms},
      {"publishers", publishers},
      {"window", window},
      {"size", size},
      {"seconds", measured},
      {"sent", st.sent},
      {"acked", st.acked},
      {"deliveries", st.deliveries},
      {"expected_deliveries", expected},
      {"deliveries_per_s",
       measured > 0 ? static_cast<double>(st.measured_deliveries) / measured : 0.0},
      {"acks_per_s", measured > 0 ? static_cast<double>(st.measured_acked) / measured : 0.0},
      {"p50_us", percentile(st.latencies_ns, 50) / 1000},
      {"p90_us", percentile(st.latencies_ns, 90) / 1000},
      {"p99_us", percentile(st.latencies_ns, 99) / 1000},
      {"p999_us", percentile(st.latencies_ns, 99.9) / 1000},
      {"max_us", st.latencies_ns.empty()
                     ? 0
                     : *std::max_element(st.latencies_ns.begin(), st.latencies_ns.end()) / 1000},
      {"ack_p50_us", percentile(st.ack_ns, 50) / 1000},
      {"ack_p99_us", percentile(st.ack_ns, 99) / 1000},
      {"lost", st.lost + missing},
      {"duplicates", st.duplicates},
      {"reordered", st.reordered},
      {"errors", st.errors},
      {"client_cpu", measured > 0 ? cpu / measured : 0.0}};
  if (!cluster_ports.empty()) out["subscriber_nodes"] = cluster_ports.size();
  if (bench.rate > 0) {
    out["offered_per_s"] = bench.rate;
    double offered_deliveries = bench.rate * static_cast<double>(clients) / rooms;
    double delivered = measured > 0 ? static_cast<double>(st.measured_deliveries) / measured : 0;
    out["offered_deliveries_per_s"] = offered_deliveries;
    // Kept up: deliveries during the window matched the offered rate (within
    // 5%), every message was acked, and the drain ended with nothing missing.
    out["kept_up"] = st.acked == st.sent && missing == 0 && st.sent > 0 &&
                     delivered >= 0.95 * offered_deliveries;
  }
  if (scenario == "churn") {
    out["churn_per_s"] =
        measured > 0 ? static_cast<double>(churn_measured1 - churn_measured0) / measured : 0.0;
    out["churn_offered_per_s"] = churn;
    out["churn_p50_us"] = percentile(bench.churn_ns, 50) / 1000;
    out["churn_p99_us"] = percentile(bench.churn_ns, 99) / 1000;
  }
  if (server_pid > 0 && measured > 0) out["server_cpu"] = (server_cpu1 - server_cpu0) / measured;
  bool storm_ok = true;
  if (bench.storm) {
    bj::array ms, rss, heap;
    for (auto v : storm_ms) ms.emplace_back(v);
    for (auto v : storm_rss) rss.emplace_back(v);
    for (auto v : storm_heap) heap.emplace_back(v);
    out["server_rss_per_storm"] = std::move(rss);
    out["server_heap_per_storm"] = std::move(heap);
    out["server_heap_before_connect"] = heap_before;
    out["server_heap_connected"] = heap_connected;
    out["server_heap_after_close"] = heap_after_close;
    out["storms"] = storms_done;
    out["resumed"] = static_cast<std::int64_t>(storms_done) * clients;
    out["storm_resume_ms"] = std::move(ms);
    out["server_sockets_before_connect"] = fds_before;
    out["server_sockets_connected"] = fds_connected;
    out["server_sockets_after_storms"] = fds_after_storm;
    out["server_sockets_after_close"] = fds_after_close;
    out["server_rss_before_connect"] = rss_before;
    out["server_rss_connected"] = rss_connected;
    out["server_rss_after_storms"] = rss_after_storm;
    out["server_rss_after_close"] = rss_after_close;
    // Every storm resumed, and (when watched) no descriptor outlived its socket.
    storm_ok =
        storms_done == storms &&
        (server_pid <= 0 || (fds_after_storm <= fds_connected && fds_after_close <= fds_before));
  }
  if (!bench.failure.empty()) out["failure"] = bench.failure;
  std::cout << bj::serialize(out) << std::endl;
  bool ok = bench.failure.empty() && st.lost + missing == 0 && st.duplicates == 0 &&
            st.reordered == 0 && st.errors == 0 && st.acked > 0 && storm_ok;
  if (smoke) std::fprintf(stderr, "smoke: %s\n", ok ? "passed" : "FAILED");
  return ok ? 0 : 1;
}
