// libFuzzer target: protocol v1 request decoding and the field readers each
// op uses. Any input must end in a request or a parley::Error, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "realtime/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::json::value id;
  try {
    auto req = parley::realtime::decode_request(text, 32, &id);
    const auto& f = req.fields;
    if (req.op == "subscribe") {
      parley::realtime::subscriptions_field(f, 100);
    } else if (req.op == "unsubscribe") {
      parley::realtime::id_list_field(f, "conversations", 100);
    } else if (req.op == "send") {
      parley::realtime::id_field(f, "conv");
      parley::realtime::string_field(f, "client_id", 64);
      parley::realtime::string_field(f, "body", 65536);
    } else {
      parley::realtime::seq_field(f, "seq");
    }
  } catch (const parley::Error&) {
  }
  return 0;
}
