#include "cluster/redis_broker.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <future>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace parley::cluster {

namespace asio = boost::asio;

RedisBroker::RedisBroker(RedisUrl url, std::string channel, std::uint32_t node_id,
                         metrics::Registry& m, std::chrono::milliseconds shared_timeout)
    : url_(std::move(url)),
      channel_(std::move(channel)),
      node_id_(node_id),
      shared_timeout_(shared_timeout),
      up_(m.gauge("parley_cluster_redis_up",
                  "1 when both Redis connections (publish, subscribe) are up; 0: degraded")),
      published_(m.counter("parley_cluster_events_published_total",
                           "Committed events published to the other nodes")),
      dropped_(m.counter("parley_cluster_events_dropped_total",
                         "Events not published because Redis was unavailable")),
      received_(
          m.counter("parley_cluster_events_received_total", "Events received from other nodes")),
      malformed_(m.counter("parley_cluster_events_malformed_total",
                           "Broker messages that could not be decoded")),
      resyncs_(m.counter("parley_cluster_resyncs_total",
                         "Times this node refetched from the store after missing broker traffic")),
      shared_failures_(m.counter("parley_cluster_shared_state_failures_total",
                                 "Shared-state calls (tickets, presence, rate limits) Redis did "
                                 "not answer; the node used its own state instead")) {}

RedisBroker::~RedisBroker() { stop(); }

void RedisBroker::start(Handlers handlers) {
  handlers_ = std::move(handlers);
  auto down = [this] { update_health(); };
  pub_ = std::make_unique<RedisConnection>(
      io_, url_, "publish", RedisConnection::Hooks{[this] { publisher_up(); }, down});
  sub_ = std::make_unique<RedisConnection>(
      io_, url_, "subscribe", RedisConnection::Hooks{[this] { subscriber_up(); }, down});
  asio::post(io_, [this] {
    pub_->start();
    sub_->start();
  });
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

void RedisBroker::publisher_up() {
  update_health();
  // Our publishes may have been dropped while down: have every node refetch.
  ClusterEvent e;
  e.kind = ClusterEvent::Kind::resync;
  e.origin = node_id_;
  pub_->command({"PUBLISH", channel_, encode(e)}, nullptr);
}

void RedisBroker::subscriber_up() {
  sub_->subscribe(channel_, [this](std::string_view wire) { on_message(wire); });
  update_health();
  // Whatever was published while we were away is lost to pub/sub.
  resync();
}

void RedisBroker::on_message(std::string_view wire) {
  auto e = decode(wire);
  if (!e) {
    malformed_.inc();
    return;
  }
  if (e->origin == node_id_) return;  // our own, already delivered
  received_.inc();
  if (e->kind == ClusterEvent::Kind::resync) {
    resync();
  } else if (handlers_.event) {
    handlers_.event(std::move(*e));
  }
}

void RedisBroker::resync() {
  resyncs_.inc();
  if (handlers_.resync) handlers_.resync();
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
    why = "redis unavailable: " +
          (bad && !bad->last_error().empty() ? bad->last_error() : std::string("connecting"));
  }
  if (ok != !was_degraded_) {
    was_degraded_ = !ok;
    ok ? log::info("cluster_connected", {}) : log::warn("cluster_degraded", {{"reason", why}});
  }
  std::lock_guard lock(status_mu_);
  status_ = why;
}

bool RedisBroker::healthy() const { return healthy_; }

namespace {
// GCRA on the server's clock, as RateLimiter does it locally. KEYS[1]: the
// key (its value: the theoretical arrival time, ms). ARGV: op, interval (ms
// per event), tolerance (ms: interval * (burst - 1)). Returns the ms to wait,
// 0 when allowed.
constexpr const char* kGcraScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op, interval, tolerance = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if op == 'reset' then redis.call('DEL', KEYS[1]) return 0 end
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if allow_at > now then return allow_at - now end
if op == 'acquire' then
  redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(tat + interval - now) + 1000)
end
return 0
)lua";
}  // namespace

void RedisBroker::call(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                       std::function<void(std::optional<RedisValue>)> done) {
  asio::post(io_, [this, argv = std::move(argv), timeout, done = std::move(done)]() mutable {
    // Whichever comes first, the reply or the timer, answers; once.
    auto answered = std::make_shared<bool>(false);
    auto shared_done =
        std::make_shared<std::function<void(std::optional<RedisValue>)>>(std::move(done));
    auto timer = std::make_shared<asio::steady_timer>(io_, timeout);
    auto finish = [this, answered, shared_done, timer](std::optional<RedisValue> v) {
      if (*answered) return;
      *answered = true;
      timer->cancel();
      if (!v) shared_failures_.inc();
      (*shared_done)(std::move(v));
    };
    timer->async_wait([finish](boost::system::error_code ec) {
      if (!ec) finish(std::nullopt);
    });
    bool sent = pub_ && pub_->command(argv, [finish](const redisReply* r) {
      if (!r) {
        finish(std::nullopt);
        return;
      }
      RedisValue v = copy_reply(r);
      if (v.type == RedisValue::Type::error) {
        log::warn("redis_command_failed", {{"error", v.str}});
        finish(std::nullopt);
        return;
      }
      finish(std::move(v));
    });
    if (!sent) finish(std::nullopt);
  });
}

std::optional<RedisValue> RedisBroker::call_blocking(std::vector<std::string> argv,
                                                     std::chrono::milliseconds timeout) {
  if (!thread_.joinable()) return std::nullopt;
  auto promise = std::make_shared<std::promise<std::optional<RedisValue>>>();
  auto future = promise->get_future();
  call(std::move(argv), timeout,
       [promise](std::optional<RedisValue> v) { promise->set_value(std::move(v)); });
  if (future.wait_for(timeout + std::chrono::milliseconds(500)) != std::future_status::ready) {
    return std::nullopt;  // the broker thread is stopping
  }
  return future.get();
}

bool RedisBroker::put(const std::string& key, const std::string& value, std::int64_t ttl_ms) {
  auto r = call_blocking({"SET", key, value, "PX", std::to_string(ttl_ms)}, shared_timeout_);
  return r && r->type == RedisValue::Type::status;
}

void RedisBroker::take(const std::string& key,
                       std::function<void(std::optional<std::string>)> done) {
  call({"GETDEL", key}, shared_timeout_, [done = std::move(done)](std::optional<RedisValue> v) {
    if (v && v->type == RedisValue::Type::string) {
      done(std::move(v->str));
    } else {
      done(std::nullopt);
    }
  });
}

std::optional<double> RedisBroker::limit(const std::string& op, const std::string& key,
                                         double rate_per_second, double burst) {
  double interval_ms = 1000.0 / rate_per_second;
  double tolerance_ms = interval_ms * (burst - 1);  // as in RateLimiter: `burst` at once
  auto r = call_blocking(
      {"EVAL", kGcraScript, "1", key, op, std::to_string(static_cast<long long>(interval_ms)),
       std::to_string(static_cast<long long>(tolerance_ms))},
      shared_timeout_);
  if (!r || r->type != RedisValue::Type::integer) return std::nullopt;
  return static_cast<double>(r->integer) / 1000.0;
}

void RedisBroker::heartbeat(const std::vector<std::int64_t>& online_users,
                            const std::vector<std::int64_t>& gone_users, std::int64_t ttl_ms,
                            std::int64_t now_ms) {
  // Fire and forget, one post for the lot: nobody waits for these replies,
  // and the next heartbeat repairs whatever a Redis outage dropped.
  asio::post(io_, [this, online_users, gone_users, ttl_ms, now_ms] {
    if (!pub_ || !pub_->up()) {
      shared_failures_.inc();
      return;
    }
    std::string node = std::to_string(node_id_);
    std::string until = std::to_string(now_ms + ttl_ms);
    std::string expire = std::to_string(ttl_ms * 2);
    for (auto user : online_users) {
      std::string key = "parley:presence:" + std::to_string(user);
      pub_->command({"HSET", key, node, until}, nullptr);
      pub_->command({"PEXPIRE", key, expire}, nullptr);
    }
    std::string now = std::to_string(now_ms);
    std::string keep = std::to_string(30LL * 86400 * 1000);  // last_seen lasts 30 days
    for (auto user : gone_users) {
      std::string id = std::to_string(user);
      pub_->command({"HDEL", "parley:presence:" + id, node}, nullptr);
      pub_->command({"SET", "parley:last_seen:" + id, now, "PX", keep}, nullptr);
    }
  });
}

std::optional<SharedState::Presence> RedisBroker::presence(std::int64_t user_id,
                                                           std::int64_t now_ms) {
  std::string id = std::to_string(user_id);
  auto nodes = call_blocking({"HGETALL", "parley:presence:" + id}, shared_timeout_);
  auto seen = call_blocking({"GET", "parley:last_seen:" + id}, shared_timeout_);
  if (!nodes || nodes->type != RedisValue::Type::array || !seen) return std::nullopt;
  Presence p;
  for (std::size_t i = 1; i < nodes->elements.size(); i += 2) {
    if (std::atoll(nodes->elements[i].str.c_str()) > now_ms) p.online = true;
  }
  if (seen->type == RedisValue::Type::string) p.last_seen = std::atoll(seen->str.c_str());
  return p;
}

std::string RedisBroker::status() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

}  // namespace parley::cluster
