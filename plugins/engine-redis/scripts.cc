#include "scripts.h"

#include <openssl/sha.h>

namespace gyre::redis {

namespace {

const char kPublish[] = R"lua(
if ARGV[7] ~= '' then
  local cached = redis.call('hmget', KEYS[3], 'e', 's')
  if cached[1] then return {cached[2] or '0', cached[1], 'idempotency'} end
end
local epoch = redis.call('hget', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[6]
  redis.call('hset', KEYS[2], 'e', epoch)
end
local version = tonumber(ARGV[8]) or 0
if version > 0 then
  local prev = redis.call('hmget', KEYS[2], 'v', 've', 's')
  local pv = tonumber(prev[1]) or 0
  if pv > 0 and (ARGV[9] == '' or ARGV[9] == (prev[2] or '')) and pv >= version then
    return {prev[3] or '0', epoch, 'version'}
  end
end
local top = redis.call('hincrby', KEYS[2], 's', 1)
redis.call('hset', KEYS[2], 'v', ARGV[8], 've', ARGV[9])
if ARGV[5] ~= '0' then redis.call('expire', KEYS[2], ARGV[5]) end
if top == 1 then redis.call('del', KEYS[1]) end
redis.call('xadd', KEYS[1], 'MAXLEN', ARGV[2], top, 'd', ARGV[1])
redis.call('expire', KEYS[1], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('publish', ARGV[4], '__p1:' .. top .. ':' .. epoch .. '__' .. ARGV[1])
end
if ARGV[7] ~= '' then
  redis.call('hset', KEYS[3], 'e', epoch, 's', top)
  redis.call('expire', KEYS[3], ARGV[7])
end
return {top, epoch, ''}
)lua";

const char kPublishIdempotent[] = R"lua(
local cached = redis.call('hmget', KEYS[1], 'e', 's')
if cached[1] then return {cached[2] or '0', cached[1]} end
redis.call('publish', ARGV[2], ARGV[1])
redis.call('hset', KEYS[1], 'e', '', 's', '0')
redis.call('expire', KEYS[1], ARGV[3])
return {}
)lua";

// A stream whose meta is gone belongs to a dead epoch: never serve it.
const char kHistory[] = R"lua(
local meta = redis.call('hmget', KEYS[2], 'e', 's')
local epoch = meta[1]
local top = tonumber(meta[2]) or 0
if not epoch then
  epoch = ARGV[6]
  redis.call('hset', KEYS[2], 'e', epoch)
  redis.call('del', KEYS[1])
end
if ARGV[5] ~= '0' then redis.call('expire', KEYS[2], ARGV[5]) end
if ARGV[1] == '0' or top == 0 then return {top, epoch, {}} end
local from = tonumber(ARGV[2]) or 0
local entries
if ARGV[4] == '0' then
  local start = from > 0 and ARGV[2] or '-'
  if ARGV[3] ~= '0' then
    entries = redis.call('xrange', KEYS[1], start, '+', 'COUNT', ARGV[3])
  else
    entries = redis.call('xrange', KEYS[1], start, '+')
  end
else
  if from > top then return {top, epoch, {}} end
  local start = from > 0 and ARGV[2] or '+'
  if ARGV[3] ~= '0' then
    entries = redis.call('xrevrange', KEYS[1], start, '-', 'COUNT', ARGV[3])
  else
    entries = redis.call('xrevrange', KEYS[1], start, '-')
  end
  if from > 0 and #entries > 0 and entries[1][1] ~= ARGV[2] .. '-0' then entries = {} end
end
return {top, epoch, entries}
)lua";

const char kPresenceAdd[] = R"lua(
redis.call('hset', KEYS[2], ARGV[3], ARGV[4])
redis.call('zadd', KEYS[1], ARGV[2], ARGV[3])
if ARGV[1] ~= '0' then
  redis.call('expire', KEYS[1], ARGV[1])
  redis.call('expire', KEYS[2], ARGV[1])
else
  redis.call('persist', KEYS[1])
  redis.call('persist', KEYS[2])
end
return 1
)lua";

const char kPresenceRemove[] = R"lua(
redis.call('hdel', KEYS[2], ARGV[1])
redis.call('zrem', KEYS[1], ARGV[1])
return 1
)lua";

const char kPresenceGet[] = R"lua(
local expired = redis.call('zrangebyscore', KEYS[1], '0', ARGV[1])
if #expired > 0 then
  for i = 1, #expired do redis.call('hdel', KEYS[2], expired[i]) end
  redis.call('zremrangebyscore', KEYS[1], '0', ARGV[1])
end
return redis.call('hgetall', KEYS[2])
)lua";

Script make(const char *name, const char *source) {
  Script s{name, source, {}};
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char *>(s.source.data()), s.source.size(), digest);
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char b : digest) {
    s.sha1 += kHex[b >> 4];
    s.sha1 += kHex[b & 15];
  }
  return s;
}

}  // namespace

Scripts::Scripts()
    : publish(make("publish", kPublish)),
      publish_idempotent(make("publish_idempotent", kPublishIdempotent)),
      history(make("history", kHistory)),
      presence_add(make("presence_add", kPresenceAdd)),
      presence_remove(make("presence_remove", kPresenceRemove)),
      presence_get(make("presence_get", kPresenceGet)) {}

}  // namespace gyre::redis
