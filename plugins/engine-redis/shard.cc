#include "shard.h"

#include <cstring>

#include "sharding.h"

namespace gyre::redis {

namespace {
constexpr size_t kChannelsPerCommand = 512;
}

Shard::Shard(const gyre_host_api *api, gyre_host *host, const RedisAddress &addr,
             const RedisSettings &settings, int index, std::vector<std::string> service_channels,
             ShardEvents &events)
    : api_(api),
      host_(host),
      index_(index),
      service_channels_(std::move(service_channels)),
      events_(events) {
  std::string tag = "shard " + std::to_string(index);
  if (addr.cluster_nodes.empty())
    cmd_ = std::make_unique<RedisConnection>(
        api, host, addr, settings, RedisConnection::Role::Command, tag + " commands", *this);
  else
    router_ = std::make_unique<ClusterRouter>(api, host, addr, settings, tag + " cluster");
  pubsub_ = std::make_unique<RedisConnection>(
      api, host, addr, settings, RedisConnection::Role::PubSub, tag + " pub/sub", *this);
  if (!addr.sentinels.empty())
    sentinel_ = std::make_unique<SentinelResolver>(api, host, addr, settings, tag + " sentinel",
                                                   [this](const std::string &h, int port) {
                                                     cmd_->set_address(h, port);
                                                     pubsub_->set_address(h, port);
                                                   });
}

Shard::~Shard() {
  if (flush_timer_) api_->timer_stop(host_, flush_timer_);
  flush_timer_ = nullptr;
  sentinel_.reset();
  pubsub_.reset();
  cmd_.reset();
  router_.reset();
  for (auto &[name, ch] : channels_) finish(ch.waiters, GYRE_ERR_UNAVAILABLE, "engine stopping");
}

void Shard::start() {
  if (sentinel_) sentinel_->start();
  if (cmd_) cmd_->start();
  if (router_) router_->start();
  pubsub_->start();
}

bool Shard::accepting(std::string_view route_key) const {
  if (router_) return router_->accepting(route_key.empty() ? -1 : cluster_slot(route_key));
  return cmd_->accepting();
}

bool Shard::send(std::string_view route_key, int argc, const char **argv, const size_t *lens,
                 RedisConnection::ReplyFn fn) {
  if (router_)
    return router_->send(route_key.empty() ? -1 : cluster_slot(route_key), argc, argv, lens,
                         std::move(fn));
  return cmd_->send(argc, argv, lens, std::move(fn));
}

void Shard::tick(int64_t now_ms) {
  if (sentinel_) sentinel_->tick(now_ms);
  if (cmd_) cmd_->tick(now_ms);
  if (router_) router_->tick(now_ms);
  pubsub_->tick(now_ms);
}

void Shard::finish(std::vector<gyre_op *> &ops, gyre_status status, const char *message) {
  std::vector<gyre_op *> done;
  done.swap(ops);
  for (gyre_op *op : done) api_->complete(op, status, gyre_str{message, std::strlen(message)});
}

gyre_status Shard::subscribe(const std::string &redis_channel, gyre_op *op) {
  if (!pubsub_->accepting()) return GYRE_ERR_UNAVAILABLE;
  auto [it, fresh] = channels_.try_emplace(redis_channel);
  Channel &ch = it->second;
  ch.wanted = true;
  if (fresh) {
    ch.state = SubState::Subscribing;
    ch.waiters.push_back(op);
    queue(redis_channel, false);
    return GYRE_OK;
  }
  if (ch.state == SubState::Subscribed) {
    api_->complete(op, GYRE_OK, gyre_str{nullptr, 0});
    return GYRE_OK;
  }
  // Subscribing: the same confirmation serves this op; Unsubscribing: it
  // subscribes again once the UNSUBSCRIBE is confirmed.
  ch.waiters.push_back(op);
  return GYRE_OK;
}

gyre_status Shard::unsubscribe(const std::string &redis_channel, gyre_op *op) {
  auto it = channels_.find(redis_channel);
  if (it != channels_.end()) {
    Channel &ch = it->second;
    ch.wanted = false;
    if (ch.state == SubState::Subscribed) {
      ch.state = SubState::Unsubscribing;
      queue(redis_channel, true);
    }
  }
  api_->complete(op, GYRE_OK, gyre_str{nullptr, 0});
  return GYRE_OK;
}

void Shard::queue(const std::string &redis_channel, bool unsubscribe) {
  (unsubscribe ? to_unsubscribe_ : to_subscribe_).push_back(redis_channel);
  if (to_subscribe_.size() >= kChannelsPerCommand || to_unsubscribe_.size() >= kChannelsPerCommand)
    return flush();
  if (!flush_timer_) flush_timer_ = api_->timer_start(host_, 0, false, &Shard::flush_cb, this);
  if (!flush_timer_) flush();
}

void Shard::flush_cb(void *arg) {
  auto *self = static_cast<Shard *>(arg);
  self->flush_timer_ = nullptr;  // a one-shot timer is gone once it fired
  self->flush();
}

void Shard::flush() {
  if (flush_timer_) {
    api_->timer_stop(host_, flush_timer_);
    flush_timer_ = nullptr;
  }
  for (bool unsub : {true, false}) {
    std::vector<std::string> batch;
    batch.swap(unsub ? to_unsubscribe_ : to_subscribe_);
    for (size_t i = 0; i < batch.size(); i += kChannelsPerCommand) {
      std::vector<std::string> part(
          batch.begin() + static_cast<ptrdiff_t>(i),
          batch.begin() + static_cast<ptrdiff_t>(std::min(batch.size(), i + kChannelsPerCommand)));
      // Refused only while down: on_down has settled (or will settle)
      // every channel's state.
      if (!pubsub_->subscribe(part, unsub)) return;
    }
  }
}

void Shard::on_open(RedisConnection &conn) {
  if (&conn != pubsub_.get()) return;
  to_subscribe_.clear();
  to_unsubscribe_.clear();
  std::vector<std::string> first = service_channels_;
  if (!first.empty()) pubsub_->subscribe(first, false);
  for (auto &[name, ch] : channels_) {
    ch.state = SubState::Subscribing;
    to_subscribe_.push_back(name);
  }
  flush();
}

void Shard::on_down(RedisConnection &conn) {
  if (&conn != pubsub_.get()) return;
  // Channels nobody wants are forgotten; wanted ones are subscribed again
  // on the next connection (on_open) and then resynced. Subscribes in
  // flight fail: the client retries.
  std::vector<gyre_op *> failed;
  for (auto it = channels_.begin(); it != channels_.end();) {
    Channel &ch = it->second;
    for (gyre_op *op : ch.waiters) failed.push_back(op);
    ch.waiters.clear();
    if (!ch.wanted) {
      it = channels_.erase(it);
      continue;
    }
    ch.state = SubState::Subscribing;
    ch.resync = true;
    ++it;
  }
  to_subscribe_.clear();
  to_unsubscribe_.clear();
  finish(failed, GYRE_ERR_UNAVAILABLE, "redis pub/sub connection lost");
  // In a cluster any node carries every message: try another that is up.
  std::string h;
  int port = 0;
  if (router_ && router_->other_node(pubsub_->address().host, pubsub_->address().port, h, port))
    pubsub_->set_address(h, port);
}

void Shard::confirmed(std::string_view redis_channel, bool subscribed) {
  auto it = channels_.find(std::string(redis_channel));
  if (it == channels_.end()) return;
  Channel &ch = it->second;
  std::string name = it->first;
  if (subscribed) {
    if (ch.state != SubState::Subscribing) return;
    std::vector<gyre_op *> waiters;
    waiters.swap(ch.waiters);
    bool resync = ch.resync;
    ch.resync = false;
    if (ch.wanted) {
      ch.state = SubState::Subscribed;
    } else {
      ch.state = SubState::Unsubscribing;
      queue(name, true);
    }
    finish(waiters, GYRE_OK, "");
    if (resync) events_.on_resubscribed(name);
    return;
  }
  if (ch.state != SubState::Unsubscribing) return;
  if (ch.wanted) {
    ch.state = SubState::Subscribing;
    queue(name, false);
  } else {
    channels_.erase(it);
  }
}

void Shard::on_pubsub(RedisConnection &, redisReply *r) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  for (size_t i = 0; i < 3; ++i)
    if (r->element[i]->type != REDIS_REPLY_STRING && r->element[i]->type != REDIS_REPLY_INTEGER)
      return;
  std::string_view kind(r->element[0]->str, r->element[0]->len);
  if (r->element[1]->type != REDIS_REPLY_STRING) return;
  std::string_view channel(r->element[1]->str, r->element[1]->len);
  if (kind == "message" && r->element[2]->type == REDIS_REPLY_STRING)
    return events_.on_message(channel, std::string_view(r->element[2]->str, r->element[2]->len));
  if (kind == "subscribe") return confirmed(channel, true);
  if (kind == "unsubscribe") return confirmed(channel, false);
}

}  // namespace gyre::redis
