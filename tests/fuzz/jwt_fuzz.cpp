// libFuzzer target: access-token verification. Two ways in, chosen by the
// first byte: the input as a token as received, or the input split at the
// first '\n' into a header and a payload, base64url-encoded and signed with
// the right key, so the claim checks behind the signature are reached too.
// Any input must end in Claims or a parley::Error(unauthorized), nothing else.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"
#include "core/base64.hpp"
#include "core/error.hpp"

namespace {

constexpr std::string_view kSecret = "fuzz-secret-0123456789-0123456789-0123456789";

std::string signed_token(std::string_view header, std::string_view payload) {
  std::string input = parley::base64url_encode(header) + "." + parley::base64url_encode(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." +
         parley::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const parley::auth::JwtCodec codec([] {
    parley::auth::JwtSettings s;
    s.secret = std::string(kSecret);
    return s;
  }());
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string token;
  if (data[0] & 1) {
    auto nl = rest.find('\n');
    token = nl == std::string_view::npos ? signed_token(rest, "{}")
                                         : signed_token(rest.substr(0, nl), rest.substr(nl + 1));
  } else {
    token = std::string(rest);
  }
  try {
    auto claims = codec.verify(token, 1'800'000'000);
    if (claims.user_id == 0) std::abort();  // verified claims always name a user
  } catch (const parley::Error& e) {
    if (e.code() != parley::Errc::unauthorized) std::abort();
  }
  return 0;
}
