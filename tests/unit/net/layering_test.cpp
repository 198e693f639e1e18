// The transport in net/ knows frames and bytes only: it includes nothing from
// the layers built on it (chat/, realtime/, app/, collab/), which reach it
// through net/websocket.hpp and net/options.hpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "net/websocket.hpp"

namespace {

TEST(NetLayering, IncludesNothingFromTheLayersAbove) {
  const std::vector<std::string> forbidden = {"\"chat/", "\"realtime/", "\"app/", "\"collab/"};
  std::filesystem::path dir = std::filesystem::path(PARLEY_SOURCE_DIR) / "src" / "net";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    ++files;
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.rfind("#include", 0) != 0) continue;
      for (const auto& f : forbidden) {
        EXPECT_EQ(line.find(f), std::string::npos)
            << entry.path().filename().string() << ":" << n << ": " << line;
      }
    }
  }
  EXPECT_GE(files, 8);  // the directory was found and read
}

TEST(WsRoute, MatchesAnExactPathOrEverythingUnderAPrefix) {
  parley::net::WsRoute exact;
  exact.path = "/ws";
  EXPECT_TRUE(exact.matches("/ws"));
  EXPECT_FALSE(exact.matches("/ws/"));
  EXPECT_FALSE(exact.matches("/wss"));
  EXPECT_FALSE(exact.matches("/"));

  parley::net::WsRoute prefix;
  prefix.path = "/collab/";
  EXPECT_TRUE(prefix.matches("/collab/doc-1"));
  EXPECT_FALSE(prefix.matches("/collab/"));  // a document name is required
  EXPECT_FALSE(prefix.matches("/collab"));
  EXPECT_FALSE(prefix.matches("/collabx/doc"));
}

}  // namespace
