#include "auth/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/base64.hpp"
#include "core/error.hpp"

namespace parley::auth {

namespace bj = boost::json;

namespace {
[[noreturn]] void reject(const char* why) { fail(Errc::unauthorized, why); }

bj::object decode_object(std::string_view part) {
  auto raw = base64url_decode(part);
  if (!raw) reject("malformed token");
  boost::system::error_code ec;
  bj::parse_options opts;
  opts.max_depth = 4;
  bj::value v = bj::parse(*raw, ec, {}, opts);
  if (ec || !v.is_object()) reject("malformed token");
  return std::move(v.as_object());
}

std::int64_t int_claim(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_int64()) reject("token lacks a required claim");
  return it->value().get_int64();
}

std::string_view string_claim(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string() || it->value().get_string().empty()) {
    reject("token lacks a required claim");
  }
  const auto& s = it->value().get_string();
  return {s.data(), s.size()};
}
}  // namespace

JwtCodec::JwtCodec(JwtSettings settings) : settings_(std::move(settings)) {}

std::string JwtCodec::sign(std::string_view input) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), settings_.secret.data(), static_cast<int>(settings_.secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string JwtCodec::issue(Id user_id, std::string_view role, std::int64_t now_s,
                            std::string_view jti, Id session_id) const {
  bj::object header{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", settings_.kid}};
  bj::object payload{{"iss", settings_.issuer},
                     {"aud", settings_.audience},
                     {"sub", id_to_string(user_id)},
                     {"role", role},
                     {"iat", now_s},
                     {"nbf", now_s},
                     {"exp", now_s + settings_.ttl_s},
                     {"jti", jti}};
  if (session_id) payload["sid"] = id_to_string(session_id);
  std::string input =
      base64url_encode(bj::serialize(header)) + "." + base64url_encode(bj::serialize(payload));
  return input + "." + base64url_encode(sign(input));
}

Claims JwtCodec::verify(std::string_view token, std::int64_t now_s) const {
  if (token.empty()) reject("missing token");
  if (token.size() > settings_.max_token_bytes) reject("token too large");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    reject("malformed token");
  }
  std::string_view header_part = token.substr(0, dot1);
  std::string_view payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view sig_part = token.substr(dot2 + 1);

  // The header decides nothing but whether we continue: only HS256 with our kid.
  bj::object header = decode_object(header_part);
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->value().is_string() || alg->value().get_string() != "HS256") {
    reject("unsupported token algorithm");
  }
  if (auto typ = header.find("typ");
      typ != header.end() && (!typ->value().is_string() || typ->value().get_string() != "JWT")) {
    reject("unsupported token type");
  }
  if (header.contains("crit")) reject("unsupported token header");
  auto kid = header.find("kid");
  if (kid == header.end() || !kid->value().is_string() ||
      kid->value().get_string() != settings_.kid) {
    reject("unknown token key");
  }

  auto sig = base64url_decode(sig_part);
  std::string expected = sign(token.substr(0, dot2));
  if (!sig || sig->size() != expected.size() ||
      CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0) {
    reject("bad token signature");
  }

  bj::object p = decode_object(payload_part);
  if (string_claim(p, "iss") != settings_.issuer) reject("wrong token issuer");
  auto aud = p.find("aud");
  bool aud_ok = false;
  if (aud != p.end() && aud->value().is_string()) {
    aud_ok = aud->value().get_string() == settings_.audience;
  } else if (aud != p.end() && aud->value().is_array()) {
    for (const auto& a : aud->value().get_array()) {
      if (a.is_string() && a.get_string() == settings_.audience) aud_ok = true;
    }
  }
  if (!aud_ok) reject("wrong token audience");

  Claims c;
  auto sub = parse_id(string_claim(p, "sub"));
  if (!sub) reject("bad token subject");
  c.user_id = *sub;
  c.jti = std::string(string_claim(p, "jti"));
  c.role = std::string(string_claim(p, "role"));
  if (auto sid = p.find("sid"); sid != p.end()) {
    std::optional<Id> v;
    if (sid->value().is_string()) v = parse_id(std::string_view(sid->value().get_string()));
    if (!v) reject("bad token session");
    c.session_id = *v;
  }
  c.exp = int_claim(p, "exp");
  c.nbf = int_claim(p, "nbf");
  c.iat = int_claim(p, "iat");
  const std::int64_t leeway = settings_.leeway_s;
  if (now_s >= c.exp + leeway) reject("token expired");
  if (c.nbf > now_s + leeway) reject("token not yet valid");
  if (c.iat > now_s + leeway) reject("token issued in the future");
  if (c.exp - c.iat > settings_.ttl_s + leeway) reject("token lifetime too long");
  return c;
}

}  // namespace parley::auth
