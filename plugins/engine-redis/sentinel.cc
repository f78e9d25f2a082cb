#include "sentinel.h"

#include <charconv>
#include <cstring>

namespace gyre::redis {

namespace {
constexpr int64_t kPollMs = 500;

RedisAddress sentinel_address(const RedisAddress &shard, size_t i) {
  RedisAddress a;
  a.host = shard.sentinels[i].first;
  a.port = shard.sentinels[i].second;
  a.user = shard.sentinel_user;
  a.password = shard.sentinel_password;
  a.text = "sentinel " + a.host + ":" + std::to_string(a.port);
  return a;
}
}  // namespace

SentinelResolver::SentinelResolver(const gyre_host_api *api, gyre_host *host,
                                   const RedisAddress &shard, const RedisSettings &settings,
                                   std::string name, MasterFn on_master)
    : api_(api),
      host_(host),
      shard_(shard),
      name_(std::move(name)),
      on_master_(std::move(on_master)) {
  conn_ = std::make_unique<RedisConnection>(api, host, sentinel_address(shard_, 0), settings,
                                            RedisConnection::Role::Command, name_, *this);
}

void SentinelResolver::start() { conn_->start(); }

void SentinelResolver::on_down(RedisConnection &) {
  in_flight_ = false;
  if (shard_.sentinels.size() < 2) return;
  next_ = (next_ + 1) % shard_.sentinels.size();
  RedisAddress a = sentinel_address(shard_, next_);
  conn_->set_address(a.host, a.port);
}

void SentinelResolver::tick(int64_t now_ms) {
  conn_->tick(now_ms);
  if (in_flight_ || now_ms < next_query_ms_ || !conn_->accepting()) return;
  next_query_ms_ = now_ms + kPollMs;
  query();
}

void SentinelResolver::query() {
  const char *argv[] = {"SENTINEL", "get-master-addr-by-name", shard_.master_name.c_str()};
  size_t lens[] = {8, 23, shard_.master_name.size()};
  in_flight_ = conn_->send(3, argv, lens, [this](redisReply *r) {
    in_flight_ = false;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
      if (r && r->type == REDIS_REPLY_NIL && master_host_.empty()) {
        std::string msg = name_ + ": the sentinels know no master named " + shard_.master_name;
        api_->log(host_, GYRE_LOG_WARN, gyre_str{msg.data(), msg.size()});
      }
      return;
    }
    std::string host(r->element[0]->str, r->element[0]->len);
    int port = 0;
    const char *p = r->element[1]->str;
    auto [end, ec] = std::from_chars(p, p + r->element[1]->len, port);
    if (ec != std::errc() || end != p + r->element[1]->len || port <= 0 || port > 65535) return;
    if (host == master_host_ && port == master_port_) return;
    std::string msg =
        name_ + ": master " + shard_.master_name + " is " + host + ":" + std::to_string(port);
    api_->log(host_, GYRE_LOG_INFO, gyre_str{msg.data(), msg.size()});
    master_host_ = host;
    master_port_ = port;
    on_master_(host, port);
  });
}

}  // namespace gyre::redis
