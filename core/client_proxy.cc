// The subscribe and publish proxies (spec server-api.md §5.4): the backend
// decides a client subscribe (after the private, token and user-limited
// rules) and every client publish (instead of the allow_publish_* options),
// and may change what is published.
#include "client.h"
#include "log.h"
#include "node.h"
#include "proxy.h"
#include "worker.h"

namespace gyre {

void Client::subscribe_via_proxy(uint32_t id, const SubscribeParams &p, Done done) {
  const ProxyEndpoint *ep = node().config().proxy.subscribe_proxy(p.opts->subscribe_proxy_name);
  if (!ep) {  // refused at startup; kept for safety
    reply_error(id, errors::kNotAvailable);
    return done();
  }
  ProxyCaller caller = proxy_caller(*ep);
  std::string body = subscribe_proxy_request(caller, p.req.channel, p.data);
  auto alive = alive_;
  worker_.http_client().post(
      ep->url, headers_for(*ep), std::move(body), ep->timeout_ms,
      [this, alive, id, p, ep, done](BackendResponse r) mutable {  // p.config keeps ep
        if (!*alive) return done();
        if (state_ != State::Connected) return done();
        AuthDecision d = subscribe_proxy_decision(r, ep);
        if (d.outcome == AuthDecision::Outcome::Failed) {
          LOG_WARN("subscribe proxy %s: %s", ep->url.text.c_str(), d.reason.c_str());
          reply_error(id, errors::kInternal);  // temporary: the SDK subscribes again
          return done();
        }
        // Client-asked recovery, positioning and join/leave are not applied
        // on the proxy path; the namespace's force_* options and the
        // backend's override are.
        SubscribeParams granted = p;
        granted.asked = SubscriptionWants{};
        subscribe_decided(id, granted, std::move(d), std::move(done));
      });
}

void Client::publish_via_proxy(uint32_t id, const std::string &channel, const ChannelOptions &opts,
                               std::string data, Done done) {
  const ProxyEndpoint *ep = node().config().proxy.publish_proxy(opts.publish_proxy_name);
  if (!ep) {
    reply_error(id, errors::kNotAvailable);
    return done();
  }
  ProxyCaller caller = proxy_caller(*ep);
  std::string body = channel_proxy_request(caller, channel, data);
  auto alive = alive_;
  const ChannelOptions *o = &opts;
  // Keeps o and ep alive should the namespaces change meanwhile.
  ConfigRef config = node().config_ref();
  worker_.http_client().post(
      ep->url, headers_for(*ep), std::move(body), ep->timeout_ms,
      [this, alive, id, channel, o, ep, config, data = std::move(data), done](BackendResponse r) {
        if (!*alive) return done();
        PublishProxyOutcome out = publish_proxy_outcome(r, ep);
        using Kind = PublishProxyOutcome::Kind;
        switch (out.kind) {
          case Kind::Error:
            reply_error(id, Error{out.code, out.message, out.temporary});
            return done();
          case Kind::Disconnect: disconnect(Disconnect{out.code, out.message}); return done();
          case Kind::Failed:
            LOG_WARN("publish proxy %s: %s", ep->url.text.c_str(), out.message.c_str());
            reply_error(id, errors::kInternal);
            return done();
          case Kind::Publish: break;
        }
        std::string published = out.data.empty() ? data : out.data;
        if (!node().config().channel.data_format_ok(*o, published)) {
          reply_error(id, errors::kBadRequest);
          return done();
        }
        gyre_client_info info = info_for(find_sub(channel));
        PublishRequest preq;
        preq.channel = channel;
        preq.data = published;
        preq.info = &info;
        preq.tags = std::move(out.tags);
        preq.idempotency_key = std::move(out.idempotency_key);
        preq.version = out.version;
        preq.version_epoch = std::move(out.version_epoch);
        preq.skip_history = out.skip_history;
        node().publish(preq, *o,
                       [this, alive, id, done](const Error *err, const gyre_publish_result *) {
                         if (*alive) {
                           if (err)
                             reply_error(id, *err);
                           else
                             reply_result(id, protocol::Method::Publish, "{}");
                         }
                         done();
                       });
      });
}

void Client::sub_refresh_via_proxy(ClientSubscription &sub, const ChannelOptions &opts) {
  const ProxyEndpoint *ep = node().config().proxy.sub_refresh_proxy(opts.sub_refresh_proxy_name);
  if (!ep) return expire_subscription(sub);
  sub.refreshing = true;
  ProxyCaller caller = proxy_caller(*ep);
  auto alive = alive_;
  std::string channel = sub.channel;
  uint32_t gen = sub.gen;
  ConfigRef config = node().config_ref();  // keeps ep
  worker_.http_client().post(ep->url, headers_for(*ep), channel_proxy_request(caller, channel, {}),
                             ep->timeout_ms,
                             [this, alive, channel, gen, ep, config](BackendResponse r) {
                               if (!*alive) return;
                               AuthDecision d = sub_refresh_proxy_decision(r);
                               if (d.outcome == AuthDecision::Outcome::Failed) {
                                 // A backend outage never ends the subscription: again in a minute.
                                 LOG_WARN("sub_refresh proxy %s: %s (retried in 60s)",
                                          ep->url.text.c_str(), d.reason.c_str());
                                 ClientSubscription *s = find_live(channel, gen);
                                 if (!s) return;
                                 s->refreshing = false;
                                 s->expire_at_ms = worker_.loop().now_ms() + 60000;
                                 worker_.track_expiry(*this);
                                 return;
                               }
                               // Expired or no result: the subscription ends (unsubscribe 2501).
                               if (d.outcome == AuthDecision::Outcome::Denied) d.code = 0;
                               sub_refresh_decided(0, channel, gen, std::move(d), true);
                             });
}

}  // namespace gyre
