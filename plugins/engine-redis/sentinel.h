// SentinelResolver: which server is a shard's master, by asking its Redis
// Sentinels (spec §7.2). Polls `SENTINEL get-master-addr-by-name` every
// 500 ms (cheap, and it catches a failover whether or not a +switch-master
// event would have reached us), rotating to the next sentinel when one is
// unreachable; a new answer moves the shard's connections (they reconnect,
// resubscribe and resync). Connections confirm with ROLE that they reached
// a master.
//
// Threads: the loop thread. Lifetime: owned by its Shard.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "connection.h"

namespace gyre::redis {

class SentinelResolver : public RedisConnection::Events {
 public:
  using MasterFn = std::function<void(const std::string &host, int port)>;
  SentinelResolver(const gyre_host_api *api, gyre_host *host, const RedisAddress &shard,
                   const RedisSettings &settings, std::string name, MasterFn on_master);
  void start();
  void tick(int64_t now_ms);

  void on_open(RedisConnection &) override {}
  void on_down(RedisConnection &) override;
  void on_pubsub(RedisConnection &, redisReply *) override {}

 private:
  void query();
  const gyre_host_api *api_;
  gyre_host *host_;
  RedisAddress shard_;
  std::string name_;
  MasterFn on_master_;
  size_t next_ = 0;  // index into shard_.sentinels
  std::unique_ptr<RedisConnection> conn_;
  int64_t next_query_ms_ = 0;
  bool in_flight_ = false;
  std::string master_host_;
  int master_port_ = 0;
};

}  // namespace gyre::redis
