// application/problem+json responses (RFC 9457).
#pragma once

#include <string_view>

#include "core/error.hpp"
#include "http/message.hpp"

namespace parley::http {

// {"type","title","status","detail","instance","request_id"}.
Response problem(Errc code, std::string_view detail, std::string_view instance,
                 std::string_view request_id);

}  // namespace parley::http
