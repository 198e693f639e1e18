// Strict JSON input helpers. Every accessor names the offending field in the
// error it throws (Errc::bad_request), so clients learn what to fix.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::json {

namespace bj = boost::json;

// Parses text that must be one JSON object. Rejects invalid UTF-8, nesting
// deeper than max_depth, duplicate-free is not required (last one wins).
bj::object parse_object(std::string_view text, std::size_t max_depth);

// A string field of at most max_bytes bytes and at least min_bytes.
std::string_view require_string(const bj::object& o, std::string_view key, std::size_t max_bytes,
                                std::size_t min_bytes = 1);
std::optional<std::string_view> optional_string(const bj::object& o, std::string_view key,
                                                std::size_t max_bytes, std::size_t min_bytes = 0);
std::int64_t require_int(const bj::object& o, std::string_view key, std::int64_t min,
                         std::int64_t max);
std::optional<std::int64_t> optional_int(const bj::object& o, std::string_view key,
                                         std::int64_t min, std::int64_t max);
// Absent or null: empty.
std::optional<bool> optional_bool(const bj::object& o, std::string_view key);
const bj::array& require_array(const bj::object& o, std::string_view key, std::size_t max_items);
const bj::array* optional_array(const bj::object& o, std::string_view key, std::size_t max_items);

// Appends s as a JSON string literal (quotes included), escaped as
// Boost.JSON's serializer does: `"`, `\` and control characters; UTF-8
// passes through. For hot-path encoders that write JSON without a DOM.
void append_quoted(std::string& out, std::string_view s);

}  // namespace parley::json
