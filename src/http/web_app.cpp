#include "http/web_app.hpp"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "app/config.hpp"
#include "auth/tokens.hpp"

namespace parley::http {

namespace fs = std::filesystem;

namespace {

std::string_view type_for(std::string_view path) {
  auto dot = path.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot);
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".webmanifest") return "application/manifest+json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::string gzip(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string{};
}

// The items of a comma-separated header, trimmed.
std::vector<std::string_view> list_items(std::string_view header) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < header.size()) {
    auto comma = header.find(',', i);
    auto item =
        header.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i);
    i = comma == std::string_view::npos ? header.size() : comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Whether Accept-Encoding allows a coding (q=0 refuses it).
bool accepts(std::string_view header, std::string_view coding) {
  for (auto item : list_items(header)) {
    auto semi = item.find(';');
    auto name = item.substr(0, semi);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name != coding && name != "*") continue;
    if (semi != std::string_view::npos) {
      auto params = item.substr(semi + 1);
      auto q = params.find("q=");
      if (q != std::string_view::npos) {
        auto v = params.substr(q + 2);
        if (v.starts_with("0") && v.find_first_not_of("0.", 0) == std::string_view::npos) continue;
      }
    }
    return true;
  }
  return false;
}

// A Host header fit to appear in a CSP source (host, host:port, [v6]:port).
bool plain_host(std::string_view host) {
  return !host.empty() && host.size() <= 255 && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == ':' || c == '[' || c == ']';
  });
}

// If-None-Match uses weak comparison (RFC 9110 13.1.2): W/"x" matches "x".
// etag is quoted.
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  for (auto item : list_items(if_none_match)) {
    if (item == "*") return true;
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag) return true;
  }
  return false;
}

}  // namespace

WebApp::WebApp(const Config& cfg) {
  if (!cfg.web.enabled) return;
  if (cfg.web.dir.empty()) {
    auto embedded = web::embedded_assets();
    assets_.assign(embedded.begin(), embedded.end());
  } else {
    fs::path root(cfg.web.dir);
    if (!fs::is_regular_file(root / "index.html")) {
      throw std::runtime_error("config key 'web.dir': " + cfg.web.dir + " has no index.html");
    }
    std::uint64_t total = 0;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file()) continue;
      std::string rel = "/" + fs::relative(entry.path(), root).generic_string();
      total += entry.file_size();
      if (total > static_cast<std::uint64_t>(cfg.web.max_bytes)) {
        throw std::runtime_error("config key 'web.dir': " + cfg.web.dir +
                                 " holds more than web.max_bytes");
      }
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream data;
      data << in.rdbuf();
      Owned o;
      o.path = rel;
      o.type = std::string(type_for(rel));
      o.raw = data.str();
      o.etag = auth::sha256_hex(o.raw).substr(0, 20);
      std::string z = gzip(o.raw);
      if (o.raw.size() > 256 && !z.empty() && z.size() < o.raw.size()) o.gzip = std::move(z);
      owned_.push_back(std::move(o));
    }
    for (const auto& o : owned_) {
      assets_.push_back(
          {o.path, o.type, o.etag, o.raw, o.gzip, {}, o.path.starts_with("/assets/")});
    }
  }
  enabled_ = find("/index.html") != nullptr;
}

bool WebApp::is_app_path(std::string_view path) {
  if (path.starts_with("/api/") || path == "/api" || path == "/ws" || path.starts_with("/ws/") ||
      path == "/metrics") {
    return false;
  }
  return true;
}

const web::Asset* WebApp::find(std::string_view path) const {
  for (const auto& a : assets_) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

std::optional<Response> WebApp::serve(const Request& req) const {
  if (!enabled_ || !is_app_path(req.path)) return std::nullopt;
  std::string_view path = req.path == "/" ? "/index.html" : std::string_view(req.path);
  const web::Asset* asset = find(path);
  if (!asset) {
    // A history-mode route of the app (letters, digits, '/', '-', '_'; no
    // dots, no escapes, not under /assets/) gets the app; anything else is 404.
    bool route = !path.starts_with("/assets/") && std::all_of(path.begin(), path.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '/' || c == '-' || c == '_';
    });
    if (!route) return std::nullopt;
    asset = find("/index.html");
  }

  auto accept = req.header("accept-encoding");
  std::string_view body = asset->raw;
  std::string_view coding;
  if (!asset->brotli.empty() && accepts(accept, "br")) {
    body = asset->brotli;
    coding = "br";
  } else if (!asset->gzip.empty() && accepts(accept, "gzip")) {
    body = asset->gzip;
    coding = "gzip";
  }
  // One ETag per representation (RFC 9110 8.8.3: strong validators differ by coding).
  std::string etag =
      "\"" + std::string(asset->etag) + (coding.empty() ? "" : "-") + std::string(coding) + "\"";

  Response res;
  res.set("Content-Type", std::string(asset->content_type));
  res.set("ETag", etag);
  res.set("Cache-Control", asset->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (!asset->gzip.empty() || !asset->brotli.empty()) res.set("Vary", "Accept-Encoding");
  if (!coding.empty()) res.set("Content-Encoding", std::string(coding));
  // Pages, and the service worker (a worker's policy is its own script's):
  // the app's policy. Everything else can run nothing.
  if (asset->content_type.starts_with("text/html") || asset->path == "/sw.js") {
    std::string connect = "'self'";
    auto host = req.header("host");
    if (plain_host(host)) {
      connect += " ws://" + std::string(host) + " wss://" + std::string(host);
    }
    res.set("Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            "font-src 'self'; connect-src " +
                connect +
                "; manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; "
                "form-action 'self'; frame-ancestors 'none'");
  } else {
    res.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  }
  if (etag_matches(req.header("if-none-match"), etag)) {
    res.status = 304;
    return res;
  }
  res.status = 200;
  res.body = std::string(body);
  res.head_length = body.size();
  return res;
}

}  // namespace parley::http
