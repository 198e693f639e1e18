// The web app's files, embedded in the binary at build time
// (web/scripts/embed.mjs, or an empty table when built with PARLEY_WEB=OFF).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace parley::web {

struct Asset {
  std::string_view path;          // "/index.html", "/assets/index-abc123.js"
  std::string_view content_type;  // with charset for text
  std::string_view etag;          // hash of raw, without quotes
  std::string_view raw;
  std::string_view gzip;    // empty: not worth compressing
  std::string_view brotli;  // empty: not worth compressing
  bool immutable;           // hashed name: cacheable for a year
};

std::span<const Asset> embedded_assets();
// index.html and what it loads directly, gzipped (what the budget test checks).
std::size_t embedded_initial_load_bytes();

}  // namespace parley::web
