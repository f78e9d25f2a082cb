/* Test plugin: a descriptor shorter than the host's (it ends before the
 * `engine` slot, as if built against an older minor without it) that still
 * claims the ENGINE kind. The host reads the missing slot as NULL and must
 * refuse the plugin for having no engine ops, not read past the record. */
#include <gyre/plugin.h>
#include <stddef.h>

static gyre_status short_descriptor_init(const gyre_host_api *api, gyre_host *host, void **state) {
  (void)api;
  (void)host;
  *state = NULL;
  return GYRE_OK;
}

static void short_descriptor_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = offsetof(gyre_plugin_descriptor, engine),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "short-descriptor",
    .version = "0.0.1",
    .description = "test plugin whose descriptor ends before the engine slot",
    .kinds = GYRE_PLUGIN_ENGINE,
    .config_schema = NULL,
    .init = short_descriptor_init,
    .destroy = short_descriptor_destroy,
    .engine = (const gyre_engine_ops *)0x1, /* beyond `size`: the host must not read it */
};

GYRE_PLUGIN_DEFINE(kDescriptor)
