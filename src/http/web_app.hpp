// Serves the web app: the files embedded at build time, or a build on disk
// (web.dir, read and gzipped once at start). Nothing is read from disk per
// request, so no request path can reach the filesystem.
//
//  - hashed assets (/assets/*): Cache-Control public, max-age=31536000, immutable
//  - everything else (index.html, sw.js, ...): no-cache, with an ETag (304)
//  - brotli or gzip as Accept-Encoding allows (Vary: Accept-Encoding)
//  - HTML carries a CSP that allows the app's own scripts, styles and
//    connections (the same origin and its WebSocket) and nothing else
//  - an app route (/c/123, /account) that is not a file gets index.html;
//    anything else unknown is 404
//
// Immutable after construction; any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "http/message.hpp"
#include "http/web_assets.hpp"

namespace parley {
struct Config;
}

namespace parley::http {

class WebApp {
 public:
  // Throws std::runtime_error naming the problem when web.dir cannot be used.
  explicit WebApp(const Config& cfg);

  // Whether a request for this path is the app's (not the API's) to answer.
  bool enabled() const { return enabled_; }
  static bool is_app_path(std::string_view path);
  // The response for a GET or HEAD of path; nullopt when it is not ours.
  std::optional<Response> serve(const Request& req) const;
  std::size_t file_count() const { return assets_.size(); }

 private:
  struct Owned {
    std::string path, type, etag, raw, gzip;
  };
  const web::Asset* find(std::string_view path) const;

  bool enabled_ = false;
  std::vector<Owned> owned_;  // web.dir: the files read at start
  std::vector<web::Asset> assets_;
};

}  // namespace parley::http
