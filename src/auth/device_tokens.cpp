#include "auth/device_tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <vector>

#include "auth/tokens.hpp"
#include "core/base64.hpp"

namespace parley::auth {

namespace {
std::string hmac_sha256(std::string_view key, std::string_view input) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}
}  // namespace

// The key is derived, so a device token can never pass for a JWT signature.
DeviceTokens::DeviceTokens(std::string_view server_secret, std::int64_t ttl_s)
    : key_(hmac_sha256(server_secret, "parley device token v1")), ttl_s_(ttl_s) {}

std::string DeviceTokens::mac(std::string_view input) const {
  return base64url_encode(hmac_sha256(key_, input));
}

std::string DeviceTokens::issue(std::string_view username, std::int64_t now_s) const {
  std::string body = "d1." + base64url_encode(username) + "." + random_token(16) + "." +
                     std::to_string(now_s + ttl_s_);
  return body + "." + mac(body);
}

std::optional<std::string> DeviceTokens::verify(std::string_view token, std::string_view username,
                                                std::int64_t now_s) const {
  if (token.empty() || token.size() > kMaxBytes) return std::nullopt;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    auto dot = token.find('.', start);
    parts.push_back(token.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.size() != 5 || parts[0] != "d1") return std::nullopt;
  auto body = token.substr(0, token.size() - parts[4].size() - 1);
  std::string expected = mac(body);
  if (expected.size() != parts[4].size() ||
      CRYPTO_memcmp(expected.data(), parts[4].data(), expected.size()) != 0) {
    return std::nullopt;
  }
  std::int64_t expiry = 0;
  auto [end, ec] = std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), expiry);
  if (ec != std::errc{} || end != parts[3].data() + parts[3].size() || expiry <= now_s) {
    return std::nullopt;
  }
  auto name = base64url_decode(parts[1]);
  if (!name || *name != username) return std::nullopt;
  return std::string(parts[2]);
}

}  // namespace parley::auth
