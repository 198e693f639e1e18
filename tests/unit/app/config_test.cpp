#include "app/config.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "../test_util.hpp"

namespace parley {
namespace {

using testing::ScopedEnv;
using testing::TempDir;

ConfigSources isolated() {
  ConfigSources s;
  s.read_default_file = false;
  return s;
}

std::string error_of(const ConfigSources& s) {
  try {
    load_config(s);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

TEST(Config, DefaultsAreValidForDevelopmentAndWarnAboutTheSecret) {
  std::vector<std::string> warnings;
  Config c = load_config(isolated(), &warnings);
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.database.synchronous, "full");
  EXPECT_EQ(c.sqlite_path(), "./data/parley.db");
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_NE(warnings[0].find("jwt_secret"), std::string::npos);
}

TEST(Config, PrecedenceIsDefaultsFileEnvironmentFlags) {
  TempDir dir;
  {
    std::ofstream f(dir.file("p.toml"));
    f << "[server]\nport = 9001\nhost = \"127.0.0.2\"\n[http]\nmax_body_bytes = 4096\n";
  }
  auto s = isolated();
  s.file = dir.file("p.toml");
  EXPECT_EQ(load_config(s).server.port, 9001);
  ScopedEnv env("PARLEY_SERVER_PORT", "9002");
  EXPECT_EQ(load_config(s).server.port, 9002);
  EXPECT_EQ(load_config(s).server.host, "127.0.0.2");  // file value survives
  s.flags.emplace_back("server.port", "9003");
  Config c = load_config(s);
  EXPECT_EQ(c.server.port, 9003);
  EXPECT_EQ(c.http.max_body_bytes, 4096);
}

TEST(Config, BadValuesAreRefusedNamingTheKey) {
  auto s = isolated();
  s.flags = {{"server.port", "eighty"}};
  EXPECT_NE(error_of(s).find("'server.port'"), std::string::npos);
  s.flags = {{"server.port", "70000"}};
  EXPECT_NE(error_of(s).find("'server.port' must be between 0 and 65535"), std::string::npos);
  s.flags = {{"database.synchronous", "off"}};
  EXPECT_NE(error_of(s).find("'database.synchronous' must be one of full, normal"),
            std::string::npos);
  s.flags = {{"no.such_key", "1"}};
  EXPECT_NE(error_of(s).find("unknown config key 'no.such_key'"), std::string::npos);
  s.flags = {{"auth.password_memlimit_kib", "1024"}};
  EXPECT_NE(error_of(s).find("'auth.password_memlimit_kib'"), std::string::npos);
  s.flags = {{"cors.allowed_origins", "example.com"}};
  EXPECT_NE(error_of(s).find("'cors.allowed_origins'"), std::string::npos);
}

TEST(Config, BadEnvironmentValueNamesTheKeyAndTheVariable) {
  ScopedEnv env("PARLEY_HTTP_MAX_BODY_BYTES", "lots");
  std::string e = error_of(isolated());
  EXPECT_NE(e.find("'http.max_body_bytes'"), std::string::npos);
  EXPECT_NE(e.find("PARLEY_HTTP_MAX_BODY_BYTES"), std::string::npos);
}

TEST(Config, ASecretCanComeFromAFileNamedByTheEnvironment) {
  TempDir dir;
  std::string path = dir.file("jwt");
  std::ofstream(path) << std::string(40, 'k') << "\n";
  {
    ScopedEnv env("PARLEY_AUTH_JWT_SECRET_FILE", path.c_str());
    EXPECT_EQ(load_config(isolated()).auth.jwt_secret, std::string(40, 'k'));  // newline dropped
    ScopedEnv both("PARLEY_AUTH_JWT_SECRET", "x");
    EXPECT_NE(error_of(isolated()).find("not both"), std::string::npos);
  }
  {
    ScopedEnv env("PARLEY_METRICS_TOKEN_FILE", dir.file("missing").c_str());
    std::string e = error_of(isolated());
    EXPECT_NE(e.find("PARLEY_METRICS_TOKEN_FILE: cannot read"), std::string::npos) << e;
  }
  {
    std::ofstream(dir.file("huge")) << std::string(65 * 1024, 'h');
    ScopedEnv env("PARLEY_METRICS_TOKEN_FILE", dir.file("huge").c_str());
    EXPECT_NE(error_of(isolated()).find("over 64 KiB"), std::string::npos);
  }
  {
    // Only secrets: other keys have no _FILE form.
    ScopedEnv env("PARLEY_LOG_LEVEL_FILE", path.c_str());
    EXPECT_EQ(load_config(isolated()).log.level, "info");
  }
}

TEST(Config, FileErrorsNameTheKeyOrLine) {
  TempDir dir;
  {
    std::ofstream f(dir.file("typo.toml"));
    f << "[server]\nprot = 1\n";
  }
  {
    std::ofstream f(dir.file("type.toml"));
    f << "[server]\nport = \"80\"\n";
  }
  {
    std::ofstream f(dir.file("syntax.toml"));
    f << "[server\nport = 1\n";
  }
  auto s = isolated();
  s.file = dir.file("typo.toml");
  EXPECT_NE(error_of(s).find("unknown config key 'server.prot'"), std::string::npos);
  s.file = dir.file("type.toml");
  EXPECT_NE(error_of(s).find("'server.port'"), std::string::npos);
  s.file = dir.file("syntax.toml");
  EXPECT_NE(error_of(s).find("line 1"), std::string::npos);
  s.file = dir.file("missing.toml");
  EXPECT_NE(error_of(s).find("not found"), std::string::npos);
}

TEST(Config, CollabListenIsAnAddressAndAPortOfItsOwn) {
  auto with = [](std::string value) {
    auto s = isolated();
    s.flags.emplace_back("collab.listen", std::move(value));
    return s;
  };
  EXPECT_EQ(load_config(with("0.0.0.0:1234")).collab.listen, "0.0.0.0:1234");
  EXPECT_EQ(parse_listen_address("0.0.0.0:1234", "collab.listen"),
            std::make_pair(std::string("0.0.0.0"), static_cast<unsigned short>(1234)));
  EXPECT_EQ(parse_listen_address("[::1]:0", "collab.listen").first, "::1");
  for (const char* bad : {"1234", "localhost:1234", "::1:1234", "10.0.0.0/8:1",
                          "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:12a"}) {
    EXPECT_NE(error_of(with(bad)).find("collab.listen"), std::string::npos) << bad;
  }
  auto same = with("127.0.0.1:8080");
  EXPECT_NE(error_of(same).find("server.port"), std::string::npos);
  auto off = with("127.0.0.1:1234");
  off.flags.emplace_back("collab.enabled", "false");
  EXPECT_NE(error_of(off).find("collab.enabled"), std::string::npos);
}

TEST(Config, ProductionRefusesInsecureSettings) {
  auto s = isolated();
  s.flags = {{"mode", "production"}};
  EXPECT_NE(error_of(s).find("'auth.jwt_secret' is the development default"), std::string::npos);
  s.flags.emplace_back("auth.jwt_secret", "too-short-secret");
  EXPECT_NE(error_of(s).find("at least 32 bytes"), std::string::npos);
  s.flags.emplace_back("auth.jwt_secret", std::string(40, 'k'));
  s.flags.emplace_back("cors.allowed_origins", "https://app.example.com, *");
  EXPECT_NE(error_of(s).find("'*'"), std::string::npos);
  s.flags.emplace_back("cors.allowed_origins", "https://app.example.com");
  Config c = load_config(s);
  EXPECT_TRUE(c.production());
  ASSERT_EQ(c.cors.allowed_origins.size(), 1U);
}

TEST(Config, DescribeRedactsSecrets) {
  auto s = isolated();
  s.flags = {{"auth.jwt_secret", std::string(40, 'z')}};
  Config c = load_config(s);
  std::string text = describe(c);
  EXPECT_EQ(text.find(std::string(40, 'z')), std::string::npos);
  EXPECT_NE(text.find("auth.jwt_secret = <redacted>"), std::string::npos);
  s.flags.emplace_back("metrics.token", "scrape-me");
  c = load_config(s);
  EXPECT_EQ(describe(c).find("scrape-me"), std::string::npos);
  EXPECT_NE(describe(c).find("metrics.token = <redacted>"), std::string::npos);
}

TEST(Config, ReadmeDocumentsEveryKey) {
  std::ifstream in(std::string(PARLEY_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in) << "README.md not found";
  std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Config c;
  for (const auto& b : bindings(c)) {
    EXPECT_NE(readme.find("| `" + b.key + "` |"), std::string::npos)
        << "README.md configuration table lacks " << b.key
        << " (regenerate it with `parley config table`)";
  }
}

}  // namespace
}  // namespace parley
