#include "http/middleware.hpp"

#include <gtest/gtest.h>

namespace parley::http {
namespace {

Request with(Headers h, std::string remote = "10.0.0.1") {
  Request r;
  r.method = "GET";
  r.headers = std::move(h);
  r.remote_addr = std::move(remote);
  return r;
}

TEST(RequestId, PassesValidIdsThroughAndReplacesOthers) {
  EXPECT_EQ(request_id_for(with({{"x-request-id", "abc-123_x.y"}})), "abc-123_x.y");
  auto generated = request_id_for(with({}));
  EXPECT_GE(generated.size(), 16U);
  EXPECT_NE(generated, request_id_for(with({})));
  EXPECT_NE(request_id_for(with({{"x-request-id", "evil\"}\n"}})), "evil\"}\n");
  EXPECT_NE(request_id_for(with({{"x-request-id", std::string(200, 'a')}})), std::string(200, 'a'));
}

TEST(ClientIp, TrustsForwardedForOnlyFromTrustedProxies) {
  std::vector<std::string> trusted{"127.0.0.1"};
  EXPECT_EQ(client_ip_for(with({{"x-forwarded-for", "1.2.3.4"}}, "9.9.9.9"), trusted), "9.9.9.9");
  EXPECT_EQ(client_ip_for(with({{"x-forwarded-for", "1.2.3.4"}}, "127.0.0.1"), trusted), "1.2.3.4");
  // A client-supplied first hop is ignored: the right-most untrusted hop wins.
  EXPECT_EQ(client_ip_for(with({{"x-forwarded-for", "6.6.6.6, 1.2.3.4, 127.0.0.1"}}, "127.0.0.1"),
                          trusted),
            "1.2.3.4");
  EXPECT_EQ(client_ip_for(with({}, "127.0.0.1"), trusted), "127.0.0.1");
}

TEST(Https, FromTlsOrTrustedProxyHeader) {
  std::vector<std::string> trusted{"127.0.0.1"};
  EXPECT_FALSE(is_https(with({{"x-forwarded-proto", "https"}}, "9.9.9.9"), trusted));
  EXPECT_TRUE(is_https(with({{"x-forwarded-proto", "https"}}, "127.0.0.1"), trusted));
  auto tls = with({});
  tls.tls = true;
  EXPECT_TRUE(is_https(tls, trusted));
}

TEST(Cors, AllowsListedOriginsOnly) {
  Cors cors({"https://app.example.com"}, 600);
  Response ok;
  cors.apply(with({{"origin", "https://app.example.com"}}), ok);
  EXPECT_EQ(ok.get("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(ok.get("Vary"), "Origin");
  Response no;
  cors.apply(with({{"origin", "https://evil.example"}}), no);
  EXPECT_EQ(no.get("Access-Control-Allow-Origin"), "");
}

TEST(Cors, PreflightAnswersAllowedOriginAndRefusesOthers) {
  Cors cors({"https://app.example.com"}, 600);
  auto good = cors.preflight(
      with({{"origin", "https://app.example.com"}, {"access-control-request-method", "POST"}}),
      {"GET", "POST"});
  EXPECT_EQ(good.status, 204);
  EXPECT_EQ(good.get("Access-Control-Allow-Methods"), "GET, POST");
  EXPECT_NE(good.get("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
  EXPECT_EQ(good.get("Access-Control-Max-Age"), "600");
  auto bad = cors.preflight(with({{"origin", "null"}, {"access-control-request-method", "POST"}}),
                            {"GET"});
  EXPECT_EQ(bad.status, 403);
}

TEST(SecurityHeaders, PresentAndHstsOnlyOverHttps) {
  Response plain;
  apply_security_headers(plain, false);
  EXPECT_EQ(plain.get("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(plain.get("X-Frame-Options"), "DENY");
  EXPECT_EQ(plain.get("Referrer-Policy"), "no-referrer");
  EXPECT_NE(plain.get("Content-Security-Policy").find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(plain.get("Strict-Transport-Security"), "");
  Response secure;
  apply_security_headers(secure, true);
  EXPECT_NE(secure.get("Strict-Transport-Security").find("max-age="), std::string::npos);
}

TEST(Request, NamesTheHeaderAHeadWasCutOffIn) {
  EXPECT_EQ(unfinished_header("GET /api/auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer aaaa"),
            "authorization");
  EXPECT_EQ(unfinished_header("GET / HTTP/1.1\r\nAUTHORIZATION:aaa"), "authorization");
  EXPECT_EQ(unfinished_header("GET / HTTP/1.1\r\nAuthorization: a\r\nX-Filler: fff"), "x-filler");
  EXPECT_EQ(unfinished_header("Authorization: Bearer aaaa"),
            "authorization");                                     // lines before consumed
  EXPECT_EQ(unfinished_header("GET /aaaaaaaaaaaaaaaaaaaa"), "");  // the request line
  EXPECT_EQ(unfinished_header("GET /a:b?c=d"), "");
  EXPECT_EQ(unfinished_header("GET / HTTP/1.1\r\nAuthoriz"), "");  // a name, not yet a value
}

TEST(Request, DecodesQueryParameters) {
  Request r;
  r.target = "/api/users?username=al%69ce&x=1&flag";
  split_target(r);
  EXPECT_EQ(r.path, "/api/users");
  EXPECT_EQ(r.query_param("username").value(), "alice");
  EXPECT_EQ(r.query_param("flag").value(), "");
  EXPECT_FALSE(r.query_param("missing").has_value());
}

}  // namespace
}  // namespace parley::http
