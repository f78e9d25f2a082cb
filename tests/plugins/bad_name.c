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
    sizeof(gyre_plugin_descriptor),
    GYRE_ABI_MAJOR,
    GYRE_ABI_MINOR,
    "misnamed-plugin",
    "0.0.1",
    "test plugin whose descriptor name differs from its file name",
    0,
    NULL,
    bad_name_init,
    bad_name_destroy,
    NULL,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
