#pragma once

#include <string_view>

namespace parley::build {
extern const std::string_view kVersion;
extern const std::string_view kCommit;
extern const std::string_view kBuildType;
}  // namespace parley::build
