// libFuzzer target for auth-jwt's token path: everything a peer controls in
// a token (segments, base64url, header and claims JSON) through decoding,
// verification and the claim readers, which must refuse or accept without
// crashing, hanging or reading out of bounds. tests/fuzz/run.sh builds it
// with clang (-fsanitize=fuzzer,address,undefined) and runs it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base64.h"
#include "claims.h"
#include "json_value.h"
#include "key.h"
#include "token.h"
#include "verifier.h"

using namespace gyre::jwt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const Verifier verifier = [] {
    VerifierSettings s;
    s.ring.keys.push_back(Key::hmac("fuzz-secret"));
    s.audience_regex.emplace("^a");
    return Verifier(std::move(s));
  }();
  std::string_view text(reinterpret_cast<const char *>(data), size);
  Token t;
  std::string why;
  if (decode_token(text, t, why)) {
    verifier.check(t, 1700000000, nullptr, why);
    ConnectClaims c;
    read_connect_claims(t.claims, "sub", 1700000000, c, why);
    SubscribeClaims s;
    read_subscribe_claims(t.claims, "sub", 1700000000, s, why);
  }
  // The pieces alone, on the raw input.
  JsonValue v;
  parse_json(text, v, why);
  base64url_decode(text);
  base64_decode(text);
  if (v.is_object()) {
    std::string err;
    Key::from_jwk(v, err);
  }
  return 0;
}
