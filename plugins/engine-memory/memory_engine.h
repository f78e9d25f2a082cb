// The engine proper: broker + history + presence behind the gyre_engine_ops
// hooks. Everything runs on the host's loop thread, so there is no locking;
// per-channel order (R11) follows from publish storing, delivering and
// completing within one synchronous call.
#pragma once

#include <gyre/plugin.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "history_store.h"
#include "idempotency_cache.h"
#include "presence_store.h"

namespace gyre::memory {

struct EngineConfig {
  int64_t sweep_interval_ms = 10'000;           // 0: no sweep timer
  int64_t history_meta_ttl_ms = 2'592'000'000;  // 720h; 0: never
};

class MemoryEngine {
 public:
  MemoryEngine(const gyre_host_api *api, gyre_host *host, const EngineConfig &cfg);
  ~MemoryEngine();
  MemoryEngine(const MemoryEngine &) = delete;
  MemoryEngine &operator=(const MemoryEngine &) = delete;

  // Starts the sweep timer. Without it the engine is still correct (expiry
  // is also applied on access), it only keeps dead channels' memory.
  void start();

  // Each returns GYRE_OK after completing op exactly once, or an error
  // without touching op.
  gyre_status subscribe(gyre_str channel, gyre_op *op);
  // Nothing to undo: see subscribe.
  gyre_status unsubscribe(gyre_str channel, gyre_op *op) { return subscribe(channel, op); }
  gyre_status publish(gyre_str channel, const gyre_publication *pub,
                      const gyre_publish_options *opts, gyre_op *op);
  gyre_status publish_join(gyre_str channel, const gyre_client_info *info, gyre_op *op, bool join);
  gyre_status history(gyre_str channel, const gyre_history_filter *filter, gyre_op *op);
  gyre_status remove_history(gyre_str channel, gyre_op *op);
  gyre_status presence_add(gyre_str channel, const gyre_client_info *info, uint32_t ttl_s,
                           gyre_op *op);
  gyre_status presence_remove(gyre_str channel, gyre_str client_id, gyre_op *op);
  gyre_status presence_get(gyre_str channel, gyre_op *op);
  gyre_status presence_stats(gyre_str channel, gyre_op *op);

  void sweep();
  void log(gyre_log_level level, std::string_view msg) const;

 private:
  static void on_sweep_timer(void *arg);
  int64_t now() const { return api_->now_ms(host_); }
  void complete_ok(gyre_op *op) const;

  const gyre_host_api *api_;
  gyre_host *host_;
  EngineConfig cfg_;
  gyre_timer *sweep_timer_ = nullptr;

  HistoryStore history_;
  IdempotencyCache idempotency_;
  PresenceStore presence_;

  // Reused result arrays. A hook moves one out while the host reads it, so
  // a host that calls back into the engine from a completion gets its own.
  std::vector<const gyre_publication *> pub_ptrs_;
  std::vector<gyre_client_info> presence_recs_;
  std::vector<const gyre_client_info *> presence_ptrs_;
};

}  // namespace gyre::memory
