// Opaque random tokens (refresh tokens, request ids) and their digests.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::auth {

// n random bytes from the OS CSPRNG, base64url-encoded.
std::string random_token(std::size_t n_bytes = 32);
// Lowercase hex SHA-256; what the store keeps instead of a token.
std::string sha256_hex(std::string_view data);

}  // namespace parley::auth
