/* Test plugin: claims the AUTH kind without an auth table. The host must
 * refuse it, naming the missing table. */
#include <gyre/plugin.h>

static gyre_status auth_missing_ops_init(const gyre_host_api *api, gyre_host *host, void **state) {
  (void)api;
  (void)host;
  *state = NULL;
  return GYRE_OK;
}

static void auth_missing_ops_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "auth-missing-ops",
    .version = "0.0.1",
    .description = "test plugin that claims to be an auth plugin without auth ops",
    .kinds = GYRE_PLUGIN_AUTH,
    .init = auth_missing_ops_init,
    .destroy = auth_missing_ops_destroy,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
