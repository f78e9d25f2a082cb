// Client: connect (credentials from the auth chain or the host's own rules,
// connect-time server-side subscriptions), refresh and sub_refresh, and the
// expiry of connections and subscriptions.
#include <strings.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "client.h"
#include "log.h"
#include "node.h"
#include "proxy.h"
#include "worker.h"

namespace gyre {

using protocol::Command;
using protocol::Method;

namespace {

void str_field(const json::Value &params, std::string_view key, std::string &out) {
  auto v = params.get(key);
  if (v.is_string()) out = v.as_string();
}

// The most connect-time entries (connect.subs, connect.headers) read from
// one command: more is not a real client.
constexpr size_t kMaxConnectEntries = 1024;

// A ttl as the protocol carries it (uint32 seconds, at least 1).
uint64_t ttl_seconds(int64_t expire_at_ms, int64_t now_ms) {
  int64_t ttl = (expire_at_ms - now_ms + 999) / 1000;
  return static_cast<uint64_t>(std::clamp<int64_t>(ttl, 1, UINT32_MAX));
}

}  // namespace

struct Client::ConnectParams {
  std::string token, data, name, version;
  HeaderList emulated_headers;
  // connect.subs: where the client stands in its server-side subscriptions.
  struct Position {
    bool recover = false;
    uint64_t offset = 0;
    std::string epoch;
  };
  std::map<std::string, Position> positions;
};

AuthRequest Client::auth_request(AuthKind kind) const {
  AuthRequest r;
  r.kind = kind;
  r.client = std::string(id());
  r.user = user_;
  r.transport = std::string(transport_.name());
  r.info = conn_info_;
  r.expire_at = expire_at_ms_ / 1000;
  return r;
}

void Client::handle_uni_connect(std::string_view request) {
  // Only the first one counts; a unidirectional peer sends nothing else.
  if (state_ != State::Connecting || busy_ || connect_failed_) return;
  std::string line = "{\"id\":1,\"connect\":";
  size_t start = line.size();
  line += request.empty() ? std::string_view("{}") : request;
  // The request may be pretty-printed; raw newlines are whitespace there.
  for (size_t i = start; i < line.size(); ++i)
    if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
  line += '}';
  handle_frame(line);
}

void Client::cmd_connect(const Command &cmd, Done done) {
  const Config &cfg = node().config();
  ConnectParams p;
  str_field(cmd.params, "token", p.token);
  // The SDK's name and version are only logged and shown to auth plugins.
  str_field(cmd.params, "name", p.name);
  str_field(cmd.params, "version", p.version);
  if (auto data = cmd.params.get("data")) p.data = std::string(data.raw());
  if (auto headers = cmd.params.get("headers"); headers.is_object()) {
    for (auto h = headers.first_child(); h && p.emulated_headers.size() < kMaxConnectEntries;
         h = h.next_sibling())
      if (h.is_string()) p.emulated_headers.emplace_back(h.key(), h.as_string());
  }
  if (auto subs = cmd.params.get("subs"); subs.is_object()) {
    for (auto s = subs.first_child(); s && p.positions.size() < kMaxConnectEntries;
         s = s.next_sibling()) {
      ConnectParams::Position pos;
      pos.recover = s.get("recover").is_bool() && s.get("recover").as_bool();
      if (auto off = s.get("offset").as_uint64()) pos.offset = *off;
      str_field(s, "epoch", pos.epoch);
      p.positions[s.key()] = std::move(pos);
    }
  }
  // The id comes first: auth plugins see it.
  std::string new_id = node().new_client_id();
  id_len_ = static_cast<uint8_t>(std::min(new_id.size(), sizeof id_));
  std::memcpy(id_, new_id.data(), id_len_);
  keep_proxy_headers(p.emulated_headers);
  // Without a token the backend decides, when a connect proxy is set
  // (spec §5.6); a token goes to the auth plugins only.
  if (p.token.empty() && cfg.proxy.connect.enabled) return connect_via_proxy(cmd.id, p, done);
  Auth &auth = node().auth();
  if (!cfg.client_insecure && auth.wants(AuthKind::Connect, !p.token.empty())) {
    AuthRequest r = auth_request(AuthKind::Connect);
    r.token = p.token;
    r.data = p.data;
    r.name = p.name;
    r.version = p.version;
    if (const auto *h = transport_.request_headers()) r.headers = *h;
    r.emulated_headers = p.emulated_headers;
    auto alive = alive_;
    uint32_t id = cmd.id;
    auth.decide(std::move(r), [this, alive, id, p = std::move(p), done](AuthDecision d) mutable {
      if (!*alive) return done();
      connect_decided(id, p, std::move(d), std::move(done));
    });
    return;
  }
  connect_decided(cmd.id, p, AuthDecision{}, std::move(done));
}

void Client::keep_proxy_headers(const HeaderList &emulated) {
  const ProxyConfig &pc = node().config().proxy;
  if (pc.kept_http_headers.empty() && pc.kept_emulated_headers.empty()) return;
  auto kept = std::make_unique<KeptHeaders>();
  auto listed = [](const std::vector<std::string> &names, const std::string &k) {
    for (const auto &n : names)
      if (strcasecmp(n.c_str(), k.c_str()) == 0) return true;
    return false;
  };
  if (const HeaderList *h = transport_.request_headers())
    for (const auto &[k, v] : *h)
      if (listed(pc.kept_http_headers, k)) kept->transport.emplace_back(k, v);
  for (const auto &[k, v] : emulated)
    if (listed(pc.kept_emulated_headers, k)) kept->emulated.emplace_back(k, v);
  kept_headers_ = std::move(kept);
}

void Client::set_meta(const std::string &meta) {
  if (meta.empty()) return;
  if (!meta_ || *meta_ != meta) meta_ = std::make_unique<const std::string>(meta);
}

ProxyCaller Client::proxy_caller(const ProxyEndpoint &p) const {
  return ProxyCaller{id(), transport_.name(), user_, meta_for(p), p.binary_encoding};
}

HttpHeaders Client::headers_for(const ProxyEndpoint &p) const {
  if (!kept_headers_) return proxy_headers(p, nullptr, {});
  return proxy_headers(p, &kept_headers_->transport, kept_headers_->emulated);
}

void Client::connect_via_proxy(uint32_t id, const ConnectParams &p, Done done) {
  const ProxyEndpoint &ep = node().config().proxy.connect;
  ProxyCaller caller{this->id(), transport_.name(), {}, {}, ep.binary_encoding};
  std::string body = connect_proxy_request(caller, p.name, p.version, p.data);
  HttpHeaders headers = proxy_headers(ep, transport_.request_headers(), p.emulated_headers);
  auto alive = alive_;
  worker_.http_client().post(
      ep.url, headers, std::move(body), ep.timeout_ms,
      [this, alive, id, p, done](BackendResponse r) mutable {
        if (!*alive) return done();
        AuthDecision d = connect_proxy_decision(r, &node().config().proxy.connect);
        if (d.outcome == AuthDecision::Outcome::Failed)
          LOG_WARN("connect proxy %s: %s", node().config().proxy.connect.url.text.c_str(),
                   d.reason.c_str());
        connect_decided(id, p, std::move(d), std::move(done));
      });
}

void Client::refresh_via_proxy() {
  const ProxyEndpoint &ep = node().config().proxy.refresh;
  refreshing_ = true;
  ProxyCaller caller = proxy_caller(ep);
  auto alive = alive_;
  worker_.http_client().post(ep.url, proxy_headers(ep, nullptr, {}), refresh_proxy_request(caller),
                             ep.timeout_ms, [this, alive](BackendResponse r) {
                               if (!*alive) return;
                               AuthDecision d = refresh_proxy_decision(r, user_);
                               if (d.outcome == AuthDecision::Outcome::Failed) {
                                 // A backend outage never disconnects: try again in a minute.
                                 LOG_WARN("refresh proxy %s: %s (retried in 60s)",
                                          node().config().proxy.refresh.url.text.c_str(),
                                          d.reason.c_str());
                                 refreshing_ = false;
                                 set_expire_at(worker_.loop().now_ms() + 60000);
                                 return;
                               }
                               refresh_decided(0, std::move(d), true);
                             });
}

void Client::connect_error(uint32_t id, const Error &e) {
  if (!unidirectional()) return reply_error(id, e);
  // A unidirectional peer cannot read replies: Centrifugo's mapping.
  switch (e.code) {
    case 109:
    case 110: return disconnect(disconnects::kExpired);
    case 111: return disconnect(disconnects::kTooManyRequests);
    case 103: return disconnect(disconnects::kPermissionDenied);
    default: return disconnect(disconnects::kInternal);
  }
}

void Client::deny(uint32_t id, const AuthDecision &d) {
  if (d.code >= 3000) return disconnect(Disconnect{d.code, d.reason});
  Error e{d.code, d.reason, d.temporary};
  if (state_ == State::Connecting) return connect_error(id, e);
  reply_error(id, e);
}

void Client::connect_decided(uint32_t id, const ConnectParams &p, AuthDecision d, Done done) {
  using Outcome = AuthDecision::Outcome;
  const Config &cfg = node().config();
  transport_.drop_request_headers();
  if (state_ != State::Connecting) return done();  // closed meanwhile (stale, shutdown)
  switch (d.outcome) {
    case Outcome::Failed:
      connect_failed_ = true;
      connect_error(id, errors::kInternal);
      return done();
    case Outcome::Denied:
      connect_failed_ = true;
      deny(id, d);
      return done();
    case Outcome::Granted:
      user_ = d.user;
      conn_info_ = d.info;
      set_meta(d.meta);
      expire_at_ms_ = d.expire_at * 1000;
      // A refresh proxy refreshes every connection itself (spec §5.6).
      client_side_refresh_ = d.client_side_refresh && !cfg.proxy.refresh.enabled;
      if (d.expire_at > 0 && expire_at_ms_ <= worker_.loop().now_ms()) {
        connect_failed_ = true;
        connect_error(id, errors::kExpired);
        return done();
      }
      break;
    case Outcome::Declined:
      // The host's own rules. A token that no auth plugin took cannot be
      // verified, so it is an invalid token, unless the server runs
      // insecure (it then trusts everyone and ignores tokens).
      if (cfg.client_insecure) {
        user_.clear();
      } else if (!p.token.empty()) {
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
      break;
  }
  finish_connect(id, p, d, std::move(done));
}

void Client::finish_connect(uint32_t id, const ConnectParams &p, const AuthDecision &d, Done done) {
  const Config &cfg = node().config();
  // Connect-time server-side subscriptions go into the reply (spec §9.1:
  // all of them, before it). Each must resolve (spec §4.2: else 102), and
  // that is known before the client counts as connected.
  struct Planned {
    const ChannelOptions *opts;
    SubscribeRequest req;
    SubscriptionGrant grant;
    const GrantedSub *g;
  };
  std::vector<Planned> planned;
  std::set<std::string_view> seen;
  for (const GrantedSub &g : d.subs) {
    const ChannelOptions *opts = cfg.channel.resolve(g.channel);
    if (g.channel.empty() || !opts || !cfg.channel.name_valid(g.channel, *opts) ||
        static_cast<int64_t>(g.channel.size()) > cfg.channel.max_length) {
      LOG_DEBUG("client %.*s: server-side subscription to \"%s\": unknown channel",
                static_cast<int>(id_len_), id_, g.channel.c_str());
      connect_failed_ = true;
      connect_error(id, errors::kUnknownChannel);
      return done();
    }
    if (!seen.insert(g.channel).second) continue;
    if (cfg.channel_limit > 0 && static_cast<int64_t>(planned.size()) >= cfg.channel_limit) {
      connect_failed_ = true;
      disconnect(disconnects::kChannelLimit);
      return done();
    }
    Planned pl{opts, {}, {}, &g};
    pl.req.channel = g.channel;
    if (auto it = p.positions.find(g.channel); it != p.positions.end()) {
      pl.req.recover = it->second.recover;
      pl.req.offset = it->second.offset;
      pl.req.epoch = it->second.epoch;
    }
    pl.grant.override_mask = g.override_mask;
    pl.grant.override_values = g.override_values;
    pl.grant.expire_at_ms = g.expire_at * 1000;
    pl.grant.client_side_refresh = g.client_side_refresh;
    planned.push_back(std::move(pl));
  }
  if (!worker_.client_connected(*this)) {
    connect_failed_ = true;
    disconnect(disconnects::kConnectionLimit);
    return done();
  }
  state_ = State::Connected;
  timer_.stop();
  if (expire_at_ms_ > 0) worker_.track_expiry(*this);
  LOG_DEBUG("client %.*s connected (user \"%s\", %s %s, %.*s)", static_cast<int>(id_len_), id_,
            user_.c_str(), p.name.c_str(), p.version.c_str(),
            static_cast<int>(transport_.name().size()), transport_.name().data());

  std::string data = d.data;
  if (planned.empty()) {
    write_connect_reply(id, d, {});
    if (state_ == State::Connected) schedule_first_ping();
    return done();
  }
  auto collect = std::make_shared<ConnectSubs>();
  // One more than there are subscriptions, dropped after they all started:
  // the memory engine answers synchronously.
  collect->pending = planned.size() + 1;
  auto alive = alive_;
  // Shared, not copied into every subscription's continuation.
  auto credentials = std::make_shared<const AuthDecision>(d);
  auto one_done = [this, alive, collect, id, credentials, done]() {
    if (--collect->pending > 0) return;
    if (!*alive) return done();
    if (collect->failed) {
      // A failed server-side subscription fails the connect.
      disconnect(disconnects::kInternal);
      return done();
    }
    write_connect_reply(id, *credentials, collect->results);
    for (const auto &[channel, gen] : collect->subs) {
      if (!*alive || state_ != State::Connected) break;
      // Gone meanwhile (API unsubscribe)? Then there is nothing to start.
      if (ClientSubscription *sub = find_live(channel, gen)) activate_subscription(sub);
    }
    if (*alive && state_ == State::Connected) schedule_first_ping();
    done();
  };
  for (auto &pl : planned)
    start_subscription(0, pl.req, *pl.opts, {}, true, pl.g->info, pl.g->data, one_done, pl.grant,
                       collect);
  one_done();
}

void Client::write_connect_reply(uint32_t cmd_id, const AuthDecision &d,
                                 const std::vector<std::pair<std::string, std::string>> &subs) {
  const Config &cfg = node().config();
  uint32_t flags = transport_.stream_flags();
  bool uni = flags & GYRE_STREAM_UNIDIRECTIONAL;
  std::string result;
  json::Writer w(result);
  w.begin_object().field("client", id()).field("version", node().version());
  if (expire_at_ms_ > 0 && client_side_refresh_)
    w.field_bool("expires", true)
        .field_uint("ttl", ttl_seconds(expire_at_ms_, worker_.loop().now_ms()));
  if (!d.data.empty()) w.field_raw("data", d.data);
  if (!subs.empty()) {
    w.key("subs").begin_object();
    for (const auto &[channel, body] : subs) w.field_raw(channel, body);
    w.end_object();
  }
  if (cfg.ping_interval_ms > 0) {
    w.field_uint("ping", static_cast<uint64_t>(
                             cfg.ping_interval_ms / 1000 > 0 ? cfg.ping_interval_ms / 1000 : 1));
    if (cfg.pong_timeout_ms > 0 && !uni) w.field_bool("pong", true);
  }
  if (!transport_.session_id().empty()) w.field("session", transport_.session_id());
  if (flags & GYRE_STREAM_EMULATION) w.field("node", node().uid());
  if (cfg.connect_include_server_time) w.key("time").int64(worker_.loop().now_ms());
  w.end_object();
  if (!uni) return reply_result(cmd_id, Method::Connect, result);
  // A unidirectional peer gets the result as a connect push.
  std::string push = "{\"connect\":";
  push += result;
  push += '}';
  write(push);
}

void Client::schedule_first_ping() {
  const Config &cfg = node().config();
  if (cfg.ping_interval_ms <= 0) return;
  // The first ping comes after a random delay in [interval/2, interval], so
  // that clients reconnecting together do not ping together.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t half = cfg.ping_interval_ms / 2;
  std::uniform_int_distribution<int64_t> dist(half, cfg.ping_interval_ms);
  timer_.start(worker_.loop().wheel(), dist(rng));
}

void Client::cmd_refresh(const Command &cmd, Done done) {
  std::string token;
  str_field(cmd.params, "token", token);
  if (token.empty() || (expire_at_ms_ > 0 && !client_side_refresh_)) {
    // No token, or the server refreshes this connection itself.
    disconnect(disconnects::kBadRequest);
    return done();
  }
  Auth &auth = node().auth();
  if (!auth.wants(AuthKind::Refresh, true)) {
    // No auth plugin verifies tokens, so no token can be valid.
    disconnect(disconnects::kInvalidToken);
    return done();
  }
  AuthRequest r = auth_request(AuthKind::Refresh);
  r.token = std::move(token);
  auto alive = alive_;
  uint32_t id = cmd.id;
  auth.decide(std::move(r), [this, alive, id, done](AuthDecision d) {
    if (*alive) refresh_decided(id, std::move(d), false);
    done();
  });
}

void Client::refresh_decided(uint32_t cmd_id, AuthDecision d, bool by_host) {
  using Outcome = AuthDecision::Outcome;
  if (by_host) refreshing_ = false;
  if (state_ != State::Connected) return;
  switch (d.outcome) {
    case Outcome::Failed:
      if (by_host) return disconnect(disconnects::kInternal);
      return reply_error(cmd_id, errors::kInternal);
    case Outcome::Denied:
      if (by_host && d.code < 3000) return disconnect(disconnects::kExpired);
      return deny(cmd_id, d);
    case Outcome::Declined:
      return disconnect(by_host ? disconnects::kExpired : disconnects::kInvalidToken);
    case Outcome::Granted: break;
  }
  if (d.user != user_) return disconnect(disconnects::kInvalidToken);
  int64_t now = worker_.loop().now_ms();
  if (d.expire_at > 0 && d.expire_at * 1000 <= now) {
    if (by_host) return disconnect(disconnects::kExpired);
    return reply_error(cmd_id, errors::kExpired);
  }
  set_meta(d.meta);  // none in the answer keeps the current one
  if (!d.info.empty() && d.info != conn_info_) {
    conn_info_ = d.info;
    // Others see the new info at once, not at the next presence update.
    const Config &cfg = node().config();
    for (const auto &sub : subs_)
      refresh_presence(*sub, static_cast<uint32_t>(cfg.presence_ttl_ms / 1000));
  }
  // The client was not asked in a refresh by the host and is not told:
  // the host goes on refreshing it.
  client_side_refresh_ = by_host ? false : d.client_side_refresh;
  set_expire_at(d.expire_at * 1000);
  if (by_host) return;
  std::string result;
  json::Writer w(result);
  w.begin_object().field("client", id()).field("version", node().version());
  if (expire_at_ms_ > 0 && client_side_refresh_)
    w.field_bool("expires", true).field_uint("ttl", ttl_seconds(expire_at_ms_, now));
  w.end_object();
  reply_result(cmd_id, Method::Refresh, result);
}

void Client::cmd_sub_refresh(const Command &cmd, Done done) {
  std::string channel, token;
  str_field(cmd.params, "channel", channel);
  str_field(cmd.params, "token", token);
  if (channel.empty()) {
    disconnect(disconnects::kBadRequest);
    return done();
  }
  ClientSubscription *sub = find_sub(channel);
  if (!sub) {
    reply_error(cmd.id, errors::kPermissionDenied);
    return done();
  }
  if (token.empty()) {
    reply_error(cmd.id, errors::kBadRequest);
    return done();
  }
  if (sub->expire_at_ms > 0 && !sub->client_side_refresh) {
    disconnect(disconnects::kBadRequest);  // the server refreshes it itself
    return done();
  }
  Auth &auth = node().auth();
  if (!auth.wants(AuthKind::SubRefresh, true)) {
    disconnect(disconnects::kInvalidToken);
    return done();
  }
  AuthRequest r = auth_request(AuthKind::SubRefresh);
  r.channel = channel;
  r.token = std::move(token);
  auto alive = alive_;
  uint32_t id = cmd.id;
  uint32_t gen = sub->gen;
  auth.decide(std::move(r), [this, alive, id, channel, gen, done](AuthDecision d) {
    if (*alive) sub_refresh_decided(id, channel, gen, std::move(d), false);
    done();
  });
}

void Client::sub_refresh_decided(uint32_t id, const std::string &channel, uint32_t gen,
                                 AuthDecision d, bool by_host) {
  using Outcome = AuthDecision::Outcome;
  // The subscription asked about, not a newer one of the same channel.
  ClientSubscription *sub = find_live(channel, gen);
  if (!sub || state_ != State::Connected) return;
  if (by_host) sub->refreshing = false;
  int64_t now = worker_.loop().now_ms();
  bool granted = d.outcome == Outcome::Granted;
  bool expired = granted && d.sub.expire_at > 0 && d.sub.expire_at * 1000 <= now;
  if (by_host && (!granted || expired)) {
    if (d.outcome == Outcome::Denied && d.code >= 3000) return deny(id, d);
    return expire_subscription(*sub);
  }
  switch (d.outcome) {
    case Outcome::Failed: return reply_error(id, errors::kInternal);
    case Outcome::Denied: return deny(id, d);
    case Outcome::Declined: return disconnect(disconnects::kInvalidToken);
    case Outcome::Granted: break;
  }
  if (expired) return reply_error(id, errors::kExpired);
  if (!d.sub.info.empty() && d.sub.info != sub->chan_info) {
    sub->chan_info = d.sub.info;
    refresh_presence(*sub, static_cast<uint32_t>(node().config().presence_ttl_ms / 1000));
  }
  sub->expire_at_ms = d.sub.expire_at * 1000;
  sub->client_side_refresh = by_host ? false : d.sub.client_side_refresh;
  worker_.track_expiry(*this);
  if (by_host) return;
  std::string result;
  json::Writer w(result);
  w.begin_object();
  if (sub->expire_at_ms > 0 && sub->client_side_refresh)
    w.field_bool("expires", true).field_uint("ttl", ttl_seconds(sub->expire_at_ms, now));
  w.end_object();
  reply_result(id, Method::SubRefresh, result);
}

bool Client::has_expiry() const {
  if (expire_at_ms_ > 0) return true;
  for (const auto &s : subs_)
    if (s->expire_at_ms > 0) return true;
  return false;
}

void Client::expire_subscription(ClientSubscription &sub) {
  if (sub.server_side) return disconnect(disconnects::kSubExpired);
  std::string channel = sub.channel;
  server_unsubscribe(channel, unsubscribes::kExpired);
}

void Client::check_expiry(int64_t now) {
  if (state_ != State::Connected) return;
  const Config &cfg = node().config();
  Auth &auth = node().auth();
  auto alive = alive_;
  if (expire_at_ms_ > 0 && !refreshing_) {
    if (client_side_refresh_) {
      // The client had its ttl: it gets the grace period to refresh.
      if (now >= expire_at_ms_ + cfg.expired_close_delay_ms)
        return disconnect(disconnects::kExpired);
    } else if (now >= expire_at_ms_) {
      if (cfg.proxy.refresh.enabled) {
        refresh_via_proxy();
        if (!*alive || state_ != State::Connected) return;
      } else if (!auth.wants(AuthKind::Refresh, false)) {
        return disconnect(disconnects::kExpired);
      } else {
        refreshing_ = true;
        // On the node loop the plugin may answer at once, and end this client.
        auth.decide(auth_request(AuthKind::Refresh), [this, alive](AuthDecision d) {
          if (*alive) refresh_decided(0, std::move(d), true);
        });
        if (!*alive || state_ != State::Connected) return;
      }
    }
  }
  // What is due first; then each in turn, looked up again, since ending or
  // refreshing one (answered at once on the node loop) changes subs_.
  struct Due {
    std::string channel;
    uint32_t gen;
    bool refresh;
  };
  std::vector<Due> due;
  for (const auto &s : subs_) {
    const ClientSubscription &sub = *s;
    if (sub.expire_at_ms <= 0 || sub.refreshing || !sub.subscribed) continue;
    int64_t deadline =
        sub.expire_at_ms + (sub.client_side_refresh ? cfg.expired_sub_close_delay_ms : 0);
    if (now < deadline) continue;
    due.push_back({sub.channel, sub.gen, !sub.client_side_refresh});
  }
  for (const Due &d : due) {
    if (!*alive || state_ != State::Connected) return;
    ClientSubscription *sub = find_live(d.channel, d.gen);
    if (!sub) continue;
    if (d.refresh) {
      const ChannelOptions *o = cfg.channel.resolve(d.channel);
      if (o && o->sub_refresh_proxy_enabled) {
        sub_refresh_via_proxy(*sub, *o);
        continue;
      }
    }
    if (!d.refresh || !auth.wants(AuthKind::SubRefresh, false)) {
      expire_subscription(*sub);
      continue;
    }
    sub->refreshing = true;
    AuthRequest r = auth_request(AuthKind::SubRefresh);
    r.channel = d.channel;
    auth.decide(std::move(r), [this, alive, channel = d.channel, gen = d.gen](AuthDecision dec) {
      if (*alive) sub_refresh_decided(0, channel, gen, std::move(dec), true);
    });
  }
}

}  // namespace gyre
