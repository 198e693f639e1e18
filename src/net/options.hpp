// What the HTTP server and the WebSocket transport are told, filled from the
// configuration in app/ (net/ reads no configuration of its own).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace parley::net {

struct WsOptions {
  std::size_t max_message_bytes = 128 * 1024;
  std::size_t max_outbound_bytes = 1 << 20;  // queued past this: close with 4009
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds idle_timeout{60000};  // nothing heard: the peer is gone
  std::chrono::milliseconds close_grace{3000};    // close frame sent, no answer: drop
  std::int64_t max_connections_per_ip = 500;
  std::vector<std::string> allowed_origins;  // "*" allows any
  bool allow_missing_origin = true;
  bool permessage_deflate = false;
  int deflate_level = 1;
  std::size_t deflate_min_bytes = 256;
};

struct HttpOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  std::size_t workers = 0;          // 0: one per core
  std::size_t handler_threads = 0;  // 0: 2 x cores, at least 4
  std::int64_t max_connections = 10000;
  std::vector<std::string> trusted_proxies;
  std::uint32_t max_header_bytes = 16384;
  std::uint64_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds lingering_time{5000};
  std::int64_t max_pending = 1024;
  WsOptions ws;
};

}  // namespace parley::net
