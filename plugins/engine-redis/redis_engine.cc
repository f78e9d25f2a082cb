#include "redis_engine.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>
#include <unordered_set>

#include "sharding.h"

namespace gyre::redis {

namespace {

constexpr uint32_t kDefaultMetaTtlS = 30 * 24 * 3600;  // as engine-memory's 720h
constexpr uint32_t kDefaultResultTtlS = 300;
constexpr size_t kMaxControlBytes = 1 << 20;

std::string_view view(gyre_str s) { return std::string_view(s.ptr ? s.ptr : "", s.len); }
gyre_str to_gyre(std::string_view s) { return gyre_str{s.data(), s.size()}; }

// A record from the host, read only as far as both sides know it.
template <typename T>
T read_record(const T *in) {
  T out{};
  if (in) std::memcpy(&out, in, std::min(in->size, sizeof(T)));
  out.size = sizeof(T);
  return out;
}

// Script numbers come back as integers or as bulk strings (spec §4.1).
bool reply_u64(const redisReply *r, uint64_t &out) {
  if (!r) return false;
  if (r->type == REDIS_REPLY_INTEGER) {
    if (r->integer < 0) return false;
    out = static_cast<uint64_t>(r->integer);
    return true;
  }
  if (r->type != REDIS_REPLY_STRING) return false;
  auto [p, ec] = std::from_chars(r->str, r->str + r->len, out);
  return ec == std::errc() && p == r->str + r->len;
}

std::string_view reply_text(const redisReply *r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return std::string_view(r->str, r->len);
}

}  // namespace

RedisEngine::RedisEngine(const gyre_host_api *api, gyre_host *host, RedisSettings settings)
    : api_(api),
      host_(host),
      settings_(std::move(settings)),
      cluster_(settings_.cluster()),
      rng_(std::random_device{}()) {
  const std::string &p = settings_.prefix;
  client_prefix_ = p + ".client.";
  control_channel_ = p + ".control";
  gyre_str id = api_->node_id(host_);
  node_channel_ = p + ".node." + std::string(view(id));
  for (size_t i = 0; i < settings_.shards.size(); ++i) {
    // Control traffic rides on shard 0 only, so messages from one node to
    // another keep their order.
    std::vector<std::string> service;
    if (i == 0) service = {control_channel_, node_channel_};
    shards_.push_back(std::make_unique<Shard>(api_, host_, settings_.shards[i], settings_,
                                              static_cast<int>(i), std::move(service), *this));
  }
}

RedisEngine::~RedisEngine() {
  if (tick_) api_->timer_stop(host_, tick_);
  tick_ = nullptr;
  shards_.clear();  // pending requests fail while the engine is still whole
}

void RedisEngine::start() {
  for (auto &s : shards_) s->start();
  tick_ = api_->timer_start(host_, 50, true, &RedisEngine::on_tick, this);
}

void RedisEngine::on_tick(void *arg) {
  auto *self = static_cast<RedisEngine *>(arg);
  int64_t now = self->now_ms();
  for (auto &s : self->shards_) s->tick(now);
}

void RedisEngine::log(gyre_log_level level, std::string_view msg) const {
  api_->log(host_, level, to_gyre(msg));
}

Shard &RedisEngine::shard_for(std::string_view channel) {
  return *shards_[static_cast<size_t>(shard_of(channel, static_cast<int>(shards_.size())))];
}

std::string RedisEngine::key(std::string_view kind, std::string_view channel) const {
  std::string k;
  k.reserve(settings_.prefix.size() + kind.size() + channel.size() + 4);
  k += settings_.prefix;
  k += '.';
  k += kind;
  k += '.';
  if (cluster_) k += '{';
  k += channel;
  if (cluster_) k += '}';
  return k;
}

std::string RedisEngine::client_channel(std::string_view channel) const {
  std::string c;
  c.reserve(client_prefix_.size() + channel.size() + 2);
  c += client_prefix_;
  if (cluster_) c += '{';
  c += channel;
  if (cluster_) c += '}';
  return c;
}

std::string_view RedisEngine::channel_of(std::string_view redis_channel) const {
  if (!redis_channel.starts_with(client_prefix_)) return {};
  std::string_view ch = redis_channel.substr(client_prefix_.size());
  if (!cluster_) return ch;
  if (ch.size() < 2 || ch.front() != '{' || ch.back() != '}') return {};
  return ch.substr(1, ch.size() - 2);
}

std::string RedisEngine::fresh_epoch() {
  static const char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string e(8, 'a');
  for (char &c : e) c = kLetters[rng_() % 52];
  return e;
}

bool RedisEngine::failed(gyre_op *op, redisReply *r) const {
  if (r && r->type != REDIS_REPLY_ERROR) return false;
  if (!r) {
    api_->complete(op, GYRE_ERR_UNAVAILABLE, to_gyre("redis unavailable"));
    return true;
  }
  std::string_view err(r->str, std::min<size_t>(r->len, 200));
  // A server that is starting, demoted or in failover comes back: say so.
  bool temporary = err.starts_with("LOADING") || err.starts_with("READONLY") ||
                   err.starts_with("MASTERDOWN") || err.starts_with("TRYAGAIN") ||
                   err.starts_with("CLUSTERDOWN") || err.starts_with("BUSY");
  api_->complete(op, temporary ? GYRE_ERR_UNAVAILABLE : GYRE_ERR_INTERNAL, to_gyre(err));
  return true;
}

bool RedisEngine::eval(Shard &shard, const Script &script, std::vector<std::string> args,
                       int num_keys, ReplyFn done) {
  struct Call {
    Shard *shard;
    std::string route;  // the first key: its slot in a cluster
    const Script *script;
    std::vector<std::string> args;
    std::string num_keys;
    ReplyFn done;
    bool as_eval = false;
    bool send(std::shared_ptr<Call> self) {
      std::vector<const char *> argv;
      std::vector<size_t> lens;
      argv.reserve(args.size() + 3);
      lens.reserve(args.size() + 3);
      const std::string &body = as_eval ? script->source : script->sha1;
      argv.push_back(as_eval ? "EVAL" : "EVALSHA");
      lens.push_back(as_eval ? 4 : 7);
      argv.push_back(body.data());
      lens.push_back(body.size());
      argv.push_back(num_keys.data());
      lens.push_back(num_keys.size());
      for (const auto &a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      return shard->send(route, static_cast<int>(argv.size()), argv.data(), lens.data(),
                         [self](redisReply *r) {
                           if (r && r->type == REDIS_REPLY_ERROR && !self->as_eval &&
                               std::string_view(r->str, r->len).starts_with("NOSCRIPT")) {
                             self->as_eval = true;
                             if (self->send(self)) return;
                             r = nullptr;
                           }
                           ReplyFn fn = std::move(self->done);
                           fn(r);
                         });
    }
  };
  std::string route = num_keys > 0 && !args.empty() ? args[0] : std::string();
  auto call = std::make_shared<Call>(Call{&shard, std::move(route), &script, std::move(args),
                                          std::to_string(num_keys), std::move(done)});
  return call->send(call);
}

gyre_status RedisEngine::subscribe(gyre_str channel, gyre_op *op) {
  return shard_for(view(channel)).subscribe(client_channel(view(channel)), op);
}

gyre_status RedisEngine::unsubscribe(gyre_str channel, gyre_op *op) {
  return shard_for(view(channel)).unsubscribe(client_channel(view(channel)), op);
}

gyre_status RedisEngine::publish(gyre_str channel_in, const gyre_publication *pub_in,
                                 const gyre_publish_options *opts_in, gyre_op *op) {
  if (!pub_in || !opts_in) return GYRE_ERR_INVALID;
  const std::string_view channel = view(channel_in);
  gyre_publication pub = read_record(pub_in);
  const gyre_publish_options o = read_record(opts_in);
  pub.offset = 0;
  pub.time_ms = now_ms();
  Shard &shard = shard_for(channel);
  const std::string pubsub = client_channel(channel);
  if (!shard.accepting(pubsub)) return GYRE_ERR_UNAVAILABLE;
  body_.clear();
  encode_publication(body_, pub);
  const std::string_view idem = view(o.idempotency_key);
  const uint32_t result_ttl =
      o.idempotent_result_ttl_s > 0 ? o.idempotent_result_ttl_s : kDefaultResultTtlS;

  auto complete = [this, op](uint64_t offset, std::string_view epoch, gyre_suppress_reason why) {
    gyre_publish_result res{};
    res.size = sizeof(res);
    res.position = {offset, to_gyre(epoch)};
    res.suppressed = why;
    api_->complete_publish(op, &res);
  };

  if (o.history_size > 0 && o.history_ttl_s > 0) {
    std::vector<std::string> args{
        key("stream", channel),
        key("stream.meta", channel),
        key("result", channel) + "." + std::string(idem),
        body_,
        std::to_string(o.history_size),
        std::to_string(o.history_ttl_s),
        pubsub,
        std::to_string(o.history_meta_ttl_s ? o.history_meta_ttl_s : kDefaultMetaTtlS),
        fresh_epoch(),
        idem.empty() ? std::string() : std::to_string(result_ttl),
        std::to_string(o.version),
        std::string(view(o.version_epoch)),
    };
    bool sent =
        eval(shard, scripts_.publish, std::move(args), 3, [this, op, complete](redisReply *r) {
          if (failed(op, r)) return;
          uint64_t top = 0;
          if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || !reply_u64(r->element[0], top)) {
            api_->complete(op, GYRE_ERR_INTERNAL, to_gyre("unexpected script reply"));
            return;
          }
          std::string_view why = reply_text(r->element[2]);
          complete(top, reply_text(r->element[1]),
                   why == "idempotency" ? GYRE_SUPPRESS_IDEMPOTENCY
                   : why == "version"   ? GYRE_SUPPRESS_VERSION
                                        : GYRE_SUPPRESS_NONE);
        });
    return sent ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
  }
  if (!idem.empty()) {
    std::vector<std::string> args{key("result", channel) + "." + std::string(idem), body_, pubsub,
                                  std::to_string(result_ttl)};
    bool sent =
        eval(shard, scripts_.publish_idempotent, std::move(args), 1,
             [this, op, complete](redisReply *r) {
               if (failed(op, r)) return;
               if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
                 uint64_t offset = 0;
                 reply_u64(r->element[0], offset);
                 return complete(offset, reply_text(r->element[1]), GYRE_SUPPRESS_IDEMPOTENCY);
               }
               complete(0, {}, GYRE_SUPPRESS_NONE);
             });
    return sent ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
  }
  const char *argv[] = {"PUBLISH", pubsub.data(), body_.data()};
  size_t lens[] = {7, pubsub.size(), body_.size()};
  bool sent = shard.send(pubsub, 3, argv, lens, [this, op, complete](redisReply *r) {
    if (failed(op, r)) return;
    complete(0, {}, GYRE_SUPPRESS_NONE);
  });
  return sent ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
}

gyre_status RedisEngine::publish_join_leave(gyre_str channel, const gyre_client_info *info_in,
                                            gyre_op *op, bool join) {
  if (!info_in) return GYRE_ERR_INVALID;
  const gyre_client_info info = read_record(info_in);
  Shard &shard = shard_for(view(channel));
  std::string payload = join ? "__j__" : "__l__";
  encode_info(payload, info);
  const std::string pubsub = client_channel(view(channel));
  const char *argv[] = {"PUBLISH", pubsub.data(), payload.data()};
  size_t lens[] = {7, pubsub.size(), payload.size()};
  bool sent = shard.send(pubsub, 3, argv, lens, [this, op](redisReply *r) {
    if (!failed(op, r)) api_->complete(op, GYRE_OK, gyre_str{nullptr, 0});
  });
  return sent ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
}

gyre_status RedisEngine::history(gyre_str channel_in, const gyre_history_filter *filter_in,
                                 gyre_op *op) {
  if (!filter_in) return GYRE_ERR_INVALID;
  const std::string_view channel = view(channel_in);
  const gyre_history_filter f = read_record(filter_in);
  bool include = f.limit != 0;
  uint64_t from = 0;  // the first offset wanted, in the filter's direction
  if (f.has_since) {
    if (!f.reverse) {
      from = f.since_offset + 1;
    } else if (f.since_offset <= 1) {
      include = false;  // nothing before offset 1
    } else {
      from = f.since_offset - 1;
    }
  }
  std::vector<std::string> args{
      key("stream", channel),
      key("stream.meta", channel),
      include ? "1" : "0",
      std::to_string(from),
      f.limit < 0 ? std::string("0") : std::to_string(f.limit),
      f.reverse ? "1" : "0",
      std::to_string(f.history_meta_ttl_s ? f.history_meta_ttl_s : kDefaultMetaTtlS),
      fresh_epoch(),
  };
  bool sent =
      eval(shard_for(channel), scripts_.history, std::move(args), 2, [this, op](redisReply *r) {
        if (failed(op, r)) return;
        uint64_t top = 0;
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || !reply_u64(r->element[0], top)) {
          api_->complete(op, GYRE_ERR_INTERNAL, to_gyre("unexpected script reply"));
          return;
        }
        size_t n = 0;
        const redisReply *entries = r->elements >= 3 ? r->element[2] : nullptr;
        if (entries && entries->type == REDIS_REPLY_ARRAY) n = entries->elements;
        if (page_.size() < n) page_.resize(n);
        page_ptrs_.clear();
        for (size_t i = 0; i < n; ++i) {
          const redisReply *e = entries->element[i];
          if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
              e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
          std::string_view id(e->element[0]->str, e->element[0]->len);
          uint64_t offset = 0;
          auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), offset);
          if (ec != std::errc() || offset == 0) continue;
          const redisReply *fields = e->element[1];
          for (size_t j = 0; j + 1 < fields->elements; j += 2) {
            if (reply_text(fields->element[j]) != "d") continue;
            DecodedPublication &d = page_[page_ptrs_.size()];
            if (!decode_publication(reply_text(fields->element[j + 1]), d)) break;
            d.pub.offset = offset;
            if (d.pub.info) d.pub.info = &d.info;
            d.pub.tags = d.tags.data();
            page_ptrs_.push_back(&d.pub);
            break;
          }
        }
        std::string_view epoch = reply_text(r->element[1]);
        const gyre_stream_position pos{top, to_gyre(epoch)};
        api_->complete_history(op, page_ptrs_.data(), page_ptrs_.size(), &pos);
      });
  return sent ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
}

gyre_status RedisEngine::remove_history(gyre_str channel, gyre_op *op) {
  std::string stream = key("stream", view(channel));
  const char *argv[] = {"DEL", stream.data()};
  size_t lens[] = {3, stream.size()};
  bool sent = shard_for(view(channel)).send(stream, 2, argv, lens, [this, op](redisReply *r) {
    if (!failed(op, r)) api_->complete(op, GYRE_OK, gyre_str{nullptr, 0});
  });
  return sent ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
}

gyre_status RedisEngine::presence_add(gyre_str channel_in, const gyre_client_info *info_in,
                                      uint32_t ttl_s, gyre_op *op) {
  if (!info_in) return GYRE_ERR_INVALID;
  const std::string_view channel = view(channel_in);
  const gyre_client_info info = read_record(info_in);
  std::string body;
  encode_info(body, info);
  std::vector<std::string> args{
      key("presence.expire", channel),
      key("presence.data", channel),
      std::to_string(ttl_s),
      ttl_s ? std::to_string(now_ms() / 1000 + ttl_s) : std::string("+inf"),
      std::string(view(info.client)),
      std::move(body),
  };
  bool sent = eval(shard_for(channel), scripts_.presence_add, std::move(args), 2,
                   [this, op](redisReply *r) {
                     if (!failed(op, r)) api_->complete(op, GYRE_OK, gyre_str{nullptr, 0});
                   });
  return sent ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
}

gyre_status RedisEngine::presence_remove(gyre_str channel_in, gyre_str client_id, gyre_op *op) {
  const std::string_view channel = view(channel_in);
  std::vector<std::string> args{key("presence.expire", channel), key("presence.data", channel),
                                std::string(view(client_id))};
  bool sent = eval(shard_for(channel), scripts_.presence_remove, std::move(args), 2,
                   [this, op](redisReply *r) {
                     if (!failed(op, r)) api_->complete(op, GYRE_OK, gyre_str{nullptr, 0});
                   });
  return sent ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
}

gyre_status RedisEngine::presence_get(gyre_str channel_in, gyre_op *op, bool stats) {
  const std::string_view channel = view(channel_in);
  std::vector<std::string> args{key("presence.expire", channel), key("presence.data", channel),
                                std::to_string(now_ms() / 1000)};
  bool sent = eval(shard_for(channel), scripts_.presence_get, std::move(args), 2,
                   [this, op, stats](redisReply *r) {
                     if (failed(op, r)) return;
                     if (r->type != REDIS_REPLY_ARRAY) {
                       api_->complete(op, GYRE_ERR_INTERNAL, to_gyre("unexpected script reply"));
                       return;
                     }
                     std::vector<gyre_client_info> infos;
                     infos.reserve(r->elements / 2);
                     for (size_t i = 0; i + 1 < r->elements; i += 2) {
                       gyre_client_info info{};
                       if (decode_info(reply_text(r->element[i + 1]), info)) infos.push_back(info);
                     }
                     if (stats) {
                       std::unordered_set<std::string_view> users;
                       for (const auto &i : infos) users.insert(view(i.user));
                       api_->complete_presence_stats(op, static_cast<uint32_t>(infos.size()),
                                                     static_cast<uint32_t>(users.size()));
                       return;
                     }
                     std::vector<const gyre_client_info *> ptrs;
                     ptrs.reserve(infos.size());
                     for (const auto &i : infos) ptrs.push_back(&i);
                     api_->complete_presence(op, ptrs.data(), ptrs.size());
                   });
  return sent ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
}

gyre_status RedisEngine::publish_control(gyre_str node, gyre_str data, gyre_op *op) {
  if (data.len > kMaxControlBytes) return GYRE_ERR_INVALID;
  std::string channel =
      node.len == 0 ? control_channel_ : settings_.prefix + ".node." + std::string(view(node));
  const char *argv[] = {"PUBLISH", channel.data(), data.ptr ? data.ptr : ""};
  size_t lens[] = {7, channel.size(), data.len};
  bool sent = shards_[0]->send({}, 3, argv, lens, [this, op](redisReply *r) {
    if (!failed(op, r)) api_->complete(op, GYRE_OK, gyre_str{nullptr, 0});
  });
  return sent ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
}

void RedisEngine::on_message(std::string_view channel, std::string_view payload) {
  if (channel == control_channel_ || channel == node_channel_) {
    if (payload.size() <= kMaxControlBytes) api_->handle_control(host_, to_gyre(payload));
    return;
  }
  const std::string_view name = channel_of(channel);
  if (name.empty()) return;
  const gyre_str ch = to_gyre(name);
  Frame frame;
  bool ok = parse_frame(payload, frame);
  if (ok && frame.kind == FrameKind::Publication && decode_publication(frame.body, decoded_)) {
    decoded_.pub.offset = frame.offset;
    const gyre_stream_position pos{frame.offset, to_gyre(frame.epoch)};
    api_->handle_publication(host_, ch, &decoded_.pub, &pos, nullptr);
    return;
  }
  gyre_client_info info{};
  if (ok && frame.kind != FrameKind::Publication && decode_info(frame.body, info)) {
    if (frame.kind == FrameKind::Join)
      api_->handle_join(host_, ch, &info);
    else
      api_->handle_leave(host_, ch, &info);
    return;
  }
  // Not ours (another program on the same prefix) or damaged: count, and
  // say so now and then.
  if (malformed_++ % 1000 == 0) {
    std::string msg = "dropped a malformed PUB/SUB message on " + std::string(channel) + " (" +
                      std::to_string(malformed_) + " so far)";
    log(GYRE_LOG_WARN, msg);
  }
}

void RedisEngine::on_resubscribed(std::string_view redis_channel) {
  const std::string_view name = channel_of(redis_channel);
  if (!name.empty()) api_->handle_resync(host_, to_gyre(name));
}

}  // namespace gyre::redis
