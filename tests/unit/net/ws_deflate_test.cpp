#include "net/ws_deflate.hpp"

#include <gtest/gtest.h>

#include <random>

#include "net/ws_frame.hpp"

namespace parley::ws {
namespace {

TEST(WsDeflate, RoundTripsMessagesWithoutContextTakeover) {
  Deflater d;
  Inflater i;
  std::mt19937 rng(7);
  for (std::size_t n : {0, 1, 100, 5000, 100000}) {
    std::string text;
    for (std::size_t k = 0; k < n; ++k) text += static_cast<char>('a' + rng() % 4);
    std::string packed = d.compress(text);
    std::string out;
    ASSERT_EQ(i.decompress(packed, 1 << 20, out), Inflater::Result::ok) << n;
    EXPECT_EQ(out, text) << n;
  }
  // Each message stands alone: the second decompresses without the first.
  std::string a = d.compress("hello hello hello"), b = d.compress("hello hello hello");
  EXPECT_EQ(a, b);
}

TEST(WsDeflate, StripsTheSyncFlushTail) {
  Deflater d;
  std::string packed = d.compress("Hello");
  ASSERT_GE(packed.size(), 4U);
  EXPECT_NE(packed.substr(packed.size() - 4), std::string("\x00\x00\xff\xff", 4));
}

TEST(WsDeflate, ABombStopsAtTheLimit) {
  Deflater d(9);
  std::string zeros(50 << 20, '\0');  // 50 MiB of zeros packs into ~50 KiB
  std::string bomb = d.compress(zeros);
  EXPECT_LT(bomb.size(), 100000U);
  Inflater i;
  std::string out;
  EXPECT_EQ(i.decompress(bomb, 131072, out), Inflater::Result::too_big);
  EXPECT_EQ(out.size(), 0U);
  EXPECT_LE(out.capacity(), 131072U + 16384U);
}

TEST(WsDeflate, CorruptDataIsReported) {
  Inflater i;
  std::string out;
  EXPECT_EQ(i.decompress(std::string("\xff\xff\xff\xff\xff", 5), 1000, out),
            Inflater::Result::corrupt);
  // The inflater recovers for the next message.
  Deflater d;
  EXPECT_EQ(i.decompress(d.compress("ok"), 1000, out), Inflater::Result::ok);
  EXPECT_EQ(out, "ok");
}

TEST(WsDeflate, Negotiation) {
  EXPECT_TRUE(negotiate_deflate("permessage-deflate").accepted);
  EXPECT_TRUE(negotiate_deflate("permessage-deflate; client_max_window_bits").accepted);
  EXPECT_EQ(negotiate_deflate("permessage-deflate; client_max_window_bits").response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  EXPECT_FALSE(negotiate_deflate("").accepted);
  EXPECT_FALSE(negotiate_deflate("x-webkit-deflate-frame").accepted);
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits=10").accepted);
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; unknown_param").accepted);
  // A later acceptable offer is taken when the first is not.
  EXPECT_TRUE(negotiate_deflate("permessage-deflate; server_max_window_bits=9, permessage-deflate")
                  .accepted);
}

TEST(WsParserDeflate, Rsv1MarksACompressedMessageOnlyWhenNegotiated) {
  std::string frame = make_masked_frame(Opcode::text, "zz", 1, true, 4);  // RSV1
  auto parse = [&](bool enabled, const std::string& bytes) {
    FrameParser p(1024);
    if (enabled) p.enable_compression();
    std::size_t used = 0;
    return p.next(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), used);
  };
  EXPECT_EQ(parse(false, frame).close_code, close_code::kProtocolError);
  auto e = parse(true, frame);
  EXPECT_EQ(e.kind, FrameEvent::message);
  EXPECT_TRUE(e.compressed);
  // Not on continuation frames, not on control frames, not RSV2/RSV3.
  std::string cont = make_masked_frame(Opcode::text, "a", 1, false) +
                     make_masked_frame(Opcode::continuation, "b", 1, true, 4);
  EXPECT_EQ(parse(true, cont).close_code, close_code::kProtocolError);
  EXPECT_EQ(parse(true, make_masked_frame(Opcode::ping, "", 1, true, 4)).close_code,
            close_code::kProtocolError);
  EXPECT_EQ(parse(true, make_masked_frame(Opcode::text, "a", 1, true, 2)).close_code,
            close_code::kProtocolError);
  // Compressed bytes are not UTF-8 checked by the parser (they are after inflating).
  EXPECT_EQ(parse(true, make_masked_frame(Opcode::text, "\xff", 1, true, 4)).kind,
            FrameEvent::message);
}

}  // namespace
}  // namespace parley::ws
