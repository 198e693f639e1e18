#include "auth/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/base64.hpp"
#include "core/error.hpp"

namespace parley::auth {
namespace {

constexpr std::int64_t kNow = 1800000000;
const std::string kSecret(40, 's');

JwtSettings settings() {
  JwtSettings s;
  s.secret = kSecret;
  return s;
}

std::string hs(const std::string& md, const std::string& key, const std::string& input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_get_digestbyname(md.c_str()), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// Builds a token from raw JSON parts, signed as asked.
std::string forge(const std::string& header, const std::string& payload,
                  const std::string& key = kSecret, const std::string& md = "SHA256") {
  std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  return input + "." + base64url_encode(hs(md, key, input));
}

std::string payload(std::int64_t iat = kNow, std::int64_t exp = kNow + 900,
                    const std::string& aud = "parley-api", const std::string& iss = "parley") {
  return R"({"iss":")" + iss + R"(","aud":")" + aud +
         R"(","sub":"42","role":"user","jti":"j1","iat":)" + std::to_string(iat) + R"(,"nbf":)" +
         std::to_string(iat) + R"(,"exp":)" + std::to_string(exp) + "}";
}

const std::string kHeader = R"({"alg":"HS256","typ":"JWT","kid":"k1"})";

std::string reason(const JwtCodec& c, const std::string& token, std::int64_t now = kNow) {
  try {
    c.verify(token, now);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::unauthorized);
    return std::string(e.detail());
  }
  ADD_FAILURE() << "token was accepted";
  return {};
}

TEST(Jwt, IssuedTokenVerifies) {
  JwtCodec c(settings());
  auto token = c.issue(42, "admin", kNow, "abc");
  Claims claims = c.verify(token, kNow + 10);
  EXPECT_EQ(claims.user_id, 42);
  EXPECT_EQ(claims.role, "admin");
  EXPECT_EQ(claims.jti, "abc");
  EXPECT_EQ(claims.exp, kNow + 900);
}

TEST(Jwt, CarriesTheLoginSessionId) {
  JwtCodec c(settings());
  EXPECT_EQ(c.verify(c.issue(42, "user", kNow, "j", 777), kNow).session_id, 777);
  EXPECT_EQ(c.verify(c.issue(42, "user", kNow, "j"), kNow).session_id, 0);
  std::string bad = payload();
  bad.insert(bad.size() - 1, R"(,"sid":"x")");
  EXPECT_EQ(reason(c, forge(kHeader, bad)), "bad token session");
}

TEST(Jwt, ForgedHs256WithRightKeyVerifies) {
  // Guards the forge() helper itself: the attacks below differ in one thing only.
  JwtCodec c(settings());
  EXPECT_EQ(c.verify(forge(kHeader, payload()), kNow).user_id, 42);
}

TEST(Jwt, RejectsAlgNone) {
  JwtCodec c(settings());
  std::string t = base64url_encode(R"({"alg":"none","typ":"JWT","kid":"k1"})") + "." +
                  base64url_encode(payload()) + ".";
  EXPECT_EQ(reason(c, t), "unsupported token algorithm");
  EXPECT_EQ(reason(c, forge(R"({"alg":"none","kid":"k1"})", payload())),
            "unsupported token algorithm");
}

TEST(Jwt, RejectsOtherAlgorithms) {
  JwtCodec c(settings());
  EXPECT_EQ(reason(c, forge(R"({"alg":"HS384","kid":"k1"})", payload(), kSecret, "SHA384")),
            "unsupported token algorithm");
  EXPECT_EQ(reason(c, forge(R"({"alg":"RS256","kid":"k1"})", payload())),
            "unsupported token algorithm");
  EXPECT_EQ(reason(c, forge(R"({"alg":"hs256","kid":"k1"})", payload())),
            "unsupported token algorithm");
}

TEST(Jwt, RejectsWrongKeyUnknownKidAndTampering) {
  JwtCodec c(settings());
  EXPECT_EQ(reason(c, forge(kHeader, payload(), std::string(40, 'x'))), "bad token signature");
  EXPECT_EQ(reason(c, forge(R"({"alg":"HS256","kid":"k2"})", payload())), "unknown token key");
  EXPECT_EQ(reason(c, forge(R"({"alg":"HS256"})", payload())), "unknown token key");
  auto good = c.issue(42, "user", kNow, "j");
  auto dot2 = good.rfind('.');
  std::string tampered =
      base64url_encode(kHeader) + "." +
      base64url_encode(payload().replace(payload().find("\"42\""), 4, "\"43\"")) +
      good.substr(dot2);
  EXPECT_EQ(reason(c, tampered), "bad token signature");
  EXPECT_EQ(reason(c, good.substr(0, dot2 + 1)), "bad token signature");  // empty signature
  EXPECT_EQ(reason(c, forge(R"({"alg":"HS256","kid":"k1","crit":["x"]})", payload())),
            "unsupported token header");
}

TEST(Jwt, ChecksTimeClaimsWithLeeway) {
  JwtCodec c(settings());  // leeway 30 s
  auto token = c.issue(42, "user", kNow, "j");
  EXPECT_NO_THROW(c.verify(token, kNow + 900 + 29));
  EXPECT_EQ(reason(c, token, kNow + 900 + 30), "token expired");
  EXPECT_NO_THROW(c.verify(token, kNow - 29));
  EXPECT_EQ(reason(c, token, kNow - 31), "token not yet valid");
  // A token minted with a lifetime longer than ours is not one of ours.
  EXPECT_EQ(reason(c, forge(kHeader, payload(kNow, kNow + 86400))), "token lifetime too long");
}

TEST(Jwt, ChecksAudienceIssuerAndRequiredClaims) {
  JwtCodec c(settings());
  EXPECT_EQ(reason(c, forge(kHeader, payload(kNow, kNow + 900, "other"))), "wrong token audience");
  EXPECT_EQ(reason(c, forge(kHeader, payload(kNow, kNow + 900, "parley-api", "evil"))),
            "wrong token issuer");
  EXPECT_EQ(reason(c, forge(kHeader, R"({"iss":"parley","aud":"parley-api","sub":"42"})")),
            "token lacks a required claim");
  std::string bad_sub = payload();
  bad_sub.replace(bad_sub.find("\"42\""), 4, "\"abc\"");
  EXPECT_EQ(reason(c, forge(kHeader, bad_sub)), "bad token subject");
}

TEST(Jwt, RejectsMalformedAndHugeTokens) {
  JwtCodec c(settings());
  EXPECT_EQ(reason(c, ""), "missing token");
  EXPECT_EQ(reason(c, "abc"), "malformed token");
  EXPECT_EQ(reason(c, "a.b.c.d"), "malformed token");
  EXPECT_EQ(reason(c, "!!!.e30.sig"), "malformed token");
  EXPECT_EQ(reason(c, std::string(1 << 20, 'a')), "token too large");
}

}  // namespace
}  // namespace parley::auth
