#include "auth/tokens.hpp"

#include <openssl/sha.h>
#include <sodium.h>

#include <vector>

#include "core/base64.hpp"

namespace parley::auth {

std::string random_token(std::size_t n) {
  static const int kInit = sodium_init();  // idempotent; makes randombytes thread-safe
  (void)kInit;
  std::string bytes(n, '\0');
  randombytes_buf(bytes.data(), n);
  return base64url_encode(bytes);
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char c : digest) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace parley::auth
