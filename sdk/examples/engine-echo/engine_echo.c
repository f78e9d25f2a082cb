/* engine-echo: the smallest useful Gyre engine, in plain C99.
 *
 * A single-node broker without history or presence: every publication is
 * handed straight back to the node (api->handle_publication), which delivers
 * it to the channel's local subscribers; joins and leaves likewise. Copy it
 * to start an engine of your own; the comments point at the rules of
 * gyre/plugin.h that each part follows.
 *
 * Build against the installed SDK:
 *   cmake -S . -B build -DCMAKE_PREFIX_PATH=<gyre prefix> && cmake --build build
 * Run: {"engine": {"type": "echo"}, "plugins": {"dir": "<dir of engine-echo.so>"}}
 * (with the greeting setting: "plugins": {"load": [{"name": "engine-echo",
 *  "config": {"greeting": "hello"}}]}). */
#include <gyre/plugin.h>
#include <stdio.h>
#include <stdlib.h>

/* Per-instance state: init allocates it, destroy frees it. Hooks get it
 * back as `state`. Everything runs on the host's loop thread: no locks. */
typedef struct echo_state {
  const gyre_host_api *api;
  gyre_host *host;
  unsigned long published;
} echo_state;

/* The settings this plugin accepts; the host validates the config section
 * against it (unknown key or wrong type: startup error). */
static const gyre_config_field kSchema[] = {
    {"greeting", GYRE_CONFIG_STRING, "engine-echo ready", "logged once at startup"},
    {NULL, 0, NULL, NULL},
};

static void log_line(echo_state *s, gyre_log_level level, const char *text) {
  gyre_str msg;
  size_t n = 0;
  while (text[n]) n++;
  msg.ptr = text;
  msg.len = n;
  s->api->log(s->host, level, msg);
}

/* subscribe/unsubscribe: one node is the whole cluster, so there is nothing
 * to set up; complete the op (exactly once) and return GYRE_OK. */
static gyre_status echo_subscribe(void *state, gyre_str channel, gyre_op *op) {
  echo_state *s = state;
  (void)channel;
  s->api->complete(op, GYRE_OK, (gyre_str){NULL, 0});
  return GYRE_OK;
}

/* publish: deliver to the node, then answer. Without history the delivered
 * publication has offset 0 and the position is {0, ""}. Everything `pub`
 * points to is borrowed for this call only, which is all we need. */
static gyre_status echo_publish(void *state, gyre_str channel, const gyre_publication *pub,
                                const gyre_publish_options *opts, gyre_op *op) {
  echo_state *s = state;
  gyre_publication out = *pub;
  gyre_stream_position position = {0, {NULL, 0}};
  gyre_publish_result result;
  (void)opts; /* no history: history_size/ttl, idempotency and versions ignored */
  out.size = sizeof out;
  out.offset = 0;
  s->api->handle_publication(s->host, channel, &out, &position, NULL);
  s->published++;
  result.size = sizeof result;
  result.position = position;
  result.suppressed = GYRE_SUPPRESS_NONE;
  s->api->complete_publish(op, &result);
  return GYRE_OK;
}

static gyre_status echo_join(void *state, gyre_str channel, const gyre_client_info *info,
                             gyre_op *op) {
  echo_state *s = state;
  s->api->handle_join(s->host, channel, info);
  s->api->complete(op, GYRE_OK, (gyre_str){NULL, 0});
  return GYRE_OK;
}

static gyre_status echo_leave(void *state, gyre_str channel, const gyre_client_info *info,
                              gyre_op *op) {
  echo_state *s = state;
  s->api->handle_leave(s->host, channel, info);
  s->api->complete(op, GYRE_OK, (gyre_str){NULL, 0});
  return GYRE_OK;
}

/* history: nothing is stored; the stream's top stays {0, ""}. */
static gyre_status echo_history(void *state, gyre_str channel, const gyre_history_filter *filter,
                                gyre_op *op) {
  echo_state *s = state;
  gyre_stream_position top = {0, {NULL, 0}};
  (void)channel;
  (void)filter;
  s->api->complete_history(op, NULL, 0, &top);
  return GYRE_OK;
}

/* The table opens with its size, so hosts of other minors read it safely.
 * Presence hooks stay NULL: the node then reports presence as not
 * available. Broker hooks are required for the engine a node runs on.
 * Designated initializers: hooks appended by later ABI minors (such as
 * publish_control) stay NULL without an edit here. */
static const gyre_engine_ops kEngine = {
    .size = sizeof(gyre_engine_ops),
    .subscribe = echo_subscribe,
    .unsubscribe = echo_subscribe, /* the same no-op */
    .publish = echo_publish,
    .publish_join = echo_join,
    .publish_leave = echo_leave,
    .history = echo_history,
    .remove_history = echo_subscribe, /* nothing to remove */
};

static gyre_status echo_init(const gyre_host_api *api, gyre_host *host, void **state) {
  echo_state *s;
  gyre_str greeting = {NULL, 0};
  char line[200];
  /* A plugin built against a newer minor would check api->abi_minor (or
   * api->size) before using slots this header does not have. */
  if (api->abi_major != GYRE_ABI_MAJOR) return GYRE_ERR_INVALID;
  s = calloc(1, sizeof *s);
  if (!s) return GYRE_ERR_NOMEM;
  s->api = api;
  s->host = host;
  api->config_get_string(host, "greeting", &greeting); /* the schema default if unset */
  snprintf(line, sizeof line, "%.*s", (int)greeting.len, greeting.ptr ? greeting.ptr : "");
  log_line(s, GYRE_LOG_INFO, line);
  *state = s;
  return GYRE_OK;
}

static void echo_destroy(void *state) {
  echo_state *s = state;
  char line[64];
  snprintf(line, sizeof line, "engine-echo: %lu publications", s->published);
  log_line(s, GYRE_LOG_INFO, line);
  free(s);
}

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "engine-echo",
    .version = /* must match the configured name (engine-<engine.type>) */
    "1.0.0",
    .description = "example: a single-node broker without history or presence",
    .kinds = GYRE_PLUGIN_ENGINE,
    .config_schema = kSchema,
    .init = echo_init,
    .destroy = echo_destroy,
    .engine = &kEngine,
};

/* The one exported symbol. */
GYRE_PLUGIN_DEFINE(kDescriptor)
