// Protocol v1's binary encoding (proto/parley/v1/protocol.proto, subprotocol
// "parley.v1.proto"), as a codec at the edge: requests are decoded into the
// same Request the JSON decoder makes, so every operation has one
// implementation; replies and events are built as JSON objects as always and
// encoded from them. Kept apart from the session so it can be unit-tested
// against the golden vectors and fuzzed on its own.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "realtime/protocol.hpp"

namespace parley::realtime {

inline constexpr std::string_view kJsonSubprotocol = "parley.v1";
inline constexpr std::string_view kProtoSubprotocol = "parley.v1.proto";

// One binary frame into a request. Throws Error(bad_request) for bytes that
// are not a Request; *id_out receives the id whenever one could be read.
// A request with no op (a newer client's op this server does not know) has
// an empty op.
Request decode_proto_request(std::string_view bytes, boost::json::value* id_out);

// A reply ({"id", "ok", "result" | "error"}) to the op it answers, encoded
// as a ServerMessage.
std::string encode_proto_reply(std::string_view op, const boost::json::object& reply);

// An event as the JSON subprotocol sends it ({"type": ..., ...}), encoded as
// a ServerMessage. Throws Error(internal) for a type the encoding lacks.
std::string encode_proto_event(std::string_view json);

// The reverse of encode_proto_event, for tests and tools: the JSON form of a
// ServerMessage holding an event.
boost::json::object decode_proto_event(std::string_view bytes);

}  // namespace parley::realtime
