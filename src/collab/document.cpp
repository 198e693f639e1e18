#include "collab/document.hpp"

#include <algorithm>

#include "collab/gc.hpp"
#include "collab/lib0.hpp"

namespace parley::collab {

namespace {

// The state vector counts, per client, what is whole from clock 0 (what Yjs
// would integrate; structs past a gap wait for what they need), as
// Y.encodeStateVectorFromUpdate does; clients with nothing from 0 are left
// out. Yjs writes higher clients first.
std::string encode_state_vector(const std::map<std::uint64_t, std::vector<DeleteRange>>& held) {
  std::size_t n = 0;
  for (const auto& [client, ranges] : held) n += !ranges.empty() && ranges.front().clock == 0;
  Lib0Writer w;
  w.var_uint(n);
  for (auto it = held.rbegin(); it != held.rend(); ++it) {
    const auto& ranges = it->second;
    if (ranges.empty() || ranges.front().clock != 0) continue;
    w.var_uint(it->first);
    w.var_uint(ranges.front().length);
  }
  return w.take();
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

std::string YDocument::state_vector() const { return encode_state_vector(held_); }

const std::string& YDocument::state() const {
  merge_pending();
  return state_;
}

void YDocument::merge_pending() const {
  if (pending_.empty()) return;
  std::vector<std::string_view> all;
  all.reserve(pending_.size() + 1);
  all.emplace_back(state_);
  for (const auto& p : pending_) all.emplace_back(p);
  state_ = merge_updates(all);
  pending_.clear();
  pending_bytes_ = 0;
}

void YDocument::collect_garbage() {
  merge_pending();
  state_ = parley::collab::collect_garbage(state_);
}

std::string YDocument::missing_for(std::string_view state_vector) const {
  return diff_update(state(), state_vector);
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
      if (held != held_.end() && ranges_cover(held->second, st.clock, st.length)) continue;
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
  pending_bytes_ += bytes.size();
  pending_.push_back(bytes);
  if (pending_.size() >= kMaxPending) merge_pending();
  return bytes;
}

}  // namespace parley::collab
