#include "core/base64.hpp"

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(Base64Url, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Base64Url, RoundTripsAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    auto s = all.substr(0, n);
    EXPECT_EQ(base64url_decode(base64url_encode(s)).value(), s);
  }
}

TEST(Base64Url, RejectsPaddingForeignCharactersAndImpossibleLengths) {
  EXPECT_FALSE(base64url_decode("Zg==").has_value());
  EXPECT_FALSE(base64url_decode("Zm9v+").has_value());
  EXPECT_FALSE(base64url_decode("Zm9v/").has_value());
  EXPECT_FALSE(base64url_decode("Z").has_value());
  // Non-zero trailing bits would let two texts decode to the same bytes.
  EXPECT_FALSE(base64url_decode("Zh").has_value());
}

}  // namespace
}  // namespace parley
