// The proxy wire format (spec server-api.md §5.3, §5.4): the JSON requests
// Gyre POSTs to the app's backend for connect and rpc, the headers it sends
// with them, and what each answer means. Bytes in, decisions out: the HTTP
// calls themselves are HttpClient's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth.h"
#include "http_client.h"
#include "proxy_config.h"

namespace gyre {

// Fields every proxy request starts with.
struct ProxyCaller {
  std::string_view client, transport;
  std::string_view user;  // not sent for connect
  // The connection's meta (a raw JSON object), sent last when not empty:
  // the caller leaves it empty unless the endpoint has include_connection_meta.
  std::string_view meta = {};
  // binary_encoding: "encoding":"binary" and payloads as base64 b64data.
  bool binary = false;
};

// static_headers, then allow-listed emulated headers, then allow-listed
// transport headers (each later one replaces a same-named earlier one).
HttpHeaders proxy_headers(const ProxyEndpoint &p, const HeaderList *transport_headers,
                          const HeaderList &emulated_headers);

// {"client","transport","protocol","encoding","data","name","version"} (the
// order of Centrifugo's ConnectRequest): each of data/name/version only when
// the client sent it (data is raw JSON).
std::string connect_proxy_request(const ProxyCaller &c, std::string_view name,
                                  std::string_view version, std::string_view data);

// disconnect → Denied (code >= 3000); error → Denied (error reply);
// result object → Granted (user, info, data, expire_at, channels + subs);
// no result → Declined (the host's anonymous rules); meta (an object) is
// kept for later proxies; anything unexpected
// (no HTTP answer, status != 200, not JSON) → Failed, unless p's
// status_to_code_transforms map the status.
AuthDecision connect_proxy_decision(const BackendResponse &r, const ProxyEndpoint *p = nullptr);

// refresh (spec §5.4): {"client","transport","protocol","encoding","user"}.
std::string refresh_proxy_request(const ProxyCaller &c);

// What a refresh answer does to the connection of `user`: expired (or no
// result) → Denied 3005; expire_at/info → Granted (expire_at 0 = never
// again); an unexpected answer → Failed, and the caller extends by 60 s.
AuthDecision refresh_proxy_decision(const BackendResponse &r, const std::string &user);

// subscribe (spec §5.4): common fields, user, channel, meta, data, in the
// order of Centrifugo's SubscribeRequest.
std::string subscribe_proxy_request(const ProxyCaller &c, std::string_view channel,
                                    std::string_view data);

// publish / sub_refresh (spec §5.4): common fields, user, channel, data, meta.
std::string channel_proxy_request(const ProxyCaller &c, std::string_view channel,
                                  std::string_view data);

// subscribe: result → Granted (info, data, expire_at, override); error /
// disconnect → Denied; unexpected → Failed (error 100, temporary).
AuthDecision subscribe_proxy_decision(const BackendResponse &r, const ProxyEndpoint *p);

// sub_refresh: like refresh_proxy_decision, for a subscription (Granted:
// sub.expire_at, sub.info).
AuthDecision sub_refresh_proxy_decision(const BackendResponse &r);

struct PublishProxyOutcome {
  enum class Kind { Publish, Error, Disconnect, Failed };
  Kind kind = Kind::Failed;
  std::string data;  // Publish: replaces the client's data when not empty
  bool skip_history = false;
  std::string idempotency_key;
  uint64_t version = 0;
  std::string version_epoch;
  std::vector<std::pair<std::string, std::string>> tags;
  uint32_t code = 0;
  std::string message;
  bool temporary = false;
};
PublishProxyOutcome publish_proxy_outcome(const BackendResponse &r, const ProxyEndpoint *p);

std::string rpc_proxy_request(const ProxyCaller &c, std::string_view method, std::string_view data);

struct RpcProxyOutcome {
  enum class Kind { Result, Error, Disconnect, Failed };
  Kind kind = Kind::Failed;
  std::string data;  // Result: raw JSON, may be empty
  uint32_t code = 0;
  std::string message;  // Error message / Disconnect reason
  bool temporary = false;
};
RpcProxyOutcome rpc_proxy_outcome(const BackendResponse &r, const ProxyEndpoint *p = nullptr);

}  // namespace gyre
