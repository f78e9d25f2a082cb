#include "verifier.h"

namespace gyre::jwt {

namespace {

// The longest iss / aud a pattern is run on: libstdc++'s std::regex
// recurses per character.
constexpr size_t kMaxPatternInput = 1024;

// aud is a string or an array of strings; nullopt for anything else.
std::optional<std::vector<std::string>> audiences(const JsonValue *aud) {
  std::vector<std::string> out;
  if (!aud) return out;
  if (aud->is_string()) {
    out.push_back(aud->str());
    return out;
  }
  if (!aud->is_array()) return std::nullopt;
  for (const auto &a : aud->items()) {
    if (!a.is_string()) return std::nullopt;
    out.push_back(a.str());
  }
  return out;
}

bool time_claim(const JsonValue &claims, const char *name, std::optional<double> &out,
                std::string &why) {
  const JsonValue *v = present(claims, name);
  if (!v) return true;
  if (!v->is_number()) {
    why = std::string(name) + " is not a number";
    return false;
  }
  out = v->number();
  return true;
}

}  // namespace

bool Verifier::signature_ok(const Token &t, int64_t now_s, const KeyRing &ring,
                            bool &unknown_kid) const {
  bool any_kid = false;
  for (const auto &k : ring.keys) {
    if (ring.by_kid && !t.kid.empty() && k->kid() != t.kid) continue;
    any_kid = true;
    if (k->verify(t.alg, t.signing_input, t.signature)) return true;
  }
  if (ring.by_kid && !any_kid) unknown_kid = true;
  if (s_.previous_hmac &&
      (s_.previous_hmac_valid_until == 0 || now_s < s_.previous_hmac_valid_until))
    return s_.previous_hmac->verify(t.alg, t.signing_input, t.signature);
  return false;
}

Verdict Verifier::check(const Token &t, int64_t now_s, const KeyRing *ring,
                        std::string &why) const {
  const JsonValue &c = t.claims;
  auto aud = audiences(present(c, "aud"));
  if (!aud) {
    why = "aud is neither a string nor an array of strings";
    return Verdict::Invalid;
  }
  const JsonValue *iss = present(c, "iss");
  if (iss && !iss->is_string()) {
    why = "iss is not a string";
    return Verdict::Invalid;
  }
  std::string issuer = iss ? iss->str() : std::string();
  const KeyRing &keys = ring ? *ring : s_.ring;
  // Centrifugo names the key by kid in JWKS mode; a token without one is
  // not tried against every key.
  if (keys.by_kid && t.kid.empty()) {
    why = "no kid in the header (keys come from a JWKS)";
    return Verdict::Invalid;
  }
  // The signature first: the patterns below run std::regex, whose cost
  // grows with the input, and only a trusted issuer's text may reach it.
  bool unknown_kid = false;
  if (!signature_ok(t, now_s, keys, unknown_kid)) {
    if (unknown_kid) {
      why = "no key with kid \"" + t.kid + "\"";
      return Verdict::UnknownKid;
    }
    why = "signature does not verify (or no key for " + std::string(alg_name(t.alg)) + ")";
    return Verdict::Invalid;
  }
  if (s_.issuer_regex &&
      (issuer.size() > kMaxPatternInput || !std::regex_search(issuer, *s_.issuer_regex))) {
    why = "iss does not match the issuer pattern";
    return Verdict::Invalid;
  }
  if (s_.audience_regex) {
    bool match = false;
    for (const auto &a : *aud)
      match = match || (a.size() <= kMaxPatternInput && std::regex_search(a, *s_.audience_regex));
    if (!match) {
      why = "aud does not match the audience pattern";
      return Verdict::Invalid;
    }
  }
  if (!s_.issuer.empty() && issuer != s_.issuer) {
    why = "wrong iss";
    return Verdict::Invalid;
  }
  if (!s_.audience.empty()) {
    bool match = false;
    for (const auto &a : *aud) match = match || a == s_.audience;
    if (!match) {
      why = "wrong aud";
      return Verdict::Invalid;
    }
  }
  std::optional<double> exp, nbf, iat;
  if (!time_claim(c, "exp", exp, why) || !time_claim(c, "nbf", nbf, why) ||
      !time_claim(c, "iat", iat, why))
    return Verdict::Invalid;
  if (const JsonValue *jti = present(c, "jti"); jti && !jti->is_string()) {
    why = "jti is not a string";
    return Verdict::Invalid;
  }
  if (exp && *exp <= static_cast<double>(now_s)) {
    why = "token expired";
    return Verdict::Expired;
  }
  if (nbf && *nbf > static_cast<double>(now_s)) {
    why = "token not valid yet";
    return Verdict::Expired;
  }
  return Verdict::Ok;
}

}  // namespace gyre::jwt
