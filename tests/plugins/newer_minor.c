/* Test plugin: built against a newer minor of the ABI than the host's. Its
 * descriptor and engine table are longer than the host's (a slot the host
 * lacks at the end of each); the host must read what it knows, ignore the
 * rest, and load it. init logs the host's ABI version and api->size, the way
 * a newer plugin checks what the host offers before using newer slots. */
#include <gyre/plugin.h>
#include <stdio.h>

/* What a newer header would declare: the same records, one slot appended. */
typedef struct newer_engine_ops {
  gyre_engine_ops base;
  gyre_status (*future_hook)(void *state, gyre_op *op);
} newer_engine_ops;

typedef struct newer_descriptor {
  gyre_plugin_descriptor base;
  const void *future_table;
} newer_descriptor;

static const newer_engine_ops kEngine = {{.size = sizeof(newer_engine_ops)}, NULL};

static int newer_minor_state;

static gyre_status newer_minor_init(const gyre_host_api *api, gyre_host *host, void **state) {
  char line[160];
  int n = snprintf(line, sizeof line, "newer-minor init: host ABI %u.%u, host api size %zu",
                   api->abi_major, api->abi_minor, api->size);
  if (n > 0) {
    gyre_str msg = {line, (size_t)n};
    api->log(host, GYRE_LOG_INFO, msg);
  }
  *state = &newer_minor_state;
  return GYRE_OK;
}

static void newer_minor_destroy(void *state) { (void)state; }

static const newer_descriptor kDescriptor = {
    {
        .size = sizeof(newer_descriptor),
        .abi_major = GYRE_ABI_MAJOR,
        .abi_minor = GYRE_ABI_MINOR + 1,
        .name = "newer-minor",
        .version = "0.0.1",
        .description = "test plugin built for a newer minor of the ABI",
        .kinds = GYRE_PLUGIN_ENGINE,
        .init = newer_minor_init,
        .destroy = newer_minor_destroy,
        .engine = &kEngine.base,
    },
    NULL,
};

GYRE_PLUGIN_DEFINE(kDescriptor.base)
