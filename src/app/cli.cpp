// `parley` command line: serve, migrate, backup, restore, preflight,
// version, config check, config table.
#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "app/backups.hpp"
#include "app/config.hpp"
#include "app/healthcheck.hpp"
#include "app/preflight.hpp"
#include "app/server.hpp"
#include "core/build_info.hpp"

namespace parley::app {

namespace {

struct Options {
  std::string config_file;
  std::vector<std::string> sets;
  std::string host;
  int port = -1;
  std::string data_dir;
};

ConfigSources sources_from(const Options& o) {
  ConfigSources s;
  if (!o.config_file.empty()) s.file = o.config_file;
  if (!o.host.empty()) s.flags.emplace_back("server.host", o.host);
  if (o.port >= 0) s.flags.emplace_back("server.port", std::to_string(o.port));
  if (!o.data_dir.empty()) s.flags.emplace_back("server.data_dir", o.data_dir);
  for (const auto& kv : o.sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError("--set expects key=value, got '" + kv + "'");
    }
    s.flags.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return s;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App cli{"Parley: a self-hosted real-time chat server"};
  cli.require_subcommand(1);
  Options o;
  auto add_config_opts = [&o](CLI::App* cmd) {
    cmd->add_option("-c,--config", o.config_file,
                    "TOML configuration file (default ./parley.toml)");
    cmd->add_option("--set", o.sets, "override a config key: --set http.max_body_bytes=2097152");
  };

  auto* serve = cli.add_subcommand("serve", "run the server until SIGTERM/SIGINT");
  add_config_opts(serve);
  serve->add_option("--host", o.host, "listen address (server.host)");
  serve->add_option("--port", o.port, "listen port, 0 for any (server.port)");
  serve->add_option("--data-dir", o.data_dir, "data directory (server.data_dir)");

  auto* migrate = cli.add_subcommand("migrate", "apply pending database migrations and exit");
  add_config_opts(migrate);
  migrate->add_option("--data-dir", o.data_dir, "data directory (server.data_dir)");

  auto* backup = cli.add_subcommand(
      "backup", "copy the SQLite database while it is in use, and verify the copy");
  add_config_opts(backup);
  backup->add_option("--data-dir", o.data_dir, "data directory (server.data_dir)");
  std::string backup_to, backup_verify;
  auto* to_opt = backup->add_option("--to", backup_to, "write the copy here (must not exist)");
  auto* verify_opt =
      backup->add_option("--verify", backup_verify, "check an existing copy instead");
  to_opt->excludes(verify_opt);
  backup->callback([&] {
    if (backup_to.empty() && backup_verify.empty()) {
      throw CLI::ValidationError("backup", "give --to PATH or --verify PATH");
    }
  });

  auto* restore = cli.add_subcommand(
      "restore", "replace the SQLite database with a verified backup (server stopped)");
  add_config_opts(restore);
  restore->add_option("--data-dir", o.data_dir, "data directory (server.data_dir)");
  std::string restore_from;
  restore->add_option("--from", restore_from, "the backup to restore")->required();

  auto* preflight = cli.add_subcommand(
      "preflight",
      "check the configuration against this machine before serving; exit 1 if any fails");
  add_config_opts(preflight);
  preflight->add_option("--host", o.host, "listen address (server.host)");
  preflight->add_option("--port", o.port, "listen port (server.port)");
  preflight->add_option("--data-dir", o.data_dir, "data directory (server.data_dir)");
  bool preflight_json = false;
  preflight->add_flag("--json", preflight_json, "one JSON object instead of a table");

  auto* healthcheck = cli.add_subcommand(
      "healthcheck",
      "GET /api/ready of this node (for a container HEALTHCHECK); exit 0 on 200, 1 otherwise");
  add_config_opts(healthcheck);
  healthcheck->add_option("--host", o.host, "address to probe (server.host; 0.0.0.0 -> 127.0.0.1)");
  healthcheck->add_option("--port", o.port, "port to probe (server.port)");
  HealthcheckOptions probe;
  healthcheck->add_option("--path", probe.path, "path to GET")->capture_default_str();
  healthcheck->add_option("--timeout-ms", probe.timeout_ms, "give up after this long")
      ->check(CLI::Range(1, 600000))
      ->capture_default_str();

  auto* version = cli.add_subcommand("version", "print the version and exit");

  auto* config = cli.add_subcommand("config", "inspect configuration");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "validate the configuration and print it");
  add_config_opts(check);
  auto* table = config->add_subcommand("table", "print every key as a Markdown table");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  if (version->parsed()) {
    std::printf("parley %s (commit %s, %s build)\n", std::string(build::kVersion).c_str(),
                std::string(build::kCommit).c_str(), std::string(build::kBuildType).c_str());
    return 0;
  }
  if (table->parsed()) {
    std::fputs(markdown_table().c_str(), stdout);
    return 0;
  }

  std::vector<std::string> warnings;
  Config cfg;
  try {
    cfg = load_config(sources_from(o), &warnings);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "parley: configuration error: %s\n", e.what());
    return 2;
  }

  if (check->parsed()) {
    std::fputs(describe(cfg).c_str(), stdout);
    for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    std::fprintf(stderr, "configuration OK\n");
    return 0;
  }
  if (healthcheck->parsed()) {
    probe.host = cfg.server.host;
    probe.port = static_cast<int>(cfg.server.port);
    return run_healthcheck(probe);
  }
  try {
    if (migrate->parsed()) return run_migrate(cfg);
    if (backup->parsed()) return run_backup(cfg, backup_to, backup_verify);
    if (restore->parsed()) return run_restore(cfg, restore_from);
    if (preflight->parsed()) return run_preflight(cfg, warnings, preflight_json);
    return run_server(std::move(cfg), warnings);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parley: %s\n", e.what());
    return 1;
  }
}

}  // namespace parley::app
