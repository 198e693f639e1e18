#include "auth/password.hpp"

#include <sodium.h>

#include <stdexcept>

namespace parley::auth {

PasswordHasher::PasswordHasher(std::int64_t memlimit_kib, std::int64_t opslimit)
    : memlimit_bytes_(static_cast<std::size_t>(memlimit_kib) * 1024),
      opslimit_(static_cast<unsigned long long>(opslimit)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  if (memlimit_kib < 19456 || opslimit < 2) {
    throw std::invalid_argument("argon2id parameters below m=19456 KiB, t=2");
  }
}

std::string PasswordHasher::hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), opslimit_, memlimit_bytes_,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("password hashing ran out of memory");
  }
  return out;
}

bool PasswordHasher::verify(std::string_view stored, std::string_view password) const {
  std::string s(stored);  // needs a NUL-terminated string
  return crypto_pwhash_str_verify(s.c_str(), password.data(), password.size()) == 0;
}

bool PasswordHasher::needs_rehash(std::string_view stored) const {
  std::string s(stored);
  return crypto_pwhash_str_needs_rehash(s.c_str(), opslimit_, memlimit_bytes_) != 0;
}

}  // namespace parley::auth
