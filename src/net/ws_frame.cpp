#include "net/ws_frame.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace parley::ws {

bool valid_close_code(std::uint16_t code) noexcept {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

bool Utf8Validator::feed(const std::uint8_t* p, std::size_t n) noexcept {
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t c = p[i];
    if (need_ == 0) {
      // ASCII fast path: eight bytes at a time while no high bit is set.
      while (i + 8 <= n) {
        std::uint64_t word;
        std::memcpy(&word, p + i, sizeof word);
        if (word & kHighBits) break;
        i += 8;
      }
      if (i == n) break;
      c = p[i];
      if (c < 0x80) continue;
      if (c >= 0xC2 && c <= 0xDF) {
        need_ = 1;
        lo_ = 0x80;
        hi_ = 0xBF;
      } else if (c >= 0xE0 && c <= 0xEF) {
        need_ = 2;
        lo_ = c == 0xE0 ? 0xA0 : 0x80;  // no overlongs
        hi_ = c == 0xED ? 0x9F : 0xBF;  // no surrogates
      } else if (c >= 0xF0 && c <= 0xF4) {
        need_ = 3;
        lo_ = c == 0xF0 ? 0x90 : 0x80;  // no overlongs
        hi_ = c == 0xF4 ? 0x8F : 0xBF;  // nothing past U+10FFFF
      } else {
        return false;  // continuation byte as a lead, C0, C1, F5..FF
      }
    } else {
      if (c < lo_ || c > hi_) return false;
      lo_ = 0x80;
      hi_ = 0xBF;
      --need_;
    }
  }
  return true;
}

FrameParser::FrameParser(std::size_t max_message, bool require_mask)
    : max_message_(max_message), require_mask_(require_mask) {}

FrameEvent FrameParser::fail(std::uint16_t code, const char* why) {
  failed_ = true;
  message_.clear();
  message_.shrink_to_fit();
  FrameEvent e;
  e.kind = FrameEvent::error;
  e.close_code = code;
  e.payload = why;
  return e;
}

FrameEvent FrameParser::next(const std::uint8_t* data, std::size_t n, std::size_t& consumed) {
  consumed = 0;
  if (failed_) return fail(close_code::kProtocolError, "parser already failed");
  for (;;) {
    if (!in_payload_) {
      while (header_have_ < 2 && consumed < n) header_[header_have_++] = data[consumed++];
      if (header_have_ < 2) return {};
      const std::uint8_t b0 = header_[0];
      const std::uint8_t b1 = header_[1];
      const std::uint8_t len7 = b1 & 0x7F;
      const bool masked = (b1 & 0x80) != 0;
      const std::size_t needed = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
      while (header_have_ < needed && consumed < n) header_[header_have_++] = data[consumed++];
      if (header_have_ < needed) return {};
      header_have_ = 0;

      const std::uint8_t op = b0 & 0x0F;
      if (b0 & 0x70) {
        const bool first_data_frame = op == 0x1 || op == 0x2;
        if (!(compression_ && (b0 & 0x70) == 0x40 && first_data_frame)) {
          return fail(close_code::kProtocolError, "reserved bits set");
        }
      }
      if (op != 0x0 && op != 0x1 && op != 0x2 && op != 0x8 && op != 0x9 && op != 0xA) {
        return fail(close_code::kProtocolError, "unknown opcode");
      }
      if (require_mask_ && !masked)
        return fail(close_code::kProtocolError, "unmasked client frame");
      std::uint64_t len = len7;
      std::size_t pos = 2;
      if (len7 == 126) {
        len = (std::uint64_t{header_[2]} << 8) | header_[3];
        pos = 4;
      } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | header_[2 + i];
        if (len >> 63) return fail(close_code::kProtocolError, "length with the top bit set");
        pos = 10;
      }
      if (masked) std::memcpy(mask_, header_ + pos, 4);
      masked_ = masked;
      fin_ = (b0 & 0x80) != 0;
      opcode_ = static_cast<Opcode>(op);

      if (op >= 0x8) {
        if (!fin_) return fail(close_code::kProtocolError, "fragmented control frame");
        if (len > 125) return fail(close_code::kProtocolError, "control frame over 125 bytes");
        control_.clear();
      } else {
        if (opcode_ == Opcode::continuation && !in_message_) {
          return fail(close_code::kProtocolError, "continuation without a message");
        }
        if (opcode_ != Opcode::continuation && in_message_) {
          return fail(close_code::kProtocolError, "new message inside a fragmented one");
        }
        std::uint64_t have = in_message_ ? message_.size() : 0;
        if (len > max_message_ || have + len > max_message_) {
          return fail(close_code::kTooBig, "message too big");
        }
        if (!in_message_) {
          in_message_ = true;
          message_compressed_ = (b0 & 0x40) != 0;
          message_opcode_ = opcode_;
          message_.clear();
          utf8_.reset();
        }
      }
      remaining_ = len;
      mask_offset_ = 0;
      in_payload_ = true;
    }

    const bool control = static_cast<std::uint8_t>(opcode_) >= 0x8;
    std::string& dest = control ? control_ : message_;
    const std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n - consumed));
    if (take > 0) {
      const std::size_t old = dest.size();
      dest.append(reinterpret_cast<const char*>(data + consumed), take);
      if (masked_) {
        char* p = dest.data() + old;
        for (std::size_t i = 0; i < take; ++i)
          p[i] ^= static_cast<char>(mask_[(mask_offset_ + i) & 3]);
      }
      if (!control && message_opcode_ == Opcode::text && !message_compressed_ &&
          !utf8_.feed(reinterpret_cast<const std::uint8_t*>(dest.data() + old), take)) {
        return fail(close_code::kInvalidPayload, "invalid UTF-8 in a text message");
      }
      consumed += take;
      remaining_ -= take;
      mask_offset_ += take;
    }
    if (remaining_ > 0) return {};
    in_payload_ = false;
    FrameEvent e = finish_frame();
    if (e.kind != FrameEvent::need_more) return e;
  }
}

FrameEvent FrameParser::finish_frame() {
  FrameEvent e;
  switch (opcode_) {
    case Opcode::ping:
      e.kind = FrameEvent::ping;
      e.payload = std::move(control_);
      control_.clear();
      return e;
    case Opcode::pong:
      e.kind = FrameEvent::pong;
      e.payload = std::move(control_);
      control_.clear();
      return e;
    case Opcode::close: {
      if (control_.size() == 1) return fail(close_code::kProtocolError, "close payload of 1 byte");
      e.kind = FrameEvent::close;
      e.close_code = close_code::kNoStatus;
      if (control_.size() >= 2) {
        e.close_code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(control_[0]) << 8) |
                                                  static_cast<std::uint8_t>(control_[1]));
        if (!valid_close_code(e.close_code)) {
          return fail(close_code::kProtocolError, "invalid close code");
        }
        Utf8Validator v;
        std::string_view reason(control_.data() + 2, control_.size() - 2);
        if (!v.feed(reason) || !v.complete()) {
          return fail(close_code::kInvalidPayload, "invalid UTF-8 in the close reason");
        }
        e.payload = std::string(reason);
      }
      control_.clear();
      return e;
    }
    default:
      break;
  }
  if (!fin_) return e;  // more fragments to come
  if (message_opcode_ == Opcode::text && !message_compressed_ && !utf8_.complete()) {
    return fail(close_code::kInvalidPayload, "text message ends inside a UTF-8 sequence");
  }
  e.kind = FrameEvent::message;
  e.opcode = message_opcode_;
  e.compressed = message_compressed_;
  e.payload = std::move(message_);
  message_ = std::string();
  in_message_ = false;
  return e;
}

void append_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin,
                  bool compressed) {
  const std::size_t n = payload.size();
  out.push_back(static_cast<char>((fin ? 0x80 : 0x00) | (compressed ? 0x40 : 0x00) |
                                  static_cast<std::uint8_t>(opcode)));
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>((n >> 8) & 0xFF));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<char>((std::uint64_t{n} >> (8 * i)) & 0xFF));
  }
  out.append(payload);
}

std::string make_frame(Opcode opcode, std::string_view payload, bool compressed) {
  std::string out;
  out.reserve(payload.size() + 10);
  append_frame(out, opcode, payload, true, compressed);
  return out;
}

std::string_view frame_payload(std::string_view frame) {
  if (frame.size() < 2) return {};
  const auto len7 = static_cast<std::uint8_t>(frame[1]) & 0x7F;
  const std::size_t header = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
  return frame.size() < header ? std::string_view() : frame.substr(header);
}

std::string make_close_frame(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason.substr(0, 123));
  return make_frame(Opcode::close, payload);
}

std::string make_masked_frame(Opcode opcode, std::string_view payload, std::uint32_t key, bool fin,
                              std::uint8_t rsv) {
  std::string out;
  append_frame(out, opcode, payload, fin);
  out[0] = static_cast<char>(static_cast<std::uint8_t>(out[0]) | ((rsv & 7) << 4));
  const std::size_t header = out.size() - payload.size();
  out[1] = static_cast<char>(static_cast<std::uint8_t>(out[1]) | 0x80);
  const std::uint8_t mask[4] = {
      static_cast<std::uint8_t>(key >> 24), static_cast<std::uint8_t>(key >> 16),
      static_cast<std::uint8_t>(key >> 8), static_cast<std::uint8_t>(key)};
  out.insert(header, reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out[header + 4 + i] ^= static_cast<char>(mask[i & 3]);
  return out;
}

std::string accept_key(std::string_view client_key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(client_key);
  input.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int len = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
}

}  // namespace parley::ws
