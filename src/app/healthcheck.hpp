// `parley healthcheck`: a tiny HTTP client for a container's HEALTHCHECK (so
// the image needs no curl): GET a path of this node (/api/ready) and exit 0
// on 200, 1 otherwise (refused, timed out, or any other status), printing one
// line that says which.
#pragma once

#include <cstdint>
#include <string>

namespace parley::app {

struct HealthcheckOptions {
  std::string host = "127.0.0.1";  // 0.0.0.0 and :: are probed on loopback
  int port = 8080;
  std::string path = "/api/ready";
  std::int64_t timeout_ms = 3000;  // connect, send and read together
};

int run_healthcheck(const HealthcheckOptions& o);

}  // namespace parley::app
