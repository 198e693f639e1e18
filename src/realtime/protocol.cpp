#include "realtime/protocol.hpp"

#include <boost/json/parse.hpp>

#include "core/error.hpp"

namespace parley::realtime {

namespace bj = boost::json;

namespace {
[[noreturn]] void bad(std::string_view key, const char* what) {
  fail(Errc::bad_request, "'" + std::string(key) + "' " + what);
}
}  // namespace

Request decode_request(std::string_view text, std::size_t max_depth, bj::value* id_out) {
  boost::system::error_code ec;
  bj::parse_options opts;
  opts.max_depth = max_depth;
  bj::value v = bj::parse(text, ec, {}, opts);
  if (ec || !v.is_object()) fail(Errc::bad_request, "frames must be JSON objects");
  Request r;
  r.fields = std::move(v.get_object());
  if (auto it = r.fields.find("id"); it != r.fields.end()) {
    const auto& id = it->value();
    if (!id.is_null() && !id.is_string() && !id.is_int64() && !id.is_uint64()) {
      fail(Errc::bad_request, "'id' must be a string or an integer");
    }
    if (id.is_string() && id.get_string().size() > 128) fail(Errc::bad_request, "'id' is too long");
    r.id = id;
    if (id_out) *id_out = id;
  }
  auto op = r.fields.find("op");
  if (op == r.fields.end() || !op->value().is_string()) fail(Errc::bad_request, "missing 'op'");
  r.op = std::string(op->value().get_string());
  return r;
}

std::string_view string_field(const bj::object& o, std::string_view key, std::size_t max) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) bad(key, "must be a string");
  const auto& s = it->value().get_string();
  if (s.size() > max) bad(key, "is too long");
  return {s.data(), s.size()};
}

Id id_field(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  std::optional<Id> id;
  if (it != o.end() && it->value().is_string()) {
    const auto& s = it->value().get_string();
    id = parse_id({s.data(), s.size()});
  }
  if (!id) bad(key, "must be an id string");
  return *id;
}

std::int64_t seq_field(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_int64() || it->value().get_int64() < 0) {
    bad(key, "must be a non-negative integer");
  }
  return it->value().get_int64();
}

std::vector<std::pair<Id, std::int64_t>> subscriptions_field(const bj::object& o, std::size_t max) {
  auto it = o.find("conversations");
  if (it == o.end() || !it->value().is_array()) bad("conversations", "must be an array");
  const auto& arr = it->value().get_array();
  if (arr.empty() || arr.size() > max) {
    fail(Errc::bad_request, "subscribe to 1.." + std::to_string(max) + " conversations at once");
  }
  std::vector<std::pair<Id, std::int64_t>> out;
  for (const auto& item : arr) {
    if (!item.is_object()) bad("conversations", "must hold objects");
    const auto& sub = item.get_object();
    std::int64_t since = -1;
    if (auto s = sub.find("since"); s != sub.end() && !s->value().is_null()) {
      since = seq_field(sub, "since");
    }
    out.emplace_back(id_field(sub, "conv"), since);
  }
  return out;
}

std::vector<Id> id_list_field(const bj::object& o, std::string_view key, std::size_t max) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_array()) bad(key, "must be an array of ids");
  const auto& arr = it->value().get_array();
  if (arr.size() > max) bad(key, "has too many entries");
  std::vector<Id> out;
  for (const auto& v : arr) {
    if (!v.is_string()) bad(key, "must be an array of ids");
    if (auto id = parse_id({v.get_string().data(), v.get_string().size()})) out.push_back(*id);
  }
  return out;
}

}  // namespace parley::realtime
