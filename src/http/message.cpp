#include "http/message.hpp"

#include <boost/url/decode_view.hpp>
#include <boost/url/parse_query.hpp>

#include <strings.h>

#include <cctype>

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

void Response::add(std::string_view name, std::string value) {
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

std::string unfinished_header(std::string_view partial_head) {
  // The parser may have consumed the lines before: what is left starts at a
  // line, and only a header line starts with a name (no spaces) and a colon.
  auto eol = partial_head.rfind('\n');
  auto line = eol == std::string_view::npos ? partial_head : partial_head.substr(eol + 1);
  auto colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos ||
      line.substr(0, colon).find_first_of(" \t/") != std::string_view::npos) {
    return {};
  }
  std::string name(line.substr(0, colon));
  for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}

}  // namespace parley::http
