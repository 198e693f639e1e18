#include "core/ids.hpp"

#include <charconv>
#include <chrono>

namespace parley {

namespace {
constexpr std::uint64_t kEpochMs = 1704067200000ULL;  // 2024-01-01T00:00:00Z
constexpr unsigned kSeqBits = 12;
constexpr unsigned kNodeBits = 10;

std::uint64_t now_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}
}  // namespace

IdGenerator::IdGenerator(unsigned node_id) : node_(node_id & ((1U << kNodeBits) - 1)) {}

Id IdGenerator::next() {
  // last_ packs (ms, seq). Take max(now, last + 1): when the clock stands still
  // or steps back, ids keep increasing by borrowing from the sequence space.
  std::uint64_t prev = last_.load(std::memory_order_relaxed);
  std::uint64_t next = 0;
  do {
    std::uint64_t candidate = (now_ms() - kEpochMs) << kSeqBits;
    next = candidate > prev ? candidate : prev + 1;
  } while (!last_.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  std::uint64_t ms = next >> kSeqBits;
  std::uint64_t seq = next & ((1U << kSeqBits) - 1);
  return static_cast<Id>((ms << (kSeqBits + kNodeBits)) | (node_ << kSeqBits) | seq);
}

Id first_id_at(std::int64_t unix_ms) {
  if (unix_ms <= static_cast<std::int64_t>(kEpochMs)) return 0;
  return static_cast<Id>((static_cast<std::uint64_t>(unix_ms) - kEpochMs)
                         << (kSeqBits + kNodeBits));
}

std::string id_to_string(Id id) { return std::to_string(id); }

std::optional<Id> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  Id value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

}  // namespace parley
