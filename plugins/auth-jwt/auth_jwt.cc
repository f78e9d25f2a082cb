// auth-jwt: Centrifugo's connection and subscription tokens (JWT) as a
// Gyre auth plugin. Loaded by the server when client.token.* or
// client.subscription_token.* name a key; configured from those keys
// (the `client` section of the server config, bound by config_section).
//
// Outcomes follow server-api spec §4.4: on connect an invalid token is a
// 3500 disconnect and an expired one error 109 (the SDK fetches a new token);
// on refresh 3500 / 3005; on subscribe error 103 / 109, and a token for
// another user, channel or client a 3500 disconnect; on sub_refresh 3500 /
// error 110. Hooks run on the loop thread; JWKS keys arrive from the
// fetcher's thread through api->post (jwks.h).
#include <gyre/plugin.h>

#include <memory>
#include <new>
#include <string>

#include "auth_state.h"
#include "claims.h"
#include "commands.h"
#include "token.h"

namespace gyre::jwt {

namespace {

enum class Kind { Connect, Refresh, Subscribe, SubRefresh };

TokenSettings &settings_for(JwtAuth &a, Kind k) {
  return (k == Kind::Subscribe || k == Kind::SubRefresh) ? a.subscription_settings() : a.conn;
}

gyre_str gs(const std::string &s) { return gyre_str{s.data(), s.size()}; }
std::string str(gyre_str s) { return s.ptr ? std::string(s.ptr, s.len) : std::string(); }

void log(JwtAuth &a, gyre_log_level level, const std::string &msg) {
  a.api->log(a.host, level, gs(msg));
}

// A request as the decision needs it, owned: a decision may wait for JWKS
// keys, and the hook's arguments are borrowed for the call only.
struct Request {
  Kind kind;
  std::string token, client, user, channel;
};

const char *kind_name(Kind k) {
  switch (k) {
    case Kind::Connect: return "connection token";
    case Kind::Refresh: return "refresh token";
    case Kind::Subscribe: return "subscription token";
    case Kind::SubRefresh: return "sub_refresh token";
  }
  return "token";
}

void deny(JwtAuth &a, gyre_auth_op *op, uint32_t code, const char *reason) {
  a.api->auth_deny(op, code, gyre_str{reason, std::char_traits<char>::length(reason)}, false);
}

void deny_invalid(JwtAuth &a, gyre_auth_op *op, const Request &r, const std::string &why) {
  log(a, GYRE_LOG_DEBUG, std::string(kind_name(r.kind)) + " refused: " + why);
  if (r.kind == Kind::Subscribe) return deny(a, op, 103, "permission denied");
  deny(a, op, 3500, "invalid token");
}

void deny_expired(JwtAuth &a, gyre_auth_op *op, const Request &r) {
  switch (r.kind) {
    case Kind::Connect:
    case Kind::Subscribe: return deny(a, op, 109, "token expired");
    case Kind::Refresh: return deny(a, op, 3005, "connection expired");
    case Kind::SubRefresh: return deny(a, op, 110, "expired");
  }
}

gyre_subscription_grant grant_of(const std::string &channel, const std::string &info,
                                 const std::string &data, int64_t expire_at, Overrides o) {
  gyre_subscription_grant g{};
  g.size = sizeof g;
  g.channel = gs(channel);
  g.info = gs(info);
  g.data = gs(data);
  g.expire_at = expire_at;
  g.client_side_refresh = true;  // the SDK refreshes with getToken
  g.override_mask = o.mask;
  g.override_values = o.values;
  return g;
}

void grant_connection(JwtAuth &a, gyre_auth_op *op, const Request &r, const Token &t, int64_t now_s,
                      const std::string &user_claim) {
  ConnectClaims c;
  std::string why;
  if (!read_connect_claims(t.claims, user_claim, now_s, c, why)) return deny_invalid(a, op, r, why);
  if (r.kind == Kind::Connect && c.user.empty() && a.disallow_anonymous)
    return deny(a, op, 3507, "permission denied");
  std::vector<gyre_subscription_grant> subs;
  if (r.kind == Kind::Connect)
    for (const auto &s : c.subs)
      subs.push_back(grant_of(s.channel, s.info, s.data, 0, s.overrides));
  gyre_credentials creds{};
  creds.size = sizeof creds;
  creds.user = gs(c.user);
  creds.info = gs(c.info);
  creds.expire_at = c.expire_at;
  creds.client_side_refresh = true;
  creds.subs = subs.data();
  creds.num_subs = subs.size();
  creds.meta = gs(c.meta);
  a.api->auth_grant(op, &creds);
}

void grant_subscription(JwtAuth &a, gyre_auth_op *op, const Request &r, const Token &t,
                        int64_t now_s, const std::string &user_claim) {
  SubscribeClaims c;
  std::string why;
  if (!read_subscribe_claims(t.claims, user_claim, now_s, c, why))
    return deny_invalid(a, op, r, why);
  // A token for someone or something else: Centrifugo disconnects.
  if (c.channel != r.channel || c.user != r.user || (!c.client.empty() && c.client != r.client)) {
    log(a, GYRE_LOG_DEBUG, std::string(kind_name(r.kind)) + " for another channel, user or client");
    return deny(a, op, 3500, "invalid token");
  }
  gyre_subscription_grant g = grant_of(c.channel, c.info, c.data, c.expire_at, c.overrides);
  a.api->auth_grant_subscription(op, &g);
}

// Decides r, answering op, unless the keys must be fetched first: then it
// returns GYRE_PENDING and decides again once they are (may_fetch false).
gyre_status decide(JwtAuth &a, gyre_auth_op *op, std::shared_ptr<const Request> r, bool may_fetch) {
  TokenSettings &ts = settings_for(a, r->kind);
  if (!ts.configured()) return GYRE_DECLINED;  // the server's rule: 3500 / 103
  Token t;
  std::string why;
  if (!decode_token(r->token, t, why)) {
    deny_invalid(a, op, *r, why);
    return GYRE_OK;
  }
  int64_t now_s = a.api->now_ms(a.host) / 1000;
  std::shared_ptr<const KeyRing> ring;
  // Decide again once a fetch completed; false when none may start now.
  auto defer = [&a, op, r, &ts] {
    JwtAuth *self = &a;
    return ts.jwks->after_fetch([self, op, r] {
      try {
        if (decide(*self, op, r, false) != GYRE_OK) deny(*self, op, 3500, "invalid token");
      } catch (...) {
        deny(*self, op, 100, "internal server error");
      }
    });
  };
  if (ts.jwks) {
    ring = ts.jwks->keys();
    if (!ring) {
      if (may_fetch && defer()) return GYRE_PENDING;
      // No keys (the endpoint is down): not the token's fault, so a
      // temporary error the client retries, as Centrifugo answers.
      log(a, GYRE_LOG_DEBUG, "no keys from the JWKS endpoint yet");
      a.api->auth_deny(op, 100, gyre_str{"internal server error", 21}, true);
      return GYRE_OK;
    }
  }
  Verdict v = ts.verifier->check(t, now_s, ring.get(), why);
  // A kid the keys lack may be a new key: fetch once more, then decide.
  if (v == Verdict::UnknownKid && may_fetch && defer()) return GYRE_PENDING;
  switch (v) {
    case Verdict::Invalid:
    case Verdict::UnknownKid: deny_invalid(a, op, *r, why); return GYRE_OK;
    case Verdict::Expired: deny_expired(a, op, *r); return GYRE_OK;
    case Verdict::Ok: break;
  }
  if (r->kind == Kind::Connect || r->kind == Kind::Refresh)
    grant_connection(a, op, *r, t, now_s, ts.user_claim);
  else
    grant_subscription(a, op, *r, t, now_s, ts.user_claim);
  return GYRE_OK;
}

template <typename Fill>
gyre_status start(void *state, gyre_auth_op *op, Kind kind, Fill fill) {
  try {
    auto r = std::make_shared<Request>();
    r->kind = kind;
    fill(*r);
    return decide(*static_cast<JwtAuth *>(state), op, std::move(r), true);
  } catch (...) {
    return GYRE_ERR_NOMEM;  // the host answers 100
  }
}

gyre_status on_connect(void *state, const gyre_connect_request *req, gyre_auth_op *op) {
  return start(state, op, Kind::Connect, [req](Request &r) {
    r.token = str(req->token);
    r.client = str(req->client);
  });
}

gyre_status on_refresh(void *state, const gyre_refresh_request *req, gyre_auth_op *op) {
  return start(state, op, Kind::Refresh, [req](Request &r) {
    r.token = str(req->token);
    r.client = str(req->client);
    r.user = str(req->user);
  });
}

// subscribe and sub_refresh carry the same request.
gyre_status subscription(void *state, const gyre_subscribe_request *req, gyre_auth_op *op,
                         Kind kind) {
  return start(state, op, kind, [req](Request &r) {
    r.token = str(req->token);
    r.client = str(req->client);
    r.user = str(req->user);
    r.channel = str(req->channel);
  });
}

gyre_status on_subscribe(void *state, const gyre_subscribe_request *req, gyre_auth_op *op) {
  return subscription(state, req, op, Kind::Subscribe);
}

gyre_status on_sub_refresh(void *state, const gyre_subscribe_request *req, gyre_auth_op *op) {
  return subscription(state, req, op, Kind::SubRefresh);
}

gyre_status plugin_init(const gyre_host_api *api, gyre_host *host, void **state) noexcept {
  if (api->abi_minor < 1) return GYRE_ERR_UNAVAILABLE;
  try {
    auto a = std::make_unique<JwtAuth>();
    a->api = api;
    a->host = host;
    std::string error;
    api->config_get_bool(host, "subscription_token.enabled", &a->sub_enabled);
    api->config_get_bool(host, "disallow_anonymous_connection_tokens", &a->disallow_anonymous);
    if (!read_token_settings(api, host, "token", true, a->conn, error) ||
        (a->sub_enabled &&
         !read_token_settings(api, host, "subscription_token", true, a->sub, error))) {
      log(*a, GYRE_LOG_ERROR, error);
      return GYRE_ERR_INVALID;
    }
    if (!a->conn.configured() && !a->sub.configured())
      log(*a, GYRE_LOG_WARN,
          "no key in client.token.* or client.subscription_token.*: every token "
          "is refused");
    *state = a.release();
    return GYRE_OK;
  } catch (const std::exception &e) {
    api->log(host, GYRE_LOG_ERROR, gyre_str{e.what(), std::char_traits<char>::length(e.what())});
    return GYRE_ERR_INTERNAL;
  }
}

void plugin_destroy(void *state) noexcept {
  try {
    delete static_cast<JwtAuth *>(state);
  } catch (...) {
  }
}

const gyre_auth_ops kAuth = {
    .size = sizeof(gyre_auth_ops),
    // Requests without a token are not ours: the server's rules decide.
    .flags = GYRE_AUTH_TOKEN_ONLY,
    .on_connect = on_connect,
    .on_refresh = on_refresh,
    .on_subscribe = on_subscribe,
    .on_sub_refresh = on_sub_refresh,
};

const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "auth-jwt",
    .version = "0.1.0",
    .description =
        "Centrifugo connection and subscription tokens (HS*, RS*, PS*, ES*, EdDSA, JWKS)",
    .kinds = GYRE_PLUGIN_AUTH,
    .config_schema = kConfigSchema,
    .init = plugin_init,
    .destroy = plugin_destroy,
    .engine = nullptr,
    .config_section = "client",
    .auth = &kAuth,
    .transport = nullptr,
    .commands = kCommands,
};

}  // namespace

}  // namespace gyre::jwt

GYRE_PLUGIN_DEFINE(gyre::jwt::kDescriptor)
