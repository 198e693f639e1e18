#include "http/router.hpp"

#include <algorithm>

namespace parley::http {

namespace {
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  std::size_t i = 1;
  while (i <= path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}
}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route r;
  r.method = std::move(method);
  for (auto s : split_path(pattern)) r.segments.emplace_back(s);
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

bool Router::match_segments(const Route& r, const std::vector<std::string_view>& path,
                            Params* params) {
  if (r.segments.size() != path.size()) return false;
  Params found;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto& seg = r.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      if (path[i].empty()) return false;
      found.emplace_back(seg.substr(1, seg.size() - 2), std::string(path[i]));
    } else if (seg != path[i]) {
      return false;
    }
  }
  if (params) *params = std::move(found);
  return true;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  auto segments = split_path(path);
  if (segments.empty()) return m;
  std::string_view effective = method == "HEAD" ? std::string_view("GET") : method;
  for (const auto& r : routes_) {
    if (!match_segments(r, segments, nullptr)) continue;
    if (m.pattern.empty()) m.pattern = r.pattern;  // labels 405s too
    if (std::find(m.allowed.begin(), m.allowed.end(), r.method) == m.allowed.end()) {
      m.allowed.push_back(r.method);
      if (r.method == "GET") m.allowed.emplace_back("HEAD");
    }
    if (m.kind != Match::found && r.method == effective) {
      m.kind = Match::found;
      m.handler = &r.handler;
      m.pattern = r.pattern;
      match_segments(r, segments, &m.params);
    }
  }
  if (m.kind != Match::found && !m.allowed.empty()) m.kind = Match::method_not_allowed;
  return m;
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  for (const auto& r : routes_) out.push_back({r.method, r.pattern});
  return out;
}

}  // namespace parley::http
