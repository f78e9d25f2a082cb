// The C ABI face of engine-redis: descriptor, init and destroy, and the ops
// table. Every entry point forwards to RedisEngine inside a catch-all
// barrier: no C++ exception may cross into the host.
#include <gyre/plugin.h>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "redis_engine.h"
#include "settings.h"

namespace gyre::redis {
namespace {

void log_to(const gyre_host_api *api, gyre_host *host, gyre_log_level level, std::string_view m) {
  if (api && api->log) api->log(host, level, gyre_str{m.data(), m.size()});
}

template <class Fn>
gyre_status guarded(void *state, const char *what, Fn &&fn) noexcept {
  auto *eng = static_cast<RedisEngine *>(state);
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

gyre_status op_subscribe(void *s, gyre_str ch, gyre_op *op) {
  return guarded(s, "subscribe", [&](RedisEngine &e) { return e.subscribe(ch, op); });
}
gyre_status op_unsubscribe(void *s, gyre_str ch, gyre_op *op) {
  return guarded(s, "unsubscribe", [&](RedisEngine &e) { return e.unsubscribe(ch, op); });
}
gyre_status op_publish(void *s, gyre_str ch, const gyre_publication *pub,
                       const gyre_publish_options *opts, gyre_op *op) {
  return guarded(s, "publish", [&](RedisEngine &e) { return e.publish(ch, pub, opts, op); });
}
gyre_status op_publish_join(void *s, gyre_str ch, const gyre_client_info *info, gyre_op *op) {
  return guarded(s, "publish_join",
                 [&](RedisEngine &e) { return e.publish_join_leave(ch, info, op, true); });
}
gyre_status op_publish_leave(void *s, gyre_str ch, const gyre_client_info *info, gyre_op *op) {
  return guarded(s, "publish_leave",
                 [&](RedisEngine &e) { return e.publish_join_leave(ch, info, op, false); });
}
gyre_status op_history(void *s, gyre_str ch, const gyre_history_filter *f, gyre_op *op) {
  return guarded(s, "history", [&](RedisEngine &e) { return e.history(ch, f, op); });
}
gyre_status op_remove_history(void *s, gyre_str ch, gyre_op *op) {
  return guarded(s, "remove_history", [&](RedisEngine &e) { return e.remove_history(ch, op); });
}
gyre_status op_presence_add(void *s, gyre_str ch, const gyre_client_info *info, uint32_t ttl_s,
                            gyre_op *op) {
  return guarded(s, "presence_add",
                 [&](RedisEngine &e) { return e.presence_add(ch, info, ttl_s, op); });
}
gyre_status op_presence_remove(void *s, gyre_str ch, gyre_str client, gyre_str /*user*/,
                               gyre_op *op) {
  return guarded(s, "presence_remove",
                 [&](RedisEngine &e) { return e.presence_remove(ch, client, op); });
}
gyre_status op_presence_get(void *s, gyre_str ch, gyre_op *op) {
  return guarded(s, "presence_get", [&](RedisEngine &e) { return e.presence_get(ch, op, false); });
}
gyre_status op_presence_stats(void *s, gyre_str ch, gyre_op *op) {
  return guarded(s, "presence_stats", [&](RedisEngine &e) { return e.presence_get(ch, op, true); });
}
gyre_status op_publish_control(void *s, gyre_str node, gyre_str data, gyre_op *op) {
  return guarded(s, "publish_control",
                 [&](RedisEngine &e) { return e.publish_control(node, data, op); });
}

const gyre_engine_ops kOps = {
    .size = sizeof(gyre_engine_ops),
    .subscribe = op_subscribe,
    .unsubscribe = op_unsubscribe,
    .publish = op_publish,
    .publish_join = op_publish_join,
    .publish_leave = op_publish_leave,
    .history = op_history,
    .remove_history = op_remove_history,
    .presence_add = op_presence_add,
    .presence_remove = op_presence_remove,
    .presence_get = op_presence_get,
    .presence_stats = op_presence_stats,
    .publish_control = op_publish_control,
};

// Everything the engine calls, up to ABI 1.4 (node_id, handle_control,
// handle_resync, config_get_list).
bool host_api_complete(const gyre_host_api *api) {
  constexpr size_t kNeeded =
      offsetof(gyre_host_api, config_get_list) + sizeof(api->config_get_list);
  return api->size >= kNeeded && api->now_ms && api->timer_start && api->timer_stop &&
         api->watch_start && api->watch_update && api->watch_stop && api->complete &&
         api->complete_publish && api->complete_history && api->complete_presence &&
         api->complete_presence_stats && api->handle_publication && api->handle_join &&
         api->handle_leave && api->node_id && api->handle_control && api->handle_resync &&
         api->config_get_list && api->config_get_string && api->config_get_int &&
         api->config_get_duration_ms;
}

gyre_status plugin_init(const gyre_host_api *api, gyre_host *host, void **state) noexcept {
  if (!api || !state) return GYRE_ERR_INVALID;
  if (api->abi_major != GYRE_ABI_MAJOR || !host_api_complete(api)) {
    log_to(api, host, GYRE_LOG_ERROR, "engine-redis needs a host with ABI 1.4 or newer");
    return GYRE_ERR_INVALID;
  }
  try {
    RedisSettings settings;
    std::string err = read_settings(api, host, settings);
    if (!err.empty()) {
      log_to(api, host, GYRE_LOG_ERROR, err);
      return GYRE_ERR_INVALID;
    }
    std::string where;
    for (const auto &s : settings.shards) where += (where.empty() ? "" : ", ") + s.text;
    log_to(api, host, GYRE_LOG_INFO,
           "Redis " + std::string(settings.shards.size() > 1 ? "shards " : "at ") + where +
               ", prefix \"" + settings.prefix + "\"");
    auto *eng = new RedisEngine(api, host, std::move(settings));
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
  try {
    delete static_cast<RedisEngine *>(state);
  } catch (...) {
  }
}

const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "engine-redis",
    .version = "0.1.0",
    .description = "broker, history, presence and node-to-node control over Redis (shards)",
    .kinds = GYRE_PLUGIN_ENGINE,
    .config_schema = kConfigSchema,
    .init = plugin_init,
    .destroy = plugin_destroy,
    .engine = &kOps,
    .config_section = "engine.redis",
    .auth = nullptr,
    .transport = nullptr,
    .commands = nullptr,
};

}  // namespace
}  // namespace gyre::redis

GYRE_PLUGIN_DEFINE(gyre::redis::kDescriptor)
