// Time-ordered 64-bit identifiers: 41 bits of milliseconds since 2024-01-01,
// 10 bits of node id, 12 bits of sequence within the millisecond. Sortable by
// creation time, unique across a cluster whose nodes have distinct node ids.
// Carried as decimal strings in JSON (JavaScript numbers lose precision).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley {

using Id = std::int64_t;

// Any thread; lock-free.
class IdGenerator {
 public:
  explicit IdGenerator(unsigned node_id);
  Id next();

 private:
  std::uint64_t node_;
  std::atomic<std::uint64_t> last_{0};  // (ms << 12) | seq of the last id handed out
};

// The smallest id any generator hands out at `unix_ms` or later: messages
// with a smaller id were created before then.
Id first_id_at(std::int64_t unix_ms);

std::string id_to_string(Id id);
// Parses a decimal id; nullopt unless it is a positive integer that fits.
std::optional<Id> parse_id(std::string_view text);

}  // namespace parley
