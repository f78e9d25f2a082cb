/* The public header compiles as strict C99 (see CMakeLists.txt for flags). */
#include <gyre/plugin.h>

static gyre_status init(const gyre_host_api *api, gyre_host *host, void **state) {
  (void)api;
  (void)host;
  *state = NULL;
  return GYRE_OK;
}

static void destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor descriptor = {sizeof(gyre_plugin_descriptor),
                                                  GYRE_ABI_MAJOR,
                                                  GYRE_ABI_MINOR,
                                                  "header-check",
                                                  "0",
                                                  "",
                                                  0,
                                                  NULL,
                                                  init,
                                                  destroy,
                                                  NULL};

GYRE_PLUGIN_DEFINE(descriptor)
