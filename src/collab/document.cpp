#include "collab/document.hpp"

#include <algorithm>

#include "collab/lib0.hpp"

namespace parley::collab {

namespace {

std::string encode_state_vector(const std::map<std::uint64_t, std::uint64_t>& clocks) {
  // Yjs writes state vectors with higher clients first.
  Lib0Writer w;
  w.var_uint(clocks.size());
  for (auto it = clocks.rbegin(); it != clocks.rend(); ++it) {
    w.var_uint(it->first);
    w.var_uint(it->second);
  }
  return w.take();
}

// Whether [clock, clock + length) lies inside one of the sorted, joined ranges.
bool covers(const std::vector<DeleteRange>& ranges, std::uint64_t clock, std::uint64_t length) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), clock,
                             [](std::uint64_t c, const DeleteRange& r) { return c < r.clock; });
  if (it == ranges.begin()) return false;
  --it;
  return it->clock <= clock && clock + length <= it->clock + it->length;
}

}  // namespace

std::vector<DeleteRange> subtract_ranges(const std::vector<DeleteRange>& add,
                                         const std::vector<DeleteRange>& have) {
  std::vector<DeleteRange> out;
  std::size_t h = 0;
  for (DeleteRange r : add) {
    std::uint64_t end = r.clock + r.length;
    while (h < have.size() && have[h].clock + have[h].length <= r.clock) ++h;
    std::uint64_t at = r.clock;
    for (std::size_t k = h; k < have.size() && have[k].clock < end; ++k) {
      if (have[k].clock > at) out.push_back({at, have[k].clock - at});
      at = std::max(at, have[k].clock + have[k].length);
    }
    if (at < end) out.push_back({at, end - at});
  }
  return out;
}

std::string YDocument::state_vector() const { return encode_state_vector(clocks_); }

std::string YDocument::missing_for(std::string_view state_vector) const {
  return diff_update(state_, state_vector);
}

std::string YDocument::apply(std::string_view update) {
  YUpdate incoming = decode_update(update);
  // Structs the document does not hold yet (those after a gap included),
  // and deletions it does not have.
  YUpdate part;
  for (const auto& cs : incoming.clients) {
    ClientStructs kept{cs.client, {}};
    auto held = held_.find(cs.client);
    for (const auto& st : cs.structs) {
      if (st.kind == YStruct::Kind::skip) continue;
      if (held != held_.end() && covers(held->second, st.clock, st.length)) continue;
      // One that overlaps what is held only in part is kept whole: the
      // merge below slices it.
      kept.structs.push_back(st);
    }
    if (!kept.structs.empty()) part.clients.push_back(std::move(kept));
  }
  for (const auto& cd : incoming.deletes) {
    auto it = deleted_.find(cd.client);
    auto ranges = join_ranges(cd.ranges);
    if (it != deleted_.end()) ranges = subtract_ranges(ranges, it->second);
    if (!ranges.empty()) part.deletes.push_back({cd.client, std::move(ranges)});
  }
  if (part.clients.empty() && part.deletes.empty()) return {};
  std::string bytes = encode_update(part);

  std::string_view both[] = {state_, bytes};
  std::string merged = merge_updates(both);
  // The state vector counts what is whole from clock 0 (what Yjs would
  // integrate); structs past a gap wait in the state for what they need.
  auto vector = decode_state_vector(state_vector_of_update(merged));
  std::map<std::uint64_t, std::uint64_t> clocks(vector.begin(), vector.end());
  for (const auto& cs : part.clients) {
    auto& held = held_[cs.client];
    for (const auto& st : cs.structs) held.push_back({st.clock, st.length});
    held = join_ranges(std::move(held));
  }
  for (const auto& cd : part.deletes) {
    auto& have = deleted_[cd.client];
    have.insert(have.end(), cd.ranges.begin(), cd.ranges.end());
    have = join_ranges(std::move(have));
  }
  state_ = std::move(merged);
  clocks_ = std::move(clocks);
  return bytes;
}

}  // namespace parley::collab
