// The Lua scripts engine-redis runs (spec §4), with their SHA1 digests for
// EVALSHA. Every key a script touches is in KEYS (Redis Cluster and Redis 7
// key declarations); clocks and random epochs come from the caller, so the
// scripts are deterministic.
#pragma once

#include <string>

namespace gyre::redis {

struct Script {
  const char *name;
  std::string source;
  std::string sha1;  // lower-case hex
};

struct Scripts {
  Scripts();
  // KEYS stream, meta, result. ARGV body, maxlen, stream_ttl, pubsub channel,
  // meta_ttl ("0": none), fresh epoch, result_ttl ("": no idempotency),
  // version ("0": none), version epoch. Returns {top, epoch, suppressed}
  // with suppressed "", "idempotency" or "version".
  Script publish;
  // KEYS result. ARGV payload, pubsub channel, result_ttl. Returns {} when
  // it published, {offset, epoch} of the cached result when it did not.
  Script publish_idempotent;
  // KEYS stream, meta. ARGV include_pubs ("0"/"1"), from offset ("0": from
  // the end the direction starts at), limit ("0": all), reverse ("0"/"1"),
  // meta_ttl, fresh epoch. Returns {top, epoch[, entries]}.
  Script history;
  // KEYS expire zset, data hash. ARGV ttl ("0": none), expire_at, client, info.
  Script presence_add;
  // KEYS expire zset, data hash. ARGV client.
  Script presence_remove;
  // KEYS expire zset, data hash. ARGV now (unix s). Returns HGETALL.
  Script presence_get;
};

}  // namespace gyre::redis
