#include "settings.h"

#include <regex>

namespace gyre::jwt {

// Keys below the `client` section. The token keys come twice: for
// connection tokens and for subscription tokens.
#define GYRE_JWT_TOKEN_KEYS(P, WHAT)                                                           \
  {P "hmac_secret_key", GYRE_CONFIG_STRING, nullptr, "HMAC secret: HS256/384/512 " WHAT},      \
      {P "hmac_previous_secret_key", GYRE_CONFIG_STRING, nullptr,                              \
       "the HMAC secret before a rotation, still accepted " WHAT},                             \
      {P "hmac_previous_secret_key_valid_until", GYRE_CONFIG_INT, "0",                         \
       "unix seconds until which the previous secret is accepted (0: no limit)"},              \
      {P "rsa_public_key", GYRE_CONFIG_STRING, nullptr, "PEM RSA public key: RS*, PS* " WHAT}, \
      {P "ecdsa_public_key", GYRE_CONFIG_STRING, nullptr,                                      \
       "PEM EC (or Ed25519) public key: ES*, EdDSA " WHAT},                                    \
      {P "jwks_public_endpoint", GYRE_CONFIG_STRING, nullptr,                                  \
       "http(s) URL of a JWKS; when set, the only keys " WHAT},                                \
      {P "audience", GYRE_CONFIG_STRING, nullptr, "required aud " WHAT},                       \
      {P "audience_regex", GYRE_CONFIG_STRING, nullptr, "pattern an aud must match " WHAT},    \
      {P "issuer", GYRE_CONFIG_STRING, nullptr, "required iss " WHAT},                         \
      {P "issuer_regex", GYRE_CONFIG_STRING, nullptr, "pattern iss must match " WHAT}, {       \
    P "user_id_claim", GYRE_CONFIG_STRING, nullptr, "the claim with the user id (default sub)" \
  }

const gyre_config_field kConfigSchema[] = {
    GYRE_JWT_TOKEN_KEYS("token.", "of connection tokens"),
    {"subscription_token.enabled", GYRE_CONFIG_BOOL, "false",
     "subscription tokens use client.subscription_token.* instead of client.token.*"},
    GYRE_JWT_TOKEN_KEYS("subscription_token.", "of subscription tokens"),
    {"disallow_anonymous_connection_tokens", GYRE_CONFIG_BOOL, "false",
     "a connection token with an empty sub is refused (3507)"},
    {nullptr, GYRE_CONFIG_STRING, nullptr, nullptr},
};

namespace {

std::string get(const gyre_host_api *api, gyre_host *host, const std::string &key) {
  gyre_str v{nullptr, 0};
  if (!api->config_get_string(host, key.c_str(), &v) || !v.ptr) return {};
  return std::string(v.ptr, v.len);
}

bool compile(const std::string &key, const std::string &pattern, std::optional<std::regex> &out,
             std::string &error) {
  if (pattern.empty()) return true;
  try {
    out.emplace(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error &e) {
    error = "client." + key + ": not a valid regular expression (" + e.what() + ")";
    return false;
  }
  return true;
}

}  // namespace

bool read_token_settings(const gyre_host_api *api, gyre_host *host, const std::string &prefix,
                         bool start_jwks, TokenSettings &out, std::string &error) {
  auto key = [&](const char *name) { return prefix + "." + name; };
  VerifierSettings vs;
  std::string secret = get(api, host, key("hmac_secret_key"));
  std::string previous = get(api, host, key("hmac_previous_secret_key"));
  std::string rsa = get(api, host, key("rsa_public_key"));
  std::string ecdsa = get(api, host, key("ecdsa_public_key"));
  std::string jwks = get(api, host, key("jwks_public_endpoint"));
  vs.audience = get(api, host, key("audience"));
  vs.issuer = get(api, host, key("issuer"));
  std::string audience_regex = get(api, host, key("audience_regex"));
  std::string issuer_regex = get(api, host, key("issuer_regex"));
  if (!vs.audience.empty() && !audience_regex.empty()) {
    error = "client." + key("audience") + " and client." + key("audience_regex") +
            " exclude each other";
    return false;
  }
  if (!vs.issuer.empty() && !issuer_regex.empty()) {
    error =
        "client." + key("issuer") + " and client." + key("issuer_regex") + " exclude each other";
    return false;
  }
  if (!compile(key("audience_regex"), audience_regex, vs.audience_regex, error) ||
      !compile(key("issuer_regex"), issuer_regex, vs.issuer_regex, error))
    return false;
  std::string claim = get(api, host, key("user_id_claim"));
  if (!claim.empty()) {
    if (!std::regex_match(claim, std::regex("^[a-zA-Z_]+$"))) {
      error = "client." + key("user_id_claim") + ": must match ^[a-zA-Z_]+$";
      return false;
    }
    out.user_claim = claim;
  }
  if (!jwks.empty()) {
    if (jwks.rfind("http://", 0) != 0 && jwks.rfind("https://", 0) != 0) {
      error = "client." + key("jwks_public_endpoint") + ": must be an http:// or https:// URL";
      return false;
    }
    if (jwks.find("{{") != std::string::npos) {
      error = "client." + key("jwks_public_endpoint") +
              ": templated endpoints ({{var}}) are not supported yet";
      return false;
    }
    // Centrifugo: with an endpoint, static keys are not used.
    vs.jwks = true;
    out.jwks_url = jwks;
    if (start_jwks) out.jwks = std::make_unique<JwksSource>(api, host, jwks);
  } else {
    if (!secret.empty()) {
      auto k = Key::hmac(secret);
      out.hmac = std::shared_ptr<const Key>(std::move(k));
      vs.ring.keys.push_back(out.hmac);
    }
    for (const auto &[name, pem] :
         {std::pair<const char *, const std::string &>{"rsa_public_key", rsa},
          {"ecdsa_public_key", ecdsa}}) {
      if (pem.empty()) continue;
      std::string why;
      auto k = Key::from_pem(pem, why);
      if (!k) {
        error = "client." + key(name) + ": " + why;
        return false;
      }
      vs.ring.keys.push_back(std::move(k));
    }
    if (!previous.empty()) vs.previous_hmac = Key::hmac(previous);
    int64_t until = 0;
    api->config_get_int(host, key("hmac_previous_secret_key_valid_until").c_str(), &until);
    vs.previous_hmac_valid_until = until;
    if (vs.ring.keys.empty()) return true;  // not configured: the verifier stays null
  }
  out.verifier = std::make_unique<Verifier>(std::move(vs));
  return true;
}

}  // namespace gyre::jwt
