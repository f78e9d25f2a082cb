/* Test plugin: reads its settings from a section of the server's own
 * config (descriptor.config_section), as engine-redis does with
 * engine.redis. Keys are dotted paths below the section. init logs what it
 * got, so tests can check file values, environment overrides and defaults. */
#include <gyre/plugin.h>
#include <stdio.h>

static const gyre_config_field kSchema[] = {
    {"name", GYRE_CONFIG_STRING, "unnamed", "a string"},
    {"count", GYRE_CONFIG_INT, "1", "an integer"},
    {"nested.flag", GYRE_CONFIG_BOOL, "false", "a boolean one level down"},
    {NULL, 0, NULL, NULL},
};

static gyre_status bound_init(const gyre_host_api *api, gyre_host *host, void **state) {
  gyre_str name = {"", 0};
  int64_t count = 0;
  bool flag = false;
  char line[200];
  int n;
  api->config_get_string(host, "name", &name);
  api->config_get_int(host, "count", &count);
  api->config_get_bool(host, "nested.flag", &flag);
  n = snprintf(line, sizeof line, "bound settings: name=%.*s count=%lld flag=%s", (int)name.len,
               name.ptr, (long long)count, flag ? "true" : "false");
  if (n > 0) {
    gyre_str msg = {line, (size_t)n};
    api->log(host, GYRE_LOG_INFO, msg);
  }
  *state = NULL;
  return GYRE_OK;
}

static void bound_destroy(void *state) { (void)state; }

/* An auth hook that never decides: the kind needs a table with a hook. */
static gyre_status bound_connect(void *state, const gyre_connect_request *req, gyre_auth_op *op) {
  (void)state;
  (void)req;
  (void)op;
  return GYRE_DECLINED;
}

static const gyre_auth_ops kAuth = {.size = sizeof(gyre_auth_ops), .on_connect = bound_connect};

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "bound-section",
    .version = "0.0.1",
    .description = "test plugin: settings from the server config's bound_test section",
    .kinds = GYRE_PLUGIN_AUTH,
    .config_schema = kSchema,
    .init = bound_init,
    .destroy = bound_destroy,
    .config_section = "bound_test",
    .auth = &kAuth,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
