// Structured logging: one JSON object per line on stdout (or key=value text
// for development). Any thread. Backed by an spdlog async logger; spdlog's
// headers stay inside log.cpp to keep translation units lean.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace parley::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

struct Field {
  using Value = std::variant<std::string_view, std::int64_t, double, bool>;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Field(std::string_view k, T v) : key(k), value(static_cast<std::int64_t>(v)) {}

  std::string_view key;
  Value value;
};

// Must run before any other thread logs. format: "json" or "text".
void init(Level level, std::string_view format);
bool parse_level(std::string_view text, Level& out);
bool enabled(Level level) noexcept;
void write(Level level, std::string_view event, std::initializer_list<Field> fields = {});
void flush();

inline void debug(std::string_view e, std::initializer_list<Field> f = {}) {
  write(Level::debug, e, f);
}
inline void info(std::string_view e, std::initializer_list<Field> f = {}) {
  write(Level::info, e, f);
}
inline void warn(std::string_view e, std::initializer_list<Field> f = {}) {
  write(Level::warn, e, f);
}
inline void error(std::string_view e, std::initializer_list<Field> f = {}) {
  write(Level::error, e, f);
}

// Appends s to out as a JSON string literal (quotes included); invalid UTF-8
// bytes become U+FFFD so every line stays valid JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace parley::log
