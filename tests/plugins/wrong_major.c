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
    sizeof(gyre_plugin_descriptor),
    GYRE_ABI_MAJOR + 1,
    GYRE_ABI_MINOR,
    "wrong-major",
    "0.0.1",
    "test plugin built for a future ABI major",
    GYRE_PLUGIN_ENGINE,
    NULL,
    wrong_major_init,
    wrong_major_destroy,
    &kEngine,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
