// The public header compiles as C++20 (see CMakeLists.txt for flags).
#include <gyre/plugin.h>

namespace {
gyre_status init(const gyre_host_api *, gyre_host *, void **state) {
  *state = nullptr;
  return GYRE_OK;
}
void destroy(void *) {}
const gyre_plugin_descriptor descriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "header-check",
    .version = "0",
    .description = "",
    .kinds = 0,
    .config_schema = nullptr,
    .init = init,
    .destroy = destroy,
    .engine = nullptr,
    .config_section = nullptr,
    .auth = nullptr,
    .transport = nullptr,
    .commands = nullptr,
};
}  // namespace

GYRE_PLUGIN_DEFINE(descriptor)
