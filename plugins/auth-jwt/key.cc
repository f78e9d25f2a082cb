#include "key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>

#include "base64.h"

namespace gyre::jwt {

namespace {

// Fetched once: OpenSSL 3 looks the legacy EVP_sha256() up in its
// providers on every use, which is a good part of an HS256 check.
const EVP_MD *fetched(const char *name) {
  static EVP_MD *sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  static EVP_MD *sha384 = EVP_MD_fetch(nullptr, "SHA2-384", nullptr);
  static EVP_MD *sha512 = EVP_MD_fetch(nullptr, "SHA2-512", nullptr);
  std::string_view n(name);
  return n == "256" ? sha256 : n == "384" ? sha384 : sha512;
}

const EVP_MD *digest_of(Alg alg) {
  switch (alg) {
    case Alg::HS256:
    case Alg::RS256:
    case Alg::PS256:
    case Alg::ES256: return fetched("256");
    case Alg::HS384:
    case Alg::RS384:
    case Alg::PS384:
    case Alg::ES384: return fetched("384");
    case Alg::HS512:
    case Alg::RS512:
    case Alg::PS512:
    case Alg::ES512: return fetched("512");
    case Alg::EdDSA: return nullptr;
  }
  return nullptr;
}

bool is_hs(Alg a) { return a == Alg::HS256 || a == Alg::HS384 || a == Alg::HS512; }
bool is_rs(Alg a) { return a == Alg::RS256 || a == Alg::RS384 || a == Alg::RS512; }
bool is_ps(Alg a) { return a == Alg::PS256 || a == Alg::PS384 || a == Alg::PS512; }

struct BioFree {
  void operator()(BIO *b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX *c) const { EVP_MD_CTX_free(c); }
};
struct BnFree {
  void operator()(BIGNUM *b) const { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

// JWS ES* signatures are r||s, each padded to the curve size; OpenSSL
// verifies DER.
std::string ecdsa_to_der(std::string_view raw, size_t half) {
  if (raw.size() != 2 * half) return {};
  ECDSA_SIG *sig = ECDSA_SIG_new();
  if (!sig) return {};
  BIGNUM *r = BN_bin2bn(reinterpret_cast<const unsigned char *>(raw.data()), static_cast<int>(half),
                        nullptr);
  BIGNUM *s = BN_bin2bn(reinterpret_cast<const unsigned char *>(raw.data()) + half,
                        static_cast<int>(half), nullptr);
  if (!r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return {};
  }
  unsigned char *der = nullptr;
  int n = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char *>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

BnPtr bn_from_b64url(const JsonValue *v) {
  if (!v || !v->is_string()) return nullptr;
  auto bytes = base64url_decode(v->str());
  if (!bytes || bytes->empty()) return nullptr;
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char *>(bytes->data()),
                         static_cast<int>(bytes->size()), nullptr));
}

EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld) {
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY *pkey = nullptr;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey;
}

EVP_PKEY *rsa_from_jwk(const JsonValue &jwk) {
  BnPtr n = bn_from_b64url(jwk.get("n")), e = bn_from_b64url(jwk.get("e"));
  if (!n || !e) return nullptr;
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  EVP_PKEY *pkey = nullptr;
  if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n.get()) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e.get()) == 1)
    pkey = pkey_from_params("RSA", bld);
  OSSL_PARAM_BLD_free(bld);
  return pkey;
}

EVP_PKEY *ec_from_jwk(const JsonValue &jwk) {
  const JsonValue *crv = jwk.get("crv");
  if (!crv || !crv->is_string()) return nullptr;
  const char *group = nullptr;
  size_t size = 0;
  if (crv->str() == "P-256") group = "prime256v1", size = 32;
  if (crv->str() == "P-384") group = "secp384r1", size = 48;
  if (crv->str() == "P-521") group = "secp521r1", size = 66;
  if (!group) return nullptr;
  auto x = jwk.get("x") && jwk.get("x")->is_string() ? base64url_decode(jwk.get("x")->str())
                                                     : std::nullopt;
  auto y = jwk.get("y") && jwk.get("y")->is_string() ? base64url_decode(jwk.get("y")->str())
                                                     : std::nullopt;
  if (!x || !y || x->size() != size || y->size() != size) return nullptr;
  std::string point = "\x04" + *x + *y;  // uncompressed
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  EVP_PKEY *pkey = nullptr;
  if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) ==
          1)
    pkey = pkey_from_params("EC", bld);
  OSSL_PARAM_BLD_free(bld);
  return pkey;
}

EVP_PKEY *okp_from_jwk(const JsonValue &jwk) {
  const JsonValue *crv = jwk.get("crv");
  const JsonValue *xv = jwk.get("x");
  if (!crv || !crv->is_string() || !xv || !xv->is_string()) return nullptr;
  auto x = base64url_decode(xv->str());
  if (!x) return nullptr;
  int type = crv->str() == "Ed25519" ? EVP_PKEY_ED25519
             : crv->str() == "Ed448" ? EVP_PKEY_ED448
                                     : 0;
  if (!type) return nullptr;
  return EVP_PKEY_new_raw_public_key(type, nullptr,
                                     reinterpret_cast<const unsigned char *>(x->data()), x->size());
}

}  // namespace

Key::~Key() {
  EVP_PKEY_free(pkey_);
  OPENSSL_cleanse(secret_.data(), secret_.size());
}

std::unique_ptr<Key> Key::hmac(std::string secret) {
  std::unique_ptr<Key> k(new Key);
  k->secret_ = std::move(secret);
  return k;
}

std::unique_ptr<Key> Key::from_pkey(EVP_PKEY *pkey, std::string &why) {
  // The key owns pkey only once it is accepted: on refusal the caller
  // still does (and frees it once).
  Kind kind;
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA: kind = Kind::Rsa; break;
    case EVP_PKEY_ED25519: kind = Kind::Ed25519; break;
    case EVP_PKEY_ED448: kind = Kind::Ed448; break;
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t len = 0;
      EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len);
      std::string g(group, std::min(len, sizeof group));
      if (g == "prime256v1" || g == "P-256")
        kind = Kind::Ec256;
      else if (g == "secp384r1" || g == "P-384")
        kind = Kind::Ec384;
      else if (g == "secp521r1" || g == "P-521")
        kind = Kind::Ec521;
      else {
        why = "EC key on curve " + g + ": only P-256, P-384 and P-521 sign JWTs";
        return nullptr;
      }
      break;
    }
    default: why = "public key of a type no JWT algorithm uses"; return nullptr;
  }
  std::unique_ptr<Key> k(new Key);
  k->kind_ = kind;
  k->pkey_ = pkey;
  return k;
}

std::unique_ptr<Key> Key::from_pem(std::string_view pem, std::string &why) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    why = "out of memory";
    return nullptr;
  }
  EVP_PKEY *pkey = nullptr;
  if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    X509 *cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert) pkey = X509_get_pubkey(cert);
    X509_free(cert);
  } else {
    // SubjectPublicKeyInfo and PKCS#1 alike.
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", nullptr, nullptr,
                                                           EVP_PKEY_PUBLIC_KEY, nullptr, nullptr);
    if (dctx) OSSL_DECODER_from_bio(dctx, bio.get());
    OSSL_DECODER_CTX_free(dctx);
  }
  if (!pkey) {
    why = "not a PEM public key or certificate";
    return nullptr;
  }
  auto k = from_pkey(pkey, why);
  if (!k) EVP_PKEY_free(pkey);
  return k;
}

std::unique_ptr<Key> Key::from_jwk(const JsonValue &jwk, std::string &why) {
  if (!jwk.is_object()) {
    why = "a JWK is not an object";
    return nullptr;
  }
  const JsonValue *kty = jwk.get("kty");
  if (!kty || !kty->is_string()) {
    why = "JWK without kty";
    return nullptr;
  }
  if (const JsonValue *use = jwk.get("use"); use && (!use->is_string() || use->str() != "sig")) {
    why = "JWK not for signatures";
    return nullptr;
  }
  EVP_PKEY *pkey = nullptr;
  if (kty->str() == "RSA")
    pkey = rsa_from_jwk(jwk);
  else if (kty->str() == "EC")
    pkey = ec_from_jwk(jwk);
  else if (kty->str() == "OKP")
    pkey = okp_from_jwk(jwk);
  else {
    why = "JWK of kty " + kty->str() + " (oct keys are secrets, never published)";
    return nullptr;
  }
  if (!pkey) {
    why = "malformed " + kty->str() + " JWK";
    return nullptr;
  }
  auto k = from_pkey(pkey, why);
  if (!k) {
    EVP_PKEY_free(pkey);  // not taken
    return nullptr;
  }
  if (const JsonValue *kid = jwk.get("kid"); kid && kid->is_string()) k->kid_ = kid->str();
  if (const JsonValue *alg = jwk.get("alg"); alg && alg->is_string()) {
    auto a = alg_from_name(alg->str());
    if (!a || !k->accepts(*a)) {
      why = "JWK alg " + alg->str() + " does not fit its key";
      return nullptr;
    }
    k->alg_ = alg->str();
  }
  return k;
}

bool Key::accepts(Alg alg) const {
  if (!alg_.empty() && alg_ != alg_name(alg)) return false;
  switch (kind_) {
    case Kind::Hmac: return is_hs(alg);
    case Kind::Rsa: return is_rs(alg) || is_ps(alg);
    case Kind::Ec256: return alg == Alg::ES256;
    case Kind::Ec384: return alg == Alg::ES384;
    case Kind::Ec521: return alg == Alg::ES512;
    case Kind::Ed25519:
    case Kind::Ed448: return alg == Alg::EdDSA;
  }
  return false;
}

std::string Key::sign_hmac(Alg alg, std::string_view input) const {
  if (!is_hmac() || !is_hs(alg)) return {};
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(digest_of(alg), secret_.data(), static_cast<int>(secret_.size()),
            reinterpret_cast<const unsigned char *>(input.data()), input.size(), mac, &len))
    return {};
  return std::string(reinterpret_cast<char *>(mac), len);
}

bool Key::verify(Alg alg, std::string_view input, std::string_view signature) const {
  if (!accepts(alg)) return false;
  if (is_hmac()) {
    std::string mac = sign_hmac(alg, input);
    return !mac.empty() && mac.size() == signature.size() &&
           CRYPTO_memcmp(mac.data(), signature.data(), mac.size()) == 0;
  }
  std::string der;
  if (kind_ == Kind::Ec256 || kind_ == Kind::Ec384 || kind_ == Kind::Ec521) {
    size_t half = kind_ == Kind::Ec256 ? 32 : kind_ == Kind::Ec384 ? 48 : 66;
    der = ecdsa_to_der(signature, half);
    if (der.empty()) return false;
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX *pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, digest_of(alg), nullptr, pkey_) != 1)
    return false;
  if (is_ps(alg) && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
    return false;
  int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char *>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char *>(input.data()),
                            input.size());
  return ok == 1;
}

std::string Key::describe() const {
  switch (kind_) {
    case Kind::Hmac: return "HMAC secret";
    case Kind::Rsa: return "RSA key";
    case Kind::Ec256: return "EC P-256 key";
    case Kind::Ec384: return "EC P-384 key";
    case Kind::Ec521: return "EC P-521 key";
    case Kind::Ed25519: return "Ed25519 key";
    case Kind::Ed448: return "Ed448 key";
  }
  return "key";
}

}  // namespace gyre::jwt
