/* Test plugin: declares an ABI major the host does not speak (its own + 1).
 * The loader must refuse it and name both ABI versions. */
#include <gyre/plugin.h>

static gyre_status wrong_major_init(const gyre_host_api *api, gyre_host *host, void **state) {
  (void)api;
  (void)host;
  *state = NULL;
  return GYRE_OK;
}

static void wrong_major_destroy(void *state) { (void)state; }

static const gyre_engine_ops kEngine = {.size = sizeof(gyre_engine_ops)};

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR + 1,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "wrong-major",
    .version = "0.0.1",
    .description = "test plugin built for a future ABI major",
    .kinds = GYRE_PLUGIN_ENGINE,
    .config_schema = NULL,
    .init = wrong_major_init,
    .destroy = wrong_major_destroy,
    .engine = &kEngine,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
