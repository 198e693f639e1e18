#include "cluster/redis_broker.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace parley::cluster {

namespace asio = boost::asio;

RedisBroker::RedisBroker(RedisUrl url, std::string channel, std::uint32_t node_id,
                         metrics::Registry& m)
    : url_(std::move(url)),
      channel_(std::move(channel)),
      node_id_(node_id),
      up_(m.gauge("parley_cluster_redis_up",
                  "1 when both Redis connections (publish, subscribe) are up; 0: degraded")),
      published_(m.counter("parley_cluster_events_published_total",
                           "Committed events published to the other nodes")),
      dropped_(m.counter("parley_cluster_events_dropped_total",
                         "Events not published because Redis was unavailable")),
      received_(m.counter("parley_cluster_events_received_total",
                          "Events received from other nodes")),
      malformed_(m.counter("parley_cluster_events_malformed_total",
                           "Broker messages that could not be decoded")),
      resyncs_(m.counter("parley_cluster_resyncs_total",
                         "Times this node refetched from the store after missing broker traffic")) {}

RedisBroker::~RedisBroker() { stop(); }

void RedisBroker::start(Handlers handlers) {
  handlers_ = std::move(handlers);
  pub_ = std::make_unique<RedisConnection>(
      io_, url_, "publish",
      RedisConnection::Hooks{[this] {
                               update_health();
                               // Our publishes may have been dropped while down:
                               // have every node refetch.
                               ClusterEvent e;
                               e.kind = ClusterEvent::Kind::resync;
                               e.origin = node_id_;
                               pub_->command({"PUBLISH", channel_, encode(e)}, nullptr);
                             },
                             [this] { update_health(); }});
  sub_ = std::make_unique<RedisConnection>(
      io_, url_, "subscribe",
      RedisConnection::Hooks{[this] {
                               sub_->subscribe(channel_, [this](std::string_view wire) {
                                 auto e = decode(wire);
                                 if (!e) {
                                   malformed_.inc();
                                   return;
                                 }
                                 if (e->origin == node_id_) return;  // our own, already delivered
                                 received_.inc();
                                 if (e->kind == ClusterEvent::Kind::resync) {
                                   resyncs_.inc();
                                   if (handlers_.resync) handlers_.resync();
                                   return;
                                 }
                                 if (handlers_.event) handlers_.event(std::move(*e));
                               });
                               update_health();
                               // Whatever was published while we were away is lost
                               // to pub/sub: catch up from the store.
                               resyncs_.inc();
                               if (handlers_.resync) handlers_.resync();
                             },
                             [this] { update_health(); }});
  asio::post(io_, [this] {
    pub_->start();
    sub_->start();
  });
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

void RedisBroker::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    pub_->stop();
    sub_->stop();
    io_.stop();
  });
  thread_.join();
  pub_.reset();
  sub_.reset();
}

void RedisBroker::publish(const ClusterEvent& e) {
  asio::post(io_, [this, wire = encode(e)]() mutable {
    bool sent = pub_ && pub_->command({"PUBLISH", channel_, std::move(wire)}, nullptr);
    sent ? published_.inc() : dropped_.inc();
  });
}

void RedisBroker::update_health() {
  bool ok = pub_ && sub_ && pub_->up() && sub_->up();
  healthy_ = ok;
  up_.set(ok ? 1 : 0);
  std::string why = "ok";
  if (!ok) {
    const RedisConnection* bad = (pub_ && !pub_->up()) ? pub_.get() : sub_.get();
    why = "redis unavailable: " + (bad && !bad->last_error().empty() ? bad->last_error()
                                                                     : std::string("connecting"));
  }
  if (ok != !was_degraded_) {
    was_degraded_ = !ok;
    ok ? log::info("cluster_connected", {}) : log::warn("cluster_degraded", {{"reason", why}});
  }
  std::lock_guard lock(status_mu_);
  status_ = why;
}

bool RedisBroker::healthy() const { return healthy_; }

std::string RedisBroker::status() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

}  // namespace parley::cluster
