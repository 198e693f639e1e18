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
#include <vector>

#include "core/ids.hpp"

namespace boost::asio {
class io_context;
}

namespace parley::metrics {
class Registry;
class Counter;
class Gauge;
}  // namespace parley::metrics

namespace parley::realtime {

using SharedFrame = std::shared_ptr<const std::string>;

// Implemented by a WebSocket session; called on its worker thread.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // seq: the message seq for message.new events, 0 for others.
  virtual void deliver(Id conversation_id, std::int64_t seq, const SharedFrame& frame) = 0;
};

class Hub {
 public:
  explicit Hub(metrics::Registry& m);

  // Before serving: the workers' event loops, by worker index.
  void attach(std::vector<boost::asio::io_context*> workers);

  void subscribe(std::size_t worker, Id conversation_id, Subscriber* s);
  void unsubscribe(std::size_t worker, Id conversation_id, Subscriber* s);

  void publish(Id conversation_id, std::int64_t seq, SharedFrame frame);

 private:
  struct Local {
    std::unordered_map<Id, std::vector<Subscriber*>> subscribers;
  };
  std::vector<boost::asio::io_context*> workers_;
  std::vector<std::unique_ptr<Local>> locals_;
  metrics::Counter& published_;
  metrics::Counter& deliveries_;
  metrics::Gauge& subscriptions_;
};

}  // namespace parley::realtime
