// Fan-out of committed events to subscribed WebSocket sessions.
//
// An event frame is serialised once into an immutable shared buffer; publish
// posts that one pointer to every worker, and each worker appends it to the
// outbound queue of each local subscriber of the conversation.
//
// Threading: publish() from any thread. subscribe/unsubscribe and deliveries
// happen on the subscriber's worker thread only, so each worker's table needs
// no lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/ids.hpp"

namespace boost::asio {
class io_context;
}

namespace parley::metrics {
class Registry;
class Counter;
class Gauge;
class Histogram;
}  // namespace parley::metrics

namespace parley::realtime {

using SharedFrame = std::shared_ptr<const std::string>;

// Implemented by a WebSocket session; called on its worker thread.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // seq: the message seq for message.new events, 0 for others. left_user: a
  // user whose membership just ended (their subscription must end with this
  // event), 0 for none.
  virtual void deliver(Id conversation_id, std::int64_t seq, const SharedFrame& frame,
                       Id left_user) = 0;
  // An event for this connection's user, whatever it subscribed to.
  virtual void deliver_to_user(const SharedFrame& frame) = 0;
  virtual Id user() const = 0;
  virtual Id login_family() const = 0;  // the refresh family of its token, 0 if unknown
  virtual void disconnect(std::uint16_t code, const char* reason) = 0;
};

class Hub {
 public:
  explicit Hub(metrics::Registry& m);

  // Before serving: the workers' event loops, by worker index.
  void attach(std::vector<boost::asio::io_context*> workers);

  void subscribe(std::size_t worker, Id conversation_id, Subscriber* s);
  void unsubscribe(std::size_t worker, Id conversation_id, Subscriber* s);

  void publish(Id conversation_id, std::int64_t seq, SharedFrame frame, Id left_user = 0);

  // Authenticated sessions, per worker (called on that worker's thread).
  void add_session(std::size_t worker, Subscriber* s);
  void remove_session(std::size_t worker, Subscriber* s);
  // Any thread: closes the user's sessions on every worker; family 0 = all of
  // them, otherwise only those authenticated by that login.
  void disconnect(Id user_id, Id family, std::uint16_t code, const char* reason);
  // Any thread: frame to every session of user_id on every worker (a scan of
  // the worker's sessions: for rare, per-user events such as being added to
  // a conversation, not for chat traffic).
  void to_user(Id user_id, SharedFrame frame);

 private:
  struct Local {
    std::unordered_map<Id, std::vector<Subscriber*>> subscribers;
    std::unordered_set<Subscriber*> sessions;
  };
  std::vector<boost::asio::io_context*> workers_;
  std::vector<std::unique_ptr<Local>> locals_;
  metrics::Counter& published_;
  metrics::Counter& deliveries_;
  metrics::Gauge& subscriptions_;
  metrics::Histogram& publish_to_queue_;
};

}  // namespace parley::realtime
