// Password hashing with argon2id (libsodium), encoded in the PHC string
// format so parameters travel with the hash. Hashing is deliberately slow
// (tens of milliseconds): call it on a CPU pool, never on an I/O worker.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::auth {

class PasswordHasher {
 public:
  // memlimit in KiB (>= 19456), opslimit = passes (>= 2). Throws if lower.
  PasswordHasher(std::int64_t memlimit_kib, std::int64_t opslimit);

  std::string hash(std::string_view password) const;
  bool verify(std::string_view stored_hash, std::string_view password) const;
  // True when the stored hash used weaker parameters than the current ones.
  bool needs_rehash(std::string_view stored_hash) const;

 private:
  std::size_t memlimit_bytes_;
  unsigned long long opslimit_;
};

}  // namespace parley::auth
