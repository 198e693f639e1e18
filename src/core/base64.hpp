// Base64url without padding (RFC 4648 section 5), as JWTs use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace parley {

std::string base64url_encode(std::string_view bytes);
// nullopt on any character outside the alphabet, on padding, or on a length
// that no encoding produces.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace parley
