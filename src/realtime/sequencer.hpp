// Sequencer: puts message.new events back in seq order per conversation
// before they reach the hub, when they come from several nodes.
//
// On one node commits arrive in seq order already. In a cluster, node A's
// seq 5 and node B's seq 6 reach node C over Redis in either order, and pub/sub
// may drop one. The sequencer remembers, per conversation, the newest seq it
// passed to the hub: the next one goes straight through, an older one is a
// duplicate (our own event echoed back, or one already filled), and a newer
// one waits up to hold_ms for the missing ones before they are read from the
// store, the truth. resync() refetches everything newer than what was passed
// on, for when broker traffic may have been lost.
//
// The first event seen for a conversation sets its starting point; sessions
// check their own seq continuity too (ws_session) and repair from the store.
//
// Threading: any thread; one mutex, and hub posts under it keep the order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "realtime/hub.hpp"
#include "store/types.hpp"

namespace parley::realtime {

class Sequencer {
 public:
  using Fetch = std::function<std::vector<store::Message>(Id conv, std::int64_t after, int limit)>;
  using Run = std::function<void(std::function<void()>)>;

  Sequencer(Hub& hub, std::int64_t hold_ms, metrics::Registry& m);

  // How gaps are filled: run(fn) runs fn off the I/O threads; fetch reads
  // messages after a seq from the store. Without them gaps are skipped.
  void set_fill(Run run, Fetch fetch);

  void offer(Id conv, std::int64_t seq, SharedFrame frame, std::int64_t now);
  // Fills gaps held longer than hold_ms; forgets conversations idle for
  // forget_ms with nothing held.
  void tick(std::int64_t now);
  void resync(std::int64_t now);

  std::size_t tracked() const;

  static constexpr std::int64_t kForgetMs = 10 * 60 * 1000;
  static constexpr int kFillLimit = 1000;
  static constexpr std::size_t kMaxHeld = 10000;

 private:
  struct Track {
    std::int64_t last = 0;  // newest seq passed to the hub
    std::map<std::int64_t, SharedFrame> held;
    std::int64_t held_since = 0;
    std::int64_t touched = 0;
    bool filling = false;
  };
  // Passes held frames that are next in line; under mu_.
  void drain(Id conv, Track& t);
  void fill(Id conv, std::int64_t after, std::int64_t now);
  void filled(Id conv, const std::vector<store::Message>& got, bool ok, std::int64_t now);

  Hub& hub_;
  std::int64_t hold_ms_;
  Run run_;
  Fetch fetch_;
  mutable std::mutex mu_;
  std::unordered_map<Id, Track> tracks_;
  metrics::Counter& duplicates_;
  metrics::Counter& reordered_;
  metrics::Counter& fills_;
  metrics::Counter& filled_;
  metrics::Counter& skipped_;
};

}  // namespace parley::realtime
