#include "collab/lib0.hpp"

#include "core/error.hpp"
#include "core/validate.hpp"

namespace parley::collab {

void Lib0Reader::truncated() const { fail(Errc::bad_request, "lib0: input ends inside a value"); }

std::uint8_t Lib0Reader::byte() {
  if (pos_ >= bytes_.size()) truncated();
  return static_cast<std::uint8_t>(bytes_[pos_++]);
}

namespace {

// Adds seven bits at `shift`, refusing integers over 2^53 and encodings
// longer than any such integer needs.
void add_bits(std::uint64_t& v, std::uint8_t b, int shift) {
  std::uint64_t part = b & 0x7fu;
  if (shift >= 53 ? part != 0 : (part >> (53 - shift)) != 0) {
    fail(Errc::bad_request, "lib0: integer larger than 2^53");
  }
  if (shift < 53) v |= part << shift;
  if ((b & 0x80) != 0 && shift > 56) fail(Errc::bad_request, "lib0: integer encoding too long");
}

}  // namespace

std::uint64_t Lib0Reader::var_uint() {
  std::uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    std::uint8_t b = byte();
    add_bits(v, b, shift);
    if ((b & 0x80) == 0) return v;
  }
}

std::int64_t Lib0Reader::var_int() {
  // First byte: continuation bit, sign bit, six bits of value.
  std::uint8_t b = byte();
  bool negative = (b & 0x40) != 0;
  std::uint64_t v = b & 0x3f;
  for (int shift = 6; (b & 0x80) != 0; shift += 7) {
    b = byte();
    add_bits(v, b, shift);
  }
  return negative ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
}

std::string_view Lib0Reader::raw(std::size_t n) {
  if (n > remaining()) truncated();
  auto out = bytes_.substr(pos_, n);
  pos_ += n;
  return out;
}

std::string_view Lib0Reader::var_bytes() {
  std::uint64_t n = var_uint();
  if (n > remaining()) truncated();
  return raw(static_cast<std::size_t>(n));
}

std::string_view Lib0Reader::var_string() {
  auto s = var_bytes();
  if (!validate::is_utf8(s)) fail(Errc::bad_request, "lib0: a string is not valid UTF-8");
  return s;
}

void Lib0Reader::skip_any() { skip_any(0); }

void Lib0Reader::skip_any(int depth) {
  if (depth > kMaxAnyDepth) fail(Errc::bad_request, "lib0: values nested too deep");
  switch (byte()) {
    case 127:  // undefined
    case 126:  // null
    case 121:  // false
    case 120:  // true
      return;
    case 125:
      var_int();
      return;
    case 124:
      raw(4);
      return;  // float32
    case 123:
      raw(8);
      return;  // float64
    case 122:
      raw(8);
      return;  // bigint64
    case 119:
      var_string();
      return;
    case 118: {  // object: count, then key and value pairs
      for (std::uint64_t n = var_uint(); n > 0; --n) {
        var_string();
        skip_any(depth + 1);
      }
      return;
    }
    case 117: {  // array
      for (std::uint64_t n = var_uint(); n > 0; --n) skip_any(depth + 1);
      return;
    }
    case 116:
      var_bytes();
      return;  // Uint8Array
    default:
      fail(Errc::bad_request, "lib0: unknown value type");
  }
}

void Lib0Writer::var_uint(std::uint64_t v) {
  while (v > 0x7f) {
    out_ += static_cast<char>(0x80 | (v & 0x7f));
    v >>= 7;
  }
  out_ += static_cast<char>(v);
}

void Lib0Writer::var_bytes(std::string_view b) {
  var_uint(b.size());
  out_ += b;
}

namespace {

// Length of the UTF-8 sequence a lead byte starts (input already valid).
std::size_t sequence_length(unsigned char lead) noexcept {
  if (lead < 0x80) return 1;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

}  // namespace

std::uint64_t utf16_length(std::string_view utf8) noexcept {
  std::uint64_t units = 0;
  for (std::size_t i = 0; i < utf8.size();) {
    std::size_t n = sequence_length(static_cast<unsigned char>(utf8[i]));
    units += n == 4 ? 2 : 1;
    i += n;
  }
  return units;
}

std::string utf16_slice_from(std::string_view utf8, std::uint64_t offset) {
  std::uint64_t units = 0;
  std::size_t i = 0;
  while (i < utf8.size() && units < offset) {
    std::size_t n = sequence_length(static_cast<unsigned char>(utf8[i]));
    if (n == 4 && units + 1 == offset) {
      // The offset splits a surrogate pair: what is left of this character
      // is a lone low surrogate, which TextEncoder writes as U+FFFD.
      return "\xef\xbf\xbd" + std::string(utf8.substr(i + n));
    }
    units += n == 4 ? 2 : 1;
    i += n;
  }
  return std::string(utf8.substr(i));
}

}  // namespace parley::collab
