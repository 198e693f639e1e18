#include "core/error.hpp"

namespace parley {

int http_status(Errc code) noexcept {
  switch (code) {
    case Errc::bad_request:
      return 400;
    case Errc::unauthorized:
      return 401;
    case Errc::forbidden:
      return 403;
    case Errc::not_found:
      return 404;
    case Errc::method_not_allowed:
      return 405;
    case Errc::conflict:
      return 409;
    case Errc::payload_too_large:
      return 413;
    case Errc::unsupported_media:
      return 415;
    case Errc::too_many_requests:
      return 429;
    case Errc::header_too_large:
      return 431;
    case Errc::internal:
      return 500;
    case Errc::unavailable:
      return 503;
  }
  return 500;
}

std::string_view slug(Errc code) noexcept {
  switch (code) {
    case Errc::bad_request:
      return "bad-request";
    case Errc::unauthorized:
      return "unauthorized";
    case Errc::forbidden:
      return "forbidden";
    case Errc::not_found:
      return "not-found";
    case Errc::method_not_allowed:
      return "method-not-allowed";
    case Errc::conflict:
      return "conflict";
    case Errc::payload_too_large:
      return "payload-too-large";
    case Errc::unsupported_media:
      return "unsupported-media-type";
    case Errc::too_many_requests:
      return "too-many-requests";
    case Errc::header_too_large:
      return "request-header-fields-too-large";
    case Errc::internal:
      return "internal";
    case Errc::unavailable:
      return "unavailable";
  }
  return "internal";
}

std::string_view title(Errc code) noexcept {
  switch (code) {
    case Errc::bad_request:
      return "Bad Request";
    case Errc::unauthorized:
      return "Unauthorized";
    case Errc::forbidden:
      return "Forbidden";
    case Errc::not_found:
      return "Not Found";
    case Errc::method_not_allowed:
      return "Method Not Allowed";
    case Errc::conflict:
      return "Conflict";
    case Errc::payload_too_large:
      return "Payload Too Large";
    case Errc::unsupported_media:
      return "Unsupported Media Type";
    case Errc::too_many_requests:
      return "Too Many Requests";
    case Errc::header_too_large:
      return "Request Header Fields Too Large";
    case Errc::internal:
      return "Internal Server Error";
    case Errc::unavailable:
      return "Service Unavailable";
  }
  return "Internal Server Error";
}

}  // namespace parley
