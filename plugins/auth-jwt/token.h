// A JWS compact token (RFC 7515) taken apart, before any trust: algorithm,
// key id, the signing input, the signature and the claims. Nothing here is
// verified; Key::verify and the claim checks (claims.h) decide.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "json_value.h"

namespace gyre::jwt {

enum class Alg {
  HS256,
  HS384,
  HS512,
  RS256,
  RS384,
  RS512,
  PS256,
  PS384,
  PS512,
  ES256,
  ES384,
  ES512,
  EdDSA
};

// nullopt for "none" and every name not listed above.
std::optional<Alg> alg_from_name(std::string_view name);
std::string_view alg_name(Alg alg);

// The largest token accepted: more is no real token, and work on it is
// bounded (a 1 MB token is refused before any decoding).
inline constexpr size_t kMaxTokenSize = 64 * 1024;

struct Token {
  Alg alg = Alg::HS256;
  std::string kid;                 // empty when the header has none
  std::string_view signing_input;  // "<header>.<payload>", into the caller's text
  std::string signature;           // decoded
  // The decoded payload; claims' raw views point into it (so it is held
  // where moves cannot shift it).
  std::shared_ptr<const std::string> payload;
  JsonValue claims;
};

// Splits and decodes `text` (which must outlive `out`). False with the
// reason when it is no well-formed JWS of a supported algorithm: wrong
// segment count, bad base64url, header or claims not a JSON object,
// duplicate keys, alg missing / "none" / unknown, a "crit" header.
bool decode_token(std::string_view text, Token &out, std::string &why);

}  // namespace gyre::jwt
