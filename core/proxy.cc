#include "proxy.h"

#include <strings.h>

#include <algorithm>

#include "base64.h"
#include "json.h"

namespace gyre {

namespace {

bool listed(const std::vector<std::string> &allow, const std::string &name) {
  for (const auto &a : allow)
    if (strcasecmp(a.c_str(), name.c_str()) == 0) return true;
  return false;
}

void put(HttpHeaders &out, const std::string &k, const std::string &v) {
  for (auto &[ek, ev] : out) {
    if (strcasecmp(ek.c_str(), k.c_str()) == 0) {
      ev = v;
      return;
    }
  }
  out.emplace_back(k, v);
}

void common(json::Writer &w, const ProxyCaller &c) {
  w.field("client", c.client)
      .field("transport", c.transport)
      .field("protocol", "json")
      .field("encoding", c.binary ? "binary" : "json");
}

// Where Centrifugo's request messages (proxyproto) have it: last, except
// in subscribe's.
void with_meta(json::Writer &w, const ProxyCaller &c) {
  if (!c.meta.empty()) w.field_raw("meta", c.meta);
}

const StatusTransform *transform_of(const ProxyEndpoint *p, const BackendResponse &r) {
  if (!p || r.status == 0 || r.status == 200) return nullptr;
  for (const auto &t : p->status_transforms)
    if (t.status == r.status) return &t;
  return nullptr;
}

// For logs: why an answer was unexpected.
std::string failure_of(const BackendResponse &r) {
  if (r.status == 0) return r.error.empty() ? "no answer" : r.error;
  if (r.status != 200) return "HTTP status " + std::to_string(r.status);
  return "the answer is not a JSON object";
}

// An answer read once (spec §5.3): a status transform if one matches, else
// Failed when it is no usable answer, else disconnect > error > result.
struct Envelope {
  enum class Kind { Failed, Disconnect, Error, Result };
  Kind kind = Kind::Failed;
  uint32_t code = 0;
  std::string message;  // error message, disconnect reason, or why it failed
  bool temporary = false;
  json::Document doc;
  json::Value result;  // the "result" member whatever the kind (refresh reads only it)
};

void read_envelope(const BackendResponse &r, const ProxyEndpoint *p, Envelope &e) {
  if (const StatusTransform *t = transform_of(p, r)) {
    e.kind = t->disconnect ? Envelope::Kind::Disconnect : Envelope::Kind::Error;
    e.code = t->code;
    e.message = t->message;
    e.temporary = t->temporary;
    return;
  }
  if (r.status != 200 || !e.doc.parse(r.body) || !e.doc.root().is_object()) {
    e.kind = Envelope::Kind::Failed;
    e.message = failure_of(r);
    return;
  }
  json::Value root = e.doc.root();
  e.result = root.get("result");
  if (auto dis = root.get("disconnect"); dis.is_object()) {
    auto code = dis.get("code").as_uint64();
    e.kind = Envelope::Kind::Disconnect;
    e.code = code && *code >= 3000 && *code <= 4999 ? static_cast<uint32_t>(*code) : 4500;
    if (auto reason = dis.get("reason"); reason.is_string()) e.message = reason.as_string();
    return;
  }
  if (auto err = root.get("error"); err.is_object()) {
    auto code = err.get("code").as_uint64();
    e.kind = Envelope::Kind::Error;
    e.code = code && *code > 0 && *code < 3000 ? static_cast<uint32_t>(*code) : 100;
    if (auto msg = err.get("message"); msg.is_string()) e.message = msg.as_string();
    e.temporary = err.get("temporary").is_bool() && err.get("temporary").as_bool();
    return;
  }
  e.kind = Envelope::Kind::Result;
}

// Failed, Disconnect and Error as an auth decision (Denied carries the code:
// >= 3000 is a disconnect); false for a result, which the caller reads.
bool decided(const Envelope &e, AuthDecision &d) {
  switch (e.kind) {
    case Envelope::Kind::Result: return false;
    case Envelope::Kind::Failed: d.outcome = AuthDecision::Outcome::Failed; break;
    case Envelope::Kind::Disconnect:
    case Envelope::Kind::Error: d.outcome = AuthDecision::Outcome::Denied; break;
  }
  d.code = e.code;
  d.reason = e.message;
  d.temporary = e.temporary;
  return true;
}

// Only JSON values are forwarded raw; anything else would break the reply.
std::string raw_json(const json::Value &v) {
  if (!v || v.is_null()) return {};
  return std::string(v.raw());
}

// A result's payload: `b64` (base64 of the bytes, which wins, as in
// Centrifugo) or `plain` (raw JSON). JSON-protocol clients get the bytes
// as JSON, so decoded bytes must be JSON too; the first field that is not
// sets `why`, and the caller answers as for an unusable answer.
struct PayloadReader {
  std::string why;
  std::string read(const json::Value &res, const char *plain, const char *b64) {
    json::Value enc = res.get(b64);
    if (!enc || enc.is_null() || (enc.is_string() && enc.as_string().empty()))
      return raw_json(res.get(plain));
    std::string bytes;
    if (!enc.is_string() || !b64decode(enc.as_string(), bytes)) {
      if (why.empty()) why = std::string("result ") + b64 + " is not base64";
      return {};
    }
    if (!json::is_valid(bytes)) {
      if (why.empty()) why = std::string("result ") + b64 + " is not JSON (JSON-protocol clients)";
      return {};
    }
    return bytes;
  }
};

bool failed_payload(const PayloadReader &r, AuthDecision &d) {
  if (r.why.empty()) return false;
  d = AuthDecision{};
  d.outcome = AuthDecision::Outcome::Failed;
  d.reason = r.why;
  return true;
}

// The client's payload: raw JSON as `data`, or with binary_encoding its
// bytes in base64 as `b64data`.
void with_data(json::Writer &w, const ProxyCaller &c, std::string_view data) {
  if (data.empty()) return;
  if (c.binary)
    w.field("b64data", b64encode(data));
  else
    w.field_raw("data", data);
}

}  // namespace

HttpHeaders proxy_headers(const ProxyEndpoint &p, const HeaderList *transport_headers,
                          const HeaderList &emulated_headers) {
  HttpHeaders out;
  for (const auto &[k, v] : p.static_headers) put(out, k, v);
  for (const auto &[k, v] : emulated_headers)
    if (listed(p.emulated_headers, k)) put(out, k, v);
  if (transport_headers)
    for (const auto &[k, v] : *transport_headers)
      if (listed(p.http_headers, k)) put(out, k, v);
  return out;
}

std::string connect_proxy_request(const ProxyCaller &c, std::string_view name,
                                  std::string_view version, std::string_view data) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  common(w, c);
  with_data(w, c, data);
  if (!name.empty()) w.field("name", name);
  if (!version.empty()) w.field("version", version);
  w.end_object();
  return out;
}

AuthDecision connect_proxy_decision(const BackendResponse &r, const ProxyEndpoint *p) {
  using Outcome = AuthDecision::Outcome;
  AuthDecision d;
  Envelope e;
  read_envelope(r, p, e);
  if (decided(e, d)) return d;
  json::Value res = e.result;
  if (!res.is_object()) {
    d.outcome = Outcome::Declined;  // no credentials: the host's rules decide
    return d;
  }
  d.outcome = Outcome::Granted;
  PayloadReader payload;
  if (auto user = res.get("user"); user.is_string()) d.user = user.as_string();
  d.info = payload.read(res, "info", "b64info");
  d.data = payload.read(res, "data", "b64data");
  if (auto meta = res.get("meta"); meta.is_object()) d.meta = std::string(meta.raw());
  if (auto exp = res.get("expire_at").as_int64(); exp && *exp > 0) d.expire_at = *exp;
  // Client-side refresh unless a refresh proxy refreshes every connection
  // (spec §5.6; connect_decided applies that).
  d.client_side_refresh = true;
  auto add = [&d](const std::string &channel) -> GrantedSub & {
    for (auto &s : d.subs)
      if (s.channel == channel) return s;
    d.subs.push_back(GrantedSub{});
    d.subs.back().channel = channel;
    return d.subs.back();
  };
  if (auto chans = res.get("channels"); chans.is_array())
    for (auto c = chans.first_child(); c; c = c.next_sibling())
      if (c.is_string() && !c.as_string().empty()) add(c.as_string());
  if (auto subs = res.get("subs"); subs.is_object()) {
    for (auto s = subs.first_child(); s; s = s.next_sibling()) {
      if (s.key().empty()) continue;
      GrantedSub &g = add(s.key());
      if (!s.is_object()) continue;
      g.info = payload.read(s, "info", "b64info");
      g.data = payload.read(s, "data", "b64data");
    }
  }
  failed_payload(payload, d);
  return d;
}

std::string refresh_proxy_request(const ProxyCaller &c) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  common(w, c);
  w.field("user", c.user);
  with_meta(w, c);
  w.end_object();
  return out;
}

AuthDecision refresh_proxy_decision(const BackendResponse &r, const std::string &user) {
  using Outcome = AuthDecision::Outcome;
  AuthDecision d;
  Envelope e;
  read_envelope(r, nullptr, e);
  if (e.kind == Envelope::Kind::Failed) {
    decided(e, d);
    return d;
  }
  // Only the result counts for refresh (spec §5.3); none means expired.
  json::Value res = e.result;
  if (!res.is_object() || (res.get("expired").is_bool() && res.get("expired").as_bool())) {
    d.outcome = Outcome::Denied;
    d.code = 3005;
    d.reason = "connection expired";
    return d;
  }
  d.outcome = Outcome::Granted;
  d.user = user;
  PayloadReader payload;
  d.info = payload.read(res, "info", "b64info");
  if (failed_payload(payload, d)) return d;
  if (auto meta = res.get("meta"); meta.is_object()) d.meta = std::string(meta.raw());
  if (auto exp = res.get("expire_at").as_int64(); exp && *exp > 0) d.expire_at = *exp;
  return d;
}

namespace {

// subscribe, publish and sub_refresh differ only in where meta goes.
std::string channel_request(const ProxyCaller &c, std::string_view channel, std::string_view data,
                            bool meta_before_data) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  common(w, c);
  w.field("user", c.user).field("channel", channel);
  if (meta_before_data) with_meta(w, c);
  with_data(w, c, data);
  if (!meta_before_data) with_meta(w, c);
  w.end_object();
  return out;
}

}  // namespace

std::string subscribe_proxy_request(const ProxyCaller &c, std::string_view channel,
                                    std::string_view data) {
  return channel_request(c, channel, data, true);
}

std::string channel_proxy_request(const ProxyCaller &c, std::string_view channel,
                                  std::string_view data) {
  return channel_request(c, channel, data, false);
}

AuthDecision subscribe_proxy_decision(const BackendResponse &r, const ProxyEndpoint *p) {
  AuthDecision g;
  Envelope e;
  read_envelope(r, p, e);
  if (decided(e, g)) {
    if (g.outcome == AuthDecision::Outcome::Failed) g.temporary = true;
    return g;
  }
  // {} and {"result":{}} both allow with the namespace's defaults.
  json::Value res = e.result;
  g.outcome = AuthDecision::Outcome::Granted;
  if (!res.is_object()) return g;
  PayloadReader payload;
  g.sub.info = payload.read(res, "info", "b64info");
  g.sub.data = payload.read(res, "data", "b64data");
  if (failed_payload(payload, g)) {
    g.temporary = true;
    return g;
  }
  if (auto exp = res.get("expire_at").as_int64(); exp && *exp > 0) g.sub.expire_at = *exp;
  g.sub.client_side_refresh = false;
  if (auto ov = res.get("override"); ov.is_object()) {
    static const std::pair<const char *, uint32_t> kBits[] = {
        {"presence", GYRE_OVERRIDE_PRESENCE},
        {"join_leave", GYRE_OVERRIDE_JOIN_LEAVE},
        {"force_push_join_leave", GYRE_OVERRIDE_FORCE_PUSH_JOIN_LEAVE},
        {"force_recovery", GYRE_OVERRIDE_FORCE_RECOVERY},
        {"force_positioning", GYRE_OVERRIDE_FORCE_POSITIONING},
    };
    for (const auto &[name, bit] : kBits) {
      json::Value v = ov.get(name).get("value");
      if (!v.is_bool()) continue;
      g.sub.override_mask |= bit;
      if (v.as_bool()) g.sub.override_values |= bit;
    }
  }
  return g;
}

AuthDecision sub_refresh_proxy_decision(const BackendResponse &r) {
  AuthDecision d = refresh_proxy_decision(r, {});
  if (d.outcome != AuthDecision::Outcome::Granted) return d;
  d.sub.expire_at = d.expire_at;
  d.sub.info = std::move(d.info);
  d.expire_at = 0;
  return d;
}

PublishProxyOutcome publish_proxy_outcome(const BackendResponse &r, const ProxyEndpoint *p) {
  using Kind = PublishProxyOutcome::Kind;
  PublishProxyOutcome o;
  Envelope e;
  read_envelope(r, p, e);
  o.code = e.code;
  o.message = e.message;
  o.temporary = e.temporary;
  switch (e.kind) {
    case Envelope::Kind::Error: o.kind = Kind::Error; return o;
    case Envelope::Kind::Disconnect: o.kind = Kind::Disconnect; return o;
    case Envelope::Kind::Failed: o.kind = Kind::Failed; return o;
    case Envelope::Kind::Result: break;
  }
  o.kind = Kind::Publish;
  json::Value res = e.result;
  if (!res.is_object()) return o;
  PayloadReader payload;
  o.data = payload.read(res, "data", "b64data");
  if (!payload.why.empty()) {
    o.kind = Kind::Failed;
    o.message = payload.why;
    return o;
  }
  o.skip_history = res.get("skip_history").is_bool() && res.get("skip_history").as_bool();
  if (auto k = res.get("idempotency_key"); k.is_string()) o.idempotency_key = k.as_string();
  if (auto v = res.get("version").as_uint64()) o.version = *v;
  if (auto e = res.get("version_epoch"); e.is_string()) o.version_epoch = e.as_string();
  if (auto tags = res.get("tags"); tags.is_object())
    for (auto t = tags.first_child(); t; t = t.next_sibling())
      if (t.is_string()) o.tags.emplace_back(t.key(), t.as_string());
  return o;
}

std::string rpc_proxy_request(const ProxyCaller &c, std::string_view method,
                              std::string_view data) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  common(w, c);
  w.field("user", c.user);
  if (!method.empty()) w.field("method", method);
  with_data(w, c, data);
  with_meta(w, c);
  w.end_object();
  return out;
}

RpcProxyOutcome rpc_proxy_outcome(const BackendResponse &r, const ProxyEndpoint *p) {
  using Kind = RpcProxyOutcome::Kind;
  RpcProxyOutcome o;
  Envelope e;
  read_envelope(r, p, e);
  o.code = e.code;
  o.message = e.message;
  o.temporary = e.temporary;
  switch (e.kind) {
    case Envelope::Kind::Error: o.kind = Kind::Error; return o;
    case Envelope::Kind::Disconnect: o.kind = Kind::Disconnect; return o;
    case Envelope::Kind::Failed: o.kind = Kind::Failed; return o;
    case Envelope::Kind::Result: break;
  }
  o.kind = Kind::Result;
  if (!e.result.is_object()) return o;
  PayloadReader payload;
  o.data = payload.read(e.result, "data", "b64data");
  if (!payload.why.empty()) {
    o.kind = Kind::Failed;
    o.message = payload.why;
  }
  return o;
}

}  // namespace gyre
