// Proxy configuration (spec server-api.md §5.1, §5.2): the proxy objects of
// Centrifugo v6 — client.proxy.connect / refresh, the named `proxies[]`,
// rpc.proxy — and the RPC namespaces that choose among them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "json.h"
#include "tls_client.h"

namespace gyre {

// An http:// or https:// endpoint, split once when the config is read.
struct HttpUrl {
  std::string host;  // as written (name or IP literal, without brackets)
  int port = 80;
  std::string path = "/";  // path and query
  std::string text;        // as configured
  bool https = false;
  // https: how to talk TLS to it, built from the endpoint's http.tls when
  // the config (or a store change) is read; HttpClient pools key on its id().
  std::shared_ptr<const TlsClient> tls;
};

// Parses "http[s]://host[:port][/path][?query]". Empty string, else why not.
std::string parse_http_url(const std::string &text, HttpUrl &out);

// http.status_to_code_transforms: a backend status that means an error
// reply or a disconnect instead of "unexpected" (100).
struct StatusTransform {
  int status = 0;
  bool disconnect = false;
  uint32_t code = 0;
  std::string message;  // error message or disconnect reason
  bool temporary = false;
};

struct ProxyEndpoint {
  std::string name = "default";
  bool enabled = false;  // client.proxy.connect / refresh only
  std::string endpoint;
  HttpUrl url;
  int64_t timeout_ms = 1000;
  std::vector<std::string> http_headers;      // allow-list, lower case
  std::vector<std::string> emulated_headers;  // allow-list, lower case
  std::vector<std::pair<std::string, std::string>> static_headers;
  std::vector<StatusTransform> status_transforms;
  bool include_connection_meta = false;
  bool binary_encoding = false;
  TlsOptions tls;           // http.tls: used when the endpoint is https://
  std::string source_json;  // proxies[]: the object as configured (seeds the store)
};

struct RpcNamespace {
  std::string name;
  bool proxy_enabled = false;
  std::string proxy_name = "default";
  std::string source_json;  // rpc.namespaces[]: the object as configured (seeds the store)
};

struct ChannelOptions;

struct ProxyConfig {
  ProxyEndpoint connect, refresh;  // used when `enabled`
  // channel.proxy.subscribe / publish: the "default" of the namespace
  // options subscribe_proxy_name / publish_proxy_name.
  bool subscribe_proxy_set = false, publish_proxy_set = false, sub_refresh_proxy_set = false;
  ProxyEndpoint subscribe, publish, sub_refresh;
  bool rpc_proxy_set = false;
  ProxyEndpoint rpc;                 // rpc.proxy: the "default" for RPC
  std::vector<ProxyEndpoint> named;  // proxies[]
  RpcNamespace rpc_without_namespace;
  std::vector<RpcNamespace> rpc_namespaces;
  std::string rpc_namespace_boundary = ":";
  bool rpc_ping = false;
  std::string rpc_ping_method = "ping";

  // The proxy an RPC namespace uses ("default" = rpc.proxy); nullptr when
  // there is none of that name.
  const ProxyEndpoint *rpc_proxy(const std::string &name) const;
  bool any_rpc_proxy() const { return rpc_proxy_set || !named.empty(); }
  const ProxyEndpoint *named_proxy(const std::string &name) const;
  const ProxyEndpoint *subscribe_proxy(const std::string &name) const {
    return name.empty() || name == "default" ? (subscribe_proxy_set ? &subscribe : nullptr)
                                             : named_proxy(name);
  }
  const ProxyEndpoint *publish_proxy(const std::string &name) const {
    return name.empty() || name == "default" ? (publish_proxy_set ? &publish : nullptr)
                                             : named_proxy(name);
  }
  const ProxyEndpoint *sub_refresh_proxy(const std::string &name) const {
    return name.empty() || name == "default" ? (sub_refresh_proxy_set ? &sub_refresh : nullptr)
                                             : named_proxy(name);
  }
  // A namespace's enabled proxies exist; "" or an error naming the key.
  std::string check_channel_proxies(const ChannelOptions &o, const std::string &where) const;
  // Header names some proxy after connect forwards (rpc, refresh, named):
  // a connection keeps only those of its request.
  std::vector<std::string> kept_http_headers, kept_emulated_headers;
};

// The config sections, as Config's walker hands them over. Each returns an
// error naming the key, or "".
std::string parse_client_proxy(ProxyConfig &c, const json::Value &v,
                               std::vector<std::string> &warnings);
std::string parse_named_proxies(ProxyConfig &c, const json::Value &v,
                                std::vector<std::string> &warnings);
// rpc.namespaces[] alone (the store's RPC namespaces replace it).
std::string parse_rpc_namespaces(ProxyConfig &c, const json::Value &v,
                                 std::vector<std::string> &warnings);
std::string parse_rpc(ProxyConfig &c, const json::Value &v, std::vector<std::string> &warnings);
std::string parse_channel_proxy(ProxyConfig &c, const json::Value &v,
                                std::vector<std::string> &warnings);
// After everything is read: references resolve, used proxies are complete.
std::string validate_proxies(ProxyConfig &c);

}  // namespace gyre
