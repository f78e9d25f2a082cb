/* Test plugin: an engine whose table lacks `publish`, a slot every engine
 * must fill. It calls itself engine-memory so that a config can select it
 * as the engine (plugins.load with that name and this path): startup must
 * then fail naming the missing hook. */
#include <gyre/plugin.h>

static gyre_status noop_channel(void *state, gyre_str channel, gyre_op *op) {
  (void)state;
  (void)channel;
  (void)op;
  return GYRE_ERR_UNAVAILABLE;
}

static const gyre_engine_ops kEngine = {
    .size = sizeof(gyre_engine_ops),
    .subscribe = noop_channel,
    .unsubscribe = noop_channel,
    .publish = NULL,
};

static gyre_status missing_publish_init(const gyre_host_api *api, gyre_host *host, void **state) {
  (void)api;
  (void)host;
  *state = NULL;
  return GYRE_OK;
}

static void missing_publish_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "engine-memory",
    .version = "0.0.1",
    .description = "test plugin: an engine without a publish hook",
    .kinds = GYRE_PLUGIN_ENGINE,
    .config_schema = NULL,
    .init = missing_publish_init,
    .destroy = missing_publish_destroy,
    .engine = &kEngine,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
