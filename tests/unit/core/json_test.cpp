#include "core/json.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "core/error.hpp"

namespace parley::json {
namespace {

std::string detail_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::bad_request);
    return std::string(e.detail());
  }
  ADD_FAILURE() << "expected an error";
  return {};
}

TEST(Json, ParsesObjectsOnly) {
  EXPECT_EQ(parse_object(R"({"a":1})", 8).at("a").as_int64(), 1);
  EXPECT_NE(detail_of([] { parse_object("[1]", 8); }).find("JSON object"), std::string::npos);
  EXPECT_NE(detail_of([] { parse_object("", 8); }).find("JSON object"), std::string::npos);
  EXPECT_NE(detail_of([] { parse_object("{bad", 8); }).find("invalid JSON"), std::string::npos);
}

TEST(Json, RefusesDeepNesting) {
  std::string deep = R"({"a":)" + std::string(10000, '[') + std::string(10000, ']') + "}";
  EXPECT_NE(detail_of([&] { parse_object(deep, 32); }).find("nesting"), std::string::npos);
}

TEST(Json, RefusesInvalidUtf8InStrings) {
  EXPECT_NE(detail_of([] { parse_object("{\"a\":\"\xff\"}", 8); }).find("invalid JSON"),
            std::string::npos);
}

TEST(Json, FieldAccessorsNameTheField) {
  auto o = parse_object(R"({"s":"x","n":5,"b":true,"arr":[1,2,3]})", 8);
  EXPECT_EQ(require_string(o, "s", 10), "x");
  EXPECT_NE(detail_of([&] { require_string(o, "n", 10); }).find("'n' must be a string"),
            std::string::npos);
  EXPECT_NE(detail_of([&] { require_string(o, "missing", 10); }).find("'missing'"),
            std::string::npos);
  EXPECT_NE(detail_of([&] { require_string(o, "s", 0); }).find("longer than"), std::string::npos);
  EXPECT_EQ(require_int(o, "n", 0, 10), 5);
  EXPECT_NE(detail_of([&] { require_int(o, "n", 6, 10); }).find("between"), std::string::npos);
  EXPECT_NE(detail_of([&] { require_int(o, "s", 0, 10); }).find("integer"), std::string::npos);
  EXPECT_EQ(require_array(o, "arr", 3).size(), 3U);
  EXPECT_NE(detail_of([&] { require_array(o, "arr", 2); }).find("more than 2"), std::string::npos);
}

TEST(Json, AppendQuotedEscapesAsBoostSerializes) {
  std::string every;  // each ASCII byte, then multi-byte UTF-8
  for (int c = 0; c < 0x80; ++c) every += static_cast<char>(c);
  every += "\u00e9 \u4e2d\u6587 \U0001F600";
  for (std::string_view s : {std::string_view(every), std::string_view(""),
                             std::string_view("plain"), std::string_view("\"\\\"")}) {
    std::string out = "x";
    append_quoted(out, s);
    EXPECT_EQ(out, "x" + bj::serialize(bj::string_view(s.data(), s.size())));
  }
}

}  // namespace
}  // namespace parley::json
