// The plugin's settings, read from the server config's `client` section as
// Centrifugo v6 spells them: client.token.* for connection tokens,
// client.subscription_token.* (when its `enabled` is true) for subscription
// tokens, client.disallow_anonymous_connection_tokens. Each token section
// becomes a Verifier (and a JwksSource when it names an endpoint).
#pragma once

#include <gyre/plugin.h>

#include <memory>
#include <string>

#include "jwks.h"
#include "verifier.h"

namespace gyre::jwt {

struct TokenSettings {
  std::unique_ptr<Verifier> verifier;  // null: no key configured
  std::unique_ptr<JwksSource> jwks;    // keys from an endpoint
  std::string jwks_url;                // that endpoint
  std::string user_claim = "sub";
  // A key (one HMAC secret at least) for gentoken.
  std::shared_ptr<const Key> hmac;
  bool configured() const { return verifier != nullptr; }
};

// The schema entries of one token section ("token." or
// "subscription_token.") and of the plugin: see auth_jwt.cc.
extern const gyre_config_field kConfigSchema[];

// Reads the section under `prefix` ("token" or "subscription_token").
// False with a message naming the key on a bad value (a PEM that is no key,
// a regex that does not compile, audience and audience_regex together).
// `start_jwks`: whether to fetch keys from an endpoint (the server does,
// `gyre checktoken` too; nothing else needs the thread).
bool read_token_settings(const gyre_host_api *api, gyre_host *host, const std::string &prefix,
                         bool start_jwks, TokenSettings &out, std::string &error);

}  // namespace gyre::jwt
