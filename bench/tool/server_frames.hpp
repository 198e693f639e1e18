// Reading a server's WebSocket frames in a load generator: in place from the
// socket buffer, as a server sends them (unmasked, unfragmented), so the
// client's own decoding stays lean and the server is what gets measured.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley::bench {

// Calls fn(opcode, payload) for each whole frame in d[0, n) until fn returns
// false; returns the bytes used (a split frame's start stays unread). A frame
// a server must not send (masked, fragmented, over 16 MiB) sets error and stops.
template <class Fn>
std::size_t read_server_frames(const std::uint8_t* d, std::size_t n, std::string& error, Fn&& fn) {
  std::size_t off = 0;
  while (n - off >= 2 && error.empty()) {
    std::uint8_t b0 = d[off], b1 = d[off + 1];
    std::uint64_t len = b1 & 0x7F;
    std::size_t header = 2;
    if (len == 126) {
      if (n - off < 4) break;
      len = (std::uint64_t{d[off + 2]} << 8) | d[off + 3];
      header = 4;
    } else if (len == 127) {
      if (n - off < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | d[off + 2 + i];
      header = 10;
    }
    if ((b1 & 0x80) != 0 || (b0 & 0x80) == 0 || (b0 & 0x0F) == 0 || len > (1U << 24)) {
      error = "unexpected frame from the server (masked, fragmented or oversized)";
      break;
    }
    if (n - off < header + len) break;
    std::string_view payload(reinterpret_cast<const char*>(d + off + header), len);
    off += header + len;
    if (!fn(static_cast<std::uint8_t>(b0 & 0x0F), payload)) break;
  }
  return off;
}

}  // namespace parley::bench
