// permessage-deflate (RFC 7692) with no context takeover in either direction:
// every message is compressed and decompressed on its own, so one Deflater
// and one Inflater per worker serve all of its connections and no connection
// keeps a zlib window (about 300 KiB each otherwise).
//
// Threading: one instance per worker thread.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace parley::ws {

class Deflater {
 public:
  explicit Deflater(int level = 1);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // The compressed payload of one message (the trailing 00 00 FF FF removed).
  std::string compress(std::string_view payload);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

class Inflater {
 public:
  Inflater();
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  enum class Result { ok, too_big, corrupt };
  // Decompresses one message into out, stopping as soon as the output would
  // pass max_bytes (a deflate bomb costs at most max_bytes of memory).
  Result decompress(std::string_view compressed, std::size_t max_bytes, std::string& out);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

struct DeflateOffer {
  bool accepted = false;
  std::string response;  // the Sec-WebSocket-Extensions value to answer with
};

// Reads a Sec-WebSocket-Extensions header and decides whether to accept
// permessage-deflate: accepted for an offer we can honour with
// server_no_context_takeover and client_no_context_takeover (an offer asking
// for a server window under 15 bits is declined: our per-worker compressor
// uses 15).
DeflateOffer negotiate_deflate(std::string_view extensions_header);

}  // namespace parley::ws
