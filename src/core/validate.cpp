#include "core/validate.hpp"

#include <cstdint>
#include <string>
#include <utility>

#include "core/error.hpp"

namespace parley::validate {

bool is_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    std::uint8_t c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

namespace {
// Decodes one code point at s[i] (already known to be valid UTF-8).
std::uint32_t decode_at(std::string_view s, std::size_t& i) {
  auto c = static_cast<std::uint8_t>(s[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  int n = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : 3;
  std::uint32_t cp = c & (n == 1 ? 0x1F : n == 2 ? 0x0F : 0x07);
  for (int k = 1; k <= n; ++k) cp = (cp << 6) | (static_cast<std::uint8_t>(s[i + k]) & 0x3F);
  i += n + 1;
  return cp;
}

void check_text(std::string_view field, std::string_view value, bool allow_newlines) {
  if (!is_utf8(value)) fail(Errc::bad_request, "'" + std::string(field) + "' is not valid UTF-8");
  for (std::size_t i = 0; i < value.size();) {
    std::uint32_t cp = decode_at(value, i);
    bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0);
    bool allowed_ws = allow_newlines && (cp == '\n' || cp == '\t' || cp == '\r');
    if (control && !allowed_ws) {
      fail(Errc::bad_request, "'" + std::string(field) + "' contains a control character");
    }
  }
}
}  // namespace

void username(std::string_view field, std::string_view v) {
  auto bad = [&](const char* why) {
    fail(Errc::bad_request, "'" + std::string(field) + "' " + why);
  };
  if (v.size() < 3 || v.size() > 32) bad("must be 3 to 32 characters long");
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) bad("may contain only lowercase letters, digits, '_', '.' and '-'");
  }
  char first = v.front();
  if (!((first >= 'a' && first <= 'z') || (first >= '0' && first <= '9'))) {
    bad("must start with a letter or digit");
  }
}

void single_line_text(std::string_view field, std::string_view value) {
  check_text(field, value, false);
}

void multi_line_text(std::string_view field, std::string_view value) {
  check_text(field, value, true);
}

namespace {

bool emoji_base(std::uint32_t cp) {
  static constexpr std::pair<std::uint32_t, std::uint32_t> kRanges[] = {
      {0x00A9, 0x00A9}, {0x00AE, 0x00AE}, {0x203C, 0x203C},   {0x2049, 0x2049}, {0x2122, 0x2122},
      {0x2139, 0x2139}, {0x2194, 0x21AA}, {0x231A, 0x23FF},   {0x24C2, 0x24C2}, {0x25AA, 0x25FE},
      {0x2600, 0x27BF}, {0x2934, 0x2935}, {0x2B05, 0x2B55},   {0x3030, 0x3030}, {0x303D, 0x303D},
      {0x3297, 0x3297}, {0x3299, 0x3299}, {0x1F000, 0x1FAFF},
  };
  for (auto [lo, hi] : kRanges) {
    if (cp >= lo && cp <= hi) return true;
  }
  return false;
}

// Joiner, variation selectors, the keycap mark and tag characters.
bool emoji_modifier(std::uint32_t cp) {
  return cp == 0x200D || cp == 0xFE0E || cp == 0xFE0F || cp == 0x20E3 ||
         (cp >= 0xE0020 && cp <= 0xE007F);
}

}  // namespace

void reaction(std::string_view field, std::string_view v) {
  auto bad = [&] {
    fail(Errc::bad_request, "'" + std::string(field) +
                                "' must be an emoji or a :short_code: of a-z, 0-9, '_', '+', '-'");
  };
  if (v.size() >= 3 && v.front() == ':' && v.back() == ':') {
    for (char c : v.substr(1, v.size() - 2)) {
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-';
      if (!ok) bad();
    }
    return;
  }
  if (v.empty() || !is_utf8(v)) bad();
  bool base = false;
  for (std::size_t i = 0; i < v.size();) {
    std::uint32_t cp = decode_at(v, i);
    bool keycap_base = (cp >= '0' && cp <= '9') || cp == '#' || cp == '*';
    if (keycap_base) {
      // Only as a keycap: followed by U+FE0F or U+20E3.
      std::size_t j = i;
      std::uint32_t next = j < v.size() ? decode_at(v, j) : 0;
      if (next != 0xFE0F && next != 0x20E3) bad();
      base = true;
    } else if (emoji_base(cp)) {
      base = true;
    } else if (!emoji_modifier(cp)) {
      bad();
    }
  }
  if (!base) bad();
}

}  // namespace parley::validate
