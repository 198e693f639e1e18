#include "net/ws_deflate.hpp"

#include <zlib.h>

#include <stdexcept>
#include <vector>

namespace parley::ws {

namespace {
constexpr unsigned char kTail[4] = {0x00, 0x00, 0xFF, 0xFF};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

struct Deflater::State {
  z_stream z{};
};

Deflater::Deflater(int level) : s_(std::make_unique<State>()) {
  if (deflateInit2(&s_->z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
}

Deflater::~Deflater() { deflateEnd(&s_->z); }

std::string Deflater::compress(std::string_view payload) {
  z_stream& z = s_->z;
  deflateReset(&z);
  std::string out;
  out.resize(deflateBound(&z, payload.size()) + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  z.avail_in = static_cast<uInt>(payload.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_SYNC_FLUSH);
  if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("deflate failed");
  out.resize(out.size() - z.avail_out);
  // RFC 7692 7.2.1: remove the 4 octets 00 00 FF FF the sync flush ends with.
  if (out.size() >= 4 &&
      out.compare(out.size() - 4, 4, reinterpret_cast<const char*>(kTail), 4) == 0) {
    out.resize(out.size() - 4);
  }
  return out;
}

struct Inflater::State {
  z_stream z{};
};

Inflater::Inflater() : s_(std::make_unique<State>()) {
  if (inflateInit2(&s_->z, -15) != Z_OK) throw std::runtime_error("inflateInit2 failed");
}

Inflater::~Inflater() { inflateEnd(&s_->z); }

Inflater::Result Inflater::decompress(std::string_view compressed, std::size_t max_bytes,
                                      std::string& out) {
  z_stream& z = s_->z;
  inflateReset(&z);
  out.clear();
  char chunk[16384];
  // The message, then the 4 octets the sender removed (RFC 7692 7.2.2).
  std::string_view parts[2] = {compressed,
                               std::string_view(reinterpret_cast<const char*>(kTail), 4)};
  for (auto part : parts) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(part.data()));
    z.avail_in = static_cast<uInt>(part.size());
    do {
      z.next_out = reinterpret_cast<Bytef*>(chunk);
      z.avail_out = sizeof chunk;
      int rc = inflate(&z, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return Result::corrupt;
      std::size_t produced = sizeof chunk - z.avail_out;
      if (out.size() + produced > max_bytes) {
        out.clear();
        out.shrink_to_fit();
        return Result::too_big;  // at most max_bytes + one chunk was ever held
      }
      out.append(chunk, produced);
      if (rc == Z_STREAM_END) return Result::ok;  // a final block; the rest is ignored
      if (rc == Z_BUF_ERROR) break;               // no progress possible: needs more input
    } while (z.avail_in > 0 || z.avail_out == 0);
  }
  return Result::ok;
}

DeflateOffer negotiate_deflate(std::string_view header) {
  DeflateOffer result;
  // Offers are comma-separated, each "name; param; param=value".
  std::size_t start = 0;
  while (start <= header.size()) {
    auto end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    std::string_view offer = header.substr(start, end - start);
    start = end + 1;
    auto semi = offer.find(';');
    if (trim(offer.substr(0, semi)) != "permessage-deflate") continue;
    bool acceptable = true;
    while (semi != std::string_view::npos && acceptable) {
      auto next = offer.find(';', semi + 1);
      auto param = trim(offer.substr(
          semi + 1, next == std::string_view::npos ? std::string_view::npos : next - semi - 1));
      semi = next;
      auto eq = param.find('=');
      auto name = trim(param.substr(0, eq));
      auto value = eq == std::string_view::npos ? std::string_view() : trim(param.substr(eq + 1));
      if (!value.empty() && value.front() == '"') value = value.substr(1, value.size() - 2);
      if (name == "server_no_context_takeover" || name == "client_no_context_takeover" ||
          name == "client_max_window_bits") {
        continue;  // compatible with what we do
      }
      if (name == "server_max_window_bits") {
        acceptable = value == "15";
        continue;
      }
      acceptable = false;  // an unknown parameter: decline this offer
    }
    if (acceptable) {
      result.accepted = true;
      result.response =
          "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
      return result;
    }
    if (end == header.size()) break;
  }
  return result;
}

}  // namespace parley::ws
