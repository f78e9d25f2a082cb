/* Test plugin: an auth plugin whose decisions are spelled out in the token,
 * so the integration tests (tests/node/auth_hooks.test.js) can drive every
 * path of gyre_auth_ops through the real SDK: grant, deny with a code,
 * decline, fail, answer later (pending), credentials with expiry and
 * server-side subscriptions, request headers, refresh by client and host.
 *
 * A token is `key=value` pairs joined by ';':
 *   act=allow|deny|decline|fail|headers   (default allow)
 *   user=ID  info=JSON  data=JSON  subs=CH1,CH2  meta=JSON (connect)
 *   ttl=SECONDS (expiry from now)  past=1 (expiry in the past)
 *   refresh=client|server (who refreshes; default client)
 *   code=N reason=TEXT (deny)  delay=MS (answer from a timer: pending)
 *   presence=0|1 (subscribe: override the namespace's presence)
 *   short=1 (connect: a credentials record that ends before `data`, as
 *   an older plugin's would; data and subs beyond it must be ignored)
 * act=headers grants with info {"h":<x-test header>,"e":<x-emu emulated>}.
 * Without a token, on_connect/on_subscribe decline; on_refresh and
 * on_sub_refresh (the host refreshing at expiry) grant config
 * server_refresh_ttl more seconds, counting refreshes in the info.
 * Built twice: AUTH_RULES_TOKEN_ONLY makes "auth-rules-token-only" with
 * GYRE_AUTH_TOKEN_ONLY set. */
#include <gyre/plugin.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef AUTH_RULES_TOKEN_ONLY
#define PLUGIN_NAME "auth-rules-token-only"
#define PLUGIN_FLAGS GYRE_AUTH_TOKEN_ONLY
#else
#define PLUGIN_NAME "auth-rules"
#define PLUGIN_FLAGS 0
#endif

typedef struct rules_state {
  const gyre_host_api *api;
  gyre_host *host;
  int64_t server_refresh_ttl;
  unsigned long refreshes;
} rules_state;

static rules_state g_state;

static gyre_str str(const char *s) {
  gyre_str out = {s, strlen(s)};
  return out;
}

static void log_line(const char *text) { g_state.api->log(g_state.host, GYRE_LOG_INFO, str(text)); }

/* The value of `key` in the token, copied into out (empty when absent). */
static int token_value(gyre_str token, const char *key, char *out, size_t cap) {
  size_t klen = strlen(key);
  size_t i = 0;
  out[0] = '\0';
  while (i < token.len) {
    size_t end = i;
    while (end < token.len && token.ptr[end] != ';') end++;
    if (end - i > klen && memcmp(token.ptr + i, key, klen) == 0 && token.ptr[i + klen] == '=') {
      size_t n = end - i - klen - 1;
      if (n >= cap) n = cap - 1;
      memcpy(out, token.ptr + i + klen + 1, n);
      out[n] = '\0';
      return 1;
    }
    i = end + 1;
  }
  return 0;
}

static const char *header(const gyre_header *h, size_t n, const char *name, char *buf, size_t cap) {
  size_t i;
  buf[0] = '\0';
  for (i = 0; i < n; i++) {
    size_t len = h[i].name.len;
    if (len == strlen(name) && strncasecmp(h[i].name.ptr, name, len) == 0) {
      size_t v = h[i].value.len < cap - 1 ? h[i].value.len : cap - 1;
      memcpy(buf, h[i].value.ptr, v);
      buf[v] = '\0';
      break;
    }
  }
  return buf;
}

/* A decision parked until its timer fires (act with delay=MS). Parked ones
 * are listed so destroy can refuse them (the host must cope: its clients
 * are gone by then). */
typedef struct delayed {
  struct delayed *next, *prev;
  gyre_timer *timer;
  gyre_auth_op *op;
  int deny;
  uint32_t code;
  char reason[64];
  gyre_credentials creds;
  gyre_subscription_grant grant;
  int is_sub;
  char user[64], info[256], data[256];
} delayed;

static delayed g_parked = {&g_parked, &g_parked, NULL, NULL, 0, 0, {0}, {0}, {0}, 0, {0}, {0}, {0}};

static void unpark(delayed *d) {
  d->prev->next = d->next;
  d->next->prev = d->prev;
}

static void fire(void *arg) {
  delayed *d = arg;
  unpark(d);
  if (d->deny)
    g_state.api->auth_deny(d->op, d->code, str(d->reason), false);
  else if (d->is_sub)
    g_state.api->auth_grant_subscription(d->op, &d->grant);
  else
    g_state.api->auth_grant(d->op, &d->creds);
  free(d);
}

/* Everything a decision needs, parsed from the token. */
typedef struct parsed {
  char act[16], user[64], info[256], data[256], subs[256], reason[64], meta[128];
  char ttl[16], past[4], refresh[16], code[16], delay[16], presence[4], shorter[4];
} parsed;

static void parse(gyre_str token, parsed *p) {
  memset(p, 0, sizeof *p);
  if (!token_value(token, "act", p->act, sizeof p->act)) strcpy(p->act, "allow");
  token_value(token, "user", p->user, sizeof p->user);
  token_value(token, "info", p->info, sizeof p->info);
  token_value(token, "data", p->data, sizeof p->data);
  token_value(token, "meta", p->meta, sizeof p->meta);
  token_value(token, "subs", p->subs, sizeof p->subs);
  token_value(token, "reason", p->reason, sizeof p->reason);
  token_value(token, "ttl", p->ttl, sizeof p->ttl);
  token_value(token, "past", p->past, sizeof p->past);
  token_value(token, "refresh", p->refresh, sizeof p->refresh);
  token_value(token, "code", p->code, sizeof p->code);
  token_value(token, "delay", p->delay, sizeof p->delay);
  token_value(token, "presence", p->presence, sizeof p->presence);
  token_value(token, "short", p->shorter, sizeof p->shorter);
}

static int64_t expiry(const parsed *p) {
  int64_t now_s = g_state.api->now_ms(g_state.host) / 1000;
  if (p->past[0]) return now_s - 10;
  if (p->ttl[0]) return now_s + atoll(p->ttl);
  return 0;
}

/* Answers op per the parsed token: now, or later from a timer. */
static gyre_status decide(gyre_auth_op *op, const parsed *p, int is_sub,
                          const gyre_credentials *creds, const gyre_subscription_grant *grant) {
  delayed *d;
  if (!strcmp(p->act, "decline")) return GYRE_DECLINED;
  if (!strcmp(p->act, "fail")) return GYRE_ERR_INTERNAL;
  if (!p->delay[0]) {
    if (!strcmp(p->act, "deny"))
      g_state.api->auth_deny(op, (uint32_t)atoi(p->code), str(p->reason), false);
    else if (is_sub)
      g_state.api->auth_grant_subscription(op, grant);
    else
      g_state.api->auth_grant(op, creds);
    return GYRE_OK;
  }
  d = calloc(1, sizeof *d);
  if (!d) return GYRE_ERR_NOMEM;
  d->op = op;
  d->deny = !strcmp(p->act, "deny");
  d->code = (uint32_t)atoi(p->code);
  snprintf(d->reason, sizeof d->reason, "%s", p->reason);
  d->is_sub = is_sub;
  /* The records borrow strings: keep copies in the parked decision. */
  if (creds) {
    d->creds = *creds;
    snprintf(d->user, sizeof d->user, "%.*s", (int)creds->user.len, creds->user.ptr);
    snprintf(d->info, sizeof d->info, "%.*s", (int)creds->info.len, creds->info.ptr);
    snprintf(d->data, sizeof d->data, "%.*s", (int)creds->data.len, creds->data.ptr);
    d->creds.user = str(d->user);
    d->creds.info = str(d->info);
    d->creds.data = str(d->data);
    d->creds.subs = NULL; /* not with a delay */
    d->creds.num_subs = 0;
  }
  if (grant) {
    d->grant = *grant;
    snprintf(d->info, sizeof d->info, "%.*s", (int)grant->info.len, grant->info.ptr);
    d->grant.info = str(d->info);
    d->grant.data = str("");
  }
  d->timer = g_state.api->timer_start(g_state.host, (uint64_t)atoll(p->delay), false, fire, d);
  if (!d->timer) {
    free(d);
    return GYRE_ERR_NOMEM;
  }
  d->next = g_parked.next;
  d->prev = &g_parked;
  g_parked.next->prev = d;
  g_parked.next = d;
  return GYRE_PENDING;
}

static gyre_status rules_connect(void *state, const gyre_connect_request *req, gyre_auth_op *op) {
  parsed p;
  gyre_credentials c;
  gyre_subscription_grant subs[8];
  char info[512], h[128], e[128];
  size_t n = 0;
  (void)state;
  if (req->token.len == 0) {
    log_line("asked about a connect without token");
    return GYRE_DECLINED;
  }
  parse(req->token, &p);
  memset(&c, 0, sizeof c);
  c.size = sizeof c;
  c.user = str(p.user);
  c.info = str(p.info);
  c.data = str(p.data);
  c.meta = str(p.meta);
  c.expire_at = expiry(&p);
  c.client_side_refresh = strcmp(p.refresh, "server") != 0;
  if (!strcmp(p.act, "headers")) {
    header(req->headers, req->num_headers, "x-test", h, sizeof h);
    header(req->emulated_headers, req->num_emulated_headers, "x-emu", e, sizeof e);
    snprintf(info, sizeof info, "{\"h\":\"%s\",\"e\":\"%s\",\"t\":\"%.*s\"}", h, e,
             (int)req->transport.len, req->transport.ptr);
    c.info = str(info);
    strcpy(p.act, "allow");
  }
  if (p.subs[0]) {
    char *save = NULL;
    char *ch = strtok_r(p.subs, ",", &save);
    while (ch && n < 8) {
      memset(&subs[n], 0, sizeof subs[n]);
      subs[n].size = sizeof subs[n];
      subs[n].channel = str(ch);
      subs[n].info = str("{\"server_side\":true}");
      n++;
      ch = strtok_r(NULL, ",", &save);
    }
    c.subs = subs;
    c.num_subs = n;
  }
  if (p.shorter[0]) {
    /* Beyond `size`: the host must read these as absent. */
    c.size = offsetof(gyre_credentials, data);
    c.data = str("{\"must\":\"not show\"}");
    c.num_subs = 1000;
    c.subs = (const gyre_subscription_grant *)1;
  }
  return decide(op, &p, 0, &c, NULL);
}

static gyre_status rules_refresh(void *state, const gyre_refresh_request *req, gyre_auth_op *op) {
  parsed p;
  gyre_credentials c;
  char info[64];
  rules_state *s = state;
  memset(&c, 0, sizeof c);
  c.size = sizeof c;
  if (req->token.len == 0) {
    /* The host refreshes on its own: extend, counting. */
    s->refreshes++;
    snprintf(info, sizeof info, "{\"refreshed\":%lu}", s->refreshes);
    c.user = req->user;
    c.info = str(info);
    c.expire_at = s->api->now_ms(s->host) / 1000 + s->server_refresh_ttl;
    c.client_side_refresh = false;
    s->api->auth_grant(op, &c);
    return GYRE_OK;
  }
  parse(req->token, &p);
  c.user = str(p.user);
  c.info = str(p.info);
  c.expire_at = expiry(&p);
  c.client_side_refresh = strcmp(p.refresh, "server") != 0;
  return decide(op, &p, 0, &c, NULL);
}

static gyre_status rules_subscribe(void *state, const gyre_subscribe_request *req,
                                   gyre_auth_op *op) {
  parsed p;
  gyre_subscription_grant g;
  (void)state;
  if (req->token.len == 0) return GYRE_DECLINED;
  parse(req->token, &p);
  memset(&g, 0, sizeof g);
  g.size = sizeof g;
  g.info = str(p.info);
  g.data = str(p.data);
  g.expire_at = expiry(&p);
  g.client_side_refresh = strcmp(p.refresh, "server") != 0;
  if (p.presence[0]) {
    g.override_mask = GYRE_OVERRIDE_PRESENCE;
    g.override_values = p.presence[0] == '1' ? GYRE_OVERRIDE_PRESENCE : 0;
  }
  return decide(op, &p, 1, NULL, &g);
}

static gyre_status rules_sub_refresh(void *state, const gyre_subscribe_request *req,
                                     gyre_auth_op *op) {
  parsed p;
  gyre_subscription_grant g;
  rules_state *s = state;
  memset(&g, 0, sizeof g);
  g.size = sizeof g;
  if (req->token.len == 0) {
    s->refreshes++;
    g.expire_at = s->api->now_ms(s->host) / 1000 + s->server_refresh_ttl;
    s->api->auth_grant_subscription(op, &g);
    return GYRE_OK;
  }
  parse(req->token, &p);
  g.info = str(p.info);
  g.expire_at = expiry(&p);
  g.client_side_refresh = strcmp(p.refresh, "server") != 0;
  return decide(op, &p, 1, NULL, &g);
}

static const gyre_config_field kSchema[] = {
    {"server_refresh_ttl", GYRE_CONFIG_INT, "2", "seconds a host-initiated refresh grants"},
    {NULL, 0, NULL, NULL},
};

static const gyre_auth_ops kAuth = {
    .size = sizeof(gyre_auth_ops),
    .flags = PLUGIN_FLAGS,
    .on_connect = rules_connect,
    .on_refresh = rules_refresh,
    .on_subscribe = rules_subscribe,
    .on_sub_refresh = rules_sub_refresh,
};

static gyre_status rules_init(const gyre_host_api *api, gyre_host *host, void **state) {
  g_state.api = api;
  g_state.host = host;
  g_state.refreshes = 0;
  if (!api->config_get_int(host, "server_refresh_ttl", &g_state.server_refresh_ttl))
    g_state.server_refresh_ttl = 2;
  *state = &g_state;
  return GYRE_OK;
}

/* Refuses what is still parked: answering in destroy is allowed (the
 * answers go nowhere). */
static void rules_destroy(void *state) {
  (void)state;
  while (g_parked.next != &g_parked) {
    delayed *d = g_parked.next;
    unpark(d);
    g_state.api->timer_stop(g_state.host, d->timer);
    g_state.api->auth_deny(d->op, 3001, str("shutdown"), false);
    free(d);
  }
}

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = PLUGIN_NAME,
    .version = "0.0.1",
    .description = "test plugin: auth decisions spelled out in the token",
    .kinds = GYRE_PLUGIN_AUTH,
    .config_schema = kSchema,
    .init = rules_init,
    .destroy = rules_destroy,
    .auth = &kAuth,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
