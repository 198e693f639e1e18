// The binary encoding against the golden vectors (tests/vectors/protocol_v1.json,
// made with Google's Python protobuf, also checked by the SDK's tests).
#include "realtime/proto_codec.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace bj = boost::json;
using namespace parley::realtime;

namespace {

const bj::object& vectors() {
  static const bj::object v = [] {
    std::ifstream in(std::string(PARLEY_SOURCE_DIR) + "/tests/vectors/protocol_v1.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return bj::parse(ss.str()).as_object();
  }();
  return v;
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string unhex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  }
  return out;
}

TEST(ProtoCodec, EveryEventEncodesToItsGoldenBytesAndBack) {
  const auto& events = vectors().at("events").as_array();
  ASSERT_GE(events.size(), 11U);
  for (const auto& v : events) {
    const auto& e = v.as_object();
    SCOPED_TRACE(std::string(e.at("name").as_string()));
    const auto& json = e.at("json").as_object();
    std::string bytes = encode_proto_event(bj::serialize(json));
    EXPECT_EQ(hex(bytes), e.at("proto_hex").as_string());
    EXPECT_EQ(decode_proto_event(unhex(e.at("proto_hex").as_string())), json);
  }
}

TEST(ProtoCodec, EveryRequestDecodesToTheFieldsOfItsJsonForm) {
  const auto& requests = vectors().at("requests").as_array();
  ASSERT_GE(requests.size(), 11U);
  for (const auto& v : requests) {
    const auto& r = v.as_object();
    SCOPED_TRACE(std::string(r.at("name").as_string()));
    bj::object json = r.at("json").as_object();
    bj::value id;
    Request req = decode_proto_request(unhex(r.at("proto_hex").as_string()), &id);
    EXPECT_EQ(id, json.at("id"));
    EXPECT_EQ(req.id, json.at("id"));
    EXPECT_EQ(req.op, json.at("op").as_string());
    json.erase("id");
    json.erase("op");
    EXPECT_EQ(req.fields, json);
  }
}

TEST(ProtoCodec, EveryReplyEncodesToItsGoldenBytes) {
  const auto& replies = vectors().at("replies").as_array();
  ASSERT_GE(replies.size(), 11U);
  for (const auto& v : replies) {
    const auto& r = v.as_object();
    SCOPED_TRACE(std::string(r.at("name").as_string()));
    EXPECT_EQ(hex(encode_proto_reply(r.at("op").as_string(), r.at("json").as_object())),
              r.at("proto_hex").as_string());
  }
}

TEST(ProtoCodec, UnknownFieldsAreSkippedAndAMissingOpIsAnEmptyOp) {
  // Request{id_number: 5, ping: {}} followed by field 999 (varint 1): a newer client.
  std::string bytes = unhex("10059a0100") + unhex("c83e01");
  Request req = decode_proto_request(bytes, nullptr);
  EXPECT_EQ(req.op, "ping");
  EXPECT_EQ(req.id, bj::value(5));
  // Only an id: an op this server does not know.
  Request none = decode_proto_request(unhex("0a027839"), nullptr);
  EXPECT_EQ(none.op, "");
  EXPECT_EQ(none.id, bj::value("x9"));
}

TEST(ProtoCodec, BytesThatAreNotARequestAreABadRequest) {
  bj::value id;
  try {
    decode_proto_request(unhex("ffffffff"), &id);
    FAIL() << "decoded garbage";
  } catch (const parley::Error& e) {
    EXPECT_EQ(e.code(), parley::Errc::bad_request);
  }
  EXPECT_THROW(encode_proto_event(R"({"type":"no.such.event","conv":"1"})"), parley::Error);
  EXPECT_THROW(encode_proto_event("not json"), parley::Error);
}

}  // namespace
