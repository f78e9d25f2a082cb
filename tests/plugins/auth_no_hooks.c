/* Test plugin: an auth table whose every hook is NULL (the table's only
 * required part is one hook). The host must refuse it. */
#include <gyre/plugin.h>

static const gyre_auth_ops kAuth = {.size = sizeof(gyre_auth_ops)};

static gyre_status auth_no_hooks_init(const gyre_host_api *api, gyre_host *host, void **state) {
  (void)api;
  (void)host;
  *state = NULL;
  return GYRE_OK;
}

static void auth_no_hooks_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "auth-no-hooks",
    .version = "0.0.1",
    .description = "test plugin: auth ops without a single hook",
    .kinds = GYRE_PLUGIN_AUTH,
    .init = auth_no_hooks_init,
    .destroy = auth_no_hooks_destroy,
    .auth = &kAuth,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
