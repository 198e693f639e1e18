// Single-use WebSocket tickets: a REST call (authenticated with the access
// token) gets a short-lived random ticket bound to the user; the browser puts
// it in the /ws URL, where a token would end up in logs and history.
//
// Threading: any thread; guarded by mu_. Bounded: at most max_tickets live.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/ids.hpp"

namespace parley::cluster {
class SharedState;
}

namespace parley::realtime {

class TicketStore {
 public:
  TicketStore(std::int64_t ttl_ms, std::size_t max_tickets);

  struct Holder {
    Id user_id = 0;
    Id family = 0;  // the login the ticket was issued to
  };
  // A new ticket for user, valid ttl_ms from now_ms.
  std::string issue(Id user_id, Id family, std::int64_t now_ms);
  // The holder of a live ticket, which is used up; nullopt if unknown/expired/used.
  std::optional<Holder> redeem(std::string_view ticket, std::int64_t now_ms);

  // Cluster mode: tickets live in Redis (one node issues, any redeems);
  // issue() keeps one here only when Redis does not take it. Before serving.
  void set_shared(cluster::SharedState* shared) { shared_ = shared; }
  bool shared() const { return shared_ != nullptr; }
  // A ticket redeem() did not know, looked up in Redis and used up there;
  // done runs on the broker thread.
  void redeem_shared(std::string_view ticket, std::function<void(std::optional<Holder>)> done);
  std::int64_t ttl_ms() const { return ttl_ms_; }

 private:
  void sweep(std::int64_t now_ms);

  struct Entry {
    Holder holder;
    std::int64_t expires_at;
  };
  std::int64_t ttl_ms_;
  std::size_t max_;
  cluster::SharedState* shared_ = nullptr;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> tickets_;  // key: SHA-256 of the ticket
};

}  // namespace parley::realtime
