// RedisEngine: broker, history, presence and node-to-node control over one
// or more Redis servers (shards), with Centrifuge's data model (spec §3-§5):
// per channel a STREAM of publications and a meta HASH with epoch and top
// offset, written atomically by one Lua script that also publishes to
// PUB/SUB; presence as a HASH plus a ZSET of expiry times.
//
// Threads: every method runs on the host's loop thread (engine hooks,
// timers, fd watches). Lifetime: created in init, deleted in destroy.
#pragma once

#include <gyre/plugin.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "scripts.h"
#include "settings.h"
#include "shard.h"
#include "wire.h"

namespace gyre::redis {

class RedisEngine : public ShardEvents {
 public:
  RedisEngine(const gyre_host_api *api, gyre_host *host, RedisSettings settings);
  ~RedisEngine() override;
  void start();

  gyre_status subscribe(gyre_str channel, gyre_op *op);
  gyre_status unsubscribe(gyre_str channel, gyre_op *op);
  gyre_status publish(gyre_str channel, const gyre_publication *pub,
                      const gyre_publish_options *opts, gyre_op *op);
  gyre_status publish_join_leave(gyre_str channel, const gyre_client_info *info, gyre_op *op,
                                 bool join);
  gyre_status history(gyre_str channel, const gyre_history_filter *filter, gyre_op *op);
  gyre_status remove_history(gyre_str channel, gyre_op *op);
  gyre_status presence_add(gyre_str channel, const gyre_client_info *info, uint32_t ttl_s,
                           gyre_op *op);
  gyre_status presence_remove(gyre_str channel, gyre_str client_id, gyre_op *op);
  gyre_status presence_get(gyre_str channel, gyre_op *op, bool stats);
  gyre_status publish_control(gyre_str node, gyre_str data, gyre_op *op);

  void log(gyre_log_level level, std::string_view msg) const;

  // ShardEvents
  void on_message(std::string_view channel, std::string_view payload) override;
  void on_resubscribed(std::string_view redis_channel) override;

 private:
  using ReplyFn = RedisConnection::ReplyFn;
  Shard &shard_for(std::string_view channel);
  // "<prefix>.<kind>.<channel>"; in a cluster the channel is the hash tag:
  // "<prefix>.<kind>.{<channel>}", so all its keys share one slot.
  std::string key(std::string_view kind, std::string_view channel) const;
  // The PUB/SUB channel of a client channel, and back (empty: not one).
  std::string client_channel(std::string_view channel) const;
  std::string_view channel_of(std::string_view redis_channel) const;
  // EVALSHA, and EVAL once when Redis answers NOSCRIPT (the script did not
  // run, so running it again is safe; spec §4.6), routed by the first key.
  // False when the shard's command connection is down (done not called).
  bool eval(Shard &shard, const Script &script, std::vector<std::string> keys_and_args,
            int num_keys, ReplyFn done);
  // Completes op with the failure a reply (or its absence) means; false
  // when the reply is not an error.
  bool failed(gyre_op *op, redisReply *reply) const;
  std::string fresh_epoch();
  int64_t now_ms() const { return api_->now_ms(host_); }
  static void on_tick(void *arg);

  const gyre_host_api *api_;
  gyre_host *host_;
  RedisSettings settings_;
  bool cluster_;
  Scripts scripts_;
  std::string client_prefix_;    // "<prefix>.client."
  std::string control_channel_;  // "<prefix>.control"
  std::string node_channel_;     // "<prefix>.node.<this node id>"
  std::vector<std::unique_ptr<Shard>> shards_;
  gyre_timer *tick_ = nullptr;
  std::mt19937_64 rng_;
  // Reused on every message and read: decoding allocates nothing once warm.
  std::string body_;
  DecodedPublication decoded_;
  std::vector<DecodedPublication> page_;
  std::vector<const gyre_publication *> page_ptrs_;
  uint64_t malformed_ = 0;
};

}  // namespace gyre::redis
