#include "app/server.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>

#include "app/backups.hpp"
#include "app/maintenance.hpp"
#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "cluster/redis_broker.hpp"
#include "collab/documents.hpp"
#include "collab/service.hpp"
#include "core/build_info.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/process_stats.hpp"
#include "http/api.hpp"
#include "net/http_server.hpp"
#include "realtime/chat_socket.hpp"
#include "realtime/gateway.hpp"
#include "store/database.hpp"
#include "store/sqlite/sqlite_lock.hpp"

namespace parley::app {

namespace asio = boost::asio;

namespace {

store::DatabaseOptions database_options(const Config& cfg) {
  store::DatabaseOptions o;
  if (cfg.uses_postgres()) {
    o.postgres_url = cfg.database.url;
  } else {
    o.sqlite_path = cfg.sqlite_path();
  }
  o.connect_timeout_ms = static_cast<int>(cfg.database.connect_timeout_ms);
  o.statement_timeout_ms = static_cast<int>(cfg.database.statement_timeout_ms);
  o.synchronous = cfg.database.synchronous;
  o.busy_timeout_ms = static_cast<int>(cfg.database.busy_timeout_ms);
  o.read_connections = static_cast<int>(cfg.database.read_connections);
  o.max_batch = static_cast<std::size_t>(cfg.database.max_batch);
  o.max_queue = static_cast<std::size_t>(cfg.database.max_queue);
  return o;
}

net::HttpOptions http_options(const Config& cfg) {
  using ms = std::chrono::milliseconds;
  net::HttpOptions o;
  o.host = cfg.server.host;
  o.port = static_cast<unsigned short>(cfg.server.port);
  o.workers = static_cast<std::size_t>(cfg.server.workers);
  o.handler_threads = static_cast<std::size_t>(cfg.server.handler_threads);
  o.max_connections = cfg.server.max_connections;
  o.trusted_proxies = cfg.server.trusted_proxies;
  o.max_header_bytes = static_cast<std::uint32_t>(cfg.http.max_header_bytes);
  o.max_body_bytes = static_cast<std::uint64_t>(cfg.http.max_body_bytes);
  o.header_timeout = ms(cfg.http.header_timeout_ms);
  o.body_timeout = ms(cfg.http.body_timeout_ms);
  o.idle_timeout = ms(cfg.http.idle_timeout_ms);
  o.write_timeout = ms(cfg.http.write_timeout_ms);
  o.lingering_time = ms(cfg.http.lingering_time_ms);
  o.max_pending = cfg.http.max_pending_requests;
  auto& ws = o.ws;
  ws.max_message_bytes = static_cast<std::size_t>(cfg.ws.max_message_bytes);
  ws.max_outbound_bytes = static_cast<std::size_t>(cfg.ws.max_outbound_bytes);
  ws.ping_interval = ms(cfg.ws.ping_interval_ms);
  ws.idle_timeout = ms(cfg.ws.idle_timeout_ms);
  ws.max_connections_per_ip = cfg.ws.max_connections_per_ip;
  ws.allowed_origins = cfg.cors.allowed_origins;
  ws.allow_missing_origin = cfg.ws.allow_missing_origin;
  ws.permessage_deflate = cfg.ws.permessage_deflate;
  ws.deflate_level = static_cast<int>(cfg.ws.deflate_level);
  ws.deflate_min_bytes = static_cast<std::size_t>(cfg.ws.deflate_min_bytes);
  return o;
}

realtime::ChatSocketOptions chat_socket_options(const Config& cfg) {
  using ms = std::chrono::milliseconds;
  realtime::ChatSocketOptions o;
  o.max_message_bytes = static_cast<std::size_t>(cfg.ws.max_message_bytes);
  o.preauth_max_message_bytes =
      static_cast<std::size_t>(std::min(cfg.ws.max_message_bytes, cfg.http.max_header_bytes));
  o.replay_budget_bytes = static_cast<std::size_t>(cfg.ws.max_outbound_bytes) / 2;
  o.max_json_depth = static_cast<std::size_t>(cfg.http.max_json_depth);
  o.replay_limit = static_cast<int>(cfg.ws.replay_limit);
  o.max_subscriptions = static_cast<std::size_t>(cfg.ws.max_subscriptions);
  o.max_connections_per_user = cfg.ws.max_connections_per_user;
  o.rate_per_s = static_cast<double>(cfg.ws.rate_per_s);
  o.rate_burst = static_cast<double>(cfg.ws.rate_burst);
  o.auth_timeout = ms(cfg.ws.auth_timeout_ms);
  o.typing_throttle = ms(cfg.ws.typing_throttle_ms);
  o.typing_ttl_ms = cfg.ws.typing_ttl_ms;
  o.access_ttl_s = cfg.auth.access_ttl_s;
  o.leeway_s = cfg.auth.leeway_s;
  return o;
}

collab::CollabOptions collab_options(const Config& cfg) {
  const auto& c = cfg.collab;
  collab::CollabOptions o;
  o.max_message_bytes = static_cast<std::size_t>(c.max_message_bytes);
  o.max_document_bytes = static_cast<std::size_t>(c.max_document_bytes);
  o.max_documents = static_cast<std::size_t>(c.max_documents);
  o.max_connections_per_document = static_cast<std::size_t>(c.max_connections_per_document);
  o.max_connections_per_user = c.max_connections_per_user;
  o.rate_per_s = static_cast<double>(c.rate_per_s);
  o.rate_burst = static_cast<double>(c.rate_burst);
  o.compact_rows = c.compact_rows;
  o.compact_bytes = c.compact_bytes;
  o.create_on_connect = c.create_on_connect;
  o.refused_per_minute = static_cast<double>(c.refused_per_minute);
  o.relay_on_commit = c.relay_on_commit;
  return o;
}

void register_process_metrics(metrics::Registry& m) {
  m.gauge("parley_build_info", "Build of this binary",
          {{"version", std::string(build::kVersion)}, {"commit", std::string(build::kCommit)}})
      .set(1);
  m.on_collect([&m] {
    ProcessStats p = read_process_stats();
    m.gauge("process_resident_memory_bytes", "Resident memory size in bytes")
        .set(static_cast<double>(p.rss_bytes));
    m.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes")
        .set(static_cast<double>(p.virtual_bytes));
    m.gauge("process_cpu_seconds_total", "User and system CPU time spent, in seconds")
        .set(p.cpu_seconds);
    m.gauge("process_open_fds", "Open file descriptors").set(static_cast<double>(p.open_fds));
    m.gauge("process_max_fds", "Limit on open file descriptors")
        .set(static_cast<double>(p.max_fds));
    m.gauge("process_start_time_seconds", "Start time since the Unix epoch, in seconds")
        .set(p.start_time_seconds);
    m.gauge("process_threads", "Threads in this process").set(static_cast<double>(p.threads));
    m.gauge("parley_process_heap_bytes", "Heap bytes allocated and not freed (leaks show here)")
        .set(static_cast<double>(p.heap_in_use_bytes));
  });
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Opens the store and applies its migrations, retrying while the database
// is unavailable (a container started before its PostgreSQL) for at most
// database.startup_wait_ms, with backoff. Empty when a stop signal arrives
// while waiting; any other error, or the wait running out, throws.
std::unique_ptr<store::Database> open_store(const Config& cfg, metrics::Registry& registry,
                                            int& applied) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg.database.startup_wait_ms);
  std::chrono::milliseconds backoff(250);
  for (int attempt = 1;; ++attempt) {
    try {
      auto db = std::make_unique<store::Database>(database_options(cfg), registry);
      applied = db->migrate();
      return db;
    } catch (const Error& e) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (e.code() != Errc::unavailable || left <= std::chrono::milliseconds(0)) throw;
      auto pause = std::min(backoff, left);
      log::warn("store_waiting", {{"attempt", attempt},
                                  {"retry_in_ms", static_cast<std::int64_t>(pause.count())},
                                  {"error", e.what()}});
      timespec ts{static_cast<time_t>(pause.count() / 1000),
                  static_cast<long>(pause.count() % 1000) * 1000000L};
      sigset_t set = stop_signals();
      if (sigtimedwait(&set, nullptr, &ts) > 0) return nullptr;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
}

}  // namespace

void block_signals() {
  sigset_t set = stop_signals();
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int run_migrate(const Config& cfg) {
  log::Level level = log::Level::info;
  log::parse_level(cfg.log.level, level);
  log::init(level, cfg.log.format);
  std::optional<store::SqliteLock> lock;
  if (!cfg.uses_postgres()) lock.emplace(cfg.sqlite_path());
  metrics::Registry registry;
  store::Database db(database_options(cfg), registry);
  int applied = db.migrate();
  std::printf("database %s: %d migration(s) applied, schema version %lld\n",
              cfg.database_label().c_str(), applied,
              static_cast<long long>(db.latest_schema_version()));
  log::flush();
  return 0;
}

int run_server(Config cfg, const std::vector<std::string>& warnings) {
  log::Level level = log::Level::info;
  log::parse_level(cfg.log.level, level);
  log::init(level, cfg.log.format);
  for (const auto& w : warnings) log::warn("config_warning", {{"detail", w}});
  {
    // One descriptor per connection, plus the database, listeners and logs.
    auto wanted = static_cast<std::uint64_t>(cfg.server.max_connections) + 256;
    auto limit = raise_open_file_limit(wanted);
    if (limit < wanted) {
      log::warn("open_file_limit", {{"limit", limit},
                                    {"wanted", wanted},
                                    {"detail",
                                     "server.max_connections cannot all be served; "
                                     "raise the hard limit (ulimit -Hn, LimitNOFILE)"}});
    }
  }

  metrics::Registry registry;
  register_process_metrics(registry);
  http::ServerState state;
  state.started_at_ms = now_ms();

  // One server per embedded database (the kernel drops the lock however we end).
  std::optional<store::SqliteLock> lock;
  if (!cfg.uses_postgres()) lock.emplace(cfg.sqlite_path());
  int applied = 0;
  auto opened = open_store(cfg, registry, applied);
  if (!opened) {
    log::info("shutdown_before_start", {});
    log::flush();
    return 0;
  }
  store::Database& db = *opened;
  log::info("store_ready", {{"database", cfg.database_label()},
                            {"migrations_applied", applied},
                            {"schema_version", db.latest_schema_version()},
                            {"synchronous", cfg.database.synchronous}});
  db.start();
  BackupScheduler backups(cfg, registry);
  backups.start();
  Maintenance maintenance(cfg, db, registry);
  maintenance.start();
  SearchIndexer indexer(cfg, db, registry);
  indexer.start();

  IdGenerator ids(static_cast<unsigned>(cfg.server.node_id));
  auth::AuthService auth(cfg, db, ids, registry);
  chat::ChatService chat(cfg, db, ids, registry);
  realtime::Gateway gateway(cfg.ws.ticket_ttl_ms, cfg.ws.presence_grace_ms, registry,
                            cfg.cluster.reorder_wait_ms);
  chat.set_event_sink(&gateway);
  auth.set_revocation_hook([&gateway](Id user, Id family) { gateway.revoke(user, family); });
  std::unique_ptr<cluster::RedisBroker> broker;
  if (!cfg.redis.url.empty()) {
    broker = std::make_unique<cluster::RedisBroker>(
        cluster::parse_redis_url(cfg.redis.url), cfg.cluster.channel,
        static_cast<std::uint32_t>(cfg.server.node_id), registry,
        std::chrono::milliseconds(cfg.cluster.shared_state_timeout_ms));
    gateway.set_cluster(broker.get(), broker.get(), static_cast<std::uint32_t>(cfg.server.node_id));
    gateway.tickets().set_shared(broker.get());
    auth.use_shared_limits(broker.get());
  }
  std::optional<collab::CollabService> collab_rooms;
  std::optional<collab::Documents> collab_documents;
  if (cfg.collab.enabled) {
    collab_rooms.emplace(collab_options(cfg), db, auth, gateway.tickets(), ids, registry);
    collab_documents.emplace(db, *collab_rooms, ids,
                             static_cast<std::size_t>(cfg.collab.max_document_bytes));
    gateway.set_access_listener(&*collab_rooms);
  }
  http::Api api(http::Services{cfg, auth, chat, db, registry, state, &gateway, broker.get(),
                               collab_documents ? &*collab_documents : nullptr});
  net::HttpServer server(http_options(cfg), api, state, registry);
  // The real-time gateway: the hub delivers on the server's workers; blocking
  // reads (presence fan-out, cluster gap fill) go to its handler pool.
  auto* pool = &server.handler_pool();
  gateway.hub().attach(server.worker_contexts());
  gateway.set_presence_fanout(
      [pool](std::function<void()> fn) { asio::post(*pool, std::move(fn)); },
      [&chat](Id user) { return chat.conversation_ids(user); });
  gateway.set_gap_fill([pool](std::function<void()> fn) { asio::post(*pool, std::move(fn)); },
                       [&chat](Id conv, std::int64_t after, int limit) {
                         return chat.messages_after(conv, after, limit);
                       });
  server.on_sweep([&gateway] { gateway.tick(now_ms()); });
  realtime::ChatProtocol chat_protocol(chat_socket_options(cfg), gateway, chat, auth, *pool,
                                       registry);
  server.add_websocket(chat_protocol.route());
  if (collab_rooms) {
    collab_rooms->attach(server.worker_contexts(), *pool);
    if (broker) {
      collab_rooms->set_cluster(broker.get(), static_cast<std::uint32_t>(cfg.server.node_id),
                                std::chrono::milliseconds(cfg.cluster.reorder_wait_ms));
    }
    server.add_websocket(collab_rooms->route("/collab/"));
    if (!cfg.collab.listen.empty()) {
      auto [host, port] = parse_listen_address(cfg.collab.listen, "collab.listen");
      server.add_listener(host, port, {collab_rooms->route("/")});
    }
  }
  server.start();
  if (broker) {
    broker->start({[&gateway, &collab_rooms](cluster::ClusterEvent e) {
                     if (e.kind == cluster::ClusterEvent::Kind::collab ||
                         e.kind == cluster::ClusterEvent::Kind::collab_access) {
                       if (collab_rooms) collab_rooms->on_cluster_event(e);
                     } else {
                       gateway.on_cluster_event(std::move(e));
                     }
                   },
                   [&gateway, &collab_rooms] {
                     gateway.resync();
                     if (collab_rooms) collab_rooms->resync();
                   }});
    log::info("cluster_mode", {{"node_id", cfg.server.node_id}, {"channel", cfg.cluster.channel}});
  }
  state.serving = true;

  std::string url = "http://" + cfg.server.host + ":" + std::to_string(server.port());
  log::info("listening", {{"url", url}, {"port", server.port()}, {"mode", cfg.mode}});
  if (!cfg.production()) {
    std::fprintf(stderr,
                 "\nParley %s is running at %s (development mode, data in %s)\n"
                 "  web app:  open %s in a browser and create an account (the first one "
                 "becomes admin)\n"
                 "  health:   curl %s/api/health\n"
                 "  Stop with Ctrl-C.\n\n",
                 std::string(build::kVersion).c_str(), url.c_str(), cfg.server.data_dir.c_str(),
                 url.c_str(), url.c_str());
  }

  sigset_t set = stop_signals();
  int sig = 0;
  sigwait(&set, &sig);

  log::info("shutdown_started", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  state.draining = true;
  state.serving = false;
  server.begin_drain();
  bool idle = server.wait_idle(std::chrono::milliseconds(cfg.server.shutdown_timeout_ms));
  if (!idle) log::warn("shutdown_timeout", {{"detail", "requests still in flight were cut off"}});
  if (collab_rooms) collab_rooms->stop();
  server.stop();
  if (broker) broker->stop();
  backups.stop();
  maintenance.stop();
  db.stop();
  log::info("shutdown_complete", {{"clean", idle}});
  log::flush();
  return 0;
}

}  // namespace parley::app
