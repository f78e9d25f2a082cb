// gyre-jwt-bench: the CPU one token costs auth-jwt, per algorithm: decode,
// signature, claim checks and connection claims, as on every connect with a
// token (auth hooks run on the node loop: this bounds connects/s with JWT).
// Keys are made fresh; tokens are signed here with OpenSSL.
//   build/gyre-jwt-bench [iterations]
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base64.h"
#include "claims.h"
#include "key.h"
#include "token.h"
#include "verifier.h"

using namespace gyre::jwt;

namespace {

const char kClaims[] = R"({"sub":"user-42","exp":4102444800,"info":{"name":"Alice"}})";

std::string sign(EVP_PKEY *pkey, const EVP_MD *md, const std::string &input, bool pss, size_t ec) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = nullptr;
  EVP_DigestSignInit(ctx, &pctx, md, nullptr, pkey);
  if (pss) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t len = 0;
  const auto *in = reinterpret_cast<const unsigned char *>(input.data());
  EVP_DigestSign(ctx, nullptr, &len, in, input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char *>(sig.data()), &len, in, input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (ec) {  // DER -> r||s
    const auto *p = reinterpret_cast<const unsigned char *>(sig.data());
    ECDSA_SIG *es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(2 * ec, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char *>(raw.data()),
                 static_cast<int>(ec));
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char *>(raw.data()) + ec,
                 static_cast<int>(ec));
    ECDSA_SIG_free(es);
    return raw;
  }
  return sig;
}

std::string pem_of(EVP_PKEY *pkey) {
  BIO *bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, pkey);
  char *data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

void run(const char *name, const std::string &token, std::unique_ptr<Key> key, int iterations) {
  VerifierSettings s;
  s.ring.keys.push_back(std::move(key));
  Verifier v(std::move(s));
  std::string why;
  auto t0 = std::chrono::steady_clock::now();
  int ok = 0;
  for (int i = 0; i < iterations; ++i) {
    Token t;
    ConnectClaims c;
    if (decode_token(token, t, why) && v.check(t, 1700000000, nullptr, why) == Verdict::Ok &&
        read_connect_claims(t.claims, "sub", 1700000000, c, why))
      ++ok;
  }
  double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
      iterations;
  printf("| %-6s | %8.2f µs | %9.0f /s | %s |\n", name, us, 1e6 / us,
         ok == iterations ? "ok" : "FAILED");
}

}  // namespace

int main(int argc, char **argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  std::string claims = base64url_encode(kClaims);
  auto input = [&](const char *alg) {
    return base64url_encode(std::string(R"({"alg":")") + alg + "\"}") + "." + claims;
  };
  printf("auth-jwt: one token decoded, verified and read, %d iterations each, one thread\n\n", n);
  printf("| alg    | per token   | per core     |      |\n|---|---|---|---|\n");
  {
    std::string in = input("HS256");
    auto key = Key::hmac("a-secret-of-reasonable-length-0123456789");
    run("HS256", in + "." + base64url_encode(key->sign_hmac(Alg::HS256, in)),
        Key::hmac("a-secret-of-reasonable-length-0123456789"), n * 10);
  }
  EVP_PKEY *rsa = EVP_RSA_gen(2048);
  std::string why;
  for (auto [alg, pss] : {std::pair{"RS256", false}, std::pair{"PS256", true}}) {
    std::string in = input(alg);
    run(alg, in + "." + base64url_encode(sign(rsa, EVP_sha256(), in, pss, 0)),
        Key::from_pem(pem_of(rsa), why), n);
  }
  for (auto [alg, curve, md, half] : {std::tuple{"ES256", "P-256", EVP_sha256(), size_t{32}},
                                      std::tuple{"ES384", "P-384", EVP_sha384(), size_t{48}}}) {
    EVP_PKEY *ec = EVP_EC_gen(curve);
    std::string in = input(alg);
    run(alg, in + "." + base64url_encode(sign(ec, md, in, false, half)),
        Key::from_pem(pem_of(ec), why), n);
    EVP_PKEY_free(ec);
  }
  EVP_PKEY *ed = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  std::string in = input("EdDSA");
  run("EdDSA", in + "." + base64url_encode(sign(ed, nullptr, in, false, 0)),
      Key::from_pem(pem_of(ed), why), n);
  EVP_PKEY_free(ed);
  EVP_PKEY_free(rsa);
  return 0;
}
