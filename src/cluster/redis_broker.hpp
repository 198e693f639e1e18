// The Broker on Redis pub/sub: one connection publishes, one subscribes to a
// single channel, both on a thread of their own running an io_context.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/broker.hpp"
#include "cluster/redis.hpp"
#include "cluster/shared_state.hpp"

namespace parley::metrics {
class Registry;
class Counter;
class Gauge;
}  // namespace parley::metrics

namespace parley::cluster {

class RedisBroker final : public Broker, public SharedState {
 public:
  // shared_timeout: how long a shared-state call (tickets, presence, limits)
  // waits for Redis before the caller falls back to this node's own state.
  RedisBroker(RedisUrl url, std::string channel, std::uint32_t node_id, metrics::Registry& m,
              std::chrono::milliseconds shared_timeout);
  ~RedisBroker() override;

  void start(Handlers handlers) override;
  void stop() override;
  void publish(const ClusterEvent& e) override;
  bool healthy() const override;
  std::string status() const override;

  bool put(const std::string& key, const std::string& value, std::int64_t ttl_ms) override;
  void take(const std::string& key, std::function<void(std::optional<std::string>)> done) override;
  std::optional<double> limit(const std::string& op, const std::string& key, double rate_per_second,
                              double burst) override;
  void heartbeat(const std::vector<std::int64_t>& online_users,
                 const std::vector<std::int64_t>& gone_users, std::int64_t ttl_ms,
                 std::int64_t now_ms) override;
  std::optional<Presence> presence(std::int64_t user_id, std::int64_t now_ms) override;

  // One command on the publishing connection; done gets the reply, or
  // nullopt when Redis is unavailable or has not answered within timeout.
  // done runs on the broker thread.
  void call(std::vector<std::string> argv, std::chrono::milliseconds timeout,
            std::function<void(std::optional<RedisValue>)> done);
  // The same, waiting for the answer (never on an I/O thread).
  std::optional<RedisValue> call_blocking(std::vector<std::string> argv,
                                          std::chrono::milliseconds timeout);

 private:
  void update_health();
  void publisher_up();
  void subscriber_up();
  void on_message(std::string_view wire);
  // Tells the node to catch up from the store (broker traffic may be lost).
  void resync();

  RedisUrl url_;
  std::string channel_;
  std::uint32_t node_id_;
  std::chrono::milliseconds shared_timeout_;
  Handlers handlers_;
  boost::asio::io_context io_;
  std::unique_ptr<RedisConnection> pub_;
  std::unique_ptr<RedisConnection> sub_;
  std::thread thread_;
  std::atomic<bool> healthy_{false};
  bool was_degraded_ = true;  // broker thread only; true until first connected
  mutable std::mutex status_mu_;
  std::string status_ = "connecting";

  metrics::Gauge& up_;
  metrics::Counter& published_;
  metrics::Counter& dropped_;
  metrics::Counter& received_;
  metrics::Counter& malformed_;
  metrics::Counter& resyncs_;
  metrics::Counter& shared_failures_;
  std::uint32_t node() const { return node_id_; }
};

}  // namespace parley::cluster
