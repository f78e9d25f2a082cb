// What a verified token grants (server-api spec §4.2, §4.3): the claims of
// a connection token and of a subscription token, type-checked (a numeric
// `sub`, an `exp` given as a string, a `channel` in a connection token: all
// invalid), with Centrifugo's expiry rule (`expire_at` > 0 wins, ≤ 0 never
// expires, else `exp`; at most a year ahead).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "json_value.h"

namespace gyre::jwt {

// GYRE_OVERRIDE_* bits of the SDK (presence, join_leave, ...).
struct Overrides {
  uint32_t mask = 0;
  uint32_t values = 0;
};

struct ServerSub {
  std::string channel, info, data;  // info/data: raw JSON (b64 variants decoded)
  Overrides overrides;
};

struct ConnectClaims {
  std::string user;
  std::string info;
  int64_t expire_at = 0;  // unix s, 0 = never
  std::vector<ServerSub> subs;
  std::string meta;  // raw JSON object, or empty: for proxies, never for clients
};

struct SubscribeClaims {
  std::string user;
  std::string channel;
  std::string client;  // empty: any client
  std::string info, data;
  int64_t expire_at = 0;
  Overrides overrides;
};

// user_claim: the claim holding the user id ("sub", or user_id_claim).
bool read_connect_claims(const JsonValue &claims, const std::string &user_claim, int64_t now_s,
                         ConnectClaims &out, std::string &why);
bool read_subscribe_claims(const JsonValue &claims, const std::string &user_claim, int64_t now_s,
                           SubscribeClaims &out, std::string &why);

}  // namespace gyre::jwt
