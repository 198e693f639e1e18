// One Yjs document held by the server: the merged state of everything
// clients sent, its state vector and delete set. A client's update is cut to
// what the document lacks before it is kept (a reconnecting client's step 2
// repeats its whole state: keeping that would grow the log by a full copy
// on every reconnect). Not thread-safe: its owner serialises access.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "collab/yupdate.hpp"

namespace parley::collab {

class YDocument {
 public:
  // Applies an update; returns the part that was new to the document (empty
  // when it held all of it already). Malformed updates are Error(bad_request)
  // and change nothing.
  std::string apply(std::string_view update);

  // The whole document as one update (Y.encodeStateAsUpdate's content).
  // What apply() kept is merged in here, lazily: typing costs a merge of the
  // whole document once per read or per kMaxPending updates, not per update.
  const std::string& state() const;
  // Encoded state vector (sync step 1's body).
  std::string state_vector() const;
  // What a peer with `state_vector` lacks (the answer to its step 1).
  std::string missing_for(std::string_view state_vector) const;

  // Replaces deleted content in the state by its length (collab/gc.hpp);
  // what the document holds and its state vector do not change.
  void collect_garbage();

  // The merged state's size, or a bound on it while updates wait to merge.
  std::size_t bytes() const noexcept { return state_.size() + pending_bytes_; }

  static constexpr std::size_t kMaxPending = 256;

 private:
  void merge_pending() const;

  mutable std::string state_ = std::string("\0\0", 2);  // an empty update
  mutable std::vector<std::string> pending_;            // kept by apply(), not merged yet
  mutable std::size_t pending_bytes_ = 0;
  // Per client, the clock ranges the state holds and those it has deleted
  // (each sorted and joined).
  std::map<std::uint64_t, std::vector<DeleteRange>> held_;
  std::map<std::uint64_t, std::vector<DeleteRange>> deleted_;
};

// Ranges of `add` not covered by `have` (both sorted and joined).
std::vector<DeleteRange> subtract_ranges(const std::vector<DeleteRange>& add,
                                         const std::vector<DeleteRange>& have);

}  // namespace parley::collab
