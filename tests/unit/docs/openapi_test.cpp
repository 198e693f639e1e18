// docs/openapi.yaml is the contract: every route the router serves is
// documented, and every documented route is served.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "../test_util.hpp"
#include "app/config.hpp"
#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "core/ids.hpp"
#include "core/metrics.hpp"
#include "http/api.hpp"
#include "store/database.hpp"

namespace parley {
namespace {

std::set<std::string> documented_routes() {
  std::ifstream in(std::string(PARLEY_SOURCE_DIR) + "/docs/openapi.yaml");
  EXPECT_TRUE(in) << "docs/openapi.yaml not found";
  std::set<std::string> out;
  std::string line, path;
  bool in_paths = false;
  std::regex path_re(R"(^  (/[^:]*):\s*$)");
  std::regex method_re(R"(^    (get|post|put|patch|delete):\s*$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (in_paths && !line.empty() && line[0] != ' ') in_paths = false;
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_re)) {
      path = m[1];
    } else if (std::regex_match(line, m, method_re)) {
      std::string method = m[1];
      for (auto& c : method) c = static_cast<char>(std::toupper(c));
      out.insert(method + " " + path);
    }
  }
  return out;
}

TEST(OpenApi, DocumentAndRouterAgree) {
  testing::TempDir dir;
  Config cfg;
  metrics::Registry metrics;
  store::DatabaseOptions o;
  o.sqlite_path = dir.file("api.db");
  store::Database db(o, metrics);
  IdGenerator ids(0);
  auth::AuthService auth(cfg, db, ids, metrics);
  chat::ChatService chat(cfg, db, ids, metrics);
  http::ServerState state;
  http::Api api(http::Services{cfg, auth, chat, db, metrics, state});

  std::set<std::string> served;
  for (const auto& r : api.router().routes()) served.insert(r.method + " " + r.pattern);
  std::set<std::string> documented = documented_routes();
  ASSERT_FALSE(documented.empty());
  for (const auto& r : served) EXPECT_TRUE(documented.count(r)) << r << " is not in openapi.yaml";
  for (const auto& r : documented)
    EXPECT_TRUE(served.count(r)) << r << " is documented but not served";
}

}  // namespace
}  // namespace parley
