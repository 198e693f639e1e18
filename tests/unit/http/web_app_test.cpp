#include "http/web_app.hpp"

#include <gtest/gtest.h>

#include "app/config.hpp"

namespace parley::http {
namespace {

TEST(WebAssets, InitialLoadIsWithinTheBudget) {
  if (web::embedded_assets().empty()) GTEST_SKIP() << "built with PARLEY_WEB=OFF";
  EXPECT_GT(web::embedded_initial_load_bytes(), 0u);
  EXPECT_LE(web::embedded_initial_load_bytes(), static_cast<std::size_t>(PARLEY_WEB_BUDGET))
      << "index.html and what it loads directly, gzipped";
}

TEST(WebAssets, EveryScriptAndStyleIndexHtmlNamesIsEmbedded) {
  if (web::embedded_assets().empty()) GTEST_SKIP() << "built with PARLEY_WEB=OFF";
  std::string_view html;
  for (const auto& a : web::embedded_assets())
    if (a.path == "/index.html") html = a.raw;
  ASSERT_FALSE(html.empty());
  int found = 0;
  for (std::size_t i = 0; (i = html.find("\"/assets/", i)) != std::string_view::npos; ++i) {
    auto end = html.find('"', i + 1);
    auto path = html.substr(i + 1, end - i - 1);
    bool have = false;
    for (const auto& a : web::embedded_assets()) have = have || a.path == path;
    EXPECT_TRUE(have) << path;
    ++found;
  }
  EXPECT_GE(found, 1);
}

Request get(std::string path, std::string accept = "") {
  Request r;
  r.method = "GET";
  r.path = std::move(path);
  if (!accept.empty()) r.headers.emplace_back("accept-encoding", std::move(accept));
  r.headers.emplace_back("host", "chat.example.com");
  return r;
}

TEST(WebApp, LeavesTheApiAndTheGatewayAlone) {
  EXPECT_FALSE(WebApp::is_app_path("/api/health"));
  EXPECT_FALSE(WebApp::is_app_path("/ws"));
  EXPECT_FALSE(WebApp::is_app_path("/metrics"));
  EXPECT_TRUE(WebApp::is_app_path("/"));
  EXPECT_TRUE(WebApp::is_app_path("/c/12"));
}

TEST(WebApp, NegotiatesEncodingAndRefusesWhatIsNotARoute) {
  Config cfg;
  WebApp app(cfg);
  if (!app.enabled()) GTEST_SKIP() << "built with PARLEY_WEB=OFF";
  auto br = app.serve(get("/", "gzip, br"));
  ASSERT_TRUE(br);
  EXPECT_EQ(br->get("Content-Encoding"), "br");
  auto q0 = app.serve(get("/", "br;q=0, gzip;q=0.5"));
  EXPECT_EQ(q0->get("Content-Encoding"), "gzip");
  auto none = app.serve(get("/", "identity"));
  EXPECT_EQ(none->get("Content-Encoding"), "");
  EXPECT_NE(none->get("Content-Security-Policy").find("wss://chat.example.com"),
            std::string_view::npos);
  EXPECT_TRUE(app.serve(get("/c/123")));
  EXPECT_FALSE(app.serve(get("/..%2f..%2fetc%2fpasswd")));
  EXPECT_FALSE(app.serve(get("/assets/nothing.js")));
  EXPECT_FALSE(app.serve(get("/api/health")));
}

TEST(WebApp, DisabledServesNothing) {
  Config cfg;
  cfg.web.enabled = false;
  WebApp app(cfg);
  EXPECT_FALSE(app.enabled());
  EXPECT_FALSE(app.serve(get("/")));
}

}  // namespace
}  // namespace parley::http
