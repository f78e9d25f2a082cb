/* Test plugin: offers a command named like one of the server's own
 * ("serve"). The host must refuse the plugin, naming the command. */
#include <gyre/plugin.h>

static int run_serve(void *state, int argc, const char *const *argv) {
  (void)state;
  (void)argc;
  (void)argv;
  return 0;
}

static const gyre_command kCommands[] = {
    {"serve", "pretends to be the server", "", run_serve},
    {NULL, NULL, NULL, NULL},
};

static gyre_status reserved_init(const gyre_host_api *api, gyre_host *host, void **state) {
  (void)api;
  (void)host;
  *state = NULL;
  return GYRE_OK;
}

static void reserved_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "command-reserved",
    .version = "0.0.1",
    .description = "test plugin: a command with the name of a server command",
    .init = reserved_init,
    .destroy = reserved_destroy,
    .commands = kCommands,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
