/* The public header compiles as strict C99 (see CMakeLists.txt for flags). */
#include <gyre/plugin.h>

static gyre_status init(const gyre_host_api *api, gyre_host *host, void **state) {
  (void)api;
  (void)host;
  *state = NULL;
  return GYRE_OK;
}

static void destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor descriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "header-check",
    .version = "0",
    .description = "",
    .kinds = 0,
    .config_schema = NULL,
    .init = init,
    .destroy = destroy,
    .engine = NULL,
};

GYRE_PLUGIN_DEFINE(descriptor)
