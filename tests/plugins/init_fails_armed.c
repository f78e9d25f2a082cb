/* Test plugin: init arms a 1 ms repeating timer and a watch on a readable
 * pipe, then fails. The host must unwind both: their callbacks abort the
 * process, so a host that leaves them armed dies as soon as its loop runs
 * (tests/unit/plugin_host_test.cc). */
#include <gyre/plugin.h>
#include <stdlib.h>
#include <unistd.h>

static void must_not_run(void *arg) {
  (void)arg;
  abort();
}

static void must_not_watch(int fd, int events, void *arg) {
  (void)fd;
  (void)events;
  (void)arg;
  abort();
}

static int fds[2] = {-1, -1};

static gyre_status init_fails_armed_init(const gyre_host_api *api, gyre_host *host, void **state) {
  *state = NULL;
  api->timer_start(host, 1, true, must_not_run, NULL);
  if (pipe(fds) == 0 && write(fds[1], "x", 1) == 1)
    api->watch_start(host, fds[0], GYRE_WATCH_READ, must_not_watch, NULL);
  return GYRE_ERR_INTERNAL;
}

static void init_fails_armed_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "init-fails-armed",
    .version = "0.0.1",
    .description = "test plugin: init arms a timer and a watch, then fails",
    .kinds = 0,
    .config_schema = NULL,
    .init = init_fails_armed_init,
    .destroy = init_fails_armed_destroy,
    .engine = NULL,
};

GYRE_PLUGIN_DEFINE(kDescriptor)
