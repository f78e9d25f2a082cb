#include "proxy_config.h"

#include <algorithm>
#include <charconv>
#include <regex>
#include <set>

#include "channel_options.h"
#include "config.h"

namespace gyre {

namespace {

std::string lower(std::string s) {
  for (char &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string read_header_list(const json::Value &v, std::vector<std::string> &out) {
  if (!v.is_array()) return "must be an array of header names";
  out.clear();
  for (auto e = v.first_child(); e; e = e.next_sibling()) {
    if (!e.is_string() || e.as_string().empty()) return "must be an array of header names";
    out.push_back(lower(e.as_string()));
  }
  return "";
}

std::string read_transforms(const json::Value &v, std::vector<StatusTransform> &out) {
  if (!v.is_array()) return "status_to_code_transforms: must be an array";
  out.clear();
  size_t i = 0;
  for (auto e = v.first_child(); e; e = e.next_sibling(), ++i) {
    std::string where = "status_to_code_transforms[" + std::to_string(i) + "]";
    if (!e.is_object()) return where + ": must be an object";
    StatusTransform t;
    auto status = e.get("status_code").as_int64();
    if (!status || *status < 100 || *status > 599) return where + ".status_code: an HTTP status";
    t.status = static_cast<int>(*status);
    auto err = e.get("to_error"), dis = e.get("to_disconnect");
    if (err.is_object() == dis.is_object())
      return where + ": exactly one of to_error and to_disconnect";
    auto target = err.is_object() ? err : dis;
    t.disconnect = dis.is_object();
    auto code = target.get("code").as_uint64();
    if (!code) return where + (t.disconnect ? ".to_disconnect" : ".to_error") + ".code: required";
    if (t.disconnect ? (*code < 4000 || *code > 4999) : (*code < 400 || *code > 1999))
      return where + (t.disconnect ? ".to_disconnect.code: 4000-4999" : ".to_error.code: 400-1999");
    t.code = static_cast<uint32_t>(*code);
    auto text = target.get(t.disconnect ? "reason" : "message");
    if (text.is_string()) t.message = text.as_string();
    if (t.message.size() > 123) return where + ": message/reason longer than 123 characters";
    t.temporary =
        !t.disconnect && target.get("temporary").is_bool() && target.get("temporary").as_bool();
    out.push_back(std::move(t));
  }
  return "";
}

// A proxy object (spec §5.2). `with_enabled`: client.proxy.connect/refresh.
std::string read_proxy(const json::Value &v, const std::string &where, ProxyEndpoint &p,
                       bool with_enabled, bool with_name, std::vector<std::string> &warnings) {
  if (!v.is_object()) return where + ": must be an object";
  for (auto m = v.first_child(); m; m = m.next_sibling()) {
    std::string k = m.key();
    std::string err;
    if (k == "name" && with_name) {
      err = get_string(m, p.name);
    } else if (k == "enabled" && with_enabled) {
      err = get_bool(m, p.enabled);
    } else if (k == "endpoint") {
      err = get_string(m, p.endpoint);
    } else if (k == "timeout") {
      err = get_duration(m, p.timeout_ms);
    } else if (k == "http_headers") {
      err = read_header_list(m, p.http_headers);
    } else if (k == "emulated_headers") {
      err = read_header_list(m, p.emulated_headers);
    } else if (k == "include_connection_meta") {
      err = get_bool(m, p.include_connection_meta);
    } else if (k == "binary_encoding") {
      err = get_bool(m, p.binary_encoding);
    } else if (k == "http") {
      if (!m.is_object()) {
        err = "must be an object";
      } else {
        for (auto h = m.first_child(); h && err.empty(); h = h.next_sibling()) {
          std::string hk = h.key();
          if (hk == "static_headers") {
            if (!h.is_object()) {
              err = "static_headers: must be an object of strings";
              break;
            }
            p.static_headers.clear();
            for (auto s = h.first_child(); s; s = s.next_sibling()) {
              if (!s.is_string()) {
                err = "static_headers." + s.key() + ": must be a string";
                break;
              }
              p.static_headers.emplace_back(s.key(), s.as_string());
            }
          } else if (hk == "status_to_code_transforms") {
            err = read_transforms(h, p.status_transforms);
          } else if (hk == "tls") {
            std::vector<std::string> tls_warnings;
            err = parse_tls_options(h, p.tls, tls_warnings);
            if (!err.empty()) err = "tls." + err;
            for (auto &w : tls_warnings) warnings.push_back(where + ".http." + w);
          } else {
            warnings.push_back("unknown key " + where + ".http." + hk);
          }
        }
        if (!err.empty()) return where + ".http." + err;
      }
    } else if (k == "grpc_metadata" || k == "grpc") {
      // gRPC proxies are not built; their options are harmless here.
    } else {
      warnings.push_back("unknown key " + where + "." + k);
    }
    if (!err.empty()) return where + "." + k + ": " + err;
  }
  return "";
}

std::string read_rpc_namespace(const json::Value &v, const std::string &where, RpcNamespace &ns,
                               bool with_name, std::vector<std::string> &warnings) {
  if (!v.is_object()) return where + ": must be an object";
  for (auto m = v.first_child(); m; m = m.next_sibling()) {
    std::string k = m.key();
    std::string err;
    if (k == "name" && with_name)
      err = get_string(m, ns.name);
    else if (k == "proxy_enabled")
      err = get_bool(m, ns.proxy_enabled);
    else if (k == "proxy_name")
      err = get_string(m, ns.proxy_name);
    else
      warnings.push_back("unknown key " + where + "." + k);
    if (!err.empty()) return where + "." + k + ": " + err;
  }
  return "";
}

std::string check_endpoint(ProxyEndpoint &p, const std::string &where) {
  if (p.endpoint.empty()) return where + ".endpoint: required";
  if (p.timeout_ms <= 0) return where + ".timeout: must be more than 0";
  if (p.endpoint.starts_with("grpc://"))
    return where + ".endpoint: gRPC proxies are not supported by this Gyre version";
  std::string e = parse_http_url(p.endpoint, p.url);
  if (!e.empty()) return where + ".endpoint: " + e;
  if (p.url.https) {
    p.url.tls = TlsClient::make(p.tls, e);
    if (!p.url.tls) return where + ".http.tls." + e;
  }
  return "";
}

}  // namespace

std::string parse_http_url(const std::string &text, HttpUrl &out) {
  out = HttpUrl{};
  out.text = text;
  std::string_view s = text;
  if (s.starts_with("https://")) {
    out.https = true;
    out.port = 443;
    s.remove_prefix(8);
  } else if (s.starts_with("http://")) {
    s.remove_prefix(7);
  } else {
    return "must start with http:// or https://";
  }
  size_t slash = s.find_first_of("/?");
  std::string_view hostport = s.substr(0, slash);
  if (slash != std::string_view::npos) {
    out.path = std::string(s.substr(slash));
    if (out.path[0] == '?') out.path = "/" + out.path;
  }
  if (hostport.find('@') != std::string_view::npos)
    return "credentials in the URL are not supported (use http.static_headers)";
  std::string_view host = hostport, port;
  if (hostport.starts_with('[')) {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in the host";
    host = hostport.substr(1, close - 1);
    std::string_view rest = hostport.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return "expected ':' after ']'";
      port = rest.substr(1);
    }
  } else if (size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (host.empty()) return "no host";
  if (!port.empty()) {
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc() || p != port.data() + port.size() || out.port < 1 || out.port > 65535)
      return "bad port";
  }
  for (char c : out.path)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return "bad character in the path";
  out.host = std::string(host);
  return "";
}

const ProxyEndpoint *ProxyConfig::named_proxy(const std::string &name) const {
  for (const auto &p : named)
    if (p.name == name) return &p;
  return nullptr;
}

const ProxyEndpoint *ProxyConfig::rpc_proxy(const std::string &name) const {
  if (name.empty() || name == "default") return rpc_proxy_set ? &rpc : nullptr;
  return named_proxy(name);
}

std::string ProxyConfig::check_channel_proxies(const ChannelOptions &o,
                                               const std::string &where) const {
  auto missing = [&where](const char *key, const std::string &name) {
    return where + "." + key + ": no proxy \"" + name + "\"" +
           (name == "default"
                ? " (channel.proxy." + std::string(key).substr(0, std::string(key).find("_proxy")) +
                      " is not set)"
                : " in proxies");
  };
  if (o.subscribe_proxy_enabled && !subscribe_proxy(o.subscribe_proxy_name))
    return missing("subscribe_proxy_name", o.subscribe_proxy_name);
  if (o.publish_proxy_enabled && !publish_proxy(o.publish_proxy_name))
    return missing("publish_proxy_name", o.publish_proxy_name);
  if (o.sub_refresh_proxy_enabled && !sub_refresh_proxy(o.sub_refresh_proxy_name))
    return missing("sub_refresh_proxy_name", o.sub_refresh_proxy_name);
  return "";
}

std::string parse_channel_proxy(ProxyConfig &c, const json::Value &v,
                                std::vector<std::string> &warnings) {
  if (!v.is_object()) return "channel.proxy: must be an object";
  for (auto m = v.first_child(); m; m = m.next_sibling()) {
    std::string k = m.key();
    ProxyEndpoint *p = k == "subscribe"     ? &c.subscribe
                       : k == "publish"     ? &c.publish
                       : k == "sub_refresh" ? &c.sub_refresh
                                            : nullptr;
    if (!p) {
      warnings.push_back(k == "subscribe_stream"
                             ? "channel.proxy." + k +
                                   ": not supported by this Gyre version, ignored"
                             : "unknown key channel.proxy." + k);
      continue;
    }
    *p = ProxyEndpoint{};
    (k == "subscribe" ? c.subscribe_proxy_set
     : k == "publish" ? c.publish_proxy_set
                      : c.sub_refresh_proxy_set) = true;
    std::string e = read_proxy(m, "channel.proxy." + k, *p, false, false, warnings);
    if (!e.empty()) return e;
  }
  return "";
}

std::string parse_client_proxy(ProxyConfig &c, const json::Value &v,
                               std::vector<std::string> &warnings) {
  if (!v.is_object()) return "client.proxy: must be an object";
  for (auto m = v.first_child(); m; m = m.next_sibling()) {
    std::string k = m.key();
    if (k == "connect" || k == "refresh") {
      ProxyEndpoint &p = k == "connect" ? c.connect : c.refresh;
      p = ProxyEndpoint{};
      std::string e = read_proxy(m, "client.proxy." + k, p, true, false, warnings);
      if (!e.empty()) return e;
    } else {
      warnings.push_back("unknown key client.proxy." + k);
    }
  }
  return "";
}

std::string parse_named_proxies(ProxyConfig &c, const json::Value &v,
                                std::vector<std::string> &warnings) {
  if (!v.is_array()) return "proxies: must be an array of objects";
  c.named.clear();
  size_t i = 0;
  for (auto e = v.first_child(); e; e = e.next_sibling(), ++i) {
    ProxyEndpoint p;
    p.name.clear();
    std::string where = "proxies[" + std::to_string(i) + "]";
    std::string err = read_proxy(e, where, p, false, true, warnings);
    if (!err.empty()) return err;
    p.source_json = std::string(e.raw());
    c.named.push_back(std::move(p));
  }
  return "";
}

std::string parse_rpc_namespaces(ProxyConfig &c, const json::Value &v,
                                 std::vector<std::string> &warnings) {
  if (!v.is_array()) return "rpc.namespaces: must be an array of objects";
  c.rpc_namespaces.clear();
  size_t i = 0;
  for (auto e = v.first_child(); e; e = e.next_sibling(), ++i) {
    RpcNamespace ns;
    std::string err =
        read_rpc_namespace(e, "rpc.namespaces[" + std::to_string(i) + "]", ns, true, warnings);
    if (!err.empty()) return err;
    ns.source_json = std::string(e.raw());
    c.rpc_namespaces.push_back(std::move(ns));
  }
  return "";
}

std::string parse_rpc(ProxyConfig &c, const json::Value &v, std::vector<std::string> &warnings) {
  if (!v.is_object()) return "rpc: must be an object";
  for (auto m = v.first_child(); m; m = m.next_sibling()) {
    std::string k = m.key();
    std::string err;
    if (k == "proxy") {
      c.rpc = ProxyEndpoint{};
      c.rpc_proxy_set = true;
      err = read_proxy(m, "rpc.proxy", c.rpc, false, false, warnings);
      if (!err.empty()) return err;
    } else if (k == "without_namespace") {
      c.rpc_without_namespace = RpcNamespace{};
      err =
          read_rpc_namespace(m, "rpc.without_namespace", c.rpc_without_namespace, false, warnings);
      if (!err.empty()) return err;
    } else if (k == "namespaces") {
      err = parse_rpc_namespaces(c, m, warnings);
      if (!err.empty()) return err;
    } else if (k == "namespace_boundary") {
      err = get_string(m, c.rpc_namespace_boundary);
      if (err.empty() && c.rpc_namespace_boundary.empty()) err = "must not be empty";
    } else if (k == "ping") {
      if (!m.is_object()) return "rpc.ping: must be an object";
      for (auto p = m.first_child(); p && err.empty(); p = p.next_sibling()) {
        std::string pk = p.key();
        if (pk == "enabled")
          err = get_bool(p, c.rpc_ping);
        else if (pk == "method")
          err = get_string(p, c.rpc_ping_method);
        else
          warnings.push_back("unknown key rpc.ping." + pk);
        if (!err.empty()) return "rpc.ping." + pk + ": " + err;
      }
    } else {
      warnings.push_back("unknown key rpc." + k);
    }
    if (!err.empty()) return "rpc." + k + ": " + err;
  }
  return "";
}

std::string validate_proxies(ProxyConfig &c) {
  static const std::regex name_re("^[-a-zA-Z0-9_.]{2,}$");
  std::set<std::string> names;
  for (size_t i = 0; i < c.named.size(); ++i) {
    auto &p = c.named[i];
    std::string where = "proxies[" + std::to_string(i) + "]";
    if (!std::regex_match(p.name, name_re))
      return where + ".name: \"" + p.name + "\" must match ^[-a-zA-Z0-9_.]{2,}$";
    if (p.name == "default") return where + ".name: \"default\" is reserved";
    if (!names.insert(p.name).second) return where + ".name: duplicate proxy \"" + p.name + "\"";
    std::string e = check_endpoint(p, where);
    if (!e.empty()) return e;
  }
  for (auto *p : {&c.connect, &c.refresh}) {
    if (!p->enabled) continue;
    std::string e =
        check_endpoint(*p, p == &c.connect ? "client.proxy.connect" : "client.proxy.refresh");
    if (!e.empty()) return e;
  }
  if (c.rpc_proxy_set) {
    std::string e = check_endpoint(c.rpc, "rpc.proxy");
    if (!e.empty()) return e;
  }
  if (c.subscribe_proxy_set) {
    std::string e = check_endpoint(c.subscribe, "channel.proxy.subscribe");
    if (!e.empty()) return e;
  }
  if (c.publish_proxy_set) {
    std::string e = check_endpoint(c.publish, "channel.proxy.publish");
    if (!e.empty()) return e;
  }
  if (c.sub_refresh_proxy_set) {
    std::string e = check_endpoint(c.sub_refresh, "channel.proxy.sub_refresh");
    if (!e.empty()) return e;
  }
  // What a connection keeps of its request for the proxies after connect.
  auto keep = [](std::vector<std::string> &into, const std::vector<std::string> &names) {
    for (const auto &n : names)
      if (std::find(into.begin(), into.end(), n) == into.end()) into.push_back(n);
  };
  c.kept_http_headers.clear();
  c.kept_emulated_headers.clear();
  std::vector<const ProxyEndpoint *> later;
  if (c.refresh.enabled) later.push_back(&c.refresh);
  if (c.rpc_proxy_set) later.push_back(&c.rpc);
  if (c.subscribe_proxy_set) later.push_back(&c.subscribe);
  if (c.publish_proxy_set) later.push_back(&c.publish);
  if (c.sub_refresh_proxy_set) later.push_back(&c.sub_refresh);
  for (const auto &p : c.named) later.push_back(&p);
  for (const auto *p : later) {
    keep(c.kept_http_headers, p->http_headers);
    keep(c.kept_emulated_headers, p->emulated_headers);
  }
  std::set<std::string> rpc_names;
  auto check_ns = [&](const RpcNamespace &ns, const std::string &where) -> std::string {
    if (ns.proxy_enabled && !c.rpc_proxy(ns.proxy_name))
      return where + ".proxy_name: no proxy \"" + ns.proxy_name + "\"" +
             (ns.proxy_name == "default" ? " (rpc.proxy is not set)" : " in proxies");
    return "";
  };
  std::string e = check_ns(c.rpc_without_namespace, "rpc.without_namespace");
  if (!e.empty()) return e;
  for (size_t i = 0; i < c.rpc_namespaces.size(); ++i) {
    const auto &ns = c.rpc_namespaces[i];
    std::string where = "rpc.namespaces[" + std::to_string(i) + "]";
    if (!std::regex_match(ns.name, name_re))
      return where + ".name: \"" + ns.name + "\" must match ^[-a-zA-Z0-9_.]{2,}$";
    if (!rpc_names.insert(ns.name).second)
      return where + ".name: duplicate RPC namespace \"" + ns.name + "\"";
    e = check_ns(ns, where);
    if (!e.empty()) return e;
  }
  return "";
}

}  // namespace gyre
