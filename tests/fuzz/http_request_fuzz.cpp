// libFuzzer target: Parley's own request handling past Beast's parser: the
// target split into path and query, percent-decoded query parameters, route
// matching with placeholders, the client address and scheme from forwarded
// headers (with trusted proxies), and the request id. Input lines: target,
// X-Forwarded-For, X-Forwarded-Proto, X-Request-Id, method.
// Nothing may crash, hang or throw anything but parley::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "http/message.hpp"
#include "http/middleware.hpp"
#include "http/router.hpp"

namespace {

std::string_view next_line(std::string_view& in) {
  auto nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return line;
}

const parley::http::Router& router() {
  static const parley::http::Router r = [] {
    parley::http::Router r;
    parley::http::Handler h = [](parley::http::Context&) { return parley::http::Response{}; };
    for (const char* p : {"/api/conversations", "/api/conversations/:id",
                          "/api/conversations/:id/messages", "/api/conversations/:id/messages/:seq",
                          "/api/users/:id", "/api/auth/login", "/metrics"}) {
      r.add("GET", p, h);
      r.add("POST", p, h);
    }
    return r;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  parley::http::Request req;
  req.target = std::string(next_line(in));
  std::string_view xff = next_line(in), proto = next_line(in), rid = next_line(in);
  req.method = std::string(next_line(in));
  if (req.method.empty()) req.method = "GET";
  req.headers = {{"x-forwarded-for", std::string(xff)},
                 {"x-forwarded-proto", std::string(proto)},
                 {"x-request-id", std::string(rid)}};
  req.remote_addr = (size % 2) ? "127.0.0.1" : "203.0.113.7";
  static const std::vector<std::string> trusted = {"127.0.0.1", "10.0.0.0/8", "::1"};
  try {
    parley::http::split_target(req);
    for (const char* name : {"limit", "after", "before", "ticket", "cursor", ""}) {
      (void)req.query_param(name);
    }
    auto m = router().match(req.method, req.path);
    if (m.kind == parley::http::Router::Match::found && !m.handler) std::abort();
    auto ip = parley::http::client_ip_for(req, trusted);
    if (ip.empty()) std::abort();  // always some address: the peer's at worst
    (void)parley::http::is_https(req, trusted);
    auto id = parley::http::request_id_for(req);
    if (id.empty() || id.size() > 128) std::abort();
    // The whole input as a head cut off at the size limit.
    auto name = parley::http::unfinished_header(
        std::string_view(reinterpret_cast<const char*>(data), size));
    if (name.find_first_of(" \t/\n") != std::string::npos) std::abort();
  } catch (const parley::Error&) {
  }
  return 0;
}
