// `parley preflight`: checks a node's configuration against the machine it is
// about to run on, before it serves anyone: the database is reachable and its
// schema is one this binary can run, Redis answers, the port is free, the
// open-file limit covers server.max_connections, the data directory has room,
// backups are scheduled, and nothing is exposed that should not be. Each
// check says ok, warn or fail with a reason; any fail makes the exit code 1.
#pragma once

#include <string>
#include <vector>

#include "app/config.hpp"

namespace parley::app {

struct PreflightCheck {
  enum class Status { ok, warn, fail };
  std::string name;
  Status status = Status::ok;
  std::string detail;
};

std::vector<PreflightCheck> preflight_checks(const Config& cfg,
                                             const std::vector<std::string>& config_warnings);

// Prints the checks (a table, or one JSON object with --json); returns 1 if
// any failed, else 0.
int run_preflight(const Config& cfg, const std::vector<std::string>& config_warnings, bool json);

}  // namespace parley::app
