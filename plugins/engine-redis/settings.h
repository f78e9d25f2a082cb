// engine.redis.* settings, read through the host from the server config's
// "engine.redis" section (Centrifugo v6 keys), and the address syntax.
#pragma once

#include <gyre/plugin.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gyre::redis {

// One Redis server. `host` is an IP address once resolved (hiredis resolves
// names with a blocking getaddrinfo, which must not run on the loop later).
struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;
  std::string password;
  int db = 0;
  std::string text;  // as configured, without the password (for logs)
  // Redis Sentinel: when set, host/port above are the master the sentinels
  // name (unknown until one answers), not configuration.
  std::vector<std::pair<std::string, int>> sentinels;
  std::string master_name;
  std::string sentinel_user;
  std::string sentinel_password;
  // Redis Cluster: the nodes to ask for the slot map first (host/port above
  // is the first of them); commands then go to each slot's master.
  std::vector<std::pair<std::string, int>> cluster_nodes;
};

struct RedisSettings {
  std::vector<RedisAddress> shards;  // channels are spread over all of them
  std::string prefix = "centrifugo";
  int64_t connect_timeout_ms = 1000;
  int64_t io_timeout_ms = 4000;
  std::string client_name;
  // Every shard is a Redis Cluster (keys and channels carry hash tags).
  bool cluster() const { return !shards.empty() && !shards[0].cluster_nodes.empty(); }
};

// Parses "host:port", "redis://[[user]:password@]host[:port][/db]",
// "tcp://host:port" or "redis+sentinel://[[user]:password@]host:port[,host:port...]
// ?sentinel_master_name=NAME[&sentinel_password=P]" (the credentials are the
// master's) or "redis+cluster://[[user]:password@]host:port[,host:port...]
// [?addr=host:port&addr=...]" (Centrifugo v6's forms). Empty string on
// success, else why not.
std::string parse_address(std::string_view text, RedisAddress &out);

// Reads every setting (and resolves host names). Empty on success, else a
// message naming the key.
std::string read_settings(const gyre_host_api *api, gyre_host *host, RedisSettings &out);

extern const gyre_config_field kConfigSchema[];

}  // namespace gyre::redis
