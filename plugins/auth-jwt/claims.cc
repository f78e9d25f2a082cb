#include "claims.h"

#include <gyre/plugin.h>

#include <algorithm>

#include "base64.h"

namespace gyre::jwt {

namespace {

constexpr int64_t kMaxLifetimeS = 365 * 24 * 3600;

bool string_claim(const JsonValue &c, const std::string &name, std::string &out, std::string &why) {
  const JsonValue *v = present(c, name);
  if (!v) return true;
  if (!v->is_string()) {
    why = name + " is not a string";
    return false;
  }
  out = v->str();
  return true;
}

// `info` (raw JSON) or `b64info` (base64 of it): raw JSON text. The b64
// form wins when both are there, as in Centrifugo.
bool json_or_b64(const JsonValue &c, const char *plain, const char *b64, std::string &out,
                 std::string &why) {
  const JsonValue *v = present(c, b64);
  if (!v) {
    if (const JsonValue *p = present(c, plain)) out = std::string(p->raw());
    return true;
  }
  if (!v->is_string()) {
    why = std::string(b64) + " is not a string";
    return false;
  }
  auto bytes = base64_decode(v->str());
  if (!bytes) {
    why = std::string(b64) + " is not base64";
    return false;
  }
  out = std::move(*bytes);
  return true;
}

bool read_overrides(const JsonValue *o, Overrides &out, std::string &why) {
  if (!o || o->is_null()) return true;
  if (!o->is_object()) {
    why = "override is not an object";
    return false;
  }
  static const struct {
    const char *name;
    uint32_t bit;
  } kBits[] = {{"presence", GYRE_OVERRIDE_PRESENCE},
               {"join_leave", GYRE_OVERRIDE_JOIN_LEAVE},
               {"force_push_join_leave", GYRE_OVERRIDE_FORCE_PUSH_JOIN_LEAVE},
               {"force_recovery", GYRE_OVERRIDE_FORCE_RECOVERY},
               {"force_positioning", GYRE_OVERRIDE_FORCE_POSITIONING}};
  for (const auto &b : kBits) {
    const JsonValue *v = present(*o, b.name);
    if (!v) continue;
    const JsonValue *value = v->is_object() ? present(*v, "value") : v;
    if (!value) continue;  // {} or a null value: no override
    if (!v->is_object() || !value->is_bool()) {
      why = std::string("override.") + b.name + " is not {\"value\": bool}";
      return false;
    }
    out.mask |= b.bit;
    if (value->boolean()) out.values |= b.bit;
  }
  return true;
}

// Centrifugo's rule: expire_at > 0 is the expiry, ≤ 0 never; without it,
// exp; capped at a year from now.
bool expiry(const JsonValue &c, int64_t now_s, int64_t &out, std::string &why) {
  const JsonValue *at = present(c, "expire_at");
  const JsonValue *exp = present(c, "exp");
  // An int64 in Centrifugo: 1.5 or 1e300 is no expire_at.
  if (at) {
    double n = at->is_number() ? at->number() : 0.5;
    if (!(n > -9.2e18 && n < 9.2e18) || n != static_cast<double>(static_cast<int64_t>(n))) {
      why = "expire_at is not an integer";
      return false;
    }
  }
  double e = at ? (at->number() > 0 ? at->number() : 0) : (exp ? exp->number() : 0);
  if (e <= 0) {
    out = 0;
    return true;
  }
  out = static_cast<int64_t>(std::min<double>(e, static_cast<double>(now_s + kMaxLifetimeS)));
  return true;
}

bool read_user(const JsonValue &c, const std::string &user_claim, std::string &out,
               std::string &why) {
  return string_claim(c, user_claim, out, why);
}

}  // namespace

bool read_connect_claims(const JsonValue &c, const std::string &user_claim, int64_t now_s,
                         ConnectClaims &out, std::string &why) {
  if (const JsonValue *ch = present(c, "channel"); ch && !(ch->is_string() && ch->str().empty())) {
    why = "a connection token must not carry a channel claim";
    return false;
  }
  if (!read_user(c, user_claim, out.user, why) ||
      !json_or_b64(c, "info", "b64info", out.info, why) || !expiry(c, now_s, out.expire_at, why))
    return false;
  if (const JsonValue *meta = present(c, "meta")) {
    if (!meta->is_object()) {
      why = "meta is not an object";
      return false;
    }
    out.meta = std::string(meta->raw());
  }
  const JsonValue *subs = present(c, "subs");
  if (subs && !subs->is_object()) {
    why = "subs is not an object";
    return false;
  }
  if (subs && !subs->members().empty()) {
    // subs wins over channels (spec §4.2).
    for (const auto &[channel, opts] : subs->members()) {
      if (!opts.is_object()) {
        why = "subs." + channel + " is not an object";
        return false;
      }
      ServerSub s;
      s.channel = channel;
      if (!json_or_b64(opts, "info", "b64info", s.info, why) ||
          !json_or_b64(opts, "data", "b64data", s.data, why) ||
          !read_overrides(present(opts, "override"), s.overrides, why))
        return false;
      out.subs.push_back(std::move(s));
    }
    return true;
  }
  if (const JsonValue *channels = present(c, "channels")) {
    if (!channels->is_array()) {
      why = "channels is not an array";
      return false;
    }
    for (const auto &ch : channels->items()) {
      if (!ch.is_string()) {
        why = "channels holds a non-string";
        return false;
      }
      ServerSub s;
      s.channel = ch.str();
      out.subs.push_back(std::move(s));
    }
  }
  return true;
}

bool read_subscribe_claims(const JsonValue &c, const std::string &user_claim, int64_t now_s,
                           SubscribeClaims &out, std::string &why) {
  const JsonValue *channel = present(c, "channel");
  if (!channel || !channel->is_string() || channel->str().empty()) {
    why = "a subscription token needs a channel claim";
    return false;
  }
  out.channel = channel->str();
  return read_user(c, user_claim, out.user, why) && string_claim(c, "client", out.client, why) &&
         json_or_b64(c, "info", "b64info", out.info, why) &&
         json_or_b64(c, "data", "b64data", out.data, why) &&
         read_overrides(present(c, "override"), out.overrides, why) &&
         expiry(c, now_s, out.expire_at, why);
}

}  // namespace gyre::jwt
