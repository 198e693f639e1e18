#include "http/message.hpp"

#include <boost/url/decode_view.hpp>
#include <boost/url/parse_query.hpp>

#include <strings.h>

namespace parley::http {

namespace {
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}
}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

bool Request::has_header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return true;
  }
  return false;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  if (query.empty()) return std::nullopt;
  auto parsed = boost::urls::parse_query(query);
  if (!parsed) return std::nullopt;
  for (auto p : *parsed) {
    auto k = *p.key;
    if (std::string(k.begin(), k.end()) != name) continue;
    if (!p.has_value) return std::string();
    auto v = *p.value;
    return std::string(v.begin(), v.end());
  }
  return std::nullopt;
}

void Response::set(std::string_view name, std::string value) {
  for (auto& [k, v] : headers) {
    if (iequals(k, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

std::string_view Response::get(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.set("Content-Type", "application/json");
  return r;
}

Response Response::no_content() {
  Response r;
  r.status = 204;
  return r;
}

void split_target(Request& req) {
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? std::string() : req.target.substr(q + 1);
}

}  // namespace parley::http
