// Operator endpoints: /api/health, /api/live, /api/ready, /metrics.
#include <sodium.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <future>
#include <memory>

#include "app/config.hpp"
#include "cluster/broker.hpp"
#include "core/build_info.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "http/handler_util.hpp"
#include "store/database.hpp"

namespace parley::http {

namespace bj = boost::json;

namespace {

std::int64_t micros_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

// "Bearer <token>" against the configured token, in time that does not
// depend on where they differ (both are hashed, then compared in constant time).
bool bearer_matches(std::string_view header, const std::string& token) {
  auto presented = bearer_token(header);
  if (!presented) return false;
  unsigned char given[crypto_hash_sha256_BYTES], wanted[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(given, reinterpret_cast<const unsigned char*>(presented->data()),
                     presented->size());
  crypto_hash_sha256(wanted, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return sodium_memcmp(given, wanted, sizeof given) == 0;
}

struct Probe {
  bool ok = false;
  std::int64_t latency_us = 0;
  std::string error;
};

// A read on a pooled connection.
Probe probe_read(store::Database& db) {
  Probe p;
  auto t0 = std::chrono::steady_clock::now();
  try {
    db.read([](store::Store& s) { s.ping(); });
    p.ok = true;
  } catch (const std::exception& e) {
    p.error = e.what();
  }
  p.latency_us = micros_since(t0);
  return p;
}

// An empty transaction through the writer queue, bounded in time: proves the
// writer thread is alive and can take the write lock.
Probe probe_write(store::Database& db) {
  Probe p;
  auto t0 = std::chrono::steady_clock::now();
  auto done = std::make_shared<std::promise<std::exception_ptr>>();
  auto future = done->get_future();
  try {
    db.submit([](store::Store& s) { s.ping(); },
              [done](std::exception_ptr e) { done->set_value(e); });
    if (future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
      p.error = "store writer did not answer within 2 s";
    } else if (auto e = future.get()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        p.error = ex.what();
      }
    } else {
      p.ok = true;
    }
  } catch (const std::exception& e) {
    p.error = e.what();
  }
  p.latency_us = micros_since(t0);
  return p;
}

bj::object probe_json(const Probe& p) {
  bj::object o{{"status", p.ok ? "ok" : "down"}, {"latency_us", p.latency_us}};
  if (!p.ok) o["error"] = p.error;
  return o;
}

}  // namespace

void register_ops_routes(Router& r, Services& s) {
  r.add("GET", "/api/live", [](Context&) { return json_reply(200, bj::object{{"status", "ok"}}); });

  r.add("GET", "/api/health", [&s](Context&) {
    Probe read = probe_read(s.db);
    Probe write = probe_write(s.db);
    std::int64_t version = 0;
    try {
      version = s.db.schema_version();
    } catch (const std::exception&) {
    }
    bool migrations_current = version == s.db.latest_schema_version();
    bool draining = s.state.draining.load();
    bool healthy = read.ok && write.ok && migrations_current;
    bj::object store{{"status", healthy ? "ok" : "down"},
                     {"read", probe_json(read)},
                     {"write", probe_json(write)},
                     {"schema_version", version},
                     {"schema_latest", s.db.latest_schema_version()},
                     {"queue_depth", s.db.queue_depth()}};
    bj::object server{{"status", draining ? "draining" : "ok"},
                      {"uptime_s", (now_ms() - s.state.started_at_ms) / 1000}};
    bj::object components{{"store", std::move(store)}, {"server", std::move(server)}};
    bool degraded = false;
    if (s.broker) {
      degraded = !s.broker->healthy();
      components["cluster"] =
          bj::object{{"status", degraded ? "degraded" : "ok"}, {"detail", s.broker->status()}};
    }
    bj::object out{{"status", !healthy   ? "down"
                              : draining ? "draining"
                              : degraded ? "degraded"
                                         : "ok"},
                   {"version", std::string(build::kVersion)},
                   {"commit", std::string(build::kCommit)},
                   {"components", std::move(components)}};
    return json_reply(healthy ? 200 : 503, out);
  });

  r.add("GET", "/api/ready", [&s](Context&) {
    bj::array reasons;
    if (s.state.draining.load()) reasons.emplace_back("draining");
    if (!s.state.serving.load()) reasons.emplace_back("starting");
    Probe read = probe_read(s.db);
    if (!read.ok) reasons.emplace_back("store unreachable: " + read.error);
    try {
      if (s.db.schema_version() != s.db.latest_schema_version()) {
        reasons.emplace_back("migrations pending");
      }
    } catch (const std::exception&) {
    }
    bool ready = reasons.empty();
    bj::object out{{"ready", ready}, {"reasons", std::move(reasons)}};
    // Without Redis this node still serves its own clients (and their
    // messages reach the store): ready, but degraded, so one Redis outage
    // does not take every node out of the balancer.
    if (s.broker) {
      bool degraded = !s.broker->healthy();
      out["degraded"] = degraded;
      out["cluster"] = s.broker->status();
    }
    Response res = json_reply(ready ? 200 : 503, std::move(out));
    if (!ready) res.set("Retry-After", "1");
    return res;
  });

  auto* refused = &s.metrics.counter("parley_metrics_scrapes_refused_total",
                                     "GET /metrics without the bearer token in metrics.token");
  r.add("GET", "/metrics", [&s, refused](Context& ctx) {
    if (!s.cfg.metrics.token.empty() &&
        !bearer_matches(ctx.req.header("authorization"), s.cfg.metrics.token)) {
      refused->inc();
      fail(Errc::unauthorized, "GET /metrics needs the bearer token set in metrics.token");
    }
    Response res;
    res.body = s.metrics.render();
    res.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return res;
  });
}

}  // namespace parley::http
