#include "auth/auth_service.hpp"

#include <algorithm>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>

#include "app/config.hpp"
#include "auth/tokens.hpp"
#include "cluster/shared_state.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/validate.hpp"
#include "store/database.hpp"

namespace parley::auth {

namespace bj = boost::json;

namespace {
JwtSettings jwt_settings(const Config& c) {
  JwtSettings s;
  s.secret = c.auth.jwt_secret;
  s.kid = c.auth.jwt_kid;
  s.issuer = c.auth.issuer;
  s.audience = c.auth.audience;
  s.ttl_s = c.auth.access_ttl_s;
  s.leeway_s = c.auth.leeway_s;
  return s;
}

// An audit event's detail naming the login (refresh-token family) it concerns.
std::string family_detail(Id family) {
  return bj::serialize(bj::object{{"family", id_to_string(family)}});
}

[[noreturn]] void throttled(double retry_after) {
  int seconds = static_cast<int>(std::ceil(retry_after));
  throw Error(Errc::too_many_requests,
              "too many attempts; retry after " + std::to_string(seconds) + " s", seconds);
}
}  // namespace

void AuthService::HashSlots::acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return free_ > 0; });
  --free_;
}

void AuthService::HashSlots::release() {
  {
    std::lock_guard lock(mu_);
    ++free_;
  }
  cv_.notify_one();
}

AuthService::AuthService(const Config& cfg, store::Database& db, IdGenerator& ids,
                         metrics::Registry& m)
    : cfg_(cfg),
      db_(db),
      ids_(ids),
      jwt_(jwt_settings(cfg)),
      devices_(cfg.auth.jwt_secret, cfg.auth.device_token_ttl_s),
      hasher_(cfg.auth.password_memlimit_kib, cfg.auth.password_opslimit),
      dummy_hash_(hasher_.hash(random_token(16))),
      slots_(static_cast<int>(cfg.auth.hash_threads)),
      ip_rate_(static_cast<double>(cfg.auth.login_ip_max_attempts) /
               static_cast<double>(cfg.auth.login_ip_window_s)),
      ip_burst_(static_cast<double>(cfg.auth.login_ip_max_attempts)),
      account_rate_(static_cast<double>(cfg.auth.login_account_max_failures) /
                    static_cast<double>(cfg.auth.login_account_window_s)),
      account_burst_(static_cast<double>(cfg.auth.login_account_max_failures)),
      ip_limiter_(ip_rate_, ip_burst_, 100000),
      account_limiter_(account_rate_, account_burst_, 100000),
      logins_ok_(m.counter("parley_auth_logins_total", "Login attempts by outcome",
                           {{"outcome", "success"}})),
      logins_failed_(m.counter("parley_auth_logins_total", "Login attempts by outcome",
                               {{"outcome", "failure"}})),
      throttled_(m.counter("parley_auth_throttled_total",
                           "Login and registration attempts refused by rate limits")),
      device_logins_(m.counter("parley_auth_device_logins_total",
                               "Login attempts carrying a valid device token (throttled on the "
                               "device's own budget, not the account's)")),
      refresh_reuse_(m.counter("parley_auth_refresh_reuse_total",
                               "Rotated refresh tokens presented again (family revoked)")),
      audit_events_(m.counter("parley_audit_events_total", "Events written to the audit trail")) {}

store::AuditEvent AuthService::audit_event(std::string_view action, Id actor, Id target,
                                           std::string_view ip, std::string detail) {
  store::AuditEvent e;
  e.id = ids_.next();
  e.at = now_ms();
  e.actor_id = actor;
  e.action = std::string(action);
  e.target_id = target;
  e.ip = std::string(ip);
  e.detail = std::move(detail);
  return e;
}

void AuthService::audited(const store::AuditEvent& e) {
  audit_events_.inc();
  log::info("audit", {{"action", e.action},
                      {"actor_id", e.actor_id},
                      {"target_id", e.target_id},
                      {"ip", e.ip},
                      {"detail", e.detail}});
}

std::string AuthService::hash_password(std::string_view password) {
  slots_.acquire();
  try {
    auto h = hasher_.hash(password);
    slots_.release();
    return h;
  } catch (...) {
    slots_.release();
    throw;
  }
}

bool AuthService::verify_password(std::string_view hash, std::string_view password) {
  slots_.acquire();
  bool ok = hasher_.verify(hash, password);
  slots_.release();
  return ok;
}

double AuthService::limit(const char* op, const char* name, RateLimiter& local,
                          std::string_view key, double rate, double burst) {
  if (shared_) {
    std::string shared_key = std::string("parley:limit:") + name + ":" + std::string(key);
    if (auto wait = shared_->limit(op, shared_key, rate, burst)) return *wait;
  }
  std::string_view o(op);
  if (o == "reset") {
    local.reset(key);
    return 0;
  }
  return o == "peek" ? local.peek(key, now_seconds_f()) : local.acquire(key, now_seconds_f());
}

void AuthService::throttle_ip(std::string_view ip) {
  double wait = limit("acquire", "login_ip", ip_limiter_, ip, ip_rate_, ip_burst_);
  if (wait > 0) {
    throttled_.inc();
    throttled(wait);
  }
}

void AuthService::check_password_shape(std::string_view password, bool registering) const {
  if (password.size() > static_cast<std::size_t>(cfg_.auth.password_max_bytes)) {
    // Refused before hashing: a megabyte password must cost us nothing.
    fail(Errc::bad_request,
         "'password' is longer than " + std::to_string(cfg_.auth.password_max_bytes) + " bytes");
  }
  if (registering && password.size() < static_cast<std::size_t>(cfg_.auth.password_min_bytes)) {
    fail(Errc::bad_request, "'password' must be at least " +
                                std::to_string(cfg_.auth.password_min_bytes) + " bytes long");
  }
}

Session AuthService::session_for(const store::User& user, std::string refresh_token,
                                 Id family) const {
  Session out;
  out.user = user;
  out.access_token = jwt_.issue(user.id, user.role, now_s(), random_token(12), family);
  out.access_expires_in = jwt_.ttl_s();
  out.refresh_token = std::move(refresh_token);
  out.refresh_expires_in = cfg_.auth.refresh_ttl_s;
  return out;
}

Session AuthService::register_user(std::string_view username, std::string_view display_name,
                                   std::string_view password, std::string_view client_ip) {
  if (!cfg_.auth.registration_open) fail(Errc::forbidden, "registration is closed on this server");
  validate::username("username", username);
  validate::single_line_text("display_name", display_name);
  check_password_shape(password, true);
  throttle_ip(client_ip);

  store::User user;
  user.id = ids_.next();
  user.username = std::string(username);
  user.display_name = display_name.empty() ? user.username : std::string(display_name);
  user.password_hash = hash_password(password);
  user.created_at = now_ms();

  std::string refresh = random_token();
  Id family = ids_.next();
  store::RefreshToken rt;
  rt.id = ids_.next();
  rt.family_id = family;
  rt.user_id = user.id;
  rt.created_at = user.created_at;
  rt.expires_at = user.created_at + cfg_.auth.refresh_ttl_s * 1000;
  std::string refresh_hash = sha256_hex(refresh);

  auto event = audit_event("user.registered", user.id, user.id, client_ip);
  user = db_.write([&](store::Store& s) {
    store::User u = user;
    u.role = s.count_users() == 0 ? "admin" : "user";
    if (s.user_by_username(u.username)) fail(Errc::conflict, "username is already taken");
    s.insert_user(u);
    s.insert_refresh_token(rt, refresh_hash);
    event.detail = bj::serialize(bj::object{{"username", u.username}, {"role", u.role}});
    s.insert_audit_event(event);
    return u;
  });
  audited(event);

  auto session = session_for(user, std::move(refresh), family);
  session.device_token = devices_.issue(user.username, now_s());
  return session;
}

Session AuthService::login(std::string_view username, std::string_view password,
                           std::string_view client_ip, std::string_view device_token) {
  check_password_shape(password, false);
  if (username.size() > 64) fail(Errc::unauthorized, "invalid username or password");
  // A client that proved an earlier login to this account fails on its own
  // budget; everyone else shares the account's.
  auto device = devices_.verify(device_token, username, now_s());
  std::string account_key = device ? "device:" + *device : std::string(username);
  const char* account_limit = device ? "login_device" : "login_account";
  if (device) device_logins_.inc();
  double ip_wait = limit("acquire", "login_ip", ip_limiter_, client_ip, ip_rate_, ip_burst_);
  double account_wait =
      limit("peek", account_limit, account_limiter_, account_key, account_rate_, account_burst_);
  // The longest wait: retrying after a shorter one would only be refused again.
  if (double wait = std::max(ip_wait, account_wait); wait > 0) {
    throttled_.inc();
    throttled(wait);
  }

  auto user = db_.read([&](store::Store& s) { return s.user_by_username(username); });
  // Verify against a dummy hash for unknown users so both paths cost the same.
  bool ok = verify_password(user ? user->password_hash : dummy_hash_, password);
  if (!user || !ok || user->disabled) {
    limit("acquire", account_limit, account_limiter_, account_key, account_rate_, account_burst_);
    logins_failed_.inc();
    // The reason is for administrators; the client hears the same either way.
    const char* reason = !user ? "unknown_user" : !ok ? "wrong_password" : "disabled";
    auto event = audit_event(
        "login.failed", user ? user->id : 0, user ? user->id : 0, client_ip,
        bj::serialize(bj::object{{"username", std::string(username)}, {"reason", reason}}));
    db_.write([&](store::Store& s) { s.insert_audit_event(event); });
    audited(event);
    fail(Errc::unauthorized, "invalid username or password");
  }
  limit("reset", account_limit, account_limiter_, account_key, account_rate_, account_burst_);
  logins_ok_.inc();

  std::string refresh = random_token();
  store::RefreshToken rt;
  rt.id = ids_.next();
  rt.family_id = ids_.next();
  rt.user_id = user->id;
  rt.created_at = now_ms();
  rt.expires_at = rt.created_at + cfg_.auth.refresh_ttl_s * 1000;
  std::string refresh_hash = sha256_hex(refresh);
  auto event =
      audit_event("login.succeeded", user->id, user->id, client_ip, family_detail(rt.family_id));
  db_.write([&](store::Store& s) {
    s.insert_refresh_token(rt, refresh_hash);
    s.insert_audit_event(event);
  });
  audited(event);

  auto session = session_for(*user, std::move(refresh), rt.family_id);
  session.device_token = devices_.issue(user->username, now_s());
  return session;
}

Session AuthService::refresh(std::string_view token, std::string_view client_ip) {
  if (token.empty() || token.size() > 256) fail(Errc::unauthorized, "invalid refresh token");
  enum class Outcome { ok, unknown, revoked, reused, expired, disabled };
  std::string presented_hash = sha256_hex(token);
  std::string next = random_token();
  std::string next_hash = sha256_hex(next);
  std::int64_t now = now_ms();

  // The job never throws for a bad token: a detected reuse must commit the
  // family's revocation, so the verdict is returned and thrown afterwards.
  struct Result {
    Outcome outcome = Outcome::unknown;
    store::User user;
    Id family = 0;
    store::AuditEvent event;  // written for a detected reuse
  };
  Result r = db_.write([&](store::Store& s) {
    Result res;
    auto t = s.refresh_token_by_hash(presented_hash);
    if (!t) return res;
    if (t->revoked_at != 0) {
      res.outcome = Outcome::revoked;
      return res;
    }
    res.family = t->family_id;
    res.user.id = t->user_id;
    if (t->used_at != 0) {
      s.revoke_refresh_family(t->family_id, now);
      res.outcome = Outcome::reused;
      res.event = audit_event("session.token_reused", t->user_id, t->user_id, client_ip,
                              family_detail(t->family_id));
      s.insert_audit_event(res.event);
      return res;
    }
    if (t->expires_at <= now) {
      res.outcome = Outcome::expired;
      return res;
    }
    auto u = s.user_by_id(t->user_id);
    if (!u || u->disabled) {
      s.revoke_refresh_family(t->family_id, now);
      res.outcome = Outcome::disabled;
      return res;
    }
    s.mark_refresh_token_used(t->id, now);
    store::RefreshToken rt;
    rt.id = ids_.next();
    rt.family_id = t->family_id;
    rt.user_id = t->user_id;
    rt.created_at = now;
    rt.expires_at = now + cfg_.auth.refresh_ttl_s * 1000;
    s.insert_refresh_token(rt, next_hash);
    res.outcome = Outcome::ok;
    res.user = *u;
    return res;
  });

  switch (r.outcome) {
    case Outcome::ok:
      break;
    case Outcome::reused:
      refresh_reuse_.inc();
      audited(r.event);
      if (on_revoked_) on_revoked_(r.user.id, r.family);
      log::warn("refresh_token_reuse", {{"detail", "family revoked"}});
      fail(Errc::unauthorized,
           "refresh token was already used; all sessions of this login revoked");
    case Outcome::expired:
      fail(Errc::unauthorized, "refresh token expired");
    default:
      fail(Errc::unauthorized, "invalid refresh token");
  }
  return session_for(r.user, std::move(next), r.family);
}

void AuthService::logout(std::string_view token, std::string_view client_ip) {
  if (token.empty() || token.size() > 256) return;
  std::string hash = sha256_hex(token);
  std::int64_t now = now_ms();
  store::AuditEvent event;
  auto revoked = db_.write([&](store::Store& s) -> std::optional<store::RefreshToken> {
    auto t = s.refresh_token_by_hash(hash);
    if (t && t->revoked_at == 0) {
      s.revoke_refresh_family(t->family_id, now);
      event = audit_event("logout", t->user_id, t->user_id, client_ip, family_detail(t->family_id));
      s.insert_audit_event(event);
    }
    return t;
  });
  if (!event.action.empty()) audited(event);
  if (revoked && on_revoked_) on_revoked_(revoked->user_id, revoked->family_id);
}

Claims AuthService::authenticate(std::string_view bearer) const {
  return jwt_.verify(bearer, now_s());
}

store::User AuthService::current_user(const Claims& claims) {
  auto user = db_.read([&](store::Store& s) { return s.user_by_id(claims.user_id); });
  if (!user) fail(Errc::unauthorized, "account no longer exists");
  if (user->disabled) fail(Errc::unauthorized, "account is disabled");
  return *user;
}

std::vector<store::User> AuthService::list_users(const store::User& actor, Id after_id, int limit) {
  if (actor.role != "admin") fail(Errc::forbidden, "administrators only");
  return db_.read([&](store::Store& s) { return s.list_users(after_id, limit); });
}

store::User AuthService::update_user(const store::User& actor, Id user_id,
                                     const std::optional<std::string>& role,
                                     std::optional<bool> disabled, std::string_view client_ip) {
  if (actor.role != "admin") fail(Errc::forbidden, "administrators only");
  if (role && *role != "user" && *role != "admin") {
    fail(Errc::bad_request, "'role' must be user or admin");
  }
  if (user_id == actor.id && ((role && *role != "admin") || (disabled && *disabled))) {
    fail(Errc::bad_request, "administrators cannot demote or disable themselves");
  }
  std::int64_t now = now_ms();
  auto event = audit_event("admin.user_updated", actor.id, user_id, client_ip);
  auto updated = db_.write([&](store::Store& s) {
    auto u = s.user_by_id(user_id);
    if (!u) fail(Errc::not_found, "user not found");
    bj::object changed;  // field: [before, after]
    if (role) {
      s.set_user_role(user_id, *role);
      changed["role"] = bj::array{bj::value(u->role), bj::value(*role)};
      u->role = *role;
    }
    if (disabled) {
      s.set_user_disabled(user_id, *disabled);
      if (*disabled) s.revoke_user_refresh_tokens(user_id, now);
      changed["disabled"] = bj::array{bj::value(u->disabled), bj::value(*disabled)};
      u->disabled = *disabled;
    }
    event.detail = bj::serialize(changed);
    s.insert_audit_event(event);
    return *u;
  });
  audited(event);
  if (disabled && *disabled && on_revoked_) on_revoked_(user_id, 0);
  log::info("user_updated", {{"actor_id", actor.id},
                             {"user_id", user_id},
                             {"role", updated.role},
                             {"disabled", updated.disabled}});
  return updated;
}

std::vector<store::AuditEvent> AuthService::audit_events(const store::User& actor, Id before_id,
                                                         std::string_view action, Id user_id,
                                                         int limit) {
  if (actor.role != "admin") fail(Errc::forbidden, "administrators only");
  return db_.read(
      [&](store::Store& s) { return s.audit_events(before_id, action, user_id, limit); });
}

void AuthService::delete_user(const store::User& actor, Id user_id,
                              std::optional<std::string_view> password,
                              std::string_view client_ip) {
  bool self = actor.id == user_id;
  if (self) {
    if (actor.role == "admin") {
      fail(Errc::bad_request,
           "administrators cannot delete their own account; another administrator must demote "
           "them first");
    }
    if (!password) fail(Errc::bad_request, "'password' is required to delete your account");
    check_password_shape(*password, false);
    if (!verify_password(actor.password_hash, *password)) {
      fail(Errc::forbidden, "password does not match");
    }
  } else if (actor.role != "admin") {
    fail(Errc::forbidden, "administrators only");
  }
  std::int64_t now = now_ms();
  auto event = audit_event("user.deleted", actor.id, user_id, client_ip,
                           bj::serialize(bj::object{{"by", self ? "self" : "admin"}}));
  db_.write([&](store::Store& s) {
    if (!s.user_by_id(user_id)) fail(Errc::not_found, "user not found");
    s.anonymize_user(user_id, "~deleted-" + id_to_string(user_id), "Deleted user");
    s.revoke_user_refresh_tokens(user_id, now);
    s.insert_audit_event(event);
  });
  audited(event);
  if (on_revoked_) on_revoked_(user_id, 0);
}

}  // namespace parley::auth
