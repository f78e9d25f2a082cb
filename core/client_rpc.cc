// Client RPC (spec server-api.md §5.4 "rpc"): the method's RPC namespace
// (text before rpc.namespace_boundary) picks the proxy; the built-in ping
// answers without one.
#include "client.h"
#include "log.h"
#include "node.h"
#include "proxy.h"
#include "worker.h"

namespace gyre {

void Client::cmd_rpc(const protocol::Command &cmd, Done done) {
  const ProxyConfig &pc = node().config().proxy;
  std::string method;
  if (auto m = cmd.params.get("method"); m.is_string()) method = m.as_string();
  if (pc.rpc_ping && method == pc.rpc_ping_method) {
    reply_result(cmd.id, protocol::Method::Rpc, "{}");
    return done();
  }
  // No RPC proxy anywhere: what Centrifugo answers for a method nobody serves.
  if (!pc.any_rpc_proxy()) {
    reply_error(cmd.id, errors::kMethodNotFound);
    return done();
  }
  const RpcNamespace *ns = &pc.rpc_without_namespace;
  if (size_t b = method.find(pc.rpc_namespace_boundary); b != std::string::npos) {
    ns = nullptr;
    std::string_view name(method.data(), b);
    for (const auto &n : pc.rpc_namespaces)
      if (n.name == name) ns = &n;
    if (!ns) {
      reply_error(cmd.id, errors::kMethodNotFound);
      return done();
    }
  }
  const ProxyEndpoint *ep = ns->proxy_enabled ? pc.rpc_proxy(ns->proxy_name) : nullptr;
  if (!ep) {
    reply_error(cmd.id, errors::kNotAvailable);
    return done();
  }
  std::string_view data;
  if (auto d = cmd.params.get("data"); d && !d.is_null()) data = d.raw();
  ProxyCaller caller = proxy_caller(*ep);
  std::string body = rpc_proxy_request(caller, method, data);
  HttpHeaders headers = headers_for(*ep);
  auto alive = alive_;
  uint32_t cmd_id = cmd.id;
  std::string url_text = ep->url.text;
  ConfigRef config = node().config_ref();  // keeps ep
  worker_.http_client().post(
      ep->url, headers, std::move(body), ep->timeout_ms,
      [this, alive, cmd_id, url_text, ep, config, done](BackendResponse r) {
        if (!*alive) return done();
        RpcProxyOutcome o = rpc_proxy_outcome(r, ep);
        using Kind = RpcProxyOutcome::Kind;
        switch (o.kind) {
          case Kind::Result: {
            std::string result = o.data.empty() ? "{}" : "{\"data\":" + o.data + "}";
            reply_result(cmd_id, protocol::Method::Rpc, result);
            break;
          }
          case Kind::Error: reply_error(cmd_id, Error{o.code, o.message, o.temporary}); break;
          case Kind::Disconnect: disconnect(Disconnect{o.code, o.message}); break;
          case Kind::Failed:
            LOG_WARN("rpc proxy %s: %s", url_text.c_str(), o.message.c_str());
            reply_error(cmd_id, errors::kInternal);
            break;
        }
        done();
      });
}

}  // namespace gyre
