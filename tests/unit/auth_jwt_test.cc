// The auth-jwt verifier (plugins/auth-jwt) below the plugin glue: base64url,
// the strict JSON reader, token decoding, keys and signatures (RFC 7515
// appendix A, RFC 8037 A.4 vectors), the verifier's claim checks and what
// connection / subscription claims grant. End to end with tokens minted by
// the npm jose package: tests/node/auth_jwt*.test.js.
#include <gtest/gtest.h>
#include <gyre/plugin.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "base64.h"
#include "claims.h"
#include "json_value.h"
#include "key.h"
#include "token.h"
#include "verifier.h"

using namespace gyre::jwt;

namespace {

// RFC 7515 A.1: HS256 with the JWK secret k.
const char kA1Token[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const char kA1Key[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
// The tokens' exp (1300819380) lies in 2011: check them just before.
constexpr int64_t kRfcNow = 1300819000;

// RFC 7515 A.2: RS256, with the RFC 7517 A.1 public key.
const char kA2Token[] =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5"
    "jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L"
    "07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEU"
    "ipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
const char kA2Jwk[] =
    R"({"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB","kid":"2011-04-29"})";

// RFC 7515 A.3: ES256.
const char kA3Token[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
const char kA3Jwk[] =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})";

// RFC 7515 A.4: ES512 over the payload "Payload" (no claims set).
const char kA4Input[] = "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA";
const char kA4Sig[] =
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8Ga"
    "SwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";
const char kA4Jwk[] =
    R"({"kty":"EC","crv":"P-521","x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk","y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"})";

// RFC 8037 A.4: Ed25519 over "Example of Ed25519 signing".
const char k8037Input[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
const char k8037Sig[] =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
const char k8037Jwk[] =
    R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";

std::unique_ptr<Key> jwk_key(const char *text) {
  JsonValue v;
  std::string err;
  EXPECT_TRUE(parse_json(text, v, err)) << err;
  auto k = Key::from_jwk(v, err);
  EXPECT_TRUE(k) << err;
  return k;
}

std::string b64(std::string_view s) { return base64url_encode(s); }

// An HS256 token over header/claims JSON, signed with secret.
std::string hs256(const std::string &claims, const std::string &secret,
                  const std::string &header = R"({"alg":"HS256","typ":"JWT"})") {
  std::string input = b64(header) + "." + b64(claims);
  Alg alg = Alg::HS256;
  if (header.find("HS384") != std::string::npos) alg = Alg::HS384;
  if (header.find("HS512") != std::string::npos) alg = Alg::HS512;
  return input + "." + b64(Key::hmac(secret)->sign_hmac(alg, input));
}

Verifier hmac_verifier(const std::string &secret, VerifierSettings s = {}) {
  s.ring.keys.push_back(Key::hmac(secret));
  return Verifier(std::move(s));
}

Verdict verdict(const Verifier &v, const std::string &token, int64_t now,
                std::string *why = nullptr) {
  Token t;
  std::string w;
  if (!decode_token(token, t, w)) {
    if (why) *why = w;
    return Verdict::Invalid;
  }
  Verdict out = v.check(t, now, nullptr, w);
  if (why) *why = w;
  return out;
}

constexpr int64_t kNow = 1700000000;

}  // namespace

TEST(JwtBase64, UrlAlphabetNoPaddingCanonicalBits) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(*base64url_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(*base64url_decode(""), "");
  EXPECT_FALSE(base64url_decode("-_8="));  // padding is not JWS
  EXPECT_FALSE(base64url_decode("+/8"));   // the standard alphabet is not
  EXPECT_FALSE(base64url_decode("A"));     // no encoding has 6 bits left
  EXPECT_FALSE(base64url_decode("-_9"));   // non-zero leftover bits
  EXPECT_EQ(*base64_decode("+/8="), "\xfb\xff");
  EXPECT_EQ(*base64_decode("+/8"), "\xfb\xff");
}

TEST(JwtJson, StrictWithRawNumbersAndNoDuplicates) {
  JsonValue v;
  std::string err;
  ASSERT_TRUE(parse_json(R"({"a":12345678901234567890,"s":"\u00e9\ud83d\ude00"})", v, err)) << err;
  EXPECT_EQ(v.get("a")->raw(), "12345678901234567890");  // never re-printed
  EXPECT_EQ(v.get("s")->str(), "\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_FALSE(parse_json(R"({"sub":"a","sub":"b"})", v, err));
  EXPECT_EQ(err.rfind("duplicate key", 0), 0u);
  EXPECT_FALSE(parse_json(R"({"a":{"b":1,"b":2}})", v, err));
  EXPECT_FALSE(parse_json(R"({"a":1} x)", v, err));
  EXPECT_FALSE(parse_json(R"({"a":01})", v, err));
  EXPECT_FALSE(parse_json("{\"a\":\"\x01\"}", v, err));
  EXPECT_FALSE(parse_json(R"({"a":"\ud83d"})", v, err));
  std::string deep(40, '[');
  deep += std::string(40, ']');
  EXPECT_FALSE(parse_json(deep, v, err));
}

TEST(JwtToken, DecodesRfcA1AndRefusesMalformedTokens) {
  Token t;
  std::string why;
  ASSERT_TRUE(decode_token(kA1Token, t, why)) << why;
  EXPECT_EQ(t.alg, Alg::HS256);
  EXPECT_EQ(t.claims.get("iss")->str(), "joe");
  EXPECT_FALSE(decode_token("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", t, why));  // alg none
  EXPECT_NE(why.find("none"), std::string::npos);
  EXPECT_FALSE(
      decode_token(b64(R"({"alg":"HS256","crit":["x"]})") + "." + b64("{}") + ".AA", t, why));
  EXPECT_FALSE(decode_token("a.b", t, why));
  EXPECT_FALSE(decode_token("a.b.c.d", t, why));
  EXPECT_FALSE(decode_token(b64("not json") + "." + b64("{}") + ".AA", t, why));
  EXPECT_FALSE(decode_token(b64(R"({"alg":"HS256"})") + "." + b64("[1]") + ".AA", t, why));
  EXPECT_FALSE(decode_token(b64(R"({"alg":"HS256"})") + ".e30=.AA", t, why));  // bad base64url
  EXPECT_FALSE(decode_token(b64(R"({"alg":"HS256"})") + "." + b64("{}") + ".A", t, why));
  EXPECT_FALSE(decode_token(b64(R"({"alg":"HS999"})") + "." + b64("{}") + ".AA", t, why));
  EXPECT_FALSE(decode_token(std::string(kMaxTokenSize + 1, 'a'), t, why));
  EXPECT_EQ(why, "token too large");
}

TEST(JwtKeys, RfcVectorsVerifyAndAFlippedBitDoesNot) {
  auto hmac = Key::hmac(*base64url_decode(kA1Key));
  Token t;
  std::string why;
  ASSERT_TRUE(decode_token(kA1Token, t, why));
  EXPECT_TRUE(hmac->verify(Alg::HS256, t.signing_input, t.signature));
  std::string bad = t.signature;
  bad[0] ^= 1;
  EXPECT_FALSE(hmac->verify(Alg::HS256, t.signing_input, bad));

  auto rsa = jwk_key(kA2Jwk);
  ASSERT_TRUE(decode_token(kA2Token, t, why));
  EXPECT_EQ(rsa->kid(), "2011-04-29");
  EXPECT_TRUE(rsa->verify(Alg::RS256, t.signing_input, t.signature));
  EXPECT_FALSE(rsa->verify(Alg::RS384, t.signing_input, t.signature));
  EXPECT_FALSE(rsa->verify(Alg::PS256, t.signing_input, t.signature));

  auto ec = jwk_key(kA3Jwk);
  ASSERT_TRUE(decode_token(kA3Token, t, why));
  EXPECT_TRUE(ec->verify(Alg::ES256, t.signing_input, t.signature));
  EXPECT_FALSE(ec->verify(Alg::ES256, t.signing_input, t.signature.substr(1)));

  auto p521 = jwk_key(kA4Jwk);
  EXPECT_TRUE(p521->verify(Alg::ES512, kA4Input, *base64url_decode(kA4Sig)));
  EXPECT_FALSE(p521->verify(Alg::ES256, kA4Input, *base64url_decode(kA4Sig)));

  auto ed = jwk_key(k8037Jwk);
  EXPECT_TRUE(ed->verify(Alg::EdDSA, k8037Input, *base64url_decode(k8037Sig)));
  std::string input = k8037Input;
  input.back() ^= 1;
  EXPECT_FALSE(ed->verify(Alg::EdDSA, input, *base64url_decode(k8037Sig)));
}

TEST(JwtKeys, EachKeyAcceptsOnlyItsOwnAlgorithms) {
  auto rsa = jwk_key(kA2Jwk);
  auto ec = jwk_key(kA3Jwk);
  auto ed = jwk_key(k8037Jwk);
  auto hmac = Key::hmac("s");
  for (Alg a : {Alg::HS256, Alg::HS384, Alg::HS512}) {
    EXPECT_TRUE(hmac->accepts(a));
    EXPECT_FALSE(rsa->accepts(a));
    EXPECT_FALSE(ec->accepts(a));
    EXPECT_FALSE(ed->accepts(a));
  }
  for (Alg a : {Alg::RS256, Alg::PS512}) EXPECT_TRUE(rsa->accepts(a));
  EXPECT_FALSE(hmac->accepts(Alg::RS256));
  EXPECT_FALSE(ec->accepts(Alg::ES384));  // P-256 signs ES256 only
  EXPECT_TRUE(ed->accepts(Alg::EdDSA));
  EXPECT_FALSE(ed->accepts(Alg::ES256));
  // A JWK's alg narrows it further; a use other than sig is refused.
  JsonValue v;
  std::string err;
  std::string with_alg = std::string(kA2Jwk).replace(1, 0, R"("alg":"PS256",)");
  ASSERT_TRUE(parse_json(with_alg, v, err));
  auto narrowed = Key::from_jwk(v, err);
  ASSERT_TRUE(narrowed) << err;
  EXPECT_TRUE(narrowed->accepts(Alg::PS256));
  EXPECT_FALSE(narrowed->accepts(Alg::RS256));
  ASSERT_TRUE(parse_json(std::string(kA3Jwk).replace(1, 0, R"("use":"enc",)"), v, err));
  EXPECT_FALSE(Key::from_jwk(v, err));
  ASSERT_TRUE(parse_json(R"({"kty":"oct","k":"AAAA"})", v, err));
  EXPECT_FALSE(Key::from_jwk(v, err));  // secrets are never published
}

// A fresh RSA key as the PEM an operator puts in client.token.rsa_public_key,
// and an RS256 token it signed.
struct RsaFixture {
  std::string pem;
  std::string token;
};

RsaFixture rsa_fixture(const std::string &claims) {
  RsaFixture f;
  EVP_PKEY *pkey = EVP_RSA_gen(2048);
  BIO *bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, pkey);
  char *data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  f.pem.assign(data, static_cast<size_t>(n));
  BIO_free(bio);
  std::string input = b64(R"({"alg":"RS256"})") + "." + b64(claims);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey);
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char *>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char *>(sig.data()), &len,
                 reinterpret_cast<const unsigned char *>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  f.token = input + "." + b64(sig);
  return f;
}

// CVE-2015-9235: an HS256 token signed with the RSA public key's PEM as
// its secret must not pass where that RSA key is configured.
TEST(JwtKeys, HmacWithThePublicKeyAsSecretIsRefused) {
  RsaFixture f = rsa_fixture(R"({"sub":"alice"})");
  std::string why;
  auto key = Key::from_pem(f.pem, why);
  ASSERT_TRUE(key) << why;
  EXPECT_EQ(key->describe(), "RSA key");
  VerifierSettings s;
  s.ring.keys.push_back(std::move(key));
  Verifier verifier(std::move(s));
  EXPECT_EQ(verdict(verifier, f.token, kNow), Verdict::Ok);
  std::string forged = hs256(R"({"sub":"admin"})", f.pem);
  EXPECT_EQ(verdict(verifier, forged, kNow), Verdict::Invalid);
  // Keys of no JWT algorithm are refused cleanly (once freed a double free).
  for (const char *curve : {"secp256k1", "X25519"}) {
    EVP_PKEY *other = std::string(curve) == "X25519" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519")
                                                     : EVP_EC_gen(curve);
    ASSERT_TRUE(other) << curve;
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, other);
    char *data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(n));
    BIO_free(bio);
    EVP_PKEY_free(other);
    EXPECT_FALSE(Key::from_pem(pem, why)) << curve;
  }
  // Neither may a PEM that is no key load.
  EXPECT_FALSE(Key::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", why));
}

TEST(JwtVerifier, TimesAudienceIssuerAndClaimTypes) {
  std::string why;
  Verifier v = hmac_verifier("secret");
  EXPECT_EQ(verdict(v, hs256(R"({"sub":"1","exp":1700000100})", "secret"), kNow), Verdict::Ok);
  EXPECT_EQ(verdict(v, hs256(R"({"sub":"1","exp":1700000000})", "secret"), kNow), Verdict::Expired);
  EXPECT_EQ(verdict(v, hs256(R"({"sub":"1","nbf":1700000100})", "secret"), kNow), Verdict::Expired);
  EXPECT_EQ(verdict(v, hs256(R"({"sub":"1","exp":"1700000100"})", "secret"), kNow, &why),
            Verdict::Invalid);
  EXPECT_EQ(why, "exp is not a number");
  EXPECT_EQ(verdict(v, hs256(R"({"sub":"1","iat":"x"})", "secret"), kNow), Verdict::Invalid);
  EXPECT_EQ(verdict(v, hs256(R"({"sub":"1"})", "other"), kNow), Verdict::Invalid);
  EXPECT_EQ(verdict(v, hs256(R"({"sub":"1"})", "secret", R"({"alg":"HS512"})"), kNow), Verdict::Ok);

  VerifierSettings aud;
  aud.audience = "app";
  aud.issuer = "me";
  Verifier va = hmac_verifier("secret", std::move(aud));
  EXPECT_EQ(verdict(va, hs256(R"({"aud":"app","iss":"me"})", "secret"), kNow), Verdict::Ok);
  EXPECT_EQ(verdict(va, hs256(R"({"aud":["x","app"],"iss":"me"})", "secret"), kNow), Verdict::Ok);
  EXPECT_EQ(verdict(va, hs256(R"({"aud":"other","iss":"me"})", "secret"), kNow), Verdict::Invalid);
  EXPECT_EQ(verdict(va, hs256(R"({"aud":"app","iss":"you"})", "secret"), kNow), Verdict::Invalid);
  EXPECT_EQ(verdict(va, hs256(R"({"aud":"app"})", "secret"), kNow), Verdict::Invalid);
  EXPECT_EQ(verdict(va, hs256(R"({"aud":7,"iss":"me"})", "secret"), kNow), Verdict::Invalid);

  VerifierSettings rx;
  rx.audience_regex.emplace("^app-[0-9]+$");
  rx.issuer_regex.emplace("example\\.com$");
  Verifier vr = hmac_verifier("secret", std::move(rx));
  EXPECT_EQ(verdict(vr, hs256(R"({"aud":"app-7","iss":"id.example.com"})", "secret"), kNow),
            Verdict::Ok);
  EXPECT_EQ(verdict(vr, hs256(R"({"aud":"app-x","iss":"id.example.com"})", "secret"), kNow),
            Verdict::Invalid);
  EXPECT_EQ(verdict(vr, hs256(R"({"aud":"app-7","iss":"example.org"})", "secret"), kNow),
            Verdict::Invalid);
}

TEST(JwtVerifier, PreviousHmacSecretUntilItsDeadline) {
  VerifierSettings s;
  s.previous_hmac = Key::hmac("old");
  s.previous_hmac_valid_until = kNow + 10;
  Verifier v = hmac_verifier("new", std::move(s));
  std::string old_token = hs256(R"({"sub":"1"})", "old");
  EXPECT_EQ(verdict(v, old_token, kNow), Verdict::Ok);
  EXPECT_EQ(verdict(v, old_token, kNow + 10), Verdict::Invalid);
  EXPECT_EQ(verdict(v, hs256(R"({"sub":"1"})", "new"), kNow + 10), Verdict::Ok);
}

TEST(JwtVerifier, JwksRingChoosesByKidAndReportsUnknownKids) {
  KeyRing ring;
  ring.by_kid = true;
  ring.keys.push_back(jwk_key(kA2Jwk));
  VerifierSettings s;
  s.jwks = true;
  Verifier v(std::move(s));
  Token t;
  std::string why;
  ASSERT_TRUE(decode_token(kA2Token, t, why));
  t.kid = "2011-04-29";
  EXPECT_EQ(v.check(t, kRfcNow, &ring, why), Verdict::Ok);
  t.kid = "2031-01-01";
  EXPECT_EQ(v.check(t, kRfcNow, &ring, why), Verdict::UnknownKid);
  KeyRing empty;
  empty.by_kid = true;
  EXPECT_EQ(v.check(t, kRfcNow, &empty, why), Verdict::UnknownKid);
  // Centrifugo needs a kid with a JWKS: no trying every key.
  t.kid.clear();
  EXPECT_EQ(v.check(t, kRfcNow, &ring, why), Verdict::Invalid);
}

// libstdc++'s std::regex recurses per character: an issuer pattern must
// never see an unverified (or huge) iss. A forged token with a 35 000
// character iss used to overflow the stack.
TEST(JwtVerifier, PatternsRunOnlyOnVerifiedShortClaims) {
  VerifierSettings s;
  s.issuer_regex.emplace("^https://[a-z.]+\\.example\\.com$");
  s.audience_regex.emplace("^org-[0-9]+$");
  Verifier v = hmac_verifier("secret", std::move(s));
  std::string long_iss = "https://" + std::string(35000, 'a');
  std::string claims = R"({"aud":"org-1","iss":")" + long_iss + R"("})";
  EXPECT_EQ(verdict(v, hs256(claims, "wrong"), kNow), Verdict::Invalid);
  EXPECT_EQ(verdict(v, hs256(claims, "secret"), kNow), Verdict::Invalid);  // too long to match
  std::string aud =
      R"({"aud":"org-)" + std::string(35000, '1') + R"(","iss":"https://id.example.com"})";
  EXPECT_EQ(verdict(v, hs256(aud, "secret"), kNow), Verdict::Invalid);
  EXPECT_EQ(verdict(v, hs256(R"({"aud":"org-7","iss":"https://id.example.com"})", "secret"), kNow),
            Verdict::Ok);
}

TEST(JwtVerifier, NullClaimsCountAsAbsent) {
  Verifier v = hmac_verifier("secret");
  EXPECT_EQ(
      verdict(v, hs256(R"({"sub":"1","exp":null,"nbf":null,"aud":null,"iss":null})", "secret"),
              kNow),
      Verdict::Ok);
}

TEST(JwtClaims, ConnectionClaims) {
  JsonValue c;
  std::string err;
  ConnectClaims cc;
  ASSERT_TRUE(parse_json(
      R"({"sub":"42","info":{"n":12345678901234567890},"exp":1700000100,"channels":["a","b"]})", c,
      err));
  ASSERT_TRUE(read_connect_claims(c, "sub", kNow, cc, err)) << err;
  EXPECT_EQ(cc.user, "42");
  EXPECT_EQ(cc.info, R"({"n":12345678901234567890})");
  EXPECT_EQ(cc.expire_at, 1700000100);
  ASSERT_EQ(cc.subs.size(), 2u);
  EXPECT_EQ(cc.subs[1].channel, "b");

  // subs wins over channels; b64 variants decode; overrides read.
  ConnectClaims s;
  ASSERT_TRUE(parse_json(
      R"({"sub":"1","channels":["x"],"subs":{"room":{"b64info":"eyJyIjoxfQ==","data":[1],"override":{"presence":{"value":false},"join_leave":{"value":true}}}}})",
      c, err));
  ASSERT_TRUE(read_connect_claims(c, "sub", kNow, s, err)) << err;
  ASSERT_EQ(s.subs.size(), 1u);
  EXPECT_EQ(s.subs[0].channel, "room");
  EXPECT_EQ(s.subs[0].info, R"({"r":1})");
  EXPECT_EQ(s.subs[0].data, "[1]");
  EXPECT_EQ(s.subs[0].overrides.mask,
            static_cast<uint32_t>(GYRE_OVERRIDE_PRESENCE | GYRE_OVERRIDE_JOIN_LEAVE));
  EXPECT_EQ(s.subs[0].overrides.values, static_cast<uint32_t>(GYRE_OVERRIDE_JOIN_LEAVE));

  // expire_at wins over exp; <= 0 never expires; a year at most.
  ConnectClaims e;
  ASSERT_TRUE(parse_json(R"({"exp":1700000100,"expire_at":0})", c, err));
  ASSERT_TRUE(read_connect_claims(c, "sub", kNow, e, err));
  EXPECT_EQ(e.expire_at, 0);
  ASSERT_TRUE(parse_json(R"({"expire_at":99999999999})", c, err));
  ASSERT_TRUE(read_connect_claims(c, "sub", kNow, e, err));
  EXPECT_EQ(e.expire_at, kNow + 365 * 24 * 3600);

  // A custom user claim.
  ConnectClaims u;
  ASSERT_TRUE(parse_json(R"({"sub":"no","user_id":"yes"})", c, err));
  ASSERT_TRUE(read_connect_claims(c, "user_id", kNow, u, err));
  EXPECT_EQ(u.user, "yes");

  // b64info wins over info, as in Centrifugo; null claims are absent; an
  // empty channel claim is no channel.
  ConnectClaims b;
  ASSERT_TRUE(parse_json(
      R"({"info":{"plain":1},"b64info":"eyJiNjQiOjF9","channel":"","subs":null,"expire_at":null})",
      c, err));
  ASSERT_TRUE(read_connect_claims(c, "sub", kNow, b, err)) << err;
  EXPECT_EQ(b.info, R"({"b64":1})");

  // Refused: a channel claim, a numeric sub, channels of numbers, bad
  // override, a fractional or absurd expire_at.
  for (const char *bad :
       {R"({"expire_at":1.5})", R"({"expire_at":1e300})", R"({"sub":"1","channel":"x"})",
        R"({"sub":42})", R"({"channels":[1]})", R"({"subs":{"a":{"override":{"presence":true}}}})",
        R"({"subs":[]})", R"({"b64info":"%%%"})", R"({"expire_at":"0"})", R"({"meta":[1]})"}) {
    ConnectClaims x;
    ASSERT_TRUE(parse_json(bad, c, err)) << bad;
    EXPECT_FALSE(read_connect_claims(c, "sub", kNow, x, err)) << bad;
  }
}

TEST(JwtClaims, SubscriptionClaims) {
  JsonValue c;
  std::string err;
  SubscribeClaims sc;
  ASSERT_TRUE(parse_json(
      R"({"sub":"42","channel":"$secret","client":"c1","info":{"i":1},"b64data":"WzJd","exp":1700000100})",
      c, err));
  ASSERT_TRUE(read_subscribe_claims(c, "sub", kNow, sc, err)) << err;
  EXPECT_EQ(sc.channel, "$secret");
  EXPECT_EQ(sc.client, "c1");
  EXPECT_EQ(sc.info, R"({"i":1})");
  EXPECT_EQ(sc.data, "[2]");
  EXPECT_EQ(sc.expire_at, 1700000100);
  for (const char *bad : {R"({"sub":"42"})", R"({"channel":1})", R"({"channel":""})",
                          R"({"channel":"a","client":7})"}) {
    SubscribeClaims x;
    ASSERT_TRUE(parse_json(bad, c, err));
    EXPECT_FALSE(read_subscribe_claims(c, "sub", kNow, x, err)) << bad;
  }
}
