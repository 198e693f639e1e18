// parley-collab-bench: issue 16's collaboration load from one C++ thread, so
// the load generator is not what saturates first (bench/collab/collab_bench.mjs
// is the same scenario in Node, limited past about 20,000 updates/s).
//
// D documents with E editors each speak the y-websocket protocol (no Y.Doc
// replicas): every editor types one character per update into its document's
// Y.Text, built by hand in the Yjs update format v1 (one Item holding a
// one-character string whose left origin is the editor's previous one), at a
// steady total rate, open loop (sends are scheduled and never held back by
// replies; latency counts from the scheduled time). Replies are read only for
// the client and clock of their first struct, which name the update.
// Prints one JSON line: updates/s, deliveries/s, propagation p50/p99/p999
// (send to arrival at each other editor of the document), lost updates
// (sent, not seen by every other editor within 2 s of the end), the server's
// CPU and RSS (with --server-pid) and the client's own CPU.
//
//   parley_collab_bench --port 8080 --token T --documents 1000 --editors 5 --rate 20000
//   parley_collab_bench --port 1234 --path "" ...      (a y-websocket server at the root)
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "net/ws_frame.hpp"
#include "server_frames.hpp"

namespace asio = boost::asio;
namespace ws = parley::ws;
using asio::ip::tcp;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// utime + stime of another process, in seconds (0 without one).
double process_cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 0; i < 13 && fields >> field; ++i) {
    if (i == 11 || i == 12) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::int64_t process_rss_bytes(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

// The machine's CPU time so far (all cores) and the part of it stolen by
// the hypervisor, in clock ticks: a VM's neighbours show up as latency.
std::pair<double, double> machine_ticks() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  double v = 0, total = 0, steal = 0;
  f >> cpu;
  for (int i = 0; i < 8 && f >> v; ++i) {
    total += v;
    if (i == 7) steal = v;
  }
  return {total, steal};
}

// lib0 encodings: what an update and a sync message need.
void put_var_uint(std::string& out, std::uint64_t n) {
  while (n > 0x7F) {
    out.push_back(static_cast<char>(0x80 | (n & 0x7F)));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

bool read_var_uint(std::string_view in, std::size_t& pos, std::uint64_t& n) {
  n = 0;
  for (int shift = 0; pos < in.size() && shift < 64; shift += 7) {
    auto b = static_cast<std::uint8_t>(in[pos++]);
    n |= std::uint64_t{b & 0x7Fu} << shift;
    if (b < 0x80) return true;
  }
  return false;
}

// A y-protocols sync "update" message: client's struct at clock, one
// character after its previous one (the first one starts the root type "t").
std::string update_message(std::uint64_t client, std::uint64_t clock) {
  std::string u;
  put_var_uint(u, 1);  // one client
  put_var_uint(u, 1);  // one struct
  put_var_uint(u, client);
  put_var_uint(u, clock);
  if (clock == 0) {
    u.push_back(4);      // Item, ContentString, no origin: the parent follows
    put_var_uint(u, 1);  // the parent is a root type, by name
    put_var_uint(u, 1);
    u.push_back('t');
  } else {
    u.push_back(static_cast<char>(0x80 | 4));  // Item, ContentString, left origin
    put_var_uint(u, client);
    put_var_uint(u, clock - 1);
  }
  put_var_uint(u, 1);
  u.push_back('x');
  put_var_uint(u, 0);         // empty delete set
  std::string m{'\0', '\2'};  // sync, update
  put_var_uint(m, u.size());
  return m + u;
}

struct Sent {
  std::int64_t at = 0;  // scheduled send time
  std::uint16_t seen = 0;
  bool measured = false;
};

struct Run;

struct Editor : std::enable_shared_from_this<Editor> {
  Editor(Run& r, int doc, int index);
  Run& run;
  tcp::socket sock;
  int doc, index;
  std::uint64_t client;  // the Yjs client id: 1 + its index
  std::uint64_t clock = 0;
  bool upgraded = false, synced = false, writing = false;
  std::string head, carry, out, in_flight;
  std::array<char, 65536> buf{};

  void start(const tcp::endpoint& ep);
  void read();
  void on_bytes(const char* p, std::size_t n);
  void on_message(std::string_view m);
  void send(std::string_view message);
  void flush();
};

struct Run {
  asio::io_context ioc{1};
  tcp::endpoint ep;
  std::string path, token;
  int documents = 1000, editors = 5;
  std::vector<std::shared_ptr<Editor>> all;
  std::vector<std::vector<Sent>> sent;  // by editor index, then clock
  std::vector<std::int64_t> latency_ns;
  // --timeline: the worst propagation of the updates scheduled in each 100 ms.
  std::vector<std::int64_t> worst_by_tenth;
  std::int64_t timeline_from = 0;
  bool measuring = false;
  std::size_t started = 0, synced = 0;
  std::string failure;

  void fail(std::string why) {
    if (failure.empty()) failure = std::move(why);
    ioc.stop();
  }
  void start_next() {
    if (started < all.size()) all[started++]->start(ep);
  }
};

Editor::Editor(Run& r, int d, int i)
    : run(r), sock(r.ioc), doc(d), index(i), client(static_cast<std::uint64_t>(i) + 1) {}

void Editor::start(const tcp::endpoint& ep) {
  // Past a few thousand connections the source address moves along
  // 127.0.0.x: one address has ~28 k ephemeral ports, TIME_WAIT eats them.
  if (index >= 2000 && ep.address().is_loopback()) {
    sock.open(tcp::v4());
    sock.bind(tcp::endpoint(
        asio::ip::make_address_v4(0x7F000000u + 2u + static_cast<unsigned>(index / 2000)), 0));
  }
  sock.async_connect(ep, [self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return self->run.fail("connect: " + ec.message());
    self->sock.set_option(tcp::no_delay(true));
    std::string target = self->run.path + "/bench-" + std::to_string(self->doc);
    if (!self->run.token.empty()) target += "?token=" + self->run.token;
    self->out = "GET " + target +
                " HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    self->flush();
    self->read();
  });
}

void Editor::read() {
  sock.async_read_some(
      asio::buffer(buf), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (ec) {
          if (self->run.failure.empty() && ec != asio::error::operation_aborted) {
            self->run.fail("editor " + std::to_string(self->index) + ": " + ec.message());
          }
          return;
        }
        self->on_bytes(self->buf.data(), n);
        self->read();
      });
}

void Editor::on_bytes(const char* p, std::size_t n) {
  if (!upgraded) {
    head.append(p, n);
    auto end = head.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
      return run.fail("handshake refused: " + head.substr(0, head.find("\r\n")));
    }
    upgraded = true;
    std::string rest = head.substr(end + 4);
    head.clear();
    send(std::string_view("\0\0\1\0", 4));  // sync step 1, empty state vector
    if (!rest.empty()) on_bytes(rest.data(), rest.size());
    return;
  }
  std::string error;
  auto each = [this](std::uint8_t op, std::string_view payload) {
    if (op == static_cast<std::uint8_t>(ws::Opcode::binary)) {
      on_message(payload);
    } else if (op == static_cast<std::uint8_t>(ws::Opcode::ping)) {
      out += ws::make_masked_frame(ws::Opcode::pong, payload, 0x01020304);
      flush();
    } else if (op == static_cast<std::uint8_t>(ws::Opcode::close)) {
      run.fail("editor " + std::to_string(index) + " closed by the server: " +
               std::string(payload.substr(std::min<std::size_t>(2, payload.size()))));
    }
    return run.failure.empty();
  };
  const auto* data = reinterpret_cast<const std::uint8_t*>(p);
  if (carry.empty()) {
    std::size_t used = parley::bench::read_server_frames(data, n, error, each);
    if (used < n) carry.assign(p + used, n - used);
  } else {
    carry.append(p, n);
    std::size_t used = parley::bench::read_server_frames(
        reinterpret_cast<const std::uint8_t*>(carry.data()), carry.size(), error, each);
    carry.erase(0, used);
  }
  if (!error.empty()) run.fail(error);
}

void Editor::on_message(std::string_view m) {
  if (m.empty() || m[0] != 0) return;  // awareness and the rest: not measured
  std::size_t pos = 1;
  std::uint64_t step = 0;
  if (!read_var_uint(m, pos, step)) return;
  if (step == 0) {  // the server's step 1: this editor has nothing it lacks
    send(std::string_view("\0\1\2\0\0", 5));
    return;
  }
  if (step == 1) {
    if (!synced) {
      synced = true;
      ++run.synced;
      run.start_next();
    }
    return;
  }
  std::uint64_t length = 0, clients = 0, structs = 0, from = 0, at = 0;
  if (!read_var_uint(m, pos, length) || !read_var_uint(m, pos, clients) || clients == 0 ||
      !read_var_uint(m, pos, structs) || !read_var_uint(m, pos, from) ||
      !read_var_uint(m, pos, at)) {
    return;
  }
  if (from == client || from == 0 || from > run.sent.size()) return;
  auto& log = run.sent[from - 1];
  if (at >= log.size()) return;
  Sent& s = log[at];
  ++s.seen;
  if (!run.measuring || !s.measured) return;
  std::int64_t took = now_ns() - s.at;
  run.latency_ns.push_back(took);
  if (!run.worst_by_tenth.empty()) {
    auto slot = static_cast<std::size_t>((s.at - run.timeline_from) / 100'000'000);
    if (slot < run.worst_by_tenth.size()) {
      run.worst_by_tenth[slot] = std::max(run.worst_by_tenth[slot], took);
    }
  }
}

void Editor::send(std::string_view message) {
  out += ws::make_masked_frame(ws::Opcode::binary, message, 0x5a5a5a5a);
  flush();
}

void Editor::flush() {
  if (writing || out.empty()) return;
  writing = true;
  in_flight.swap(out);
  out.clear();
  asio::async_write(sock, asio::buffer(in_flight),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing = false;
                      self->in_flight.clear();
                      if (!ec) self->flush();
                    });
}

// Runs the event loop until a phase stops it; false (said on stderr) on failure.
bool run_to_end(Run& run) {
  run.ioc.run();
  if (run.failure.empty()) return true;
  std::fprintf(stderr, "parley-collab-bench: %s\n", run.failure.c_str());
  return false;
}

std::int64_t percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parley-collab-bench: y-websocket editors at a steady update rate"};
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  Run run;
  run.path = "/collab";
  double rate = 10000, seconds = 8, warmup = 2;
  int server_pid = 0, connecting = 200;
  bool timeline = false;
  app.add_option("--host", host);
  app.add_option("--port", port);
  app.add_option("--path", run.path, "where documents are, before /<name> (\"\" for the root)");
  app.add_option("--token", run.token, "access token sent as ?token= (none for other servers)");
  app.add_option("--documents", run.documents)->check(CLI::Range(1, 100000));
  app.add_option("--editors", run.editors, "per document")->check(CLI::Range(2, 1000));
  app.add_option("--rate", rate, "updates per second over all editors")
      ->check(CLI::Range(1, 10000000));
  app.add_option("--seconds", seconds, "measured")->check(CLI::Range(1, 3600));
  app.add_option("--warmup", warmup)->check(CLI::Range(0, 600));
  app.add_option("--connecting", connecting, "handshakes in flight while connecting");
  app.add_option("--server-pid", server_pid, "the server's CPU and RSS are reported");
  app.add_flag("--timeline", timeline,
               "also print the worst propagation per 100 ms of the measured window (stalls)");
  CLI11_PARSE(app, argc, argv);

  run.ep = tcp::endpoint(asio::ip::make_address(host), port);
  std::size_t n = static_cast<std::size_t>(run.documents) * static_cast<std::size_t>(run.editors);
  for (std::size_t i = 0; i < n; ++i) {
    run.all.push_back(
        std::make_shared<Editor>(run, static_cast<int>(i) / run.editors, static_cast<int>(i)));
  }
  run.sent.resize(n);
  std::int64_t rss_before = process_rss_bytes(server_pid);

  // Connect (so many handshakes at a time), then wait for every editor's sync.
  asio::steady_timer timer(run.ioc);
  std::int64_t connect_started = now_ns();
  for (int i = 0; i < connecting; ++i) run.start_next();
  std::function<void()> wait_synced = [&] {
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait([&](boost::system::error_code) {
      if (run.synced == n) return run.ioc.stop();
      if (now_ns() - connect_started > 120'000'000'000LL) {
        return run.fail("only " + std::to_string(run.synced) + " of " + std::to_string(n) +
                        " editors synced in 120 s");
      }
      wait_synced();
    });
  };
  wait_synced();
  if (!run_to_end(run)) return 1;
  double connect_s = static_cast<double>(now_ns() - connect_started) / 1e9;
  run.ioc.restart();

  // Open loop: every millisecond, every update whose time has come, round robin.
  const double interval_ns = 1e9 / rate;
  const std::int64_t t0 = now_ns() + 500'000'000;  // settle first
  const std::int64_t measure_from = t0 + static_cast<std::int64_t>(warmup * 1e9);
  const std::int64_t end = measure_from + static_cast<std::int64_t>(seconds * 1e9);
  std::uint64_t next = 0, measured_sends = 0;
  std::size_t k = 0;
  double server_cpu0 = 0, client_cpu0 = 0, server_cpu = 0, client_cpu = 0, steal = 0;
  std::pair<double, double> ticks0;
  std::int64_t rss_connected = 0;
  if (timeline) {
    run.timeline_from = measure_from;
    run.worst_by_tenth.assign(static_cast<std::size_t>(seconds * 10) + 1, 0);
  }
  std::function<void()> tick = [&] {
    timer.expires_after(std::chrono::milliseconds(1));
    timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      std::int64_t now = now_ns();
      if (!run.measuring && now >= measure_from) {
        run.measuring = true;
        server_cpu0 = process_cpu_seconds(server_pid);
        ticks0 = machine_ticks();
        client_cpu0 = own_cpu_seconds();
      }
      if (rss_connected == 0 && now >= t0) rss_connected = process_rss_bytes(server_pid);
      std::int64_t until = std::min(now, end);
      while (t0 + static_cast<std::int64_t>(static_cast<double>(next) * interval_ns) <= until) {
        Editor& e = *run.all[k++ % n];
        auto at = t0 + static_cast<std::int64_t>(static_cast<double>(next) * interval_ns);
        bool measured = at >= measure_from;
        run.sent[static_cast<std::size_t>(e.index)].push_back(Sent{at, 0, measured});
        e.send(update_message(e.client, e.clock++));
        if (measured) ++measured_sends;
        ++next;
      }
      if (now >= end) {
        server_cpu = (process_cpu_seconds(server_pid) - server_cpu0) / seconds;
        auto ticks = machine_ticks();
        if (ticks.first > ticks0.first) {
          steal = (ticks.second - ticks0.second) / (ticks.first - ticks0.first);
        }
        client_cpu = (own_cpu_seconds() - client_cpu0) / seconds;
        run.measuring = false;
        // What is still on its way has 2 s to arrive before it counts as lost.
        timer.expires_after(std::chrono::seconds(2));
        timer.async_wait([&](boost::system::error_code) { run.ioc.stop(); });
        return;
      }
      tick();
    });
  };
  tick();
  if (!run_to_end(run)) return 1;
  std::uint64_t lost = 0, sends = 0;
  for (const auto& log : run.sent) {
    for (const auto& s : log) {
      ++sends;
      if (s.seen < run.editors - 1) ++lost;
    }
  }
  std::size_t deliveries = run.latency_ns.size();
  auto ms = [&](double p) { return static_cast<double>(percentile(run.latency_ns, p)) / 1e6; };
  std::printf(
      "{\"scenario\":\"collab\",\"documents\":%d,\"editors\":%d,\"connections\":%zu,"
      "\"rate\":%.0f,\"updates_per_s\":%.0f,\"deliveries_per_s\":%.0f,\"p50_ms\":%.2f,"
      "\"p99_ms\":%.2f,\"p999_ms\":%.2f,\"max_ms\":%.2f,\"sent\":%llu,\"lost_updates\":%llu,"
      "\"server_cpu\":%.2f,\"client_cpu\":%.2f,\"steal\":%.3f,\"connect_s\":%.1f,\"rss_before\":%"
      "lld,"
      "\"rss_connected\":%lld,\"rss_per_document\":%lld}\n",
      run.documents, run.editors, n, rate, static_cast<double>(measured_sends) / seconds,
      static_cast<double>(deliveries) / seconds, ms(0.5), ms(0.99), ms(0.999), ms(1.0),
      static_cast<unsigned long long>(sends), static_cast<unsigned long long>(lost), server_cpu,
      client_cpu, steal, connect_s, static_cast<long long>(rss_before),
      static_cast<long long>(rss_connected),
      static_cast<long long>((rss_connected - rss_before) / run.documents));
  if (timeline) {
    std::fprintf(stderr, "worst propagation per 100 ms (ms):");
    for (auto w : run.worst_by_tenth) std::fprintf(stderr, " %.0f", static_cast<double>(w) / 1e6);
    std::fprintf(stderr, "\n");
  }
  return lost == 0 ? 0 : 3;
}
