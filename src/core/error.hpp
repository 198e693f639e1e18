// Domain errors. Thrown by services and stores, caught once at the top of a
// request (http/api.cpp) and turned into an application/problem+json reply.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace parley {

enum class Errc {
  bad_request,         // 400: malformed or invalid input
  unauthorized,        // 401: missing, invalid or expired credentials
  forbidden,           // 403: authenticated but not allowed
  not_found,           // 404
  method_not_allowed,  // 405
  conflict,            // 409: unique constraint, state conflict
  payload_too_large,   // 413
  unsupported_media,   // 415
  too_many_requests,   // 429
  header_too_large,    // 431
  internal,            // 500
  unavailable,         // 503: draining, overloaded, store down
};

// HTTP status for an error class.
int http_status(Errc code) noexcept;
// Short machine-readable slug, used in the problem "type" URI and in logs.
std::string_view slug(Errc code) noexcept;
// Human title ("Not Found").
std::string_view title(Errc code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(Errc code, std::string detail) : std::runtime_error(std::move(detail)), code_(code) {}
  Error(Errc code, std::string detail, int retry_after_s)
      : std::runtime_error(std::move(detail)), code_(code), retry_after_s_(retry_after_s) {}
  Errc code() const noexcept { return code_; }
  std::string_view detail() const noexcept { return what(); }
  // Seconds a client should wait before retrying (429/503); 0 when unknown.
  int retry_after_s() const noexcept { return retry_after_s_; }

 private:
  Errc code_;
  int retry_after_s_ = 0;
};

[[noreturn]] inline void fail(Errc code, std::string detail) {
  throw Error(code, std::move(detail));
}

}  // namespace parley
