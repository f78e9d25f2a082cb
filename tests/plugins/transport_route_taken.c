/* Test plugin: a transport that claims a path someone else serves (config
 * "path", default the server's own WebSocket path). route_add must refuse
 * it; init then logs and fails, and the host stops startup naming the
 * plugin. */
#include <gyre/plugin.h>
#include <stdio.h>

static gyre_status taken_request(void *state, gyre_stream *stream, const gyre_http_request *req,
                                 void **stream_state) {
  (void)state;
  (void)stream;
  (void)req;
  (void)stream_state;
  return GYRE_ERR_INTERNAL;
}

static void taken_close(void *state, gyre_stream *stream, void *stream_state, uint32_t code,
                        gyre_str reason) {
  (void)state;
  (void)stream;
  (void)stream_state;
  (void)code;
  (void)reason;
}

static const gyre_transport_ops kTransport = {
    .size = sizeof(gyre_transport_ops),
    .on_request = taken_request,
    .on_close = taken_close,
};

static const gyre_config_field kSchema[] = {
    {"path", GYRE_CONFIG_STRING, "/connection/websocket", "the path to claim"},
    {NULL, 0, NULL, NULL},
};

static gyre_status taken_init(const gyre_host_api *api, gyre_host *host, void **state) {
  gyre_str p = {"", 0};
  *state = NULL;
  api->config_get_string(host, "path", &p);
  if (api->route_add(host, p) != GYRE_OK) {
    char msg[160];
    int n = snprintf(msg, sizeof msg, "route %.*s is taken", (int)p.len, p.ptr);
    gyre_str m = {msg, n > 0 ? (size_t)n : 0};
    api->log(host, GYRE_LOG_ERROR, m);
    return GYRE_ERR_INVALID;
  }
  return GYRE_OK;
}

static void taken_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "transport-route-taken",
    .version = "0.0.1",
    .description = "test plugin: claims a path the server serves",
    .kinds = GYRE_PLUGIN_TRANSPORT,
    .config_schema = kSchema,
    .init = taken_init,
    .destroy = taken_destroy,
    .transport = &kTransport,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
