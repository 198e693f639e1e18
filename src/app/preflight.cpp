#include "app/preflight.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "cluster/redis_url.hpp"
#include "core/error.hpp"
#include "store/migrations.hpp"
#include "store/postgres/pg_store.hpp"
#include "store/sqlite/sqlite_lock.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace parley::app {

namespace {

namespace fs = std::filesystem;
namespace bj = boost::json;
using Status = PreflightCheck::Status;

// How long a probe of PostgreSQL or Redis may take before it counts as down.
constexpr int kProbeTimeoutMs = 3000;
// Below this much free space in the data directory's filesystem: warn.
constexpr std::uint64_t kLowDiskBytes = 1ULL << 30;

std::string mib(std::uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// The schema a database has against the one this binary runs.
PreflightCheck schema_check(const std::string& label, std::int64_t have, std::int64_t latest) {
  PreflightCheck c{"database", Status::ok, label + ": schema version " + std::to_string(have)};
  if (have > latest) {
    c.status = Status::fail;
    c.detail += ", newer than this binary's " + std::to_string(latest) +
                " (a downgrade): run the parley that migrated it";
  } else if (have < latest) {
    c.detail += ", " + std::to_string(latest - have) + " migration(s) pending (applied at start)";
  } else {
    c.detail += ", current";
  }
  return c;
}

PreflightCheck sqlite_check(const Config& cfg) {
  std::string path = cfg.sqlite_path();
  std::int64_t latest = store::latest_version(store::sqlite_migrations());
  std::string holder;
  try {
    store::SqliteLock lock(path);  // also proves the directory can be created and written
  } catch (const Error& e) {
    if (e.code() != Errc::conflict) return {"database", Status::fail, e.what()};
    holder = e.what();
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return {"database", Status::ok, "sqlite://" + path + ": will be created at start"};
  }
  try {
    store::SqliteStore s(store::SqliteOptions{path, "full", kProbeTimeoutMs, true});
    auto c = schema_check("sqlite://" + path, s.schema_version(), latest);
    if (!holder.empty() && c.status == Status::ok) {
      c.status = Status::warn;
      c.detail += "; " + holder;
    }
    return c;
  } catch (const Error& e) {
    return {"database", Status::fail, e.what()};
  }
}

PreflightCheck postgres_check(const Config& cfg) {
  store::PostgresOptions o;
  o.url = cfg.database.url;
  o.connect_timeout_ms = kProbeTimeoutMs;
  o.statement_timeout_ms = kProbeTimeoutMs;
  o.read_only = true;
  try {
    store::PgStore s(o);
    return schema_check(cfg.database_label(), s.schema_version(),
                        store::latest_version(store::postgres_migrations()));
  } catch (const Error& e) {
    return {"database", Status::fail, cfg.database_label() + ": " + e.what()};
  }
}

PreflightCheck redis_check(const Config& cfg) {
  if (cfg.redis.url.empty()) return {"redis", Status::ok, "not configured (a single node)"};
  cluster::RedisUrl url;
  try {
    url = cluster::parse_redis_url(cfg.redis.url);
  } catch (const std::exception& e) {
    return {"redis", Status::fail, e.what()};
  }
  std::string where = url.host + ":" + std::to_string(url.port);
  timeval tv{kProbeTimeoutMs / 1000, (kProbeTimeoutMs % 1000) * 1000};
  std::unique_ptr<redisContext, void (*)(redisContext*)> ctx(
      redisConnectWithTimeout(url.host.c_str(), url.port, tv), redisFree);
  if (!ctx || ctx->err) {
    return {"redis", Status::fail,
            where + ": " + (ctx ? std::string(ctx->errstr) : "cannot allocate a context")};
  }
  redisSetTimeout(ctx.get(), tv);
  // Runs one command; "" when it succeeded, else the reason.
  auto run = [&](std::vector<std::string> args) -> std::string {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(ctx.get(), static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!reply) return ctx->errstr;
    std::string err = reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len) : "";
    freeReplyObject(reply);
    return err;
  };
  std::string err;
  if (!url.password.empty()) {
    err = url.user.empty() ? run({"AUTH", url.password}) : run({"AUTH", url.user, url.password});
  }
  if (err.empty() && url.db != 0) err = run({"SELECT", std::to_string(url.db)});
  if (err.empty()) err = run({"PING"});
  if (!err.empty()) return {"redis", Status::fail, where + ": " + err};
  return {"redis", Status::ok, where + ": answers PING"};
}

PreflightCheck listen_check(const Config& cfg) {
  std::string where = cfg.server.host + ":" + std::to_string(cfg.server.port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int rc =
      getaddrinfo(cfg.server.host.c_str(), std::to_string(cfg.server.port).c_str(), &hints, &found);
  if (rc != 0) return {"listen", Status::fail, where + ": " + gai_strerror(rc)};
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(found, freeaddrinfo);
  int fd = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  if (fd < 0) return {"listen", Status::fail, where + ": " + std::strerror(errno)};
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the server does
  rc = bind(fd, found->ai_addr, found->ai_addrlen);
  int err = errno;
  close(fd);
  if (rc != 0) return {"listen", Status::fail, where + ": cannot bind: " + std::strerror(err)};
  return {"listen", Status::ok,
          cfg.server.port == 0 ? where + " (any free port)" : where + ": free"};
}

PreflightCheck open_files_check(const Config& cfg) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  auto wanted = static_cast<std::uint64_t>(cfg.server.max_connections) + 256;
  std::string detail =
      "hard limit " +
      (lim.rlim_max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(lim.rlim_max)) +
      ", server.max_connections + 256 = " + std::to_string(wanted);
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < wanted) {
    return {"open_files", Status::warn,
            detail +
                ": raise the hard limit (LimitNOFILE=, ulimit -Hn) or lower "
                "server.max_connections"};
  }
  return {"open_files", Status::ok, detail};
}

// The nearest existing directory at or above `dir`.
fs::path existing_ancestor(fs::path dir) {
  std::error_code ec;
  dir = fs::absolute(dir, ec);
  while (!dir.empty() && !fs::exists(dir, ec) && dir != dir.root_path()) dir = dir.parent_path();
  return dir;
}

PreflightCheck disk_check(const Config& cfg) {
  fs::path at = existing_ancestor(cfg.server.data_dir);
  struct statvfs st {};
  if (statvfs(at.c_str(), &st) != 0) {
    return {"disk", Status::fail, at.string() + ": " + std::strerror(errno)};
  }
  auto free_bytes = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  auto total = static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize;
  std::string detail = cfg.server.data_dir + ": " + mib(free_bytes) + " free of " + mib(total);
  if (free_bytes < kLowDiskBytes) {  // when it is full, sends are refused with 503
    return {"disk", Status::warn, detail + ": below " + mib(kLowDiskBytes)};
  }
  return {"disk", Status::ok, detail};
}

PreflightCheck backups_check(const Config& cfg) {
  if (cfg.uses_postgres()) {
    return {"backups", Status::ok,
            "PostgreSQL: back up with pg_dump or base backups + WAL archiving (not checked here)"};
  }
  if (cfg.backup.dir.empty()) {
    return {"backups", Status::warn,
            "no scheduled backups of the SQLite database: set backup.dir (README \"Backups\")"};
  }
  fs::path at = existing_ancestor(cfg.backup.dir);
  std::error_code ec;
  if (!fs::is_directory(at, ec) || access(at.c_str(), W_OK) != 0) {
    return {"backups", Status::fail, cfg.backup.dir + ": cannot write under " + at.string()};
  }
  std::string detail = "every " + std::to_string(cfg.backup.interval_s) + " s into " +
                       cfg.backup.dir + ", keeping " + std::to_string(cfg.backup.keep);
  // The newest of ours, if any: older than two intervals means they stopped.
  // (Not a default-constructed file_time_type for "none": libstdc++'s file
  // clock has its epoch after 1970, so real times can sort below it.)
  std::optional<fs::file_time_type> newest;
  for (const auto& e : fs::directory_iterator(cfg.backup.dir, ec)) {
    auto name = e.path().filename().string();
    if (name.starts_with("parley-") && name.ends_with(".db")) {
      auto t = e.last_write_time(ec);
      if (!newest || t > *newest) newest = t;
    }
  }
  if (newest) {
    auto age =
        std::chrono::duration_cast<std::chrono::seconds>(fs::file_time_type::clock::now() - *newest)
            .count();
    detail += "; newest is " + std::to_string(age) + " s old";
    if (age > 2 * cfg.backup.interval_s) return {"backups", Status::warn, detail};
  }
  return {"backups", Status::ok, detail};
}

bool private_or_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    std::uint32_t a = ntohl(v4.s_addr);
    return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 20) == (172 << 4 | 1) ||
           (a >> 16) == (192 << 8 | 168);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return (v6.s6_addr[0] & 0xFE) == 0xFC;  // unique local fc00::/7
  }
  return false;  // 0.0.0.0, ::, a public address or a name
}

PreflightCheck exposure_check(const Config& cfg) {
  std::string metrics = cfg.metrics.token.empty()
                            ? "/metrics open to whoever reaches the port (metrics.token unset)"
                            : "/metrics needs metrics.token";
  if (!private_or_loopback(cfg.server.host)) {
    return {"exposure", Status::warn,
            "server.host " + cfg.server.host +
                " may be reachable from outside: Parley serves plain HTTP; terminate TLS in a "
                "proxy (deploy/nginx) and bind to loopback or a private address; " +
                metrics};
  }
  return {"exposure", Status::ok, "listening on " + cfg.server.host + "; " + metrics};
}

const char* status_name(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::warn:
      return "warn";
    case Status::fail:
      return "fail";
  }
  return "?";
}

}  // namespace

std::vector<PreflightCheck> preflight_checks(const Config& cfg,
                                             const std::vector<std::string>& config_warnings) {
  std::vector<PreflightCheck> out;
  out.push_back(cfg.production()
                    ? PreflightCheck{"mode", Status::ok, "production"}
                    : PreflightCheck{"mode", Status::warn,
                                     "development: weak settings are allowed; set mode = "
                                     "\"production\" (PARLEY_MODE=production)"});
  for (const auto& w : config_warnings) out.push_back({"config", Status::warn, w});
  out.push_back(cfg.uses_postgres() ? postgres_check(cfg) : sqlite_check(cfg));
  out.push_back(redis_check(cfg));
  out.push_back(listen_check(cfg));
  out.push_back(open_files_check(cfg));
  out.push_back(disk_check(cfg));
  out.push_back(backups_check(cfg));
  out.push_back(exposure_check(cfg));
  return out;
}

int run_preflight(const Config& cfg, const std::vector<std::string>& config_warnings, bool json) {
  auto checks = preflight_checks(cfg, config_warnings);
  int failed = 0, warned = 0;
  for (const auto& c : checks) {
    failed += c.status == Status::fail;
    warned += c.status == Status::warn;
  }
  if (json) {
    bj::array list;
    for (const auto& c : checks) {
      list.push_back(
          bj::object{{"name", c.name}, {"status", status_name(c.status)}, {"detail", c.detail}});
    }
    std::printf("%s\n", bj::serialize(bj::object{{"checks", std::move(list)},
                                                 {"failed", failed},
                                                 {"warnings", warned}})
                            .c_str());
  } else {
    for (const auto& c : checks) {
      std::printf("%-5s %-11s %s\n", status_name(c.status), c.name.c_str(), c.detail.c_str());
    }
    std::printf("preflight: %d failed, %d warning(s), %zu checks\n", failed, warned, checks.size());
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace parley::app
