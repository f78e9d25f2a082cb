/* Test plugin: a shared object without the gyre_plugin_entry symbol. It
 * exports a look-alike (a typo) so the object is not empty and the loader has
 * to go by the exact symbol name. */
#include <gyre/plugin.h>

static const gyre_plugin_descriptor kDescriptor = {
    sizeof(gyre_plugin_descriptor),
    GYRE_ABI_MAJOR,
    GYRE_ABI_MINOR,
    "no-entry",
    "0.0.1",
    "test plugin whose entry point is misspelled",
    0,
    NULL,
    NULL,
    NULL,
    NULL,
};

GYRE_PLUGIN_EXPORT const gyre_plugin_descriptor *gyre_plugin_entry_point(void);
GYRE_PLUGIN_EXPORT const gyre_plugin_descriptor *gyre_plugin_entry_point(void) {
  return &kDescriptor;
}
