// Parley's own lean HTTP request and response, decoupled from Beast so that
// handlers, middleware and their tests compile without the networking stack.
// The network session (net/http_session.cpp) converts at the edge.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // upper case, e.g. "GET"
  std::string target;  // as received: path and query
  std::string path;    // target up to '?'
  std::string query;   // after '?', still percent-encoded
  Headers headers;     // names lower case
  std::string body;
  std::string remote_addr;  // peer address of the TCP connection
  bool tls = false;

  // First value of a header (name in lower case); empty when absent.
  std::string_view header(std::string_view lower_name) const;
  bool has_header(std::string_view lower_name) const;
  // Percent-decoded value of the first query parameter of that name.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  bool close = false;  // ask the connection to close after this response
  // For HEAD: the Content-Length a GET would have carried (the body is dropped).
  std::optional<std::size_t> head_length;

  // Replaces any header of that name (case-insensitive).
  void set(std::string_view name, std::string value);
  // Adds a header line even if one of that name exists (Set-Cookie).
  void add(std::string_view name, std::string value);
  std::string_view get(std::string_view name) const;

  static Response json(int status, std::string body);
  static Response no_content();
};

// Splits a request target into path and query.
void split_target(Request& req);

// For a request head cut off at the size limit (what the parser left of it):
// the name (lower case) of the header line it was cut in; empty when the cut
// fell in the request line or in a header's name.
std::string unfinished_header(std::string_view partial_head);

}  // namespace parley::http
