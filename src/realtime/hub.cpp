#include "realtime/hub.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>

#include "core/metrics.hpp"

namespace parley::realtime {

Hub::Hub(metrics::Registry& m)
    : published_(
          m.counter("parley_ws_events_published_total", "Event frames published to the hub")),
      deliveries_(
          m.counter("parley_ws_deliveries_total", "Event frames queued to subscribed connections")),
      subscriptions_(m.gauge("parley_ws_subscriptions", "Conversation subscriptions held")),
      publish_to_queue_(m.histogram(
          "parley_ws_publish_to_deliver_seconds",
          "From an event's publication (right after its commit) to its frame being queued on "
          "every local subscriber of one worker")) {}

void Hub::attach(std::vector<boost::asio::io_context*> workers) {
  workers_ = std::move(workers);
  locals_.clear();
  for (std::size_t i = 0; i < workers_.size(); ++i) locals_.push_back(std::make_unique<Local>());
}

void Hub::subscribe(std::size_t worker, Id conversation_id, Subscriber* s) {
  auto& list = locals_[worker]->subscribers[conversation_id];
  if (std::find(list.begin(), list.end(), s) == list.end()) {
    list.push_back(s);
    subscriptions_.inc();
  }
}

void Hub::unsubscribe(std::size_t worker, Id conversation_id, Subscriber* s) {
  auto& table = locals_[worker]->subscribers;
  auto it = table.find(conversation_id);
  if (it == table.end()) return;
  auto& list = it->second;
  auto pos = std::find(list.begin(), list.end(), s);
  if (pos == list.end()) return;
  *pos = list.back();
  list.pop_back();
  subscriptions_.dec();
  if (list.empty()) table.erase(it);
}

void Hub::add_session(std::size_t worker, Subscriber* s) { locals_[worker]->sessions.insert(s); }

void Hub::remove_session(std::size_t worker, Subscriber* s) {
  if (worker < locals_.size()) locals_[worker]->sessions.erase(s);
}

void Hub::disconnect(Id user_id, Id family, std::uint16_t code, const char* reason) {
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    Local* local = locals_[i].get();
    boost::asio::post(*workers_[i], [local, user_id, family, code, reason] {
      std::vector<Subscriber*> victims;
      for (Subscriber* s : local->sessions) {
        if (s->user() == user_id && (family == 0 || s->login_family() == family)) {
          victims.push_back(s);
        }
      }
      for (Subscriber* s : victims) s->disconnect(code, reason);
    });
  }
}

void Hub::to_user(Id user_id, SharedFrame frame) {
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    Local* local = locals_[i].get();
    boost::asio::post(*workers_[i], [local, user_id, frame] {
      std::vector<Subscriber*> targets;
      for (Subscriber* s : local->sessions) {
        if (s->user() == user_id) targets.push_back(s);
      }
      for (Subscriber* s : targets) s->deliver_to_user(frame);
    });
  }
}

void Hub::publish(Id conversation_id, std::int64_t seq, SharedFrame frame, Id left_user) {
  published_.inc();
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    Local* local = locals_[i].get();
    auto published = std::chrono::steady_clock::now();
    boost::asio::post(
        *workers_[i], [this, local, conversation_id, seq, frame, left_user, published] {
          auto it = local->subscribers.find(conversation_id);
          if (it == local->subscribers.end()) return;
          // Copy: a delivery may close a session, which unsubscribes it.
          auto targets = it->second;
          for (Subscriber* s : targets) s->deliver(conversation_id, seq, frame, left_user);
          deliveries_.inc(targets.size());
          publish_to_queue_.observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - published).count());
        });
  }
}

}  // namespace parley::realtime
