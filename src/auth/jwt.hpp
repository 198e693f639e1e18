// Access tokens: JWT (RFC 7519) signed with HMAC-SHA256, and nothing else.
// The header must be exactly alg=HS256 with our kid; "none", RS*/ES*, other
// HS sizes, "crit" and unknown kids are refused before the signature is even
// computed. Claims iss, aud, sub, exp, nbf, iat and jti are all required.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/ids.hpp"

namespace parley::auth {

struct JwtSettings {
  std::string secret;
  std::string kid = "k1";
  std::string issuer = "parley";
  std::string audience = "parley-api";
  std::int64_t ttl_s = 900;
  std::int64_t leeway_s = 30;
  std::size_t max_token_bytes = 4096;
};

struct Claims {
  Id user_id = 0;
  Id session_id = 0;  // "sid": the refresh-token family of the login, 0 if none
  std::string role;
  std::string jti;
  std::int64_t iat = 0;
  std::int64_t nbf = 0;
  std::int64_t exp = 0;
};

// Immutable after construction; any thread.
class JwtCodec {
 public:
  explicit JwtCodec(JwtSettings settings);

  std::string issue(Id user_id, std::string_view role, std::int64_t now_s, std::string_view jti,
                    Id session_id = 0) const;
  // Throws Error(unauthorized) with a short reason ("token expired", ...).
  Claims verify(std::string_view token, std::int64_t now_s) const;

  std::int64_t ttl_s() const { return settings_.ttl_s; }

 private:
  std::string sign(std::string_view signing_input) const;
  JwtSettings settings_;
};

}  // namespace parley::auth
