// auth-jwt's command lines (gyre_command, ABI 1.2), as Centrifugo has them:
//   gyre gentoken -u USER [-t TTL] [--info JSON] [-s CHANNEL] [-q]
//   gyre gensubtoken -u USER -s CHANNEL [-t TTL] [--info JSON] [-q]
//   gyre checktoken TOKEN       gyre checksubtoken TOKEN
// Tokens are minted with the configured HMAC secret (HS256) and checked by
// the very verifier the server runs.
#pragma once

#include <gyre/plugin.h>

namespace gyre::jwt {

extern const gyre_command kCommands[];

}  // namespace gyre::jwt
