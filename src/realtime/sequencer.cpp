#include "realtime/sequencer.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "realtime/gateway.hpp"

namespace parley::realtime {

Sequencer::Sequencer(Hub& hub, std::int64_t hold_ms, metrics::Registry& m)
    : hub_(hub),
      hold_ms_(hold_ms),
      duplicates_(m.counter("parley_cluster_duplicate_events_total",
                            "Message events dropped because their seq was already passed on")),
      reordered_(m.counter("parley_cluster_reordered_events_total",
                           "Message events held because an earlier seq had not arrived")),
      fills_(m.counter("parley_cluster_gap_fills_total",
                       "Store reads made to fill a gap in a conversation's events")),
      filled_(m.counter("parley_cluster_filled_messages_total",
                        "Messages delivered from the store because their event never came")),
      skipped_(m.counter("parley_cluster_skipped_gaps_total",
                         "Gaps given up on because the store did not have the messages")) {}

void Sequencer::set_fill(Run run, Fetch fetch) {
  run_ = std::move(run);
  fetch_ = std::move(fetch);
}

std::size_t Sequencer::tracked() const {
  std::lock_guard lock(mu_);
  return tracks_.size();
}

void Sequencer::offer(Id conv, std::int64_t seq, SharedFrame frame, std::int64_t now) {
  bool fill_now = false;
  std::int64_t after = 0;
  {
    std::lock_guard lock(mu_);
    auto [it, fresh] = tracks_.try_emplace(conv);
    Track& t = it->second;
    t.touched = now;
    if (fresh) t.last = seq - 1;
    if (seq <= t.last) {
      duplicates_.inc();
      return;
    }
    if (seq == t.last + 1) {
      hub_.publish(conv, seq, std::move(frame));
      t.last = seq;
      drain(conv, t);
      return;
    }
    reordered_.inc();
    t.held.emplace(seq, std::move(frame));
    if (t.held_since == 0) t.held_since = now;
    if (t.held.size() > kMaxHeld && !t.filling) {
      t.filling = fill_now = true;
      after = t.last;
    }
  }
  if (fill_now) fill(conv, after, now);
}

void Sequencer::drain(Id conv, Track& t) {
  while (!t.held.empty() && t.held.begin()->first <= t.last + 1) {
    auto node = t.held.extract(t.held.begin());
    if (node.key() == t.last + 1) {
      hub_.publish(conv, node.key(), std::move(node.mapped()));
      t.last = node.key();
    } else {
      duplicates_.inc();
    }
  }
  if (t.held.empty()) t.held_since = 0;
}

void Sequencer::tick(std::int64_t now) {
  std::vector<std::pair<Id, std::int64_t>> due;
  {
    std::lock_guard lock(mu_);
    for (auto it = tracks_.begin(); it != tracks_.end();) {
      Track& t = it->second;
      if (!t.held.empty() && !t.filling && now - t.held_since >= hold_ms_) {
        t.filling = true;
        due.emplace_back(it->first, t.last);
      }
      if (t.held.empty() && !t.filling && now - t.touched > kForgetMs) {
        it = tracks_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto [conv, after] : due) fill(conv, after, now);
}

void Sequencer::resync(std::int64_t now) {
  std::vector<std::pair<Id, std::int64_t>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [conv, t] : tracks_) {
      if (t.filling) continue;
      t.filling = true;
      all.emplace_back(conv, t.last);
    }
  }
  for (auto [conv, after] : all) fill(conv, after, now);
}

void Sequencer::fill(Id conv, std::int64_t after, std::int64_t now) {
  fills_.inc();
  if (!run_ || !fetch_) {
    filled(conv, {}, true, now);
    return;
  }
  run_([this, conv, after, now] {
    std::vector<store::Message> got;
    bool ok = true;
    try {
      got = fetch_(conv, after, kFillLimit);
    } catch (const std::exception& e) {
      ok = false;
      log::warn("cluster_gap_fill_failed", {{"conv", conv}, {"error", e.what()}});
    }
    filled(conv, got, ok, now);
  });
}

void Sequencer::filled(Id conv, const std::vector<store::Message>& got, bool ok, std::int64_t now) {
  std::lock_guard lock(mu_);
  auto it = tracks_.find(conv);
  if (it == tracks_.end()) return;
  Track& t = it->second;
  t.filling = false;
  if (!ok) {
    if (!t.held.empty()) t.held_since = now;  // try again after hold_ms
    return;
  }
  for (const auto& m : got) {
    if (m.seq != t.last + 1) continue;
    hub_.publish(conv, m.seq, text_frame(message_event(m, true)));
    t.last = m.seq;
    t.held.erase(m.seq);
    filled_.inc();
  }
  drain(conv, t);
  if (t.held.empty()) return;
  if (got.size() >= static_cast<std::size_t>(kFillLimit)) {
    t.held_since = now - hold_ms_;  // more to read: at the next tick
    return;
  }
  // The store has nothing between: never expected, as events are published
  // after their commit. Do not hold the conversation up for it.
  skipped_.inc();
  log::warn("cluster_gap_skipped",
            {{"conv", conv}, {"from", t.last + 1}, {"to", t.held.begin()->first - 1}});
  t.last = t.held.begin()->first - 1;
  drain(conv, t);
}

}  // namespace parley::realtime
