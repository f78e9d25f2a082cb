/* Test plugin: denies every connect with 4503 "denied by auth-deny-all".
 * With auth-rules it shows the chain's order: the first plugin that
 * decides wins, and a decline passes the request on. */
#include <gyre/plugin.h>

static const gyre_host_api *g_api;

static gyre_status deny_connect(void *state, const gyre_connect_request *req, gyre_auth_op *op) {
  static const char reason[] = "denied by auth-deny-all";
  gyre_str r = {reason, sizeof reason - 1};
  (void)state;
  (void)req;
  g_api->auth_deny(op, 4503, r, false);
  return GYRE_OK;
}

static const gyre_auth_ops kAuth = {.size = sizeof(gyre_auth_ops), .on_connect = deny_connect};

static gyre_status deny_init(const gyre_host_api *api, gyre_host *host, void **state) {
  (void)host;
  g_api = api;
  *state = NULL;
  return GYRE_OK;
}

static void deny_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "auth-deny-all",
    .version = "0.0.1",
    .description = "test plugin: denies every connect",
    .kinds = GYRE_PLUGIN_AUTH,
    .init = deny_init,
    .destroy = deny_destroy,
    .auth = &kAuth,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
