// The npm yjs golden vectors (tests/vectors/yjs_v1.json, made by
// tests/vectors/make_yjs_v1.mjs), shared by the collab unit tests.
#pragma once

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace parley::collab::yjs_test {

inline const boost::json::value& yjs_vectors() {
  static const boost::json::value doc = [] {
    std::ifstream in(std::string(PARLEY_SOURCE_DIR) + "/tests/vectors/yjs_v1.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return boost::json::parse(ss.str());
  }();
  return doc;
}

inline std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

// A hex field of a vector, as bytes.
inline std::string field(const boost::json::value& v, const char* name) {
  return unhex(v.at(name).as_string());
}

}  // namespace parley::collab::yjs_test
