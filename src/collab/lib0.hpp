// lib0's binary encoding, as Yjs and y-protocols write it: variable-length
// unsigned and signed integers, length-prefixed bytes and UTF-8 strings, and
// lib0's self-describing "any" values. The reader never reads past its input
// and throws Error(bad_request) on anything malformed; it allocates nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::collab {

// JavaScript numbers are exact to 2^53: lib0 refuses larger integers, so do we.
inline constexpr std::uint64_t kMaxSafeInteger = (std::uint64_t{1} << 53) - 1;

class Lib0Reader {
 public:
  explicit Lib0Reader(std::string_view bytes) : bytes_(bytes) {}
  // It reads a view: a temporary string would be gone before the reading.
  explicit Lib0Reader(std::string&&) = delete;

  std::uint8_t byte();
  std::uint64_t var_uint();
  std::int64_t var_int();
  // varUint8Array: a length, then that many bytes.
  std::string_view var_bytes();
  // varString: a byte length, then UTF-8 (checked).
  std::string_view var_string();
  std::string_view raw(std::size_t n);
  // Skips one lib0 "any" value (nested arrays and objects at most
  // kMaxAnyDepth deep).
  void skip_any();

  std::size_t pos() const noexcept { return pos_; }
  bool done() const noexcept { return pos_ == bytes_.size(); }
  std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
  // The bytes from `from` to the current position.
  std::string_view since(std::size_t from) const noexcept {
    return bytes_.substr(from, pos_ - from);
  }

  static constexpr int kMaxAnyDepth = 64;

 private:
  void skip_any(int depth);
  [[noreturn]] void truncated() const;

  std::string_view bytes_;
  std::size_t pos_ = 0;
};

class Lib0Writer {
 public:
  void byte(std::uint8_t b) { out_ += static_cast<char>(b); }
  void var_uint(std::uint64_t v);
  void var_bytes(std::string_view b);
  void var_string(std::string_view s) { var_bytes(s); }
  void raw(std::string_view b) { out_ += b; }

  const std::string& bytes() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// UTF-16 code units of valid UTF-8 text: Yjs counts string lengths and
// offsets in them, as JavaScript does.
std::uint64_t utf16_length(std::string_view utf8) noexcept;

// The text from UTF-16 offset `offset` on, as JavaScript's slice() and
// TextEncoder give it: an offset inside a surrogate pair leaves a lone low
// surrogate, which becomes U+FFFD.
std::string utf16_slice_from(std::string_view utf8, std::uint64_t offset);

}  // namespace parley::collab
