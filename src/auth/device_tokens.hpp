// Device tokens (OWASP's "device cookie" defence against account lockout):
// a client that once logged in to an account carries a token, signed by the
// server, naming that account. Its failed logins count against the token's
// own budget, not the account's, so a stranger who locks the account by
// guessing passwords does not lock its owner out.
//
// Format: d1.<base64url username>.<base64url nonce>.<expiry, Unix s>.<base64url
// HMAC-SHA256>, the MAC keyed by a key derived from the JWT secret.
//
// Immutable after construction; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::auth {

class DeviceTokens {
 public:
  DeviceTokens(std::string_view server_secret, std::int64_t ttl_s);

  // A new token for username, valid ttl_s from now_s.
  std::string issue(std::string_view username, std::int64_t now_s) const;
  // The token's nonce (its limiter key) if it is ours, unexpired and names
  // username; nullopt otherwise (never throws).
  std::optional<std::string> verify(std::string_view token, std::string_view username,
                                    std::int64_t now_s) const;
  std::int64_t ttl_s() const { return ttl_s_; }

  static constexpr std::size_t kMaxBytes = 512;

 private:
  std::string mac(std::string_view input) const;

  std::string key_;
  std::int64_t ttl_s_;
};

}  // namespace parley::auth
