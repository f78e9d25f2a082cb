// The command handlers of Client: connect, subscribe (with positioning and
// recovery), unsubscribe, publish, presence, history, refresh, sub_refresh.
#include <cstring>
#include <random>

#include "client.h"
#include "log.h"
#include "node.h"
#include "worker.h"

namespace gyre {

using protocol::Command;
using protocol::Method;

namespace {

std::string_view str_field(const json::Value &params, std::string_view key, std::string &storage) {
  auto v = params.get(key);
  if (!v.is_string()) return {};
  storage = v.as_string();
  return storage;
}

bool bool_field(const json::Value &params, std::string_view key) {
  auto v = params.get(key);
  return v.is_bool() && v.as_bool();
}

// A payload field as raw JSON (empty when absent or null-less).
std::string_view raw_field(const json::Value &params, std::string_view key) {
  auto v = params.get(key);
  return v ? v.raw() : std::string_view();
}

}  // namespace

void Client::cmd_connect(const Command &cmd, Done done) {
  const Config &cfg = node().config();
  std::string token;
  str_field(cmd.params, "token", token);
  // The SDK's name and version are only logged: not kept per connection.
  std::string client_name, client_version;
  str_field(cmd.params, "name", client_name);
  str_field(cmd.params, "version", client_version);
  // Credentials. Without an auth plugin no token can be verified, so a token
  // is an invalid token, unless the server runs insecure (it then trusts
  // everyone and ignores tokens).
  if (cfg.client_insecure) {
    user_.clear();
  } else if (!token.empty()) {
    connect_failed_ = true;
    disconnect(disconnects::kInvalidToken);
    return done();
  } else if (cfg.allow_anonymous_connect_without_token) {
    user_.clear();
  } else {
    connect_failed_ = true;
    LOG_DEBUG("connect without credentials refused");
    disconnect(disconnects::kBadRequest);
    return done();
  }
  std::string new_id = node().new_client_id();
  id_len_ = static_cast<uint8_t>(std::min(new_id.size(), sizeof id_));
  std::memcpy(id_, new_id.data(), id_len_);
  if (!worker_.client_connected(*this)) {
    connect_failed_ = true;
    disconnect(disconnects::kConnectionLimit);
    return done();
  }
  state_ = State::Connected;
  timer_.stop();
  LOG_DEBUG("client %.*s connected (user \"%s\", %s %s, %.*s)", static_cast<int>(id_len_), id_,
            user_.c_str(), client_name.c_str(), client_version.c_str(),
            static_cast<int>(transport_.name().size()), transport_.name().data());

  std::string result;
  json::Writer w(result);
  w.begin_object().field("client", id()).field("version", node().version());
  if (cfg.ping_interval_ms > 0) {
    w.field_uint("ping", static_cast<uint64_t>(
                             cfg.ping_interval_ms / 1000 > 0 ? cfg.ping_interval_ms / 1000 : 1));
    if (cfg.pong_timeout_ms > 0) w.field_bool("pong", true);
  }
  if (cfg.connect_include_server_time) w.key("time").int64(worker_.loop().now_ms());
  w.end_object();
  reply_result(cmd.id, Method::Connect, result);
  if (state_ != State::Connected) return done();

  if (cfg.ping_interval_ms > 0) {
    // The first ping comes after a random delay in [interval/2, interval], so
    // that clients reconnecting together do not ping together.
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    int64_t half = cfg.ping_interval_ms / 2;
    std::uniform_int_distribution<int64_t> dist(half, cfg.ping_interval_ms);
    timer_.start(worker_.loop().wheel(), dist(rng));
  }
  done();
}

bool Client::has_history_permission(const ChannelOptions &o, bool subscribed) const {
  bool anon_ok = !is_anonymous();
  if (o.allow_history_for_client && (anon_ok || o.allow_history_for_anonymous)) return true;
  if (o.allow_history_for_subscriber && subscribed && (anon_ok || o.allow_history_for_anonymous))
    return true;
  return node().config().client_insecure;
}

bool Client::has_presence_permission(const ChannelOptions &o, bool subscribed) const {
  bool anon_ok = !is_anonymous();
  if (o.allow_presence_for_client && (anon_ok || o.allow_presence_for_anonymous)) return true;
  if (o.allow_presence_for_subscriber && subscribed && (anon_ok || o.allow_presence_for_anonymous))
    return true;
  return node().config().client_insecure;
}

bool Client::read_channel(const Command &cmd, std::string &channel) {
  str_field(cmd.params, "channel", channel);
  if (channel.empty()) {
    disconnect(disconnects::kBadRequest);
    return false;
  }
  // Before any name check: channel_regex matching must never see more than
  // channel.max_length bytes.
  if (static_cast<int64_t>(channel.size()) > node().config().channel.max_length) {
    reply_error(cmd.id, errors::kBadRequest);
    return false;
  }
  return true;
}

const ChannelOptions *Client::resolve_channel(const Command &cmd, const std::string &channel) {
  const ChannelRules &rules = node().config().channel;
  const ChannelOptions *opts = rules.resolve(channel);
  if (!opts) {
    reply_error(cmd.id, errors::kUnknownChannel);
    return nullptr;
  }
  if (!rules.name_valid(channel, *opts)) {
    reply_error(cmd.id, errors::kBadRequest);
    return nullptr;
  }
  return opts;
}

const ChannelOptions *Client::channel_for(const Command &cmd, std::string &channel) {
  if (!read_channel(cmd, channel)) return nullptr;
  return resolve_channel(cmd, channel);
}

void Client::cmd_subscribe(const Command &cmd, Done done) {
  const Config &cfg = node().config();
  const ChannelRules &rules = cfg.channel;
  std::string channel, token;
  str_field(cmd.params, "token", token);
  if (!read_channel(cmd, channel)) return done();
  auto delta = cmd.params.get("delta");
  if (delta.is_string() && !delta.string_equals("") && !delta.string_equals("fossil")) {
    disconnect(disconnects::kBadRequest);
    return done();
  }
  auto type = cmd.params.get("type").as_int64();
  if (type && *type != 0) {
    // Map and shared-poll subscriptions are not implemented.
    reply_error(cmd.id, errors::kNotAvailable);
    return done();
  }
  if (find_sub(channel)) {
    reply_error(cmd.id, errors::kAlreadySubscribed);
    return done();
  }
  if (cfg.channel_limit > 0 && static_cast<int64_t>(subs_.size()) >= cfg.channel_limit) {
    reply_error(cmd.id, errors::kLimitExceeded);
    return done();
  }
  const ChannelOptions *opts = resolve_channel(cmd, channel);
  if (!opts) return done();
  // Permission, in Centrifugo's order (server-api spec §2.4).
  bool allowed = false;
  if (rules.is_private(channel) && token.empty()) {
    allowed = false;
  } else if (!token.empty()) {
    allowed = false;  // no subscription token verifier is loaded
  } else if (opts->allow_user_limited_channels && rules.is_user_limited(channel)) {
    allowed = rules.user_allowed(channel, user_);
  } else if (opts->allow_subscribe_for_client &&
             (!is_anonymous() || opts->allow_subscribe_for_anonymous)) {
    allowed = true;
  } else if (cfg.client_insecure) {
    allowed = true;
  }
  if (!allowed) {
    reply_error(cmd.id, errors::kPermissionDenied);
    return done();
  }

  // What the client asked for, where the namespace or its permissions allow
  // it (the force_* options apply in add_subscription).
  bool history_perm = has_history_permission(*opts, true);
  SubscriptionWants wants;
  wants.recoverable =
      bool_field(cmd.params, "recoverable") && (opts->allow_recovery || history_perm);
  wants.positioned =
      bool_field(cmd.params, "positioned") && (opts->allow_positioning || history_perm);
  wants.join_leave = bool_field(cmd.params, "join_leave") && has_presence_permission(*opts, true);

  SubscribeRequest req;
  req.channel = channel;
  req.recover = bool_field(cmd.params, "recover");
  if (auto off = cmd.params.get("offset").as_uint64()) req.offset = *off;
  str_field(cmd.params, "epoch", req.epoch);
  auto flag = cmd.params.get("flag").as_int64();
  req.reject_unrecovered = flag && (*flag & 2);
  start_subscription(cmd.id, req, *opts, wants, false, {}, {}, std::move(done));
}

void Client::start_subscription(uint32_t id, const SubscribeRequest &req,
                                const ChannelOptions &opts, SubscriptionWants wants,
                                bool server_side, std::string chan_info, std::string data,
                                Done done) {
  auto sub = std::make_unique<ClientSubscription>();
  sub->channel = req.channel;
  sub->server_side = server_side;
  sub->chan_info = std::move(chan_info);
  bool history = opts.history_enabled();
  sub->recoverable = history && (opts.force_recovery || wants.recoverable);
  sub->positioned = history && (sub->recoverable || opts.force_positioning || wants.positioned);
  sub->push_join_leave = opts.join_leave && (opts.force_push_join_leave || wants.join_leave);
  sub->presence = opts.presence && node().engine().has_presence();
  sub->join_leave = opts.join_leave;
  ClientSubscription *raw = sub.get();
  subs_.push_back(std::move(sub));
  bool first = worker_.hub().add_subscriber(req.channel, this, raw);
  const ChannelOptions *o = &opts;
  auto alive = alive_;
  auto go = [this, alive, id, req, o, raw, data, done]() mutable {
    if (!*alive) return done();
    finish_subscribe(id, req, *o, raw, data, std::move(done));
  };
  // The engine must deliver the channel to this worker first: the first
  // local subscriber asks for it, later ones wait while that is in flight.
  worker_.channel_used(req.channel, first,
                       [this, alive, id, channel = req.channel, raw, go, done](bool ok) mutable {
                         // The subscription may be gone meanwhile (API unsubscribe).
                         if (!*alive || find_sub(channel) != raw) return done();
                         if (!ok) {
                           // go() would touch the removed subscription: finish here instead.
                           remove_subscription(channel, false);
                           if (id)
                             reply_error(id, errors::kInternal);  // server-side ones fail silently
                           return done();
                         }
                         go();
                       });
}

void Client::finish_subscribe(uint32_t id, const SubscribeRequest &req, const ChannelOptions &opts,
                              ClientSubscription *sub, std::string_view data, Done done) {
  const Config &cfg = node().config();
  std::string channel = req.channel;
  auto alive = alive_;
  std::string data_copy(data);
  // Called when the position is known (or not needed): answer, then start
  // presence, join, and release publications buffered meanwhile.
  auto complete = [this, alive, id, channel, sub, done](const std::string &result, bool ok) {
    // The subscription may be gone (API unsubscribe, disconnect) while the
    // engine answered: then there is nothing left to finish.
    if (!*alive || find_sub(channel) != sub) return done();
    if (!ok) {
      remove_subscription(channel, false);
      if (id) write(result);  // server-side subscriptions fail silently
      return done();
    }
    if (id)
      reply_result(id, Method::Subscribe, result);
    else
      write(result);
    if (!*alive || state_ != State::Connected) return done();
    sub->subscribed = true;
    Engine &engine = node().engine();
    gyre_client_info info = info_for(sub);
    if (sub->presence)
      engine.presence_add(channel, info,
                          static_cast<uint32_t>(node().config().presence_ttl_ms / 1000),
                          [](const OpResult &) {});
    if (sub->join_leave) engine.publish_join(channel, info, [](const OpResult &) {});
    std::vector<ClientSubscription::Buffered> buffered;
    if (sub->buffered) buffered = std::move(sub->buffered->items);
    sub->buffered.reset();
    for (auto &b : buffered) {
      if (!*alive) break;
      if (sub->positioned && b.offset > 0 && b.offset <= sub->offset) continue;
      SharedPush push{std::move(b.json), {}};
      deliver_publication(*sub, push, b.offset, b.epoch);
      if (!find_sub(channel)) break;
    }
    done();
  };

  // Both are copied into the engine callback, which may run later: they
  // capture by value.
  auto write_fields = [sub, data_copy](json::Writer &w) {
    if (sub->recoverable) w.field_bool("recoverable", true);
    if (sub->positioned) w.field_bool("positioned", true);
    if (!data_copy.empty()) w.field_raw("data", data_copy);
  };
  auto wrap = [id, channel](const std::string &body) {
    // Server-side subscriptions travel as a subscribe push.
    if (id) return body;
    std::string out;
    json::Writer w(out);
    w.begin_object().key("push").begin_object().field("channel", channel);
    w.field_raw("subscribe", body).end_object().end_object();
    return out;
  };

  if (!sub->positioned) {
    std::string result;
    json::Writer w(result);
    w.begin_object();
    write_fields(w);
    w.end_object();
    return complete(wrap(result), true);
  }

  gyre_history_filter filter{};
  filter.size = sizeof filter;
  bool recovering = req.recover && sub->recoverable;
  if (recovering) {
    filter.has_since = true;
    filter.since_offset = req.offset;
    filter.limit = cfg.recovery_max_publication_limit > 0
                       ? static_cast<int32_t>(cfg.recovery_max_publication_limit)
                       : -1;
  } else {
    filter.limit = 0;
  }
  filter.history_meta_ttl_s = static_cast<uint32_t>(cfg.channel.meta_ttl_ms(opts) / 1000);
  bool was_recovering = req.recover;
  node().engine().history(
      channel, filter,
      [this, alive, id, req, sub, recovering, was_recovering, complete, write_fields,
       wrap](const OpResult &r) {
        if (!*alive || find_sub(req.channel) != sub) return complete("", false);
        if (r.status != GYRE_OK || !r.top) {
          return complete(protocol::error_reply(id, errors::kInternal), false);
        }
        std::string_view top_epoch = to_sv(r.top->epoch);
        uint64_t top = r.top->offset;
        bool recovered = false;
        if (recovering) {
          bool epoch_ok = req.epoch.empty() || req.epoch == top_epoch;
          if (epoch_ok) {
            if (r.num_pubs == 0)
              recovered = top == req.offset;
            else
              recovered =
                  r.pubs[0]->offset == req.offset + 1 && r.pubs[r.num_pubs - 1]->offset == top;
          }
          if (!recovered && req.reject_unrecovered)
            return complete(protocol::error_reply(id, errors::kUnrecoverablePosition), false);
        }
        sub->epoch = std::string(top_epoch);
        std::string result;
        json::Writer w(result);
        w.begin_object();
        write_fields(w);
        w.field("epoch", top_epoch);
        uint64_t reported = recovered ? req.offset : top;
        if (reported) w.field_uint("offset", reported);
        if (was_recovering) w.field_bool("was_recovering", true);
        if (recovered) {
          w.field_bool("recovered", true);
          if (r.num_pubs) {
            w.key("publications").begin_array();
            for (size_t i = 0; i < r.num_pubs; ++i) protocol::write_publication(w, *r.pubs[i]);
            w.end_array();
          }
        }
        w.end_object();
        sub->offset = recovered && r.num_pubs ? r.pubs[r.num_pubs - 1]->offset : top;
        complete(wrap(result), true);
      });
}

void Client::cmd_unsubscribe(const Command &cmd, Done done) {
  std::string channel;
  str_field(cmd.params, "channel", channel);
  if (channel.empty()) {
    disconnect(disconnects::kBadRequest);
    return done();
  }
  ClientSubscription *existing = find_sub(channel);
  if (existing && existing->server_side) {
    // Server-side subscriptions cannot be dropped by the client.
    reply_result(cmd.id, Method::Unsubscribe, "{}");
    return done();
  }
  remove_subscription(channel, true);
  reply_result(cmd.id, Method::Unsubscribe, "{}");
  done();
}

void Client::cmd_publish(const Command &cmd, Done done) {
  const Config &cfg = node().config();
  auto type = cmd.params.get("type").as_int64();
  if (type && *type != 0) {
    // Map publications are not implemented.
    reply_error(cmd.id, errors::kNotAvailable);
    return done();
  }
  std::string channel;
  const ChannelOptions *opts = channel_for(cmd, channel);
  if (!opts) return done();
  std::string_view data = raw_field(cmd.params, "data");
  if (!cfg.channel.data_format_ok(*opts, data)) {
    reply_error(cmd.id, errors::kBadRequest);
    return done();
  }
  ClientSubscription *own = find_sub(channel);
  bool subscribed = own != nullptr;
  bool anon_ok = !is_anonymous() || opts->allow_publish_for_anonymous;
  bool allowed = (opts->allow_publish_for_client && anon_ok) ||
                 (opts->allow_publish_for_subscriber && subscribed && anon_ok) ||
                 cfg.client_insecure;
  if (!allowed) {
    reply_error(cmd.id, errors::kPermissionDenied);
    return done();
  }
  gyre_client_info info = info_for(own);
  PublishRequest preq;
  preq.channel = channel;
  preq.data = data;
  preq.info = &info;
  uint32_t id = cmd.id;
  auto alive = alive_;
  node().publish(preq, *opts,
                 [this, alive, id, done](const Error *err, const gyre_publish_result *) {
                   if (*alive) {
                     if (err)
                       reply_error(id, *err);
                     else
                       reply_result(id, Method::Publish, "{}");
                   }
                   done();
                 });
}

void Client::cmd_presence(const Command &cmd, bool stats, Done done) {
  std::string channel;
  const ChannelOptions *opts = channel_for(cmd, channel);
  if (!opts) return done();
  if (!opts->presence || !node().engine().has_presence()) {
    reply_error(cmd.id, errors::kNotAvailable);
    return done();
  }
  if (!has_presence_permission(*opts, find_sub(channel) != nullptr)) {
    reply_error(cmd.id, errors::kPermissionDenied);
    return done();
  }
  uint32_t id = cmd.id;
  auto alive = alive_;
  auto cb = [this, alive, id, stats, done](const OpResult &r) {
    if (!*alive) return done();
    if (r.status != GYRE_OK) {
      reply_error(id, errors::kInternal);
      return done();
    }
    reply_result(id, stats ? Method::PresenceStats : Method::Presence,
                 stats ? Node::presence_stats_json(r) : Node::presence_json(r));
    done();
  };
  if (stats)
    node().engine().presence_stats(channel, cb);
  else
    node().engine().presence_get(channel, cb);
}

void Client::cmd_history(const Command &cmd, Done done) {
  const Config &cfg = node().config();
  std::string channel;
  const ChannelOptions *opts = channel_for(cmd, channel);
  if (!opts) return done();
  if (!opts->history_enabled()) {
    reply_error(cmd.id, errors::kNotAvailable);
    return done();
  }
  if (!has_history_permission(*opts, find_sub(channel) != nullptr)) {
    reply_error(cmd.id, errors::kPermissionDenied);
    return done();
  }
  HistoryRequest hreq;
  if (!Node::decode_history_request(cmd.params, false, hreq)) {
    reply_error(cmd.id, errors::kBadRequest);
    return done();
  }
  // The client protocol caps what one call returns.
  int64_t cap = cfg.history_max_publication_limit;
  if (cap > 0 && (hreq.limit < 0 || hreq.limit > cap)) hreq.limit = static_cast<int32_t>(cap);
  uint32_t id = cmd.id;
  auto alive = alive_;
  node().history(channel, *opts, hreq,
                 [this, alive, id, done](const Error *err, const std::string &json) {
                   if (*alive) {
                     if (err)
                       reply_error(id, *err);
                     else
                       reply_result(id, Method::History, json);
                   }
                   done();
                 });
}

void Client::cmd_refresh(const Command &cmd, Done done) {
  std::string token;
  str_field(cmd.params, "token", token);
  if (token.empty()) {
    disconnect(disconnects::kBadRequest);
    return done();
  }
  // No token verifier is loaded, so no token can be valid.
  disconnect(disconnects::kInvalidToken);
  done();
}

void Client::cmd_sub_refresh(const Command &cmd, Done done) {
  std::string channel, token;
  str_field(cmd.params, "channel", channel);
  str_field(cmd.params, "token", token);
  if (channel.empty()) {
    disconnect(disconnects::kBadRequest);
    return done();
  }
  if (!find_sub(channel)) {
    reply_error(cmd.id, errors::kPermissionDenied);
    return done();
  }
  if (token.empty()) {
    reply_error(cmd.id, errors::kBadRequest);
    return done();
  }
  disconnect(disconnects::kInvalidToken);
  done();
}

void Client::server_subscribe(std::string_view channel, std::string_view chan_info,
                              std::string_view data) {
  if (state_ != State::Connected) return;
  const ChannelOptions *opts = node().config().channel.resolve(channel);
  if (!opts) return;
  if (ClientSubscription *existing = find_sub(channel)) {
    // Already subscribed: update what can change.
    existing->chan_info = std::string(chan_info);
    return;
  }
  if (node().config().channel_limit > 0 &&
      static_cast<int64_t>(subs_.size()) >= node().config().channel_limit) {
    disconnect(disconnects::kChannelLimit);
    return;
  }
  SubscribeRequest req;
  req.channel = std::string(channel);
  start_subscription(0, req, *opts, {}, true, std::string(chan_info), std::string(data), [] {});
}

}  // namespace gyre
