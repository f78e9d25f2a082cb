// The command handlers of Client: subscribe (with positioning and
// recovery), unsubscribe, publish, presence, history; server-side
// subscriptions. Connect, refresh and expiry are in client_auth.cc.
#include <cstring>

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
  std::string channel;
  SubscribeParams p;
  str_field(cmd.params, "token", p.token);
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
  p.opts = resolve_channel(cmd, channel);
  if (!p.opts) return done();
  p.config = node().config_ref();
  p.data = std::string(raw_field(cmd.params, "data"));
  p.asked.recoverable = bool_field(cmd.params, "recoverable");
  p.asked.positioned = bool_field(cmd.params, "positioned");
  p.asked.join_leave = bool_field(cmd.params, "join_leave");
  p.req.channel = channel;
  p.req.recover = bool_field(cmd.params, "recover");
  if (auto off = cmd.params.get("offset").as_uint64()) p.req.offset = *off;
  str_field(cmd.params, "epoch", p.req.epoch);
  auto flag = cmd.params.get("flag").as_int64();
  p.req.reject_unrecovered = flag && (*flag & 2);
  Auth &auth = node().auth();
  if (!cfg.client_insecure && auth.wants(AuthKind::Subscribe, !p.token.empty())) {
    AuthRequest r = auth_request(AuthKind::Subscribe);
    r.channel = channel;
    r.token = p.token;
    r.data = p.data;
    auto alive = alive_;
    uint32_t id = cmd.id;
    auth.decide(std::move(r), [this, alive, id, p = std::move(p), done](AuthDecision d) mutable {
      if (!*alive) return done();
      subscribe_decided(id, p, std::move(d), std::move(done));
    });
    return;
  }
  subscribe_decided(cmd.id, p, AuthDecision{}, std::move(done));
}

void Client::subscribe_decided(uint32_t id, const SubscribeParams &p, AuthDecision d, Done done) {
  using Outcome = AuthDecision::Outcome;
  const Config &cfg = node().config();
  const ChannelRules &rules = cfg.channel;
  const ChannelOptions &opts = *p.opts;
  const std::string &channel = p.req.channel;
  if (state_ != State::Connected) return done();
  if (d.outcome == Outcome::Failed) {
    reply_error(id, errors::kInternal);
    return done();
  }
  if (d.outcome == Outcome::Denied) {
    deny(id, d);
    return done();
  }
  bool granted = d.outcome == Outcome::Granted;
  SubscriptionGrant grant;
  if (granted) {
    // The decision may have taken a while: a server-side subscribe of the
    // same channel may have arrived meanwhile.
    if (find_sub(channel)) {
      reply_error(id, errors::kAlreadySubscribed);
      return done();
    }
    if (d.sub.expire_at > 0 && d.sub.expire_at * 1000 <= worker_.loop().now_ms()) {
      reply_error(id, errors::kExpired);
      return done();
    }
    grant.override_mask = d.sub.override_mask;
    grant.override_values = d.sub.override_values;
    grant.expire_at_ms = d.sub.expire_at * 1000;
    grant.client_side_refresh = d.sub.client_side_refresh;
  } else {
    // Permission, in Centrifugo's order (server-api spec §2.4). A token
    // that no auth plugin took is not valid.
    bool allowed = false;
    if (rules.is_private(channel) && p.token.empty()) {
      allowed = false;
    } else if (!p.token.empty()) {
      allowed = false;
    } else if (opts.allow_user_limited_channels && rules.is_user_limited(channel)) {
      allowed = rules.user_allowed(channel, user_);
    } else if (opts.subscribe_proxy_enabled) {
      return subscribe_via_proxy(id, p, std::move(done));
    } else if (opts.allow_subscribe_for_client &&
               (!is_anonymous() || opts.allow_subscribe_for_anonymous)) {
      allowed = true;
    } else if (cfg.client_insecure) {
      allowed = true;
    }
    if (!allowed) {
      reply_error(id, errors::kPermissionDenied);
      return done();
    }
  }

  // What the client asked for, where the namespace or its permissions allow
  // it (the force_* options apply in start_subscription).
  bool history_perm = has_history_permission(opts, true);
  SubscriptionWants wants;
  wants.recoverable = p.asked.recoverable && (opts.allow_recovery || history_perm);
  wants.positioned = p.asked.positioned && (opts.allow_positioning || history_perm);
  wants.join_leave = p.asked.join_leave && has_presence_permission(opts, true);
  start_subscription(id, p.req, opts, wants, false, granted ? d.sub.info : std::string(),
                     granted ? d.sub.data : std::string(), std::move(done), grant, nullptr);
}

void Client::start_subscription(uint32_t id, const SubscribeRequest &req,
                                const ChannelOptions &opts, SubscriptionWants wants,
                                bool server_side, std::string chan_info, std::string data,
                                Done done, const SubscriptionGrant &grant,
                                std::shared_ptr<ConnectSubs> collect) {
  auto sub = std::make_unique<ClientSubscription>();
  sub->channel = req.channel;
  sub->server_side = server_side;
  sub->chan_info = std::move(chan_info);
  // An auth grant's `override` replaces the namespace's option bit by bit.
  auto pick = [&grant](uint32_t bit, bool option) {
    return (grant.override_mask & bit) ? (grant.override_values & bit) != 0 : option;
  };
  bool force_recovery = pick(GYRE_OVERRIDE_FORCE_RECOVERY, opts.force_recovery);
  bool force_positioning = pick(GYRE_OVERRIDE_FORCE_POSITIONING, opts.force_positioning);
  bool join_leave = pick(GYRE_OVERRIDE_JOIN_LEAVE, opts.join_leave);
  bool force_push = pick(GYRE_OVERRIDE_FORCE_PUSH_JOIN_LEAVE, opts.force_push_join_leave);
  bool history = opts.history_enabled();
  sub->recoverable = history && (force_recovery || wants.recoverable);
  sub->positioned = history && (sub->recoverable || force_positioning || wants.positioned);
  sub->push_join_leave = join_leave && (force_push || wants.join_leave);
  sub->presence = pick(GYRE_OVERRIDE_PRESENCE, opts.presence) && node().engine().has_presence();
  sub->join_leave = join_leave;
  sub->expire_at_ms = grant.expire_at_ms;
  sub->client_side_refresh = grant.client_side_refresh;
  sub->gen = ++next_gen_;
  ClientSubscription *raw = sub.get();
  uint32_t gen = raw->gen;
  subs_.push_back(std::move(sub));
  if (raw->expire_at_ms > 0) worker_.track_expiry(*this);
  bool first = worker_.hub().add_subscriber(req.channel, this, raw);
  const ChannelOptions *o = &opts;
  ConfigRef config = node().config_ref();  // keeps o
  auto alive = alive_;
  auto go = [this, alive, id, req, o, config, raw, data, done, collect]() mutable {
    if (!*alive) return done();
    finish_subscribe(id, req, *o, raw, data, std::move(done), collect);
  };
  // The engine must deliver the channel to this worker first: the first
  // local subscriber asks for it, later ones wait while that is in flight.
  worker_.channel_used(
      req.channel, first,
      [this, alive, id, channel = req.channel, raw, gen, go, done, collect](bool ok) mutable {
        // The subscription may be gone meanwhile (API unsubscribe).
        if (!*alive || find_live(channel, gen) != raw) return done();
        if (!ok) {
          // go() would touch the removed subscription: finish here instead.
          remove_subscription(channel, false);
          if (collect) collect->failed = true;
          if (id) reply_error(id, errors::kInternal);  // server-side ones fail silently
          return done();
        }
        go();
      });
}

void Client::activate_subscription(ClientSubscription *sub, bool presence_added) {
  if (state_ != State::Connected) return;
  auto alive = alive_;
  std::string channel = sub->channel;
  sub->subscribed = true;
  Engine &engine = node().engine();
  gyre_client_info info = info_for(sub);
  if (sub->presence && !presence_added)
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
    SharedPush push(std::move(b.json));
    deliver_publication(*sub, push, b.offset, b.epoch);
    if (!find_sub(channel)) break;
  }
}

void Client::finish_subscribe(uint32_t id, const SubscribeRequest &req, const ChannelOptions &opts,
                              ClientSubscription *sub, std::string_view data, Done done,
                              std::shared_ptr<ConnectSubs> collect) {
  const Config &cfg = node().config();
  std::string channel = req.channel;
  auto alive = alive_;
  std::string data_copy(data);
  uint32_t gen = sub->gen;
  // Called when the position is known (or not needed): answer, then start
  // presence, join, and release publications buffered meanwhile (for
  // connect-time subscriptions, after the connect reply).
  auto complete = [this, alive, id, channel, sub, gen, done, collect](const std::string &result,
                                                                      bool ok) {
    // The subscription may be gone (API unsubscribe, disconnect) while the
    // engine answered: then there is nothing left to finish.
    if (!*alive || find_live(channel, gen) != sub) return done();
    if (!ok) {
      remove_subscription(channel, false);
      if (collect)
        collect->failed = true;
      else if (id)
        write(result);  // server-side subscriptions fail silently
      return done();
    }
    if (collect) {
      collect->results.emplace_back(channel, result);
      collect->subs.emplace_back(channel, gen);
      return done();
    }
    auto answer = [this, alive, id, sub, done](const std::string &body) {
      if (id)
        reply_result(id, Method::Subscribe, body);
      else
        write(body);
      if (*alive) activate_subscription(sub, true);
      done();
    };
    if (!sub->presence) return answer(result);
    // As Centrifuge: presence is stored before the reply, so a presence
    // call right after a subscribe sees the client (with any engine).
    node().engine().presence_add(
        channel, info_for(sub), static_cast<uint32_t>(node().config().presence_ttl_ms / 1000),
        [this, alive, channel, gen, sub, answer, result, done](const OpResult &) {
          if (!*alive || find_live(channel, gen) != sub) return done();
          answer(result);
        });
  };

  // Both are copied into the engine callback, which may run later: they
  // capture by value.
  Loop *loop = &worker_.loop();
  auto write_fields = [sub, data_copy, loop](json::Writer &w) {
    if (sub->expire_at_ms > 0 && sub->client_side_refresh) {
      int64_t ttl = (sub->expire_at_ms - loop->now_ms() + 999) / 1000;
      w.field_bool("expires", true)
          .field_uint("ttl", static_cast<uint64_t>(std::max<int64_t>(ttl, 1)));
    }
    if (sub->recoverable) w.field_bool("recoverable", true);
    if (sub->positioned) w.field_bool("positioned", true);
    if (!data_copy.empty()) w.field_raw("data", data_copy);
  };
  auto wrap = [id, channel, collect](const std::string &body) {
    // Server-side subscriptions travel as a subscribe push (connect-time
    // ones in the connect reply).
    if (id || collect) return body;
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
      [this, alive, id, req, sub, gen, recovering, was_recovering, complete, write_fields,
       wrap](const OpResult &r) {
        if (!*alive || find_live(req.channel, gen) != sub) return complete("", false);
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
  // The publish proxy overrides every allow_publish_* option (spec §2.4).
  if (opts->publish_proxy_enabled)
    return publish_via_proxy(cmd.id, channel, *opts, std::string(data), std::move(done));
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
  start_subscription(
      0, req, *opts, {}, true, std::string(chan_info), std::string(data), [] {},
      SubscriptionGrant{}, nullptr);
}

}  // namespace gyre
