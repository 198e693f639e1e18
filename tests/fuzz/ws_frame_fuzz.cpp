// libFuzzer target: the WebSocket frame parser. The first byte picks how the
// input is cut into reads, so split headers and payloads get exercised.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "net/ws_frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t step = 1 + data[0] % 64;
  constexpr std::size_t kMax = 4096;
  parley::ws::FrameParser parser(kMax, (data[0] & 0x80) == 0);
  std::size_t off = 1;
  while (off < size && !parser.failed()) {
    std::size_t len = std::min(step, size - off);
    std::size_t pos = 0;
    while (pos < len) {
      std::size_t used = 0;
      auto e = parser.next(data + off + pos, len - pos, used);
      pos += used;
      if (parser.buffered() > kMax + 125) std::abort();  // memory stays bounded
      if (e.kind == parley::ws::FrameEvent::need_more) break;
      if (e.kind == parley::ws::FrameEvent::message && e.payload.size() > kMax) std::abort();
      if (e.kind == parley::ws::FrameEvent::error) break;
      if (used == 0 && pos < len) std::abort();  // no progress without an event
    }
    off += len;
  }
  return 0;
}
