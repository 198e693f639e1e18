// The Broker on Redis pub/sub: one connection publishes, one subscribes to a
// single channel, both on a thread of their own running an io_context.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/broker.hpp"
#include "cluster/redis.hpp"

namespace parley::metrics {
class Registry;
class Counter;
class Gauge;
}  // namespace parley::metrics

namespace parley::cluster {

class RedisBroker final : public Broker {
 public:
  RedisBroker(RedisUrl url, std::string channel, std::uint32_t node_id, metrics::Registry& m);
  ~RedisBroker() override;

  void start(Handlers handlers) override;
  void stop() override;
  void publish(const ClusterEvent& e) override;
  bool healthy() const override;
  std::string status() const override;

  // The io_context the Redis connections run on (for other Redis users,
  // e.g. shared rate limits and presence).
  boost::asio::io_context& io() { return io_; }

 private:
  void update_health();

  RedisUrl url_;
  std::string channel_;
  std::uint32_t node_id_;
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
};

}  // namespace parley::cluster
