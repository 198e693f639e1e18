// libFuzzer target: the binary encoding's request decoder and the field
// readers each op uses, and the event decoder. Any input must end in a
// request (or an event) or a parley::Error, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "realtime/proto_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  boost::json::value id;
  try {
    auto req = parley::realtime::decode_proto_request(bytes, &id);
    const auto& f = req.fields;
    if (req.op == "subscribe") {
      parley::realtime::subscriptions_field(f, 100);
    } else if (req.op == "unsubscribe") {
      parley::realtime::id_list_field(f, "conversations", 100);
    } else if (req.op == "send") {
      parley::realtime::id_field(f, "conv");
      parley::realtime::string_field(f, "client_id", 64);
      parley::realtime::string_field(f, "body", 65536);
    } else if (req.op == "presence") {
      parley::realtime::id_list_field(f, "users", 100);
    } else if (!req.op.empty() && req.op != "ping" && req.op != "auth") {
      parley::realtime::id_field(f, "conv");
    }
  } catch (const parley::Error&) {
  }
  try {
    parley::realtime::decode_proto_event(bytes);
  } catch (const parley::Error&) {
  }
  return 0;
}
