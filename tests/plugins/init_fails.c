/* Test plugin: a valid descriptor whose init logs why through api->log and
 * then fails. The host must stop startup and name the plugin. */
#include <gyre/plugin.h>
#include <string.h>

#define INIT_FAILS_REASON "init-fails-test: refusing to start on purpose"

static gyre_status init_fails_init(const gyre_host_api *api, gyre_host *host, void **state) {
  gyre_str msg = {INIT_FAILS_REASON, strlen(INIT_FAILS_REASON)};
  *state = NULL;
  api->log(host, GYRE_LOG_ERROR, msg);
  return GYRE_ERR_INTERNAL;
}

static void init_fails_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "init-fails",
    .version = "0.0.1",
    .description = "test plugin whose init always fails",
    .kinds = 0,
    .config_schema = NULL,
    .init = init_fails_init,
    .destroy = init_fails_destroy,
    .engine = NULL,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
