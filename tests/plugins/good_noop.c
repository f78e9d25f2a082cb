/* Test plugin: a valid ENGINE plugin that does nothing. Its engine table has
 * only `size` set (every hook NULL). Its config schema has `greeting` (string,
 * default "hi") and `count` (int, no default); init logs the values it was
 * given so a test can see the host delivered them. */
#include <gyre/plugin.h>
#include <stdio.h>
#include <string.h>

static const gyre_config_field kSchema[] = {
    {"greeting", GYRE_CONFIG_STRING, "hi", "a word to log at startup"},
    {"count", GYRE_CONFIG_INT, NULL, "a number to log at startup"},
    {.key = NULL},
};

static const gyre_engine_ops kEngine = {.size = sizeof(gyre_engine_ops)};

static int good_noop_state;

static gyre_status good_noop_init(const gyre_host_api *api, gyre_host *host, void **state) {
  gyre_str greeting = {"", 0};
  int64_t count = 0;
  char line[256];
  int n;
  bool has_greeting = api->config_get_string(host, "greeting", &greeting);
  bool has_count = api->config_get_int(host, "count", &count);
  if (has_count)
    n = snprintf(line, sizeof line, "good-noop init: greeting=%.*s count=%lld",
                 has_greeting ? (int)greeting.len : 5, has_greeting ? greeting.ptr : "unset",
                 (long long)count);
  else
    n = snprintf(line, sizeof line, "good-noop init: greeting=%.*s count=unset",
                 has_greeting ? (int)greeting.len : 5, has_greeting ? greeting.ptr : "unset");
  if (n > 0) {
    gyre_str msg = {line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1};
    api->log(host, GYRE_LOG_INFO, msg);
  }
  *state = &good_noop_state;
  return GYRE_OK;
}

static void good_noop_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "good-noop",
    .version = "0.0.1",
    .description = "test plugin: a valid engine that does nothing",
    .kinds = GYRE_PLUGIN_ENGINE,
    .config_schema = kSchema,
    .init = good_noop_init,
    .destroy = good_noop_destroy,
    .engine = &kEngine,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
