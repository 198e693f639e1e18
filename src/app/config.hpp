// Parley configuration. Sources, lowest precedence first: built-in defaults,
// the TOML file (--config, PARLEY_CONFIG, or ./parley.toml when present),
// PARLEY_* environment variables (key with '.' -> '_', upper case, e.g.
// PARLEY_HTTP_MAX_BODY_BYTES), then command-line --set key=value flags.
// Every key is declared once in bindings(); that table drives parsing,
// validation, `parley config check` and the README table.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace parley {

// The JWT secret a development setup starts with; production refuses it.
inline constexpr const char* kDevJwtSecret = "parley-development-secret-change-me-0123456789";

struct Config {
  std::string mode = "development";  // "development" | "production"

  struct Server {
    std::string host = "127.0.0.1";
    std::int64_t port = 8080;
    std::int64_t workers = 0;          // 0: one per core
    std::int64_t handler_threads = 0;  // 0: 2 x cores, at least 4
    std::int64_t node_id = 0;
    std::string data_dir = "./data";
    std::int64_t shutdown_timeout_ms = 10000;
    std::int64_t max_connections = 10000;
    std::vector<std::string> trusted_proxies;
  } server;

  struct Http {
    std::int64_t max_body_bytes = 1 << 20;
    std::int64_t max_header_bytes = 16 * 1024;
    std::int64_t header_timeout_ms = 10000;
    std::int64_t body_timeout_ms = 30000;
    std::int64_t idle_timeout_ms = 60000;
    std::int64_t write_timeout_ms = 30000;
    std::int64_t lingering_time_ms = 5000;
    std::int64_t max_json_depth = 32;
    std::int64_t max_pending_requests = 1024;
  } http;

  struct Cors {
    std::vector<std::string> allowed_origins;
    std::int64_t max_age_s = 600;
  } cors;

  struct Database {
    std::string url;  // empty: sqlite://<data_dir>/parley.db
    std::string synchronous = "full";
    std::int64_t busy_timeout_ms = 5000;
    std::int64_t read_connections = 4;
    std::int64_t max_batch = 512;
    std::int64_t max_queue = 10000;
    std::int64_t connect_timeout_ms = 5000;
    std::int64_t statement_timeout_ms = 30000;
    std::int64_t startup_wait_ms = 60000;
  } database;

  struct Auth {
    std::string jwt_secret = kDevJwtSecret;
    std::string jwt_kid = "k1";
    std::string issuer = "parley";
    std::string audience = "parley-api";
    std::int64_t access_ttl_s = 900;
    std::int64_t refresh_ttl_s = 30 * 24 * 3600;
    std::int64_t leeway_s = 30;
    std::int64_t password_memlimit_kib = 19456;
    std::int64_t password_opslimit = 2;
    std::int64_t password_min_bytes = 8;
    std::int64_t password_max_bytes = 1024;
    std::int64_t hash_threads = 2;
    bool registration_open = true;
    std::int64_t login_account_max_failures = 5;
    std::int64_t login_account_window_s = 900;
    std::int64_t login_ip_max_attempts = 30;
    std::int64_t login_ip_window_s = 60;
    std::int64_t device_token_ttl_s = 180 * 86400;
  } auth;

  struct Web {
    bool enabled = true;
    std::string dir;  // empty: the app embedded at build time
    std::int64_t max_bytes = 64LL << 20;
  } web;

  struct Redis {
    std::string url;  // empty: a single node, no broker
  } redis;

  struct Cluster {
    std::string channel = "parley:events";
    std::int64_t reorder_wait_ms = 100;
    std::int64_t shared_state_timeout_ms = 500;
  } cluster;

  struct Ws {
    std::int64_t max_message_bytes = 128 * 1024;
    std::int64_t max_outbound_bytes = 1 << 20;
    std::int64_t ping_interval_ms = 25000;
    std::int64_t idle_timeout_ms = 60000;
    std::int64_t auth_timeout_ms = 5000;
    std::int64_t ticket_ttl_ms = 30000;
    std::int64_t max_connections_per_user = 20;
    std::int64_t max_connections_per_ip = 500;
    std::int64_t rate_per_s = 50;
    std::int64_t rate_burst = 100;
    std::int64_t replay_limit = 500;
    std::int64_t max_subscriptions = 1000;
    bool allow_missing_origin = true;
    std::int64_t typing_throttle_ms = 1000;
    std::int64_t typing_ttl_ms = 5000;
    std::int64_t presence_grace_ms = 3000;
    bool permessage_deflate = false;
    std::int64_t deflate_level = 1;
    std::int64_t deflate_min_bytes = 256;
  } ws;

  struct Collab {
    bool enabled = true;
    std::int64_t max_message_bytes = 8 << 20;
    std::int64_t max_document_bytes = 64 << 20;
    std::int64_t max_documents = 10000;
    std::int64_t max_connections_per_document = 500;
    std::int64_t max_connections_per_user = 100;
    std::int64_t rate_per_s = 200;
    std::int64_t rate_burst = 400;
    std::int64_t compact_rows = 500;
    std::int64_t compact_bytes = 4 << 20;
    bool create_on_connect = true;
    std::int64_t refused_per_minute = 10;
    bool relay_on_commit = false;
    std::string listen;  // "HOST:PORT": the drop-in y-websocket port; empty: none
  } collab;

  struct Limits {
    std::int64_t max_message_bytes = 64 * 1024;
    std::int64_t max_title_bytes = 128;
    std::int64_t max_display_name_bytes = 64;
    std::int64_t max_client_id_bytes = 64;
    std::int64_t max_members = 1000;
    std::int64_t max_page_size = 200;
    std::int64_t max_reaction_bytes = 64;
    std::int64_t max_reactions_per_user = 20;  // distinct reactions per user per message
    std::int64_t max_mentions = 50;            // user ids mentioned by one message
    std::int64_t max_poll_options = 20;        // options of one poll (at least 2)
    std::int64_t max_poll_option_bytes = 200;  // one option's text
    std::int64_t receipts_max_members = 100;   // delivery receipt events up to this size
  } limits;

  struct Backup {
    std::string dir;  // empty: no scheduled backups
    std::int64_t interval_s = 86400;
    std::int64_t keep = 7;
  } backup;

  struct Audit {
    std::int64_t retention_days = 365;
  } audit;

  struct Search {
    std::int64_t index_interval_ms = 100;  // SQLite: how often new messages are indexed
    std::int64_t index_batch = 500;        // messages indexed by one write job
    std::int64_t max_backlog = 1000000;    // past it, indexing no longer waits for an idle writer
    std::int64_t busy_sends_per_s = 2000;  // above it, indexing waits (up to max_backlog)
    std::int64_t max_query_bytes = 512;
  } search;

  struct Messages {
    std::int64_t retention_days = 0;  // 0: kept until deleted
  } messages;

  struct Metrics {
    std::string token;  // empty: /metrics is open (bind to a private address)
  } metrics;

  struct Log {
    std::string level = "info";
    std::string format = "json";
    bool access_log = true;
  } log;

  // The SQLite file path when database.url is empty or sqlite://PATH.
  std::string sqlite_path() const;
  // database.url names a PostgreSQL server (postgres:// or postgresql://).
  bool uses_postgres() const;
  // Where the store lives, for logs: the SQLite path, or the PostgreSQL URL
  // with its password replaced by ***.
  std::string database_label() const;
  bool production() const { return mode == "production"; }
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct KeyBinding {
  using Target = std::variant<std::string*, std::int64_t*, bool*, std::vector<std::string>*>;
  std::string key;  // dotted, e.g. "http.max_body_bytes"
  std::string doc;
  Target target;
  std::int64_t min = 0;
  std::int64_t max = INT64_MAX;
  std::vector<std::string> choices;  // for strings: allowed values, if any
  bool secret = false;               // redacted by `config check`
};

// The table of every key, bound to the fields of cfg.
std::vector<KeyBinding> bindings(Config& cfg);

struct ConfigSources {
  std::optional<std::string> file;                         // explicit --config path
  std::vector<std::pair<std::string, std::string>> flags;  // --set key=value, in order
  bool read_environment = true;
  bool read_default_file = true;  // ./parley.toml when no file is named
};

// Loads and validates. Throws ConfigError whose message names the key.
// Warnings (e.g. development secret) are appended to *warnings.
Config load_config(const ConfigSources& sources, std::vector<std::string>* warnings = nullptr);

// Checks ranges and cross-key rules (production refusals). Throws ConfigError.
void validate_config(Config& cfg, std::vector<std::string>* warnings = nullptr);

// "HOST:PORT" or "[V6]:PORT" (collab.listen) as host and port; throws
// ConfigError naming key when it is neither.
std::pair<std::string, unsigned short> parse_listen_address(const std::string& value,
                                                            const std::string& key);

// key = value lines of the effective configuration, secrets redacted.
std::string describe(Config& cfg);
// The README table: | key | env | default | description |.
std::string markdown_table();

}  // namespace parley
