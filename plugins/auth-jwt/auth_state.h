// The plugin instance: its settings, made in init, used by the auth hooks
// (auth_jwt.cc) on the loop thread and by the command lines (commands.cc)
// on the main thread of a `gyre <command>` run.
#pragma once

#include <gyre/plugin.h>

#include "settings.h"

namespace gyre::jwt {

struct JwtAuth {
  const gyre_host_api *api = nullptr;
  gyre_host *host = nullptr;
  TokenSettings conn;  // client.token.*
  TokenSettings sub;   // client.subscription_token.*, when enabled
  bool sub_enabled = false;
  bool disallow_anonymous = false;
  // Subscription tokens use their own section only when it is enabled.
  TokenSettings &subscription_settings() { return sub_enabled ? sub : conn; }
};

}  // namespace gyre::jwt
