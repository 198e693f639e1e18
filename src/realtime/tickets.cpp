#include "realtime/tickets.hpp"

#include <charconv>

#include "auth/tokens.hpp"
#include "cluster/shared_state.hpp"
#include "core/error.hpp"

namespace parley::realtime {

TicketStore::TicketStore(std::int64_t ttl_ms, std::size_t max_tickets)
    : ttl_ms_(ttl_ms), max_(max_tickets) {}

void TicketStore::sweep(std::int64_t now_ms) {
  for (auto it = tickets_.begin(); it != tickets_.end();) {
    it = it->second.expires_at <= now_ms ? tickets_.erase(it) : std::next(it);
  }
}

std::string TicketStore::issue(Id user_id, Id family, std::int64_t now_ms) {
  std::string ticket = auth::random_token(24);
  if (shared_ && shared_->put("parley:ticket:" + auth::sha256_hex(ticket),
                              std::to_string(user_id) + "|" + std::to_string(family), ttl_ms_)) {
    return ticket;
  }
  std::lock_guard lock(mu_);
  if (tickets_.size() >= max_) sweep(now_ms);
  if (tickets_.size() >= max_) fail(Errc::unavailable, "too many pending WebSocket tickets");
  tickets_[auth::sha256_hex(ticket)] = Entry{Holder{user_id, family}, now_ms + ttl_ms_};
  return ticket;
}

std::optional<TicketStore::Holder> TicketStore::redeem(std::string_view ticket,
                                                       std::int64_t now_ms) {
  if (ticket.empty() || ticket.size() > 128) return std::nullopt;
  std::string key = auth::sha256_hex(ticket);
  std::lock_guard lock(mu_);
  auto it = tickets_.find(key);
  if (it == tickets_.end()) return std::nullopt;
  Entry e = it->second;
  tickets_.erase(it);
  if (e.expires_at <= now_ms) return std::nullopt;
  return e.holder;
}

void TicketStore::redeem_shared(std::string_view ticket,
                                std::function<void(std::optional<Holder>)> done) {
  if (!shared_ || ticket.empty() || ticket.size() > 128) {
    done(std::nullopt);
    return;
  }
  shared_->take("parley:ticket:" + auth::sha256_hex(ticket),
                [done = std::move(done)](std::optional<std::string> value) {
                  // "user|family"; Redis expired it after ttl_ms.
                  if (!value) return done(std::nullopt);
                  auto bar = value->find('|');
                  if (bar == std::string::npos) return done(std::nullopt);
                  Holder h;
                  auto end = value->data() + value->size();
                  auto a = std::from_chars(value->data(), value->data() + bar, h.user_id);
                  auto b = std::from_chars(value->data() + bar + 1, end, h.family);
                  if (a.ec != std::errc() || b.ec != std::errc() || h.user_id == 0) {
                    return done(std::nullopt);
                  }
                  done(h);
                });
}

}  // namespace parley::realtime
