/* auth-secret: the smallest useful Gyre auth plugin, in plain C99.
 *
 * It admits a connection whose connect data carries the shared secret from
 * its config, as the user it names:
 *
 *   new Centrifuge(url, {data: {secret: "s3cret", user: "alice"}})
 *
 * A wrong secret is refused with error 101 (unauthorized: the SDK stops
 * reconnecting); a connect without a "secret" in its data is declined, so
 * the next auth plugin or the server's own rules decide (anonymous access,
 * tokens). Copy it to start an auth plugin of your own; the comments point
 * at the rules of gyre/plugin.h each part follows.
 *
 * Build against the installed SDK:
 *   cmake -S . -B build -DCMAKE_PREFIX_PATH=<gyre prefix> && cmake --build build
 * Run: "plugins": {"load": [{"name": "auth-secret",
 *        "path": "<dir>/auth-secret.so", "config": {"secret": "s3cret"}}]} */
#include <gyre/plugin.h>
#include <string.h>

/* Per-instance state: init fills it, destroy forgets it. Auth hooks run on
 * the host's loop thread, one at a time: no locks. */
typedef struct secret_state {
  const gyre_host_api *api;
  gyre_host *host;
  gyre_str secret; /* config_get_string's view: valid until destroy */
} secret_state;

static secret_state g_state;

/* The settings this plugin accepts; the host checks the config against it
 * (unknown key or wrong type: startup error naming plugin and key). */
static const gyre_config_field kSchema[] = {
    {"secret", GYRE_CONFIG_STRING, NULL, "the shared secret clients put in connect data"},
    {"user_info", GYRE_CONFIG_BOOL, "true", "show {\"via\":\"secret\"} as the conn_info"},
    {NULL, 0, NULL, NULL},
};

static gyre_str cstr(const char *s) {
  gyre_str out;
  out.ptr = s;
  out.len = strlen(s);
  return out;
}

/* The string value of "key" in a flat JSON object, as a view into json
 * (escapes are not decoded: keep secrets and user ids plain). */
static int json_field(gyre_str json, const char *key, gyre_str *out) {
  size_t klen = strlen(key);
  size_t i;
  for (i = 0; i + klen + 2 <= json.len; i++) {
    size_t j;
    if (json.ptr[i] != '"' || memcmp(json.ptr + i + 1, key, klen) != 0 ||
        json.ptr[i + 1 + klen] != '"')
      continue;
    j = i + klen + 2;
    while (j < json.len && (json.ptr[j] == ' ' || json.ptr[j] == ':')) j++;
    if (j >= json.len || json.ptr[j] != '"') return 0;
    out->ptr = json.ptr + j + 1;
    for (out->len = 0; j + 1 + out->len < json.len; out->len++)
      if (json.ptr[j + 1 + out->len] == '"') return 1;
    return 0;
  }
  return 0;
}

/* Compares in time that depends on the lengths only, never on where the
 * bytes differ: a secret must not leak through timing. */
static int same_secret(gyre_str a, gyre_str b) {
  unsigned char diff = 0;
  size_t i;
  if (a.len != b.len) return 0;
  for (i = 0; i < a.len; i++) diff |= (unsigned char)(a.ptr[i] ^ b.ptr[i]);
  return diff == 0;
}

/* on_connect: decide now and answer the op before returning (GYRE_OK), or
 * decline (GYRE_DECLINED) and leave the op alone. Everything `req` points
 * to is borrowed for this call, and so may be what we pass to auth_grant. */
static gyre_status secret_connect(void *state, const gyre_connect_request *req, gyre_auth_op *op) {
  secret_state *s = state;
  gyre_str given, user;
  gyre_credentials creds;
  bool with_info = true;
  if (!json_field(req->data, "secret", &given)) return GYRE_DECLINED;
  if (!same_secret(given, s->secret)) {
    s->api->auth_deny(op, 101, cstr("unauthorized"), false);
    return GYRE_OK;
  }
  if (!json_field(req->data, "user", &user)) user = cstr("");
  s->api->config_get_bool(s->host, "user_info", &with_info);
  memset(&creds, 0, sizeof creds);
  creds.size = sizeof creds; /* every record opens with its size */
  creds.user = user;
  creds.info = cstr(with_info ? "{\"via\":\"secret\"}" : "");
  /* expire_at 0: the connection never expires; no server-side subs. */
  s->api->auth_grant(op, &creds);
  return GYRE_OK;
}

/* Hooks left out are NULL: they decline. flags 0: also asked about
 * connects without a token (GYRE_AUTH_TOKEN_ONLY would skip them). */
static const gyre_auth_ops kAuth = {
    .size = sizeof(gyre_auth_ops),
    .on_connect = secret_connect,
};

/* init: check what we need, log (never the secret itself), keep state. */
static gyre_status secret_init(const gyre_host_api *api, gyre_host *host, void **state) {
  g_state.api = api;
  g_state.host = host;
  if (api->abi_minor < 1) return GYRE_ERR_UNAVAILABLE; /* a 1.0 host has no auth hooks */
  if (!api->config_get_string(host, "secret", &g_state.secret) || g_state.secret.len == 0) {
    api->log(host, GYRE_LOG_ERROR, cstr("config \"secret\" is required"));
    return GYRE_ERR_INVALID;
  }
  api->log(host, GYRE_LOG_INFO, cstr("admitting connections that carry the shared secret"));
  *state = &g_state;
  return GYRE_OK;
}

static void secret_destroy(void *state) { (void)state; }

/* The descriptor, with designated initializers so that fields appended in
 * later ABI minors need no edit here. */
static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "auth-secret", /* must match the name in plugins.load */
    .version = "1.0.0",
    .description = "example: admits connections whose connect data carries a shared secret",
    .kinds = GYRE_PLUGIN_AUTH,
    .config_schema = kSchema,
    .init = secret_init,
    .destroy = secret_destroy,
    .auth = &kAuth,
};

/* The one exported symbol. */
GYRE_PLUGIN_DEFINE(kDescriptor)
