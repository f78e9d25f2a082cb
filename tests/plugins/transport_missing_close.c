/* Test plugin: a transport without on_close (required: it frees the
 * stream's state). The host must refuse it, naming the slot. */
#include <gyre/plugin.h>

static gyre_status missing_close_request(void *state, gyre_stream *stream,
                                         const gyre_http_request *req, void **stream_state) {
  (void)state;
  (void)stream;
  (void)req;
  (void)stream_state;
  return GYRE_ERR_INTERNAL;
}

static const gyre_transport_ops kTransport = {
    .size = sizeof(gyre_transport_ops),
    .on_request = missing_close_request,
};

static gyre_status missing_close_init(const gyre_host_api *api, gyre_host *host, void **state) {
  (void)api;
  (void)host;
  *state = NULL;
  return GYRE_OK;
}

static void missing_close_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "transport-missing-close",
    .version = "0.0.1",
    .description = "test plugin: a transport without on_close",
    .kinds = GYRE_PLUGIN_TRANSPORT,
    .init = missing_close_init,
    .destroy = missing_close_destroy,
    .transport = &kTransport,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
