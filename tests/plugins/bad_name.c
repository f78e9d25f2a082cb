/* Test plugin: its descriptor calls it "misnamed-plugin" while the file and
 * the config call it "bad-name". The loader must name both. */
#include <gyre/plugin.h>

static gyre_status bad_name_init(const gyre_host_api *api, gyre_host *host, void **state) {
  (void)api;
  (void)host;
  *state = NULL;
  return GYRE_OK;
}

static void bad_name_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "misnamed-plugin",
    .version = "0.0.1",
    .description = "test plugin whose descriptor name differs from its file name",
    .kinds = 0,
    .config_schema = NULL,
    .init = bad_name_init,
    .destroy = bad_name_destroy,
    .engine = NULL,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
