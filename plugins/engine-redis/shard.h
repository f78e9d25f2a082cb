// Shard: one Redis server of the engine, with its two connections (spec
// §6.1): a pipelined command connection and a PUB/SUB connection, and the
// state of every client channel this node subscribes to on it.
//
// Channel subscriptions (spec §6.2, §6.3). hiredis 0.14 keeps one callback
// per channel and forgets it when an UNSUBSCRIBE is confirmed, so a channel
// never has a SUBSCRIBE and an UNSUBSCRIBE outstanding at once: each one
// waits for the other's confirmation. SUBSCRIBEs and UNSUBSCRIBEs queued in
// one loop turn leave as one command per 512 channels. A subscribe
// completes when Redis confirmed it, so the node may read history safely
// afterwards. After the PUB/SUB connection comes back every wanted channel
// is subscribed again, and once each is confirmed the host is told that its
// events may have been lost meanwhile (handle_resync), so lagging clients
// recover instead of staying silently behind.
//
// A Redis Cluster is one shard too: its commands go through a ClusterRouter
// (one connection per master, by slot) and its PUB/SUB connection to any one
// node (classic PUBLISH reaches every node), moving to another node when
// that one fails.
//
// Threads: the loop thread. Lifetime: owned by the engine.
#pragma once

#include <gyre/plugin.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster.h"
#include "connection.h"
#include "sentinel.h"

namespace gyre::redis {

class ShardEvents {
 public:
  virtual ~ShardEvents() = default;
  // A PUB/SUB message (channel is the Redis channel name).
  virtual void on_message(std::string_view channel, std::string_view payload) = 0;
  // A client channel was subscribed again after a reconnect.
  virtual void on_resubscribed(std::string_view redis_channel) = 0;
};

class Shard : public RedisConnection::Events {
 public:
  Shard(const gyre_host_api *api, gyre_host *host, const RedisAddress &addr,
        const RedisSettings &settings, int index, std::vector<std::string> service_channels,
        ShardEvents &events);
  ~Shard() override;

  void start();
  void tick(int64_t now_ms);
  int index() const { return index_; }

  // Commands. route_key is the command's first key (or PUB/SUB channel):
  // it picks the master in a cluster; empty means any node. As
  // RedisConnection::send: false (fn not called) when that node is down.
  bool accepting(std::string_view route_key) const;
  bool send(std::string_view route_key, int argc, const char **argv, const size_t *lens,
            RedisConnection::ReplyFn fn);

  // Takes op on GYRE_OK (completed with `complete` once confirmed or
  // failed); GYRE_ERR_UNAVAILABLE (op untouched) while PUB/SUB is down.
  gyre_status subscribe(const std::string &redis_channel, gyre_op *op);
  // Completes op at once; the UNSUBSCRIBE follows.
  gyre_status unsubscribe(const std::string &redis_channel, gyre_op *op);

  // RedisConnection::Events
  void on_open(RedisConnection &conn) override;
  void on_down(RedisConnection &conn) override;
  void on_pubsub(RedisConnection &conn, redisReply *reply) override;

 private:
  enum class SubState { Subscribing, Subscribed, Unsubscribing };
  struct Channel {
    SubState state = SubState::Subscribing;
    bool wanted = true;   // the node has local subscribers
    bool resync = false;  // subscribed again after a reconnect
    std::vector<gyre_op *> waiters;
  };
  void queue(const std::string &redis_channel, bool unsubscribe);
  static void flush_cb(void *arg);
  void flush();
  void confirmed(std::string_view redis_channel, bool subscribed);
  void finish(std::vector<gyre_op *> &ops, gyre_status status, const char *message);

  const gyre_host_api *api_;
  gyre_host *host_;
  int index_;
  std::vector<std::string> service_channels_;  // control channels (shard 0)
  ShardEvents &events_;
  std::unique_ptr<RedisConnection> cmd_;   // standalone and Sentinel
  std::unique_ptr<ClusterRouter> router_;  // Redis Cluster
  std::unique_ptr<RedisConnection> pubsub_;
  std::unique_ptr<SentinelResolver> sentinel_;  // when the shard is a Sentinel master
  std::unordered_map<std::string, Channel> channels_;
  std::vector<std::string> to_subscribe_;
  std::vector<std::string> to_unsubscribe_;
  gyre_timer *flush_timer_ = nullptr;
};

}  // namespace gyre::redis
