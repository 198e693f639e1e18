// RFC 6455 framing, written for the server side of Parley's gateway.
//
// FrameParser is incremental and bounded: feed it whatever bytes arrived, take
// events out one at a time. It assembles fragmented messages, lets control
// frames interleave with fragments, validates UTF-8 of text messages as the
// bytes arrive (across fragment boundaries), refuses unmasked client frames,
// reserved bits, unknown opcodes and malformed close frames, and refuses a
// message whose length would pass the limit before storing any of it.
//
// Each error carries the close code the connection must be closed with:
// 1002 protocol error, 1007 invalid payload data, 1009 message too big.
//
// Threading: one parser per connection, used by that connection's worker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley::ws {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

namespace close_code {
inline constexpr std::uint16_t kNormal = 1000;
inline constexpr std::uint16_t kGoingAway = 1001;
inline constexpr std::uint16_t kProtocolError = 1002;
inline constexpr std::uint16_t kUnsupported = 1003;
inline constexpr std::uint16_t kNoStatus = 1005;  // never sent on the wire
inline constexpr std::uint16_t kInvalidPayload = 1007;
inline constexpr std::uint16_t kPolicy = 1008;
inline constexpr std::uint16_t kTooBig = 1009;
inline constexpr std::uint16_t kInternal = 1011;
inline constexpr std::uint16_t kUnauthenticated = 4001;
inline constexpr std::uint16_t kForbidden = 4003;
inline constexpr std::uint16_t kRateLimited = 4008;
inline constexpr std::uint16_t kSlowConsumer = 4009;
}  // namespace close_code

// True for codes a peer may send in a close frame (RFC 6455 section 7.4).
bool valid_close_code(std::uint16_t code) noexcept;

// Streaming UTF-8 validator: feed chunks in order; a sequence may straddle chunks.
class Utf8Validator {
 public:
  // False as soon as the bytes cannot be the start of valid UTF-8.
  bool feed(const std::uint8_t* p, std::size_t n) noexcept;
  bool feed(std::string_view s) noexcept {
    return feed(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  }
  // True when no multi-byte sequence is left open.
  bool complete() const noexcept { return need_ == 0; }
  void reset() noexcept {
    need_ = 0;
    lo_ = 0x80;
    hi_ = 0xBF;
  }

 private:
  int need_ = 0;            // continuation bytes still expected
  std::uint8_t lo_ = 0x80;  // bounds for the next continuation byte
  std::uint8_t hi_ = 0xBF;
};

struct FrameEvent {
  enum Kind {
    need_more,  // feed more bytes
    message,    // a whole text or binary message: opcode, payload
    ping,       // payload
    pong,       // payload
    close,      // close_code (kNoStatus when none given), payload = reason
    error,      // close_code to close with, payload = reason for logs
  } kind = need_more;
  Opcode opcode = Opcode::text;
  std::uint16_t close_code = 0;
  bool compressed = false;  // permessage-deflate: payload must be inflated (UTF-8 not yet checked)
  std::string payload;
};

class FrameParser {
 public:
  // max_message: largest message payload (after reassembly) accepted.
  // require_mask: client-to-server frames must be masked (RFC 6455 5.1).
  explicit FrameParser(std::size_t max_message, bool require_mask = true);

  // Consumes bytes from data[0..n) and returns the next event. Call again
  // with the rest (data + consumed) until it returns need_more. After an
  // error the parser stays failed.
  FrameEvent next(const std::uint8_t* data, std::size_t n, std::size_t& consumed);

  // Bytes held for an unfinished message (for memory accounting).
  std::size_t buffered() const noexcept { return message_.size() + control_.size(); }
  bool failed() const noexcept { return failed_; }
  // After permessage-deflate was negotiated: RSV1 marks a compressed message
  // on its first frame (RFC 7692 6); elsewhere it stays a protocol error.
  void enable_compression() noexcept { compression_ = true; }
  // Takes effect from the next message.
  void set_max_message(std::size_t max_message) noexcept { max_message_ = max_message; }

 private:
  FrameEvent fail(std::uint16_t code, const char* why);
  FrameEvent finish_frame();

  std::size_t max_message_;
  bool require_mask_;
  bool failed_ = false;
  bool compression_ = false;
  bool message_compressed_ = false;

  // Header being read.
  std::uint8_t header_[14];
  std::size_t header_have_ = 0;
  bool in_payload_ = false;

  // Current frame.
  bool fin_ = false;
  Opcode opcode_ = Opcode::text;
  std::uint8_t mask_[4] = {0, 0, 0, 0};
  bool masked_ = false;
  std::uint64_t remaining_ = 0;
  std::uint64_t mask_offset_ = 0;

  // Message being assembled (data frames) and the control frame payload.
  bool in_message_ = false;
  Opcode message_opcode_ = Opcode::text;
  std::string message_;
  std::string control_;
  Utf8Validator utf8_;
};

// Server frames are never masked. Appends one frame to out.
void append_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin = true,
                  bool compressed = false);
std::string make_frame(Opcode opcode, std::string_view payload, bool compressed = false);
// The payload of a frame built by append_frame/make_frame.
std::string_view frame_payload(std::string_view frame);
std::string make_close_frame(std::uint16_t code, std::string_view reason = {});

// Client side, for tests and the load tool: a masked frame.
std::string make_masked_frame(Opcode opcode, std::string_view payload, std::uint32_t mask_key,
                              bool fin = true, std::uint8_t rsv = 0);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2).
std::string accept_key(std::string_view client_key);

}  // namespace parley::ws
