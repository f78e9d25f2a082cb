// A key that verifies token signatures (OpenSSL EVP): an HMAC secret, or a
// public key from PEM or from a JWK. Each key accepts only the algorithms
// of its own type (an RSA key never verifies an HS256 token, a P-256 key
// only ES256): that is the guard against algorithm confusion.
//
// Threads: a Key is immutable after it is made; verify() may run on any
// thread at once.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "json_value.h"
#include "token.h"

namespace gyre::jwt {

class Key {
 public:
  ~Key();
  Key(const Key &) = delete;
  Key &operator=(const Key &) = delete;

  static std::unique_ptr<Key> hmac(std::string secret);
  // A SubjectPublicKeyInfo ("PUBLIC KEY"), PKCS#1 ("RSA PUBLIC KEY") or
  // certificate PEM: RSA, EC (P-256, P-384, P-521) or Ed25519 / Ed448.
  static std::unique_ptr<Key> from_pem(std::string_view pem, std::string &why);
  // A JWK (RFC 7517) of kty RSA, EC or OKP; its "alg", when present, is the
  // only algorithm it accepts, and a "use" other than "sig" is refused.
  static std::unique_ptr<Key> from_jwk(const JsonValue &jwk, std::string &why);

  bool accepts(Alg alg) const;
  // True when `signature` is alg's signature of `input` under this key.
  // Constant time for HMAC.
  bool verify(Alg alg, std::string_view input, std::string_view signature) const;
  // HMAC keys only (gentoken): the signature of input, or empty.
  std::string sign_hmac(Alg alg, std::string_view input) const;

  const std::string &kid() const { return kid_; }
  bool is_hmac() const { return pkey_ == nullptr; }
  // "HMAC", "RSA", "EC P-256", "Ed25519"... for messages (never the key).
  std::string describe() const;

 private:
  enum class Kind { Hmac, Rsa, Ec256, Ec384, Ec521, Ed25519, Ed448 };
  Key() = default;
  static std::unique_ptr<Key> from_pkey(EVP_PKEY *pkey, std::string &why);
  Kind kind_ = Kind::Hmac;
  std::string secret_;
  EVP_PKEY *pkey_ = nullptr;
  std::string kid_;
  std::string alg_;  // the JWK's "alg", if it named one
};

}  // namespace gyre::jwt
