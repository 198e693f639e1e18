// Method + path-pattern router. Patterns are literal segments and {name}
// placeholders, each matching one non-empty segment: /api/conversations/{id}.
// A path that matches a pattern under another method yields 405 with the
// allowed methods; no pattern at all yields 404.
//
// Threading: build once at start-up, then read-only from any thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.hpp"

namespace parley::http {

struct Context;
using Handler = std::function<Response(Context&)>;
using Params = std::vector<std::pair<std::string, std::string>>;

struct RouteInfo {
  std::string method;
  std::string pattern;
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);

  struct Match {
    enum Kind { found, not_found, method_not_allowed } kind = not_found;
    const Handler* handler = nullptr;
    std::string pattern;               // the matched route's pattern (metrics label)
    Params params;                     // placeholder values
    std::vector<std::string> allowed;  // for 405 and OPTIONS
  };
  // HEAD matches GET routes.
  Match match(std::string_view method, std::string_view path) const;
  std::vector<RouteInfo> routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  static bool match_segments(const Route& r, const std::vector<std::string_view>& path,
                             Params* params);
  std::vector<Route> routes_;
};

}  // namespace parley::http
