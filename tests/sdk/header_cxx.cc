// The public header compiles as C++20 (see CMakeLists.txt for flags).
#include <gyre/plugin.h>

namespace {
gyre_status init(const gyre_host_api *, gyre_host *, void **state) {
  *state = nullptr;
  return GYRE_OK;
}
void destroy(void *) {}
const gyre_plugin_descriptor descriptor = {sizeof(gyre_plugin_descriptor),
                                           GYRE_ABI_MAJOR,
                                           GYRE_ABI_MINOR,
                                           "header-check",
                                           "0",
                                           "",
                                           0,
                                           nullptr,
                                           init,
                                           destroy,
                                           nullptr};
}  // namespace

GYRE_PLUGIN_DEFINE(descriptor)
