#include "app/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cluster/redis_url.hpp"
#include "core/address.hpp"

namespace parley {

namespace {

std::string env_name(const std::string& key) {
  std::string out = "PARLEY_";
  for (char c : key) out += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

std::string kind_of(const KeyBinding::Target& t) {
  switch (t.index()) {
    case 0:
      return "string";
    case 1:
      return "integer";
    case 2:
      return "boolean";
    default:
      return "list of strings";
  }
}

std::string current_value(const KeyBinding& b, bool redact) {
  if (redact && b.secret) return "<redacted>";
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::decay_t<decltype(*p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return "\"" + *p + "\"";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(*p);
        } else if constexpr (std::is_same_v<T, bool>) {
          return *p ? "true" : "false";
        } else {
          std::string s = "[";
          for (std::size_t i = 0; i < p->size(); ++i) {
            if (i) s += ", ";
            s += "\"" + (*p)[i] + "\"";
          }
          return s + "]";
        }
      },
      b.target);
}

// Sets a binding from text (environment variables and --set flags).
void set_from_text(const KeyBinding& b, const std::string& text, const std::string& source) {
  auto bad = [&](const std::string& why) {
    throw ConfigError("config key '" + b.key + "' (from " + source + "): " + why);
  };
  std::visit(
      [&](auto* p) {
        using T = std::decay_t<decltype(*p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          *p = text;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          std::int64_t v = 0;
          auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
          if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) {
            bad("expected an integer, got '" + text + "'");
          }
          *p = v;
        } else if constexpr (std::is_same_v<T, bool>) {
          if (text == "true" || text == "1" || text == "yes" || text == "on") {
            *p = true;
          } else if (text == "false" || text == "0" || text == "no" || text == "off") {
            *p = false;
          } else {
            bad("expected true or false, got '" + text + "'");
          }
        } else {
          p->clear();
          std::stringstream ss(text);
          std::string item;
          while (std::getline(ss, item, ',')) {
            auto first = item.find_first_not_of(' ');
            auto last = item.find_last_not_of(' ');
            if (first != std::string::npos) p->push_back(item.substr(first, last - first + 1));
          }
        }
      },
      b.target);
}

void set_from_toml(const KeyBinding& b, const toml::node& node, const std::string& file) {
  auto bad = [&]() {
    throw ConfigError("config key '" + b.key + "' in " + file + ": expected " + kind_of(b.target));
  };
  std::visit(
      [&](auto* p) {
        using T = std::decay_t<decltype(*p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (!node.is_string()) bad();
          *p = *node.value<std::string>();
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          if (!node.is_integer()) bad();
          *p = *node.value<std::int64_t>();
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!node.is_boolean()) bad();
          *p = *node.value<bool>();
        } else {
          const auto* arr = node.as_array();
          if (!arr) bad();
          p->clear();
          for (const auto& item : *arr) {
            if (!item.is_string()) bad();
            p->push_back(*item.value<std::string>());
          }
        }
      },
      b.target);
}

void collect_keys(const toml::table& tbl, const std::string& prefix,
                  std::vector<std::string>& out) {
  for (const auto& [k, v] : tbl) {
    std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = v.as_table()) {
      collect_keys(*sub, name, out);
    } else {
      out.push_back(name);
    }
  }
}

void load_file(Config& cfg, const std::string& path) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "cannot parse " << path << ": " << e.description() << " at line "
        << e.source().begin.line;
    throw ConfigError(msg.str());
  }
  auto table = bindings(cfg);
  std::vector<std::string> keys;
  collect_keys(tbl, "", keys);
  for (const auto& key : keys) {
    auto it = std::find_if(table.begin(), table.end(), [&](const auto& b) { return b.key == key; });
    if (it == table.end()) throw ConfigError("unknown config key '" + key + "' in " + path);
    set_from_toml(*it, *tbl.at_path(key).node(), path);
  }
}

}  // namespace

bool Config::uses_postgres() const {
  return database.url.rfind("postgres://", 0) == 0 || database.url.rfind("postgresql://", 0) == 0;
}

std::string Config::database_label() const {
  if (!uses_postgres()) return sqlite_path();
  std::string url = database.url;
  auto scheme = url.find("://") + 3;
  auto at = url.find('@', scheme);
  auto colon = url.find(':', scheme);
  if (at != std::string::npos && colon != std::string::npos && colon < at) {
    url.replace(colon + 1, at - colon - 1, "***");
  }
  return url;
}

std::string Config::sqlite_path() const {
  if (database.url.empty()) return (std::filesystem::path(server.data_dir) / "parley.db").string();
  constexpr std::string_view kPrefix = "sqlite://";
  return database.url.substr(kPrefix.size());
}

std::vector<KeyBinding> bindings(Config& c) {
  constexpr std::int64_t kMax = INT64_MAX;
  return {
      {"mode",
       "development or production; production refuses insecure settings",
       &c.mode,
       0,
       kMax,
       {"development", "production"}},
      {"server.host", "address to listen on", &c.server.host},
      {"server.port", "TCP port to listen on (0: any free port, printed at start)", &c.server.port,
       0, 65535},
      {"server.workers", "I/O worker threads, each with its own event loop (0: one per core)",
       &c.server.workers, 0, 256},
      {"server.handler_threads",
       "threads that run REST handlers and store calls off the I/O threads (0: 2 x cores, min 4)",
       &c.server.handler_threads, 0, 512},
      {"server.node_id", "this node's id in a cluster (0-1023), part of every generated id",
       &c.server.node_id, 0, 1023},
      {"server.data_dir", "directory for the embedded database and other state",
       &c.server.data_dir},
      {"server.shutdown_timeout_ms",
       "on SIGTERM, how long to wait for in-flight requests before closing",
       &c.server.shutdown_timeout_ms, 0, 600000},
      {"server.max_connections",
       "open client connections accepted at once; more are refused (the soft open-file limit is "
       "raised to fit)",
       &c.server.max_connections, 1, 1000000},
      {"server.trusted_proxies",
       "peer addresses or networks (CIDR, e.g. 10.89.0.0/16 for a container network) whose "
       "X-Forwarded-For / X-Forwarded-Proto are believed",
       &c.server.trusted_proxies},
      {"http.max_body_bytes", "largest request body accepted (413 beyond)", &c.http.max_body_bytes,
       1024, 1LL << 30},
      {"http.max_header_bytes", "largest request head accepted (431 beyond)",
       &c.http.max_header_bytes, 1024, 1 << 20},
      {"http.header_timeout_ms", "time allowed to receive a request head (slowloris guard)",
       &c.http.header_timeout_ms, 100, 600000},
      {"http.body_timeout_ms", "time allowed to receive a request body", &c.http.body_timeout_ms,
       100, 3600000},
      {"http.idle_timeout_ms", "keep-alive connections idle this long are closed",
       &c.http.idle_timeout_ms, 100, 3600000},
      {"http.write_timeout_ms", "time allowed to send a response", &c.http.write_timeout_ms, 100,
       3600000},
      {"http.lingering_time_ms",
       "after answering and closing, how long to read and discard what the client still sends "
       "(so it reads the answer instead of a reset)",
       &c.http.lingering_time_ms, 0, 600000},
      {"http.max_json_depth", "deepest JSON nesting accepted in a request body",
       &c.http.max_json_depth, 2, 256},
      {"http.max_pending_requests", "requests queued for handler threads at once; more get 503",
       &c.http.max_pending_requests, 1, 1000000},
      {"cors.allowed_origins",
       "origins allowed by CORS (exact, e.g. https://app.example.com); '*' refused in production",
       &c.cors.allowed_origins},
      {"cors.max_age_s", "how long browsers may cache a CORS preflight", &c.cors.max_age_s, 0,
       86400},
      {"database.url",
       "sqlite://PATH (default: sqlite://<server.data_dir>/parley.db) or "
       "postgres://USER:PASSWORD@HOST:PORT/DATABASE (PostgreSQL 15+, libpq URI); holds a "
       "password, so `config check` redacts it",
       &c.database.url,
       0,
       kMax,
       {},
       true},
      {"database.synchronous",
       "durability: full (an acknowledged write survives power loss: SQLite synchronous=FULL, "
       "PostgreSQL synchronous_commit=on) or normal (faster; a crash may lose the last writes)",
       &c.database.synchronous,
       0,
       kMax,
       {"full", "normal"}},
      {"database.busy_timeout_ms", "how long a store call waits for a lock",
       &c.database.busy_timeout_ms, 0, 600000},
      {"database.read_connections", "read-only connections for concurrent queries",
       &c.database.read_connections, 1, 64},
      {"database.max_batch", "most writes committed in one group-commit transaction",
       &c.database.max_batch, 1, 100000},
      {"database.max_queue", "writes waiting for the store at once; more fail with 503",
       &c.database.max_queue, 1, 10000000},
      {"database.connect_timeout_ms",
       "PostgreSQL: how long opening a connection may take before the store reports unavailable",
       &c.database.connect_timeout_ms, 100, 600000},
      {"database.statement_timeout_ms",
       "PostgreSQL: a statement running longer is cancelled and the write fails (0: never); TCP "
       "keepalives also notice a server that stopped answering",
       &c.database.statement_timeout_ms, 0, 3600000},
      {"database.startup_wait_ms",
       "serve: how long to keep retrying a database that is not reachable yet at start (a "
       "container started before its PostgreSQL) before exiting with an error (0: do not wait)",
       &c.database.startup_wait_ms, 0, 3600000},
      {"auth.jwt_secret",
       "HMAC-SHA256 key for access tokens, at least 32 bytes; the development default is refused "
       "in production",
       &c.auth.jwt_secret,
       0,
       kMax,
       {},
       true},
      {"auth.jwt_kid", "key id written to and required in the JWT header", &c.auth.jwt_kid},
      {"auth.issuer", "JWT iss claim", &c.auth.issuer},
      {"auth.audience", "JWT aud claim", &c.auth.audience},
      {"auth.access_ttl_s", "access token lifetime", &c.auth.access_ttl_s, 60, 86400},
      {"auth.refresh_ttl_s", "refresh token lifetime", &c.auth.refresh_ttl_s, 300, 366 * 86400},
      {"auth.leeway_s", "clock skew tolerated when checking exp/nbf/iat", &c.auth.leeway_s, 0, 300},
      {"auth.password_memlimit_kib", "argon2id memory cost (min 19456 = 19 MiB)",
       &c.auth.password_memlimit_kib, 19456, 4 * 1024 * 1024},
      {"auth.password_opslimit", "argon2id passes (min 2)", &c.auth.password_opslimit, 2, 32},
      {"auth.password_min_bytes", "shortest password accepted at registration",
       &c.auth.password_min_bytes, 8, 1024},
      {"auth.password_max_bytes", "longest password accepted (refused before hashing)",
       &c.auth.password_max_bytes, 16, 4096},
      {"auth.hash_threads", "most password hashes computed at once", &c.auth.hash_threads, 1, 64},
      {"auth.registration_open", "whether anyone may register an account",
       &c.auth.registration_open},
      {"auth.login_account_max_failures", "failed logins allowed per account per window",
       &c.auth.login_account_max_failures, 1, 1000},
      {"auth.login_account_window_s", "window for the per-account failure limit",
       &c.auth.login_account_window_s, 1, 86400},
      {"auth.login_ip_max_attempts", "login/register attempts allowed per client IP per window",
       &c.auth.login_ip_max_attempts, 1, 100000},
      {"auth.login_ip_window_s", "window for the per-IP limit", &c.auth.login_ip_window_s, 1,
       86400},
      {"auth.device_token_ttl_s",
       "lifetime of the device token a login hands out; a client presenting one is throttled on "
       "its own budget, so strangers guessing passwords cannot lock the owner out",
       &c.auth.device_token_ttl_s, 3600, 3 * 366 * 86400},
      {"web.enabled", "serve the web app at / (the API and /ws are unaffected)", &c.web.enabled},
      {"web.dir",
       "serve the web app from this directory (a vite build) instead of the one embedded at build "
       "time; read once at start",
       &c.web.dir},
      {"web.max_bytes", "largest total size of web.dir accepted", &c.web.max_bytes, 1024,
       1LL << 30},
      {"redis.url",
       "redis://[:PASSWORD@]HOST[:PORT][/DB] turns on cluster mode (events, revocations across "
       "nodes); empty: one node alone. Holds a password, so `config check` redacts it",
       &c.redis.url,
       0,
       kMax,
       {},
       true},
      {"cluster.channel", "Redis pub/sub channel the nodes of one cluster share",
       &c.cluster.channel},
      {"cluster.reorder_wait_ms",
       "how long a message event from another node may wait for an earlier seq before the gap is "
       "read from the store",
       &c.cluster.reorder_wait_ms, 0, 60000},
      {"cluster.shared_state_timeout_ms",
       "how long a request waits for Redis on a ticket, presence or login-limit call before the "
       "node uses its own state (parley_cluster_shared_state_failures_total)",
       &c.cluster.shared_state_timeout_ms, 10, 10000},
      {"ws.max_message_bytes",
       "largest WebSocket message (the JSON envelope around a body); 1009 beyond",
       &c.ws.max_message_bytes, 1024, 64 << 20},
      {"ws.max_outbound_bytes", "bytes queued to one slow connection before it is closed with 4009",
       &c.ws.max_outbound_bytes, 4096, 1LL << 30},
      {"ws.ping_interval_ms", "the server pings a connection idle this long",
       &c.ws.ping_interval_ms, 100, 3600000},
      {"ws.idle_timeout_ms", "a connection silent this long (no pong either) is closed",
       &c.ws.idle_timeout_ms, 200, 3600000},
      {"ws.auth_timeout_ms", "time to send the auth frame when no ticket was given (4001 after)",
       &c.ws.auth_timeout_ms, 100, 600000},
      {"ws.ticket_ttl_ms", "lifetime of a single-use ticket from POST /api/ws/ticket",
       &c.ws.ticket_ttl_ms, 1000, 600000},
      {"ws.max_connections_per_user", "open WebSocket connections per user (4008 beyond)",
       &c.ws.max_connections_per_user, 1, 100000},
      {"ws.max_connections_per_ip", "open WebSocket connections per client address (429 beyond)",
       &c.ws.max_connections_per_ip, 1, 1000000},
      {"ws.rate_per_s", "frames a connection may send per second, sustained (4008 beyond)",
       &c.ws.rate_per_s, 1, 1000000},
      {"ws.rate_burst", "frames a connection may send at once", &c.ws.rate_burst, 1, 1000000},
      {"ws.replay_limit",
       "most messages replayed on subscribe with since, within half of ws.max_outbound_bytes "
       "(beyond: the newest, truncated)",
       &c.ws.replay_limit, 1, 100000},
      {"ws.max_subscriptions", "conversations one connection may subscribe to",
       &c.ws.max_subscriptions, 1, 1000000},
      {"ws.allow_missing_origin",
       "accept handshakes without an Origin header (non-browser clients)",
       &c.ws.allow_missing_origin},
      {"ws.typing_throttle_ms", "a connection's typing events per conversation, at most one per",
       &c.ws.typing_throttle_ms, 0, 60000},
      {"ws.typing_ttl_ms", "how long a typing indicator lasts unless renewed (sent to clients)",
       &c.ws.typing_ttl_ms, 500, 60000},
      {"ws.presence_grace_ms",
       "a user is announced offline this long after their last connection closed (debounce)",
       &c.ws.presence_grace_ms, 0, 600000},
      {"ws.permessage_deflate",
       "offer permessage-deflate (RFC 7692) without context takeover: one zlib stream per worker",
       &c.ws.permessage_deflate},
      {"ws.deflate_level", "zlib level for outgoing compressed messages (1 fast .. 9 small)",
       &c.ws.deflate_level, 1, 9},
      {"ws.deflate_min_bytes", "outgoing messages shorter than this are sent uncompressed",
       &c.ws.deflate_min_bytes, 0, 1 << 20},
      {"collab.enabled", "serve Yjs collaboration documents (y-websocket) at /collab/{name}",
       &c.collab.enabled},
      {"collab.max_message_bytes", "largest message from a collaboration client; 1009 beyond",
       &c.collab.max_message_bytes, 1024, 256 << 20},
      {"collab.max_document_bytes",
       "largest document (merged state); an update past it closes the sender with 4413",
       &c.collab.max_document_bytes, 1024, 1LL << 32},
      {"collab.max_documents",
       "documents held in memory on this node; idle ones are unloaded, least recently used first",
       &c.collab.max_documents, 1, 10000000},
      {"collab.max_connections_per_document", "connections to one document on this node (4429)",
       &c.collab.max_connections_per_document, 1, 1000000},
      {"collab.max_connections_per_user", "collaboration connections per user (4429 beyond)",
       &c.collab.max_connections_per_user, 1, 1000000},
      {"collab.rate_per_s", "messages a collaboration connection may send per second (4008)",
       &c.collab.rate_per_s, 1, 1000000},
      {"collab.rate_burst", "messages a collaboration connection may send at once",
       &c.collab.rate_burst, 1, 1000000},
      {"collab.compact_rows", "a document's log is merged into one row past this many rows",
       &c.collab.compact_rows, 2, 1000000},
      {"collab.compact_bytes", "or past this many log bytes beyond twice the document's size",
       &c.collab.compact_bytes, 0, 1LL << 32},
      {"collab.create_on_connect",
       "a standalone document that does not exist is created, owned by its first visitor",
       &c.collab.create_on_connect},
      {"collab.relay_on_commit",
       "relay an update to the document's other connections only once it is stored; false: as "
       "soon as it is applied, as y-websocket does (the sender's echo and other nodes still wait "
       "for the commit, and a crash before it loses nothing a client holds)",
       &c.collab.relay_on_commit},
      {"collab.listen",
       "also serve the collaboration protocol alone on HOST:PORT, documents at the root path "
       "(ws://HOST:PORT/{name}) plus GET /health, as a drop-in for a y-websocket server; empty: "
       "only /collab/ on the main port",
       &c.collab.listen},
      {"collab.refused_per_minute",
       "refused handshakes per address and credential before they get 429 (no WebSocket)",
       &c.collab.refused_per_minute, 1, 100000},
      {"limits.max_message_bytes", "largest message body", &c.limits.max_message_bytes, 1,
       16 << 20},
      {"limits.max_title_bytes", "longest conversation title", &c.limits.max_title_bytes, 1, 4096},
      {"limits.max_display_name_bytes", "longest display name", &c.limits.max_display_name_bytes, 1,
       1024},
      {"limits.max_client_id_bytes", "longest client_id on a message",
       &c.limits.max_client_id_bytes, 8, 256},
      {"limits.max_members", "most members in one conversation", &c.limits.max_members, 2, 1000000},
      {"limits.max_page_size", "most items returned by one list call", &c.limits.max_page_size, 1,
       10000},
      {"limits.max_reaction_bytes",
       "longest reaction: an emoji sequence or a :short_code: (UTF-8 bytes)",
       &c.limits.max_reaction_bytes, 4, 256},
      {"limits.max_reactions_per_user", "most distinct reactions one user puts on one message",
       &c.limits.max_reactions_per_user, 1, 1000},
      {"limits.max_mentions", "most members one message mentions by id (all and here aside)",
       &c.limits.max_mentions, 1, 1000},
      {"limits.max_poll_options", "most options of one poll (added ones included)",
       &c.limits.max_poll_options, 2, 100},
      {"limits.max_poll_option_bytes", "longest poll option (UTF-8 bytes)",
       &c.limits.max_poll_option_bytes, 16, 1024},
      {"limits.receipts_max_members",
       "largest conversation whose members hear each other's delivery receipts (stored always)",
       &c.limits.receipts_max_members, 0, 1000000},
      {"backup.dir",
       "directory for scheduled online backups of the SQLite database (empty: none); "
       "PostgreSQL is backed up with pg_dump",
       &c.backup.dir},
      {"backup.interval_s", "time between scheduled backups (the first is taken at start-up)",
       &c.backup.interval_s, 1, 30LL * 86400},
      {"backup.keep", "scheduled backups kept; older ones are deleted", &c.backup.keep, 1, 10000},
      {"audit.retention_days",
       "audit events (logins, failed logins, logouts, token reuse, admin changes) older than this "
       "are deleted",
       &c.audit.retention_days, 1, 36500},
      {"search.index_interval_ms",
       "SQLite: how often messages sent since are added to the search indexes (the lag)",
       &c.search.index_interval_ms, 10, 60000},
      {"search.index_batch", "messages one indexing write job takes (the writer is held that long)",
       &c.search.index_batch, 10, 100000},
      {"search.max_query_bytes", "longest search query", &c.search.max_query_bytes, 16, 4096},
      {"search.busy_sends_per_s",
       "a send rate above which indexing waits for a quieter moment (until search.max_backlog)",
       &c.search.busy_sends_per_s, 0, 100000000},
      {"search.max_backlog",
       "messages waiting for the search index past which indexing no longer yields to sends",
       &c.search.max_backlog, 0, 100000000},
      {"messages.retention_days",
       "message bodies older than this are erased (tombstoned: the seq stays, the body goes); "
       "0 keeps them until deleted",
       &c.messages.retention_days, 0, 36500},
      {"metrics.token",
       "bearer token GET /metrics requires (Prometheus: authorization.credentials_file); empty: "
       "open to whoever reaches the port",
       &c.metrics.token,
       0,
       kMax,
       {},
       true},
      {"log.level",
       "debug, info, warn or error",
       &c.log.level,
       0,
       kMax,
       {"debug", "info", "warn", "error"}},
      {"log.format",
       "json (one object per line) or text",
       &c.log.format,
       0,
       kMax,
       {"json", "text"}},
      {"log.access_log", "log one line per HTTP request", &c.log.access_log},
  };
}

void validate_config(Config& cfg, std::vector<std::string>* warnings) {
  for (const auto& b : bindings(cfg)) {
    if (auto* p = std::get_if<std::int64_t*>(&b.target)) {
      if (**p < b.min || **p > b.max) {
        throw ConfigError("config key '" + b.key + "' must be between " + std::to_string(b.min) +
                          " and " + std::to_string(b.max) + ", got " + std::to_string(**p));
      }
    }
    if (auto* p = std::get_if<std::string*>(&b.target); p && !b.choices.empty()) {
      if (std::find(b.choices.begin(), b.choices.end(), **p) == b.choices.end()) {
        std::string list;
        for (const auto& c : b.choices) list += (list.empty() ? "" : ", ") + c;
        throw ConfigError("config key '" + b.key + "' must be one of " + list + ", got '" + **p +
                          "'");
      }
    }
  }
  if (!cfg.database.url.empty() && cfg.database.url.rfind("sqlite://", 0) != 0 &&
      !cfg.uses_postgres()) {
    throw ConfigError(
        "config key 'database.url' must start with sqlite://, postgres:// or postgresql:// (got '" +
        cfg.database.url.substr(0, cfg.database.url.find(':')) + "://...')");
  }
  if (!cfg.redis.url.empty()) {
    try {
      cluster::parse_redis_url(cfg.redis.url);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("config key 'redis.url': ") + e.what());
    }
    if (!cfg.uses_postgres()) {
      throw ConfigError(
          "config key 'redis.url' is set but database.url is not postgres://: the nodes of a "
          "cluster must share one PostgreSQL database");
    }
  }
  if (cfg.cluster.channel.empty()) throw ConfigError("config key 'cluster.channel' is empty");
  if (!cfg.collab.listen.empty()) {
    if (!cfg.collab.enabled) {
      throw ConfigError("config key 'collab.listen' is set but collab.enabled is false");
    }
    auto [host, port] = parse_listen_address(cfg.collab.listen, "collab.listen");
    if (port == cfg.server.port && port != 0) {
      throw ConfigError("config key 'collab.listen' uses server.port (" + std::to_string(port) +
                        "); give the drop-in listener a port of its own");
    }
  }
  if (!cfg.backup.dir.empty() && cfg.uses_postgres()) {
    throw ConfigError(
        "config key 'backup.dir' backs up the SQLite database; with PostgreSQL use pg_dump or "
        "base backups (README \"Backups\")");
  }
  if (cfg.database.url == "sqlite://") {
    throw ConfigError("config key 'database.url' names no file");
  }
  if (cfg.auth.password_min_bytes > cfg.auth.password_max_bytes) {
    throw ConfigError("config key 'auth.password_min_bytes' exceeds auth.password_max_bytes");
  }
  if (cfg.server.host.empty()) throw ConfigError("config key 'server.host' is empty");
  for (const auto& proxy : cfg.server.trusted_proxies) {
    if (!valid_address_pattern(proxy)) {
      throw ConfigError("config key 'server.trusted_proxies': '" + proxy +
                        "' is not an IP address or a network (10.0.0.0/8, fd00::/8)");
    }
  }
  for (const auto& origin : cfg.cors.allowed_origins) {
    if (origin != "*" && origin.rfind("http://", 0) != 0 && origin.rfind("https://", 0) != 0) {
      throw ConfigError("config key 'cors.allowed_origins': '" + origin +
                        "' is not an origin (scheme://host[:port])");
    }
  }
  bool wildcard = std::find(cfg.cors.allowed_origins.begin(), cfg.cors.allowed_origins.end(),
                            "*") != cfg.cors.allowed_origins.end();
  if (cfg.production()) {
    if (cfg.auth.jwt_secret == kDevJwtSecret) {
      throw ConfigError(
          "config key 'auth.jwt_secret' is the development default; production needs its own "
          "secret (e.g. PARLEY_AUTH_JWT_SECRET=$(openssl rand -base64 48))");
    }
    if (cfg.auth.jwt_secret.size() < 32) {
      throw ConfigError(
          "config key 'auth.jwt_secret' must be at least 32 bytes in production (got " +
          std::to_string(cfg.auth.jwt_secret.size()) + ")");
    }
    if (wildcard) {
      throw ConfigError("config key 'cors.allowed_origins' may not contain '*' in production");
    }
  } else if (warnings) {
    if (cfg.auth.jwt_secret == kDevJwtSecret) {
      warnings->push_back(
          "auth.jwt_secret is the development default: tokens are forgeable; "
          "set mode = \"production\" and a secret before exposing this server");
    } else if (cfg.auth.jwt_secret.size() < 32) {
      warnings->push_back("auth.jwt_secret is shorter than 32 bytes (refused in production)");
    }
  }
  if (cfg.auth.jwt_secret.empty()) throw ConfigError("config key 'auth.jwt_secret' is empty");
}

std::pair<std::string, unsigned short> parse_listen_address(const std::string& value,
                                                            const std::string& key) {
  auto bad = [&](const std::string& why) {
    return ConfigError("config key '" + key + "': '" + value + "' " + why +
                       " (HOST:PORT, e.g. 0.0.0.0:1234 or [::]:1234)");
  };
  auto colon = value.rfind(':');
  if (colon == std::string::npos) throw bad("has no port");
  std::string host = value.substr(0, colon);
  std::string digits = value.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    throw bad("needs brackets around an IPv6 address");
  }
  if (host.find('/') != std::string::npos || !valid_address_pattern(host)) {
    throw bad("does not start with an IP address");
  }
  if (digits.empty() || digits.size() > 5 ||
      !std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    throw bad("has no port number");
  }
  long port = std::stol(digits);
  if (port > 65535) throw bad("has a port above 65535");
  return {host, static_cast<unsigned short>(port)};
}

namespace {

// A secret's file: at most 64 KiB, trailing newlines and spaces dropped.
std::string read_secret_file(const std::string& path, const std::string& variable) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(variable + ": cannot read " + path);
  constexpr std::size_t kMaxSecretFile = 64 * 1024;
  std::string text(kMaxSecretFile + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxSecretFile) throw ConfigError(variable + ": " + path + " is over 64 KiB");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

Config load_config(const ConfigSources& sources, std::vector<std::string>* warnings) {
  Config cfg;
  std::optional<std::string> file = sources.file;
  if (!file && sources.read_environment) {
    if (const char* env = std::getenv("PARLEY_CONFIG"); env && *env) file = env;
  }
  if (file) {
    if (!std::filesystem::exists(*file)) throw ConfigError("config file not found: " + *file);
    load_file(cfg, *file);
  } else if (sources.read_default_file && std::filesystem::exists("parley.toml")) {
    load_file(cfg, "parley.toml");
  }
  auto table = bindings(cfg);
  if (sources.read_environment) {
    for (const auto& b : table) {
      std::string name = env_name(b.key);
      const char* v = std::getenv(name.c_str());
      if (v) set_from_text(b, v, "environment " + name);
      // A secret may come from a file instead (systemd LoadCredential=, Docker
      // secrets), so it is in neither the unit file nor the environment.
      const char* path = b.secret ? std::getenv((name + "_FILE").c_str()) : nullptr;
      if (path && v) throw ConfigError("set either " + name + " or " + name + "_FILE, not both");
      if (path)
        set_from_text(b, read_secret_file(path, name + "_FILE"), "file " + std::string(path));
    }
  }
  for (const auto& [key, value] : sources.flags) {
    auto it = std::find_if(table.begin(), table.end(), [&](const auto& b) { return b.key == key; });
    if (it == table.end()) throw ConfigError("unknown config key '" + key + "' (from --set)");
    set_from_text(*it, value, "--set");
  }
  validate_config(cfg, warnings);
  return cfg;
}

std::string describe(Config& cfg) {
  std::string out;
  for (const auto& b : bindings(cfg)) out += b.key + " = " + current_value(b, true) + "\n";
  return out;
}

std::string markdown_table() {
  Config defaults;
  std::string out = "| key | environment | default | description |\n| --- | --- | --- | --- |\n";
  for (const auto& b : bindings(defaults)) {
    std::string def = current_value(b, false);
    if (b.secret && def != "\"\"") def = "(development value)";
    if (def == "\"\"") def = "(empty)";
    out += "| `" + b.key + "` | `" + env_name(b.key) + "` | `" + def + "` | " + b.doc + " |\n";
  }
  return out;
}

}  // namespace parley
