// Accounts and sessions: registration, login, refresh-token rotation, logout.
//
// Threading: any thread except I/O workers (hashes passwords, blocks on the
// store). Internally synchronised.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/device_tokens.hpp"
#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "core/rate_limiter.hpp"
#include "store/types.hpp"

namespace parley {
struct Config;
class IdGenerator;
namespace metrics {
class Registry;
class Counter;
}  // namespace metrics
namespace store {
class Database;
}
}  // namespace parley

namespace parley::cluster {
class SharedState;
}

namespace parley::auth {

struct Session {
  store::User user;
  std::string access_token;
  std::int64_t access_expires_in = 0;
  std::string refresh_token;
  std::int64_t refresh_expires_in = 0;
  std::string device_token;  // proves a later login comes from this client (login only)
};

class AuthService {
 public:
  AuthService(const Config& cfg, store::Database& db, IdGenerator& ids, metrics::Registry& m);

  // Creates an account and signs it in. The first account becomes admin.
  Session register_user(std::string_view username, std::string_view display_name,
                        std::string_view password, std::string_view client_ip);
  // Unknown user and wrong password throw the same Error(unauthorized).
  // Throttled per client IP and per account; a valid device_token from an
  // earlier login to this account is throttled on its own budget instead of
  // the account's. When several limits refuse, the error names the longest
  // wait. A successful login carries a new device token.
  Session login(std::string_view username, std::string_view password, std::string_view client_ip,
                std::string_view device_token = {});
  // Rotates a refresh token. Reuse of a rotated token revokes its family.
  Session refresh(std::string_view refresh_token, std::string_view client_ip);
  // Revokes the family of refresh_token (idempotent).
  void logout(std::string_view refresh_token, std::string_view client_ip);

  // Called after a login's refresh family is revoked (logout, detected reuse:
  // family != 0) or a user is disabled (family == 0: all their logins), so
  // live connections can be closed. Set once at start-up.
  // Cluster mode: login limits are counted in Redis for all nodes together
  // (this node's own counters when Redis does not answer). Before serving.
  void use_shared_limits(cluster::SharedState* shared) { shared_ = shared; }

  void set_revocation_hook(std::function<void(Id user_id, Id family)> hook) {
    on_revoked_ = std::move(hook);
  }

  // Verifies an access token. Throws Error(unauthorized).
  Claims authenticate(std::string_view bearer_token) const;
  // The account behind verified claims, re-read from the store so that a
  // disabled or deleted account loses access at once. Throws unauthorized.
  store::User current_user(const Claims& claims);

  // Administration (actor must be an admin; checked here).
  std::vector<store::User> list_users(const store::User& actor, Id after_id, int limit);
  // Changes role and/or disabled state. Disabling revokes every refresh token
  // of the user. An admin cannot demote or disable themselves.
  store::User update_user(const store::User& actor, Id user_id,
                          const std::optional<std::string>& role, std::optional<bool> disabled,
                          std::string_view client_ip);
  // Erases an account: the user row keeps its id but nothing personal
  // (username "~deleted-<id>", no password, disabled), its logins are revoked
  // and open sockets closed. Users delete themselves with their password;
  // admins delete others (not themselves). Idempotent. The messages it sent
  // are erased next, by ChatService::erase_messages_sent_by.
  void delete_user(const store::User& actor, Id user_id, std::optional<std::string_view> password,
                   std::string_view client_ip);
  // The audit trail, newest first (see Store::audit_events).
  std::vector<store::AuditEvent> audit_events(const store::User& actor, Id before_id,
                                              std::string_view action, Id user_id, int limit);
  const JwtCodec& jwt() const { return jwt_; }

 private:
  // A fresh access token for user, paired with an already stored refresh token.
  Session session_for(const store::User& user, std::string refresh_token, Id family) const;
  void check_password_shape(std::string_view password, bool registering) const;
  std::string hash_password(std::string_view password);
  bool verify_password(std::string_view hash, std::string_view password);
  void throttle_ip(std::string_view ip);
  // An audit event stamped now; `detail` is a JSON object's text. Insert it
  // in the transaction of what it records, then call audited() once committed.
  store::AuditEvent audit_event(std::string_view action, Id actor, Id target, std::string_view ip,
                                std::string detail = "{}");
  void audited(const store::AuditEvent& e);
  // op on the named limit ("acquire", "peek", "reset"): seconds to wait.
  double limit(const char* op, const char* name, RateLimiter& local, std::string_view key,
               double rate, double burst);

  class HashSlots {
   public:
    explicit HashSlots(int n) : free_(n) {}
    void acquire();
    void release();

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    int free_;
  };

  const Config& cfg_;
  store::Database& db_;
  IdGenerator& ids_;
  JwtCodec jwt_;
  DeviceTokens devices_;
  PasswordHasher hasher_;
  std::string dummy_hash_;  // verified against when the user is unknown
  HashSlots slots_;
  double ip_rate_, ip_burst_, account_rate_, account_burst_;
  RateLimiter ip_limiter_;
  RateLimiter account_limiter_;
  cluster::SharedState* shared_ = nullptr;
  metrics::Counter& logins_ok_;
  metrics::Counter& logins_failed_;
  metrics::Counter& throttled_;
  metrics::Counter& device_logins_;
  metrics::Counter& refresh_reuse_;
  metrics::Counter& audit_events_;
  std::function<void(Id, Id)> on_revoked_;
};

}  // namespace parley::auth
