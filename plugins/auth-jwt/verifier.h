// The checks a token passes before its claims count, in Centrifugo's order
// (server-api spec §4.4): issuer/audience patterns, the signature (with the
// previous HMAC secret as a fallback while it is valid), exact issuer and
// audience, then exp / nbf. Then what the claims say, for a connection or
// a subscription (claims.h).
//
// Threads: immutable after construction; check() runs on the loop thread
// (auth hooks) or on the CLI's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "key.h"
#include "token.h"

namespace gyre::jwt {

// The keys to try: static keys (kid ignored) or a JWKS snapshot (by kid).
struct KeyRing {
  std::vector<std::shared_ptr<const Key>> keys;
  bool by_kid = false;  // JWKS: a key is chosen by the token's kid
};

struct VerifierSettings {
  KeyRing ring;
  std::shared_ptr<const Key> previous_hmac;  // tried when the current one fails
  int64_t previous_hmac_valid_until = 0;     // unix s; 0 = no limit
  std::string audience, issuer;              // exact; empty = not checked
  std::optional<std::regex> audience_regex, issuer_regex;
  bool jwks = false;  // keys come from an endpoint (ring filled per call)
};

enum class Verdict {
  Ok,
  Invalid,     // bad signature, format, claim types, aud/iss, no key
  Expired,     // exp passed or nbf not reached
  UnknownKid,  // JWKS has no key of the token's kid: refetch, then Invalid
};

class Verifier {
 public:
  explicit Verifier(VerifierSettings s) : s_(std::move(s)) {}
  const VerifierSettings &settings() const { return s_; }
  // `ring` overrides the static keys (a JWKS snapshot); nullptr = static.
  Verdict check(const Token &t, int64_t now_s, const KeyRing *ring, std::string &why) const;

 private:
  bool signature_ok(const Token &t, int64_t now_s, const KeyRing &ring, bool &unknown_kid) const;
  VerifierSettings s_;
};

}  // namespace gyre::jwt
