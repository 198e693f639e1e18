// Wiring: the only place that builds the long-lived objects and connects
// them. run_server blocks until SIGTERM/SIGINT and returns the exit code.
#pragma once

#include "app/config.hpp"

namespace parley::app {

// Call first thing in main, before any thread starts: SIGTERM, SIGINT and
// SIGPIPE are blocked in every thread; run_server waits for them with sigwait.
void block_signals();

int run_server(Config cfg, const std::vector<std::string>& warnings);
int run_migrate(const Config& cfg);

}  // namespace parley::app
