// Protocol v1 request decoding (docs/protocol.md), kept apart from the
// session so it can be unit-tested and fuzzed on its own.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ids.hpp"

namespace parley::realtime {

struct Request {
  boost::json::value id;  // null, string or integer: echoed in the reply
  std::string op;
  boost::json::object fields;
};

// Parses one text frame into a request. Throws Error(bad_request) for what is
// not a JSON object with a string "op" and a string/integer/absent "id";
// *id_out receives the id whenever one could be read, so the error reply can
// still carry it.
Request decode_request(std::string_view text, std::size_t max_depth, boost::json::value* id_out);

// Field readers; each throws Error(bad_request) naming the field.
std::string_view string_field(const boost::json::object& o, std::string_view key, std::size_t max);
Id id_field(const boost::json::object& o, std::string_view key);
std::int64_t seq_field(const boost::json::object& o, std::string_view key);

// subscribe: [(conversation, since or -1 for "from now")], 1..max entries.
std::vector<std::pair<Id, std::int64_t>> subscriptions_field(const boost::json::object& o,
                                                             std::size_t max);
// unsubscribe: ids; entries that are not ids are skipped.
std::vector<Id> id_list_field(const boost::json::object& o, std::string_view key, std::size_t max);

}  // namespace parley::realtime
