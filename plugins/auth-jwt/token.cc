#include "token.h"

#include <array>

#include "base64.h"

namespace gyre::jwt {

namespace {

struct AlgName {
  Alg alg;
  std::string_view name;
};

constexpr std::array<AlgName, 13> kAlgs = {{
    {Alg::HS256, "HS256"},
    {Alg::HS384, "HS384"},
    {Alg::HS512, "HS512"},
    {Alg::RS256, "RS256"},
    {Alg::RS384, "RS384"},
    {Alg::RS512, "RS512"},
    {Alg::PS256, "PS256"},
    {Alg::PS384, "PS384"},
    {Alg::PS512, "PS512"},
    {Alg::ES256, "ES256"},
    {Alg::ES384, "ES384"},
    {Alg::ES512, "ES512"},
    {Alg::EdDSA, "EdDSA"},
}};

}  // namespace

std::optional<Alg> alg_from_name(std::string_view name) {
  for (const auto &a : kAlgs)
    if (a.name == name) return a.alg;
  return std::nullopt;
}

std::string_view alg_name(Alg alg) {
  for (const auto &a : kAlgs)
    if (a.alg == alg) return a.name;
  return "?";
}

bool decode_token(std::string_view text, Token &out, std::string &why) {
  if (text.size() > kMaxTokenSize) {
    why = "token too large";
    return false;
  }
  size_t d1 = text.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : text.find('.', d1 + 1);
  if (d2 == std::string_view::npos || text.find('.', d2 + 1) != std::string_view::npos) {
    why = "not three dot-separated segments";
    return false;
  }
  auto header = base64url_decode(text.substr(0, d1));
  auto payload = base64url_decode(text.substr(d1 + 1, d2 - d1 - 1));
  auto signature = base64url_decode(text.substr(d2 + 1));
  if (!header || !payload || !signature) {
    why = "bad base64url";
    return false;
  }
  JsonValue h;
  std::string err;
  if (!parse_json(*header, h, err) || !h.is_object()) {
    why = "header is not a JSON object" + (err.empty() ? std::string() : ": " + err);
    return false;
  }
  const JsonValue *alg = h.get("alg");
  if (!alg || !alg->is_string()) {
    why = "no alg in the header";
    return false;
  }
  auto a = alg_from_name(alg->str());
  if (!a) {
    why = "algorithm \"" + alg->str() + "\" is not accepted";
    return false;
  }
  // Extensions the token says must be understood: none is.
  if (h.get("crit")) {
    why = "crit header: unsupported extensions";
    return false;
  }
  const JsonValue *kid = h.get("kid");
  if (kid && !kid->is_string()) {
    why = "kid is not a string";
    return false;
  }
  out.alg = *a;
  out.kid = kid ? kid->str() : std::string();
  out.signing_input = text.substr(0, d2);
  out.signature = std::move(*signature);
  out.payload = std::make_shared<const std::string>(std::move(*payload));
  err.clear();
  if (!parse_json(*out.payload, out.claims, err) || !out.claims.is_object()) {
    why = "claims are not a JSON object" + (err.empty() ? std::string() : ": " + err);
    return false;
  }
  return true;
}

}  // namespace gyre::jwt
