#include "core/validate.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace parley::validate {
namespace {

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(is_utf8("hello"));
  EXPECT_TRUE(is_utf8("h\xc3\xa9llo"));      // é
  EXPECT_TRUE(is_utf8("\xe2\x82\xac"));      // €
  EXPECT_TRUE(is_utf8("\xf0\x9f\x98\x80"));  // emoji
  EXPECT_TRUE(is_utf8(std::string_view("a\0b", 3)));
}

TEST(Utf8, RejectsMalformedText) {
  EXPECT_FALSE(is_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(is_utf8("\x80"));              // lone continuation
  EXPECT_FALSE(is_utf8("\xff"));
}

TEST(Username, EnforcesCharsetAndLength) {
  EXPECT_NO_THROW(username("u", "alice_01"));
  EXPECT_THROW(username("u", "al"), Error);
  EXPECT_THROW(username("u", std::string(33, 'a')), Error);
  EXPECT_THROW(username("u", "Alice"), Error);
  EXPECT_THROW(username("u", "_alice"), Error);
  EXPECT_THROW(username("u", "al ice"), Error);
  EXPECT_THROW(username("u", "robert'); DROP TABLE users;--"), Error);
}

TEST(Text, SingleLineRefusesControlCharacters) {
  EXPECT_NO_THROW(single_line_text("t", "Team \xc3\xa9"));
  EXPECT_THROW(single_line_text("t", "a\nb"), Error);
  EXPECT_THROW(single_line_text("t", "a\x1b[31m"), Error);
  EXPECT_THROW(single_line_text("t", "\xc3"), Error);
}

TEST(Text, MultiLineAllowsNewlinesAndTabs) {
  EXPECT_NO_THROW(multi_line_text("b", "line1\nline2\tx\r\n"));
  EXPECT_THROW(multi_line_text("b", std::string("a\0b", 3)), Error);
}

}  // namespace
}  // namespace parley::validate

namespace parley::validate {
namespace {

TEST(ValidateReaction, EmojiSequencesAndShortCodesOnly) {
  for (const char* ok : {"👍", "👍🏽", "❤️", "👨‍👩‍👧", "🇫🇷", "1️⃣", "#⃣", "©",
                         ":tada:", ":+1:", ":thumbs_up-2:", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"}) {
    EXPECT_NO_THROW(reaction("reaction", ok)) << ok;
  }
  for (const char* bad : {"", "a", "ok", " 👍", "👍 ", "1", "::", ":Tada:", ":ta da:", ":x", "中",
                          "\xF0\x9F", "‍", "️", "<script>", "👍\n"}) {
    EXPECT_THROW(reaction("reaction", bad), parley::Error) << bad;
  }
}

}  // namespace
}  // namespace parley::validate
