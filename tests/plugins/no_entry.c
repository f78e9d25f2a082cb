/* Test plugin: a shared object without the gyre_plugin_entry symbol. It
 * exports a look-alike (a typo) so the object is not empty and the loader has
 * to go by the exact symbol name. */
#include <gyre/plugin.h>

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "no-entry",
    .version = "0.0.1",
    .description = "test plugin whose entry point is misspelled",
    .kinds = 0,
    .config_schema = NULL,
    .init = NULL,
    .destroy = NULL,
    .engine = NULL,
};

GYRE_PLUGIN_EXPORT const gyre_plugin_descriptor *gyre_plugin_entry_point(void);
GYRE_PLUGIN_EXPORT const gyre_plugin_descriptor *gyre_plugin_entry_point(void) {
  return &kDescriptor;
}
