/* Test plugin: declares the ENGINE kind but has no engine ops table. */
#include <gyre/plugin.h>

static gyre_status engine_missing_ops_init(const gyre_host_api *api, gyre_host *host,
                                           void **state) {
  (void)api;
  (void)host;
  *state = NULL;
  return GYRE_OK;
}

static void engine_missing_ops_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "engine-missing-ops",
    .version = "0.0.1",
    .description = "test plugin that claims to be an engine without engine ops",
    .kinds = GYRE_PLUGIN_ENGINE,
    .config_schema = NULL,
    .init = engine_missing_ops_init,
    .destroy = engine_missing_ops_destroy,
    .engine = NULL,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
