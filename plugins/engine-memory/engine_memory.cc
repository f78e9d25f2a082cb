// The C ABI face of the memory engine: descriptor, config schema, init and
// destroy, and the ops table. Every entry point is a thin function that
// forwards to MemoryEngine inside a catch-all barrier, because no C++
// exception may cross into the host.
#include <gyre/plugin.h>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <new>
#include <string_view>

#include "memory_engine.h"
#include "str_util.h"

namespace gyre::memory {
namespace {

const gyre_config_field kConfigSchema[] = {
    {"sweep_interval", GYRE_CONFIG_DURATION_MS, "10s",
     "how often expired history, idempotency results and presence entries "
     "are freed (0 disables the sweep; expiry is still applied on access)"},
    {"history_meta_ttl", GYRE_CONFIG_DURATION_MS, "720h",
     "lifetime of a channel's epoch and top offset after its last publish "
     "or history call, when the call does not give one (0: forever)"},
    {nullptr, GYRE_CONFIG_STRING, nullptr, nullptr},
};

void log_to(const gyre_host_api *api, gyre_host *host, gyre_log_level level, std::string_view msg) {
  if (api && api->log) api->log(host, level, to_gyre(msg));
}

// Converts any exception into a status. `what` names the hook in the log.
template <class Fn>
gyre_status guarded(void *state, const char *what, Fn &&fn) noexcept {
  auto *eng = static_cast<MemoryEngine *>(state);
  if (!eng) return GYRE_ERR_INVALID;
  char buf[256];
  try {
    return fn(*eng);
  } catch (const std::bad_alloc &) {
    std::snprintf(buf, sizeof(buf), "%s: out of memory", what);
    eng->log(GYRE_LOG_ERROR, buf);
    return GYRE_ERR_NOMEM;
  } catch (const std::exception &e) {
    std::snprintf(buf, sizeof(buf), "%s: %s", what, e.what());
  } catch (...) {
    std::snprintf(buf, sizeof(buf), "%s: unknown exception", what);
  }
  eng->log(GYRE_LOG_ERROR, buf);
  return GYRE_ERR_INTERNAL;
}

gyre_status op_subscribe(void *state, gyre_str channel, gyre_op *op) {
  return guarded(state, "subscribe", [&](MemoryEngine &e) { return e.subscribe(channel, op); });
}

gyre_status op_unsubscribe(void *state, gyre_str channel, gyre_op *op) {
  return guarded(state, "unsubscribe", [&](MemoryEngine &e) { return e.unsubscribe(channel, op); });
}

gyre_status op_publish(void *state, gyre_str channel, const gyre_publication *pub,
                       const gyre_publish_options *opts, gyre_op *op) {
  return guarded(state, "publish",
                 [&](MemoryEngine &e) { return e.publish(channel, pub, opts, op); });
}

gyre_status op_publish_join(void *state, gyre_str channel, const gyre_client_info *info,
                            gyre_op *op) {
  return guarded(state, "publish_join",
                 [&](MemoryEngine &e) { return e.publish_join(channel, info, op, true); });
}

gyre_status op_publish_leave(void *state, gyre_str channel, const gyre_client_info *info,
                             gyre_op *op) {
  return guarded(state, "publish_leave",
                 [&](MemoryEngine &e) { return e.publish_join(channel, info, op, false); });
}

gyre_status op_history(void *state, gyre_str channel, const gyre_history_filter *filter,
                       gyre_op *op) {
  return guarded(state, "history", [&](MemoryEngine &e) { return e.history(channel, filter, op); });
}

gyre_status op_remove_history(void *state, gyre_str channel, gyre_op *op) {
  return guarded(state, "remove_history",
                 [&](MemoryEngine &e) { return e.remove_history(channel, op); });
}

gyre_status op_presence_add(void *state, gyre_str channel, const gyre_client_info *info,
                            uint32_t ttl_s, gyre_op *op) {
  return guarded(state, "presence_add",
                 [&](MemoryEngine &e) { return e.presence_add(channel, info, ttl_s, op); });
}

gyre_status op_presence_remove(void *state, gyre_str channel, gyre_str client_id, gyre_str /*user*/,
                               gyre_op *op) {
  return guarded(state, "presence_remove",
                 [&](MemoryEngine &e) { return e.presence_remove(channel, client_id, op); });
}

gyre_status op_presence_get(void *state, gyre_str channel, gyre_op *op) {
  return guarded(state, "presence_get",
                 [&](MemoryEngine &e) { return e.presence_get(channel, op); });
}

gyre_status op_presence_stats(void *state, gyre_str channel, gyre_op *op) {
  return guarded(state, "presence_stats",
                 [&](MemoryEngine &e) { return e.presence_stats(channel, op); });
}

const gyre_engine_ops kOps = {
    sizeof(gyre_engine_ops),
    op_subscribe,
    op_unsubscribe,
    op_publish,
    op_publish_join,
    op_publish_leave,
    op_history,
    op_remove_history,
    op_presence_add,
    op_presence_remove,
    op_presence_get,
    op_presence_stats,
    nullptr,  // publish_control: one node, no control plane
};

// Everything the engine calls; all exist in ABI 1.0.
bool host_api_complete(const gyre_host_api *api) {
  constexpr size_t kNeeded = offsetof(gyre_host_api, handle_leave) + sizeof(api->handle_leave);
  return api->size >= kNeeded && api->now_ms && api->timer_start && api->timer_stop &&
         api->complete && api->complete_publish && api->complete_history &&
         api->complete_presence && api->complete_presence_stats && api->handle_publication &&
         api->handle_join && api->handle_leave;
}

// A duration setting, or `fallback` when the host has none to give.
bool read_duration(const gyre_host_api *api, gyre_host *host, const char *key, int64_t fallback,
                   int64_t *out) {
  *out = fallback;
  int64_t v = 0;
  if (api->config_get_duration_ms && api->config_get_duration_ms(host, key, &v)) *out = v;
  if (*out >= 0) return true;
  char buf[160];
  std::snprintf(buf, sizeof(buf), "config %s must not be negative", key);
  log_to(api, host, GYRE_LOG_ERROR, buf);
  return false;
}

gyre_status plugin_init(const gyre_host_api *api, gyre_host *host, void **state) noexcept {
  if (!api || !state) return GYRE_ERR_INVALID;
  if (api->abi_major != GYRE_ABI_MAJOR || !host_api_complete(api)) {
    log_to(api, host, GYRE_LOG_ERROR,
           "host API is incompatible or lacks functions this engine needs");
    return GYRE_ERR_INVALID;
  }
  try {
    EngineConfig cfg;
    if (!read_duration(api, host, "sweep_interval", cfg.sweep_interval_ms,
                       &cfg.sweep_interval_ms) ||
        !read_duration(api, host, "history_meta_ttl", cfg.history_meta_ttl_ms,
                       &cfg.history_meta_ttl_ms))
      return GYRE_ERR_INVALID;
    auto *eng = new MemoryEngine(api, host, cfg);
    eng->start();
    *state = eng;
    return GYRE_OK;
  } catch (const std::bad_alloc &) {
    log_to(api, host, GYRE_LOG_ERROR, "init: out of memory");
    return GYRE_ERR_NOMEM;
  } catch (...) {
    log_to(api, host, GYRE_LOG_ERROR, "init failed");
    return GYRE_ERR_INTERNAL;
  }
}

void plugin_destroy(void *state) noexcept {
  // The destructor only stops the timer and frees memory; nothing throws.
  delete static_cast<MemoryEngine *>(state);
}

const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "engine-memory",
    .version = "0.1.0",
    .description = "in-process broker, history and presence for a single node",
    .kinds = GYRE_PLUGIN_ENGINE,
    .config_schema = kConfigSchema,
    .init = plugin_init,
    .destroy = plugin_destroy,
    .engine = &kOps,
    .config_section = nullptr,
    .auth = nullptr,
    .transport = nullptr,
    .commands = nullptr,
};

}  // namespace
}  // namespace gyre::memory

GYRE_PLUGIN_DEFINE(gyre::memory::kDescriptor)
