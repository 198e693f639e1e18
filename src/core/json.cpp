#include "core/json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/stream_parser.hpp>

#include "core/error.hpp"

namespace parley::json {

namespace {
std::string field(std::string_view key) { return "'" + std::string(key) + "'"; }
}  // namespace

bj::object parse_object(std::string_view text, std::size_t max_depth) {
  if (text.empty()) fail(Errc::bad_request, "request body must be a JSON object");
  bj::parse_options opts;
  opts.max_depth = max_depth;
  bj::stream_parser parser({}, opts);
  boost::system::error_code ec;
  parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    if (ec == bj::error::too_deep) {
      fail(Errc::bad_request, "JSON nesting deeper than " + std::to_string(max_depth) + " levels");
    }
    fail(Errc::bad_request, "invalid JSON: " + ec.message());
  }
  bj::value v = parser.release();
  if (!v.is_object()) fail(Errc::bad_request, "request body must be a JSON object");
  return std::move(v.as_object());
}

std::optional<std::string_view> optional_string(const bj::object& o, std::string_view key,
                                                std::size_t max_bytes, std::size_t min_bytes) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_string()) fail(Errc::bad_request, field(key) + " must be a string");
  const auto& s = it->value().get_string();
  if (s.size() > max_bytes) {
    fail(Errc::bad_request, field(key) + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (s.size() < min_bytes) {
    fail(Errc::bad_request,
         field(key) + " must be at least " + std::to_string(min_bytes) + " bytes long");
  }
  return std::string_view(s.data(), s.size());
}

std::string_view require_string(const bj::object& o, std::string_view key, std::size_t max_bytes,
                                std::size_t min_bytes) {
  auto v = optional_string(o, key, max_bytes, min_bytes);
  if (!v) fail(Errc::bad_request, "missing required field " + field(key));
  return *v;
}

std::optional<std::int64_t> optional_int(const bj::object& o, std::string_view key,
                                         std::int64_t min, std::int64_t max) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  const auto& v = it->value();
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    n = static_cast<std::int64_t>(v.get_uint64());
  } else {
    fail(Errc::bad_request, field(key) + " must be an integer");
  }
  if (n < min || n > max) {
    fail(Errc::bad_request,
         field(key) + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

std::int64_t require_int(const bj::object& o, std::string_view key, std::int64_t min,
                         std::int64_t max) {
  auto v = optional_int(o, key, min, max);
  if (!v) fail(Errc::bad_request, "missing required field " + field(key));
  return *v;
}

std::optional<bool> optional_bool(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_bool()) fail(Errc::bad_request, field(key) + " must be true or false");
  return it->value().get_bool();
}

const bj::array* optional_array(const bj::object& o, std::string_view key, std::size_t max_items) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  if (!it->value().is_array()) fail(Errc::bad_request, field(key) + " must be an array");
  const auto& a = it->value().get_array();
  if (a.size() > max_items) {
    fail(Errc::bad_request, field(key) + " has more than " + std::to_string(max_items) + " items");
  }
  return &a;
}

const bj::array& require_array(const bj::object& o, std::string_view key, std::size_t max_items) {
  const auto* a = optional_array(o, key, max_items);
  if (!a) fail(Errc::bad_request, "missing required field " + field(key));
  return *a;
}

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    out += '\\';
    switch (c) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '\b':
        out += 'b';
        break;
      case '\f':
        out += 'f';
        break;
      case '\n':
        out += 'n';
        break;
      case '\r':
        out += 'r';
        break;
      case '\t':
        out += 't';
        break;
      default:
        out += "u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

}  // namespace parley::json
