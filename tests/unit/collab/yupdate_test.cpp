// The native Yjs update format against npm yjs's own output
// (tests/vectors/yjs_v1.json, made by tests/vectors/make_yjs_v1.mjs), and
// lib0's integers and strings at their edges.
#include "collab/yupdate.hpp"

#include <gtest/gtest.h>

#include <set>
#include <type_traits>

#include "collab/lib0.hpp"
#include "core/error.hpp"
#include "yjs_vectors.hpp"

namespace bj = boost::json;
using namespace parley::collab;

namespace {

const bj::value& vectors() { return yjs_test::yjs_vectors(); }
using yjs_test::field;
using yjs_test::unhex;

const bj::array& cases() { return vectors().at("cases").as_array(); }

std::string name_of(const bj::value& c) { return std::string(c.at("name").as_string()); }

}  // namespace

TEST(YUpdate, VectorsCoverEveryContentKindAndSplitCharacters) {
  std::set<ContentRef> kinds;
  int skips = 0;
  for (const auto& c : cases()) {
    std::string bytes = field(c, "update");
    for (const auto& cs : decode_update(bytes).clients) {
      for (const auto& s : cs.structs) {
        if (s.kind == YStruct::Kind::item) kinds.insert(s.content_ref);
        if (s.kind == YStruct::Kind::skip) ++skips;
      }
    }
  }
  EXPECT_EQ(kinds.size(), 9u);
  EXPECT_GT(skips, 0);
  EXPECT_GT(cases().size(), 100u);
}

TEST(YUpdate, StateVectorIsYjssEncodeStateVectorFromUpdate) {
  for (const auto& c : cases()) {
    EXPECT_EQ(state_vector_of_update(field(c, "update")), field(c, "state_vector")) << name_of(c);
  }
}

TEST(YUpdate, EncodingADecodedUpdateIsYjssMergeOfIt) {
  for (const auto& c : cases()) {
    std::string bytes = field(c, "update");
    EXPECT_EQ(encode_update(decode_update(bytes)), field(c, "reencoded")) << name_of(c);
  }
}

TEST(YUpdate, ReencodingIsStable) {
  for (const auto& c : cases()) {
    std::string once = field(c, "reencoded");
    EXPECT_EQ(encode_update(decode_update(once)), once) << name_of(c);
  }
}

TEST(YUpdate, MergeIsYjssMergeUpdates) {
  const auto& merges = vectors().at("merges").as_array();
  ASSERT_GE(merges.size(), 50u);
  for (const auto& m : merges) {
    std::vector<std::string> owned;
    for (const auto& u : m.at("updates").as_array()) owned.push_back(unhex(u.as_string()));
    std::vector<std::string_view> views(owned.begin(), owned.end());
    EXPECT_EQ(merge_updates(views), unhex(m.at("merged").as_string()));
  }
}

TEST(YUpdate, DiffIsYjssDiffUpdate) {
  const auto& diffs = vectors().at("diffs").as_array();
  ASSERT_GE(diffs.size(), 90u);
  for (const auto& d : diffs) {
    EXPECT_EQ(diff_update(field(d, "update"), field(d, "state_vector")), field(d, "diff"));
  }
}

TEST(YUpdate, EveryTruncationIsRefusedNotOverread) {
  // Each proper prefix of a real update is an error, never a crash.
  std::string bytes;
  for (const auto& c : cases()) {
    if (name_of(c) == "xml, embed, sub-document, binary") bytes = field(c, "update");
  }
  ASSERT_GT(bytes.size(), 20u);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THROW(decode_update(std::string_view(bytes).substr(0, n)), parley::Error) << n;
  }
  const std::string longer = bytes + '\0';
  EXPECT_THROW(decode_update(longer), parley::Error);
}

TEST(YUpdate, HostileCountsAreRefusedBeforeAllocating) {
  // 2^50 clients, then 2^50 structs for one client.
  EXPECT_THROW(decode_update(std::string_view("\x80\x80\x80\x80\x80\x80\x80\x01")), parley::Error);
  EXPECT_THROW(decode_update(std::string_view("\x01\x80\x80\x80\x80\x80\x80\x80\x01\x01\x00", 11)),
               parley::Error);
  // A struct of length 0 and an unknown content kind.
  EXPECT_THROW(decode_update(std::string_view("\x01\x01\x05\x00\x00\x00\x00", 7)), parley::Error);
  EXPECT_THROW(decode_update(std::string_view("\x01\x01\x05\x00\x0b\x00", 6)), parley::Error);
}

TEST(YUpdate, WritingFromInsideAStringCutsInUtf16Units) {
  // "x😀y" from offset 1 cuts the surrogate pair: Yjs writes U+FFFD for it.
  EXPECT_EQ(utf16_length("x\xf0\x9f\x98\x80y"), 4u);
  EXPECT_EQ(utf16_slice_from("x\xf0\x9f\x98\x80y", 1), "\xf0\x9f\x98\x80y");
  EXPECT_EQ(utf16_slice_from("x\xf0\x9f\x98\x80y", 2), "\xef\xbf\xbdy");
  EXPECT_EQ(utf16_slice_from("x\xf0\x9f\x98\x80y", 3), "y");
  YStruct s;
  s.kind = YStruct::Kind::item;
  s.content_ref = ContentRef::string;
  s.clock = 10;
  s.length = 4;
  std::string content = "\x06x\xf0\x9f\x98\x80y";
  s.content = content;
  s.parent_is_key = true;
  s.parent_key = "t";
  std::string out;
  write_struct(out, 7, s, 2);
  // Info: string with an origin (the clock before the offset), then "\uFFFDy".
  EXPECT_EQ(out, std::string("\x84\x07\x0b\x04\xef\xbf\xbdy", 8));
}

TEST(Lib0, IntegersPast2To53AreRefused) {
  // 2^53 - 1 is the largest: seven bytes, the last holding four bits.
  std::string max = "\xff\xff\xff\xff\xff\xff\xff\x0f";
  Lib0Reader ok(max);
  EXPECT_EQ(ok.var_uint(), kMaxSafeInteger);
  Lib0Reader over(std::string_view("\xff\xff\xff\xff\xff\xff\xff\x1f"));
  EXPECT_THROW(over.var_uint(), parley::Error);
  Lib0Reader endless(std::string_view("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00"));
  EXPECT_THROW(endless.var_uint(), parley::Error);
  Lib0Writer w;
  w.var_uint(kMaxSafeInteger);
  EXPECT_EQ(w.bytes(), max);
}

TEST(Lib0, AnyValuesNestedTooDeepAreRefused) {
  std::string value;
  for (int i = 0; i < 100; ++i) value += "\x75\x01";
  value += "\x7e";
  Lib0Reader r(value);
  EXPECT_THROW(r.skip_any(), parley::Error);
  std::string shallow = "\x75\x02\x7e\x77\x02hi";
  Lib0Reader s(shallow);
  s.skip_any();
  EXPECT_TRUE(s.done());
}

TEST(Lib0, StringsMustBeUtf8) {
  Lib0Reader r(std::string_view("\x02\xc3\x28", 3));
  EXPECT_THROW(r.var_string(), parley::Error);
}

template <class T>
constexpr bool decodes = requires(T t) {
  decode_update(std::forward<T>(t));
};

// YDocument::apply once read its state vector through a reader made from a
// temporary string (ASan: stack-use-after-scope); readers and decoders that
// keep views now refuse temporaries at compile time.
TEST(Lib0, AReaderOrDecoderCannotBeMadeFromATemporaryString) {
  static_assert(!std::is_constructible_v<Lib0Reader, std::string&&>);
  static_assert(std::is_constructible_v<Lib0Reader, std::string_view>);
  static_assert(!decodes<std::string&&>);
  static_assert(decodes<const std::string&>);
  std::string bytes("\0\0", 2);
  EXPECT_TRUE(decode_update(bytes).clients.empty());
}
