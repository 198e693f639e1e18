#include "net/ws_frame.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace parley::ws {
namespace {

constexpr std::uint32_t kKey = 0x37FA213D;

// Feeds bytes in chunks of `step` and collects every event.
std::vector<FrameEvent> feed(FrameParser& p, const std::string& bytes, std::size_t step = 1 << 20) {
  std::vector<FrameEvent> out;
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  std::size_t off = 0;
  while (off < bytes.size()) {
    std::size_t len = std::min(step, bytes.size() - off);
    std::size_t pos = 0;
    while (pos < len || len == 0) {
      std::size_t used = 0;
      FrameEvent e = p.next(data + off + pos, len - pos, used);
      pos += used;
      if (e.kind == FrameEvent::need_more) break;
      out.push_back(std::move(e));
      if (out.back().kind == FrameEvent::error) return out;
    }
    off += len;
  }
  return out;
}

std::string masked(Opcode op, std::string_view payload, bool fin = true, std::uint8_t rsv = 0) {
  return make_masked_frame(op, payload, kKey, fin, rsv);
}

TEST(WsAcceptKey, MatchesRfc6455Example) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsParser, ParsesAMaskedTextFrame) {
  FrameParser p(1024);
  auto events = feed(p, masked(Opcode::text, "Hello"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].kind, FrameEvent::message);
  EXPECT_EQ(events[0].opcode, Opcode::text);
  EXPECT_EQ(events[0].payload, "Hello");
}

TEST(WsParser, ByteAtATimeGivesTheSameResult) {
  std::string stream = masked(Opcode::text, std::string(300, 'a')) +
                       masked(Opcode::binary, "\x00\xff") + masked(Opcode::ping, "p");
  FrameParser whole(1024), bytewise(1024);
  auto a = feed(whole, stream);
  auto b = feed(bytewise, stream, 1);
  ASSERT_EQ(a.size(), 3U);
  ASSERT_EQ(b.size(), 3U);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].payload, b[i].payload);
  }
  EXPECT_EQ(a[2].kind, FrameEvent::ping);
}

TEST(WsParser, ExtendedLengths) {
  for (std::size_t n : {125, 126, 127, 65535, 65536, 100000}) {
    FrameParser p(1 << 20);
    auto events = feed(p, masked(Opcode::binary, std::string(n, 'x')), 7000);
    ASSERT_EQ(events.size(), 1U) << n;
    EXPECT_EQ(events[0].payload.size(), n);
  }
}

TEST(WsParser, ReassemblesFragmentsWithInterleavedControlFrames) {
  std::string stream = masked(Opcode::text, "Hel", false) + masked(Opcode::ping, "x") +
                       masked(Opcode::continuation, "lo ", false) +
                       masked(Opcode::continuation, "world", true);
  FrameParser p(1024);
  auto events = feed(p, stream, 3);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].kind, FrameEvent::ping);
  EXPECT_EQ(events[1].kind, FrameEvent::message);
  EXPECT_EQ(events[1].payload, "Hello world");
}

TEST(WsParser, ValidatesUtf8AcrossFragmentsAndFailsFast) {
  // U+20AC split over two fragments is fine.
  FrameParser ok(1024);
  auto good =
      feed(ok, masked(Opcode::text, "\xe2\x82", false) + masked(Opcode::continuation, "\xac"));
  ASSERT_EQ(good.size(), 1U);
  EXPECT_EQ(good[0].payload, "\xe2\x82\xac");
  // An invalid byte fails in the first fragment, before the message ends.
  FrameParser bad(1024);
  auto events = feed(bad, masked(Opcode::text, "ok\xff", false));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].kind, FrameEvent::error);
  EXPECT_EQ(events[0].close_code, close_code::kInvalidPayload);
  // A message that ends inside a sequence is invalid too.
  FrameParser cut(1024);
  EXPECT_EQ(feed(cut, masked(Opcode::text, "\xe2\x82"))[0].close_code, close_code::kInvalidPayload);
  // Binary messages are not checked.
  FrameParser bin(1024);
  EXPECT_EQ(feed(bin, masked(Opcode::binary, "\xff"))[0].kind, FrameEvent::message);
}

struct BadCase {
  const char* name;
  std::string bytes;
  std::uint16_t code;
};

TEST(WsParser, ProtocolViolationsCloseWithTheRightCode) {
  std::string huge_len = std::string("\x82\xff", 2) +
                         std::string("\x80\x00\x00\x00\x00\x00\x00\x00", 8) + "\x01\x02\x03\x04";
  std::vector<BadCase> cases = {
      {"unmasked", make_frame(Opcode::text, "hi"), close_code::kProtocolError},
      {"rsv1", masked(Opcode::text, "hi", true, 4), close_code::kProtocolError},
      {"rsv3", masked(Opcode::text, "hi", true, 1), close_code::kProtocolError},
      {"opcode 3", masked(static_cast<Opcode>(3), "x"), close_code::kProtocolError},
      {"opcode 11", masked(static_cast<Opcode>(11), "x"), close_code::kProtocolError},
      {"fragmented ping", masked(Opcode::ping, "x", false), close_code::kProtocolError},
      {"ping over 125", masked(Opcode::ping, std::string(126, 'x')), close_code::kProtocolError},
      {"lone continuation", masked(Opcode::continuation, "x"), close_code::kProtocolError},
      {"text inside text", masked(Opcode::text, "a", false) + masked(Opcode::text, "b"),
       close_code::kProtocolError},
      {"length 2^63", huge_len, close_code::kProtocolError},
      {"too big", masked(Opcode::binary, std::string(2000, 'x')), close_code::kTooBig},
  };
  for (const auto& c : cases) {
    FrameParser p(1024);
    auto events = feed(p, c.bytes);
    ASSERT_FALSE(events.empty()) << c.name;
    EXPECT_EQ(events.back().kind, FrameEvent::error) << c.name;
    EXPECT_EQ(events.back().close_code, c.code) << c.name;
    EXPECT_TRUE(p.failed()) << c.name;
  }
}

TEST(WsParser, RefusesAnOversizeMessageBeforeStoringIt) {
  FrameParser p(1000);
  // Only the header of a 1 GiB frame arrives: refused at once, nothing buffered.
  std::string frame = "\x82\xff";
  std::uint64_t len = 1ULL << 30;
  for (int i = 7; i >= 0; --i) frame.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  frame += "\x01\x02\x03\x04";
  auto events = feed(p, frame);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].close_code, close_code::kTooBig);
  EXPECT_EQ(p.buffered(), 0U);
}

TEST(WsParser, ManySmallFragmentsAreBoundedByTheMessageLimit) {
  std::string ok = masked(Opcode::text, "a", false);
  for (int i = 0; i < 9998; ++i) ok += masked(Opcode::continuation, "a", false);
  ok += masked(Opcode::continuation, "a", true);
  FrameParser p(10000);
  auto events = feed(p, ok, 4096);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].payload.size(), 10000U);
  FrameParser small(5000);
  auto refused = feed(small, ok, 4096);
  EXPECT_EQ(refused.back().close_code, close_code::kTooBig);
}

TEST(WsParser, CloseFrames) {
  auto close_with = [](std::string payload) {
    FrameParser p(1024);
    return feed(p, masked(Opcode::close, payload)).back();
  };
  EXPECT_EQ(close_with("").close_code, close_code::kNoStatus);
  auto normal = close_with(std::string("\x03\xe8", 2) + "bye");
  EXPECT_EQ(normal.kind, FrameEvent::close);
  EXPECT_EQ(normal.close_code, 1000);
  EXPECT_EQ(normal.payload, "bye");
  EXPECT_EQ(close_with(std::string("\x0b\xb8", 2)).close_code, 3000);
  EXPECT_EQ(close_with("\x03").close_code, close_code::kProtocolError);  // 1 byte
  EXPECT_EQ(close_with(std::string("\x03\xed", 2)).close_code, close_code::kProtocolError);  // 1005
  EXPECT_EQ(close_with(std::string("\x03\xe7", 2)).close_code, close_code::kProtocolError);  // 999
  EXPECT_EQ(close_with(std::string("\x13\x88", 2)).close_code, close_code::kProtocolError);  // 5000
  EXPECT_EQ(close_with(std::string("\x03\xe8\xff", 3)).close_code, close_code::kInvalidPayload);
}

TEST(WsCloseCodes, ValidRange) {
  for (int c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
    EXPECT_TRUE(valid_close_code(static_cast<std::uint16_t>(c))) << c;
  }
  for (int c : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000}) {
    EXPECT_FALSE(valid_close_code(static_cast<std::uint16_t>(c))) << c;
  }
}

TEST(Utf8Validator, AcceptsAndRejectsLikeTheStandard) {
  auto valid = [](std::string_view s) {
    Utf8Validator v;
    return v.feed(s) && v.complete();
  };
  EXPECT_TRUE(valid("κόσμε"));
  EXPECT_TRUE(valid("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_TRUE(valid("\xef\xbf\xbf"));       // U+FFFF
  EXPECT_FALSE(valid("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(valid("\xc0\x80"));          // overlong NUL
  EXPECT_FALSE(valid("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(valid("\xf0\x80\x80\xaf"));  // overlong
  EXPECT_FALSE(valid("\x80"));
  EXPECT_FALSE(valid("\xfe"));
  EXPECT_FALSE(valid("\xce\xba\xe1"));  // truncated at the end
}

// The ASCII fast path (eight bytes at a time) must judge exactly like the
// byte-at-a-time walk: random mixes of ASCII runs and (often broken)
// multi-byte sequences, fed whole and one byte per call.
TEST(Utf8Validator, FastPathAgreesWithByteAtATime) {
  std::uint32_t state = 12345;
  auto rnd = [&state]() {
    state = state * 1664525U + 1013904223U;
    return state >> 8;
  };
  const std::vector<std::string> pieces = {
      "plain ascii text", "x",    "\xce\xba", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
      "\xed\xa0\x80",     "\xc0", "\x80",     "\xf4\x90",     "0123456789abcdef0123"};
  int invalid = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    int n = 1 + static_cast<int>(rnd() % 8);
    for (int i = 0; i < n; ++i) text += pieces[rnd() % pieces.size()];
    Utf8Validator whole;
    bool whole_ok = whole.feed(text) && whole.complete();
    Utf8Validator bytewise;
    bool byte_ok = true;
    for (char c : text) byte_ok = byte_ok && bytewise.feed(std::string_view(&c, 1));
    byte_ok = byte_ok && bytewise.complete();
    ASSERT_EQ(whole_ok, byte_ok) << "round " << round;
    invalid += whole_ok ? 0 : 1;
  }
  EXPECT_GT(invalid, 100);  // both outcomes were exercised
  EXPECT_LT(invalid, 1900);
}

TEST(WsBuilder, HeaderSizesFollowTheLength) {
  EXPECT_EQ(make_frame(Opcode::text, std::string(125, 'a')).size(), 127U);
  EXPECT_EQ(make_frame(Opcode::text, std::string(126, 'a')).size(), 130U);
  EXPECT_EQ(make_frame(Opcode::text, std::string(65536, 'a')).size(), 65546U);
  FrameParser client_side(1 << 20, false);
  auto events = feed(client_side, make_frame(Opcode::text, std::string(70000, 'z')));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].payload, std::string(70000, 'z'));
  auto close = make_close_frame(4009, "slow consumer");
  EXPECT_EQ(static_cast<std::uint8_t>(close[0]), 0x88);
  EXPECT_EQ(static_cast<std::uint8_t>(close[2]), 4009 >> 8);
}

}  // namespace
}  // namespace parley::ws
