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
    sizeof(gyre_plugin_descriptor),
    GYRE_ABI_MAJOR,
    GYRE_ABI_MINOR,
    "engine-missing-ops",
    "0.0.1",
    "test plugin that claims to be an engine without engine ops",
    GYRE_PLUGIN_ENGINE,
    NULL,
    engine_missing_ops_init,
    engine_missing_ops_destroy,
    NULL,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
