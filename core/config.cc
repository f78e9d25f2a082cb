#include "config.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "json.h"

extern char **environ;

namespace gyre {

std::string get_bool(const json::Value &v, bool &out) {
  if (!v.is_bool()) return "must be a boolean";
  out = v.as_bool();
  return "";
}

std::string get_string(const json::Value &v, std::string &out) {
  if (!v.is_string()) return "must be a string";
  out = v.as_string();
  return "";
}

std::string get_duration(const json::Value &v, int64_t &out) {
  if (v.is_number()) {
    auto d = v.as_double();
    if (!d) return "must be a duration";
    // Bare numbers are nanoseconds, as in Go; -1 means "disabled".
    out = *d < 0 ? -1 : static_cast<int64_t>(*d / 1e6);
    return "";
  }
  if (!v.is_string()) return "must be a duration like \"25s\"";
  if (!parse_duration_ms(v.as_string(), out))
    return "must be a duration like \"25s\", \"500ms\" or \"1h\"";
  return "";
}

namespace {

enum class Kind { Bool, Int, String, Duration, StringList, Special };

// One option: its v6 path, its kind, and how it lands in Config. Setters
// return an error text (without the key) or "".
struct Option {
  const char *path;
  Kind kind;
  std::function<std::string(Config &, const json::Value &)> set;
};

std::string get_int(const json::Value &v, int64_t &out) {
  auto i = v.as_int64();
  if (!i) return "must be an integer";
  out = *i;
  return "";
}

std::string get_string_list(const json::Value &v, std::vector<std::string> &out) {
  if (!v.is_array()) return "must be an array of strings";
  out.clear();
  for (auto e = v.first_child(); e; e = e.next_sibling()) {
    if (!e.is_string()) return "must be an array of strings";
    out.push_back(e.as_string());
  }
  return "";
}

#define OPT_BOOL(path, field)                                                              \
  Option {                                                                                 \
    path, Kind::Bool, [](Config &c, const json::Value &v) { return get_bool(v, c.field); } \
  }
#define OPT_INT(path, field)                                                             \
  Option {                                                                               \
    path, Kind::Int, [](Config &c, const json::Value &v) { return get_int(v, c.field); } \
  }
#define OPT_STR(path, field)                                                                   \
  Option {                                                                                     \
    path, Kind::String, [](Config &c, const json::Value &v) { return get_string(v, c.field); } \
  }
#define OPT_DUR(path, field)                                                                       \
  Option {                                                                                         \
    path, Kind::Duration, [](Config &c, const json::Value &v) { return get_duration(v, c.field); } \
  }

// Channel options, keyed by name, applied to without_namespace and to each
// namespace.
struct NsOption {
  const char *key;
  std::function<std::string(ChannelOptions &, const json::Value &)> set;
};

#define NS_BOOL(k)                                                                \
  NsOption {                                                                      \
#k, [](ChannelOptions & o, const json::Value &v) { return get_bool(v, o.k); } \
  }

const std::vector<NsOption> &ns_options() {
  static const std::vector<NsOption> opts = {
      NS_BOOL(presence),
      NS_BOOL(join_leave),
      NS_BOOL(force_push_join_leave),
      NsOption{"history_size",
               [](ChannelOptions &o, const json::Value &v) {
                 auto e = get_int(v, o.history_size);
                 if (e.empty() && o.history_size < 0) return std::string("must be >= 0");
                 return e;
               }},
      NsOption{"history_ttl",
               [](ChannelOptions &o, const json::Value &v) {
                 return get_duration(v, o.history_ttl_ms);
               }},
      NsOption{"history_meta_ttl",
               [](ChannelOptions &o, const json::Value &v) {
                 return get_duration(v, o.history_meta_ttl_ms);
               }},
      NS_BOOL(force_positioning),
      NS_BOOL(allow_positioning),
      NS_BOOL(force_recovery),
      NS_BOOL(allow_recovery),
      NsOption{"force_recovery_mode",
               [](ChannelOptions &o, const json::Value &v) {
                 return get_string(v, o.force_recovery_mode);
               }},
      NS_BOOL(allow_subscribe_for_client),
      NS_BOOL(allow_subscribe_for_anonymous),
      NS_BOOL(allow_publish_for_client),
      NS_BOOL(allow_publish_for_subscriber),
      NS_BOOL(allow_publish_for_anonymous),
      NS_BOOL(allow_presence_for_client),
      NS_BOOL(allow_presence_for_subscriber),
      NS_BOOL(allow_presence_for_anonymous),
      NS_BOOL(allow_history_for_client),
      NS_BOOL(allow_history_for_subscriber),
      NS_BOOL(allow_history_for_anonymous),
      NS_BOOL(allow_user_limited_channels),
      NS_BOOL(subscribe_proxy_enabled),
      NS_BOOL(publish_proxy_enabled),
      NS_BOOL(sub_refresh_proxy_enabled),
      NsOption{"sub_refresh_proxy_name",
               [](ChannelOptions &o, const json::Value &v) {
                 return get_string(v, o.sub_refresh_proxy_name);
               }},
      NsOption{"subscribe_proxy_name",
               [](ChannelOptions &o, const json::Value &v) {
                 return get_string(v, o.subscribe_proxy_name);
               }},
      NsOption{"publish_proxy_name",
               [](ChannelOptions &o, const json::Value &v) {
                 return get_string(v, o.publish_proxy_name);
               }},
      NsOption{
          "channel_regex",
          [](ChannelOptions &o, const json::Value &v) { return get_string(v, o.channel_regex); }},
      NsOption{"publication_data_format",
               [](ChannelOptions &o, const json::Value &v) {
                 return get_string(v, o.publication_data_format);
               }},
  };
  return opts;
}

// Centrifugo options Gyre does not implement yet: accepted so that existing
// configs load, but a non-default value is reported.
const std::set<std::string> &unsupported_ns_keys() {
  static const std::set<std::string> keys = {"allowed_delta_types",
                                             "delta_publish",
                                             "allow_tags_filter",
                                             "auto_cache_recover",
                                             "subscribe_stream_proxy_enabled",
                                             "subscribe_stream_proxy_name",
                                             "subscribe_stream_proxy_bidirectional",
                                             "subscription_type"};
  return keys;
}

std::string apply_ns_object(const json::Value &obj, ChannelOptions &o, const std::string &where,
                            std::vector<std::string> &warnings, bool allow_name) {
  if (!obj.is_object()) return where + ": must be an object";
  for (auto m = obj.first_child(); m; m = m.next_sibling()) {
    std::string k = m.key();
    if (allow_name && k == "name") continue;
    bool found = false;
    for (const auto &opt : ns_options()) {
      if (k == opt.key) {
        found = true;
        std::string e = opt.set(o, m);
        if (!e.empty()) return where + "." + k + ": " + e;
      }
    }
    if (found) continue;
    if (unsupported_ns_keys().count(k)) {
      if (!(m.is_bool() && !m.as_bool()) && !(m.is_string() && m.as_string().empty()))
        warnings.push_back(where + "." + k + ": not supported by this Gyre version, ignored");
      continue;
    }
    warnings.push_back("unknown key " + where + "." + k);
  }
  return "";
}

std::string set_namespaces(Config &c, const json::Value &v, std::vector<std::string> &warnings) {
  if (!v.is_array()) return "channel.namespaces: must be an array of objects";
  c.channel.namespaces.clear();
  size_t i = 0;
  for (auto e = v.first_child(); e; e = e.next_sibling(), ++i) {
    std::string where = "channel.namespaces[" + std::to_string(i) + "]";
    if (!e.is_object()) return "channel.namespaces[" + std::to_string(i) + "]: must be an object";
    Namespace ns;
    auto name = e.get("name");
    if (!name.is_string()) return where + ".name: required string";
    ns.name = name.as_string();
    ns.source_json = std::string(e.raw());
    std::string err = apply_ns_object(e, ns.options, where, warnings, true);
    if (!err.empty()) return err;
    c.channel.namespaces.push_back(std::move(ns));
  }
  return "";
}

std::string set_plugins(Config &c, const json::Value &v, std::vector<std::string> &warnings) {
  if (!v.is_object()) return "plugins: must be an object";
  for (auto m = v.first_child(); m; m = m.next_sibling()) {
    std::string k = m.key();
    if (k == "dir") {
      std::string e = get_string(m, c.plugins_dir);
      if (!e.empty()) return "plugins.dir: " + e;
    } else if (k == "load") {
      if (!m.is_array()) return "plugins.load: must be an array of objects";
      c.plugins.clear();
      size_t i = 0;
      for (auto e = m.first_child(); e; e = e.next_sibling(), ++i) {
        std::string where = "plugins.load[" + std::to_string(i) + "]";
        if (!e.is_object()) return where + ": must be an object";
        PluginSpec p;
        p.config_json = "{}";
        for (auto f = e.first_child(); f; f = f.next_sibling()) {
          std::string fk = f.key();
          std::string err;
          if (fk == "name")
            err = get_string(f, p.name);
          else if (fk == "path")
            err = get_string(f, p.path);
          else if (fk == "config") {
            if (!f.is_object())
              err = "must be an object";
            else
              p.config_json = std::string(f.raw()), p.config_given = true;
          } else
            warnings.push_back("unknown key " + where + "." + fk);
          if (!err.empty()) return where + "." + fk + ": " + err;
        }
        if (p.name.empty()) return where + ".name: required";
        c.plugins.push_back(std::move(p));
      }
    } else {
      warnings.push_back("unknown key plugins." + k);
    }
  }
  return "";
}

const std::vector<Option> &options() {
  static const std::vector<Option> opts = {
      OPT_STR("http_server.address", address),
      OPT_INT("http_server.port", port),
      OPT_INT("http_server.max_header_size", max_header_size),
      Option{"log.level", Kind::String,
             [](Config &c, const json::Value &v) -> std::string {
               std::string s;
               auto e = get_string(v, s);
               if (!e.empty()) return e;
               if (!parse_log_level(s, c.log_level))
                 return "must be one of debug, info, warn, error, none";
               return "";
             }},
      OPT_STR("http_api.key", api_key),
      OPT_BOOL("http_api.insecure", api_insecure),
      OPT_BOOL("http_api.disabled", api_disabled),
      OPT_STR("http_api.handler_prefix", api_prefix),
      OPT_STR("http_api.error_mode", api_error_mode),
      OPT_INT("http_api.max_request_body_size", api_max_request_body_size),
      Option{"client.allowed_origins", Kind::StringList,
             [](Config &c, const json::Value &v) { return get_string_list(v, c.allowed_origins); }},
      OPT_BOOL("client.insecure", client_insecure),
      OPT_BOOL("client.allow_anonymous_connect_without_token",
               allow_anonymous_connect_without_token),
      OPT_DUR("client.ping_interval", ping_interval_ms),
      OPT_DUR("client.pong_timeout", pong_timeout_ms),
      OPT_DUR("client.stale_close_delay", stale_close_delay_ms),
      OPT_DUR("client.expired_close_delay", expired_close_delay_ms),
      OPT_DUR("client.expired_sub_close_delay", expired_sub_close_delay_ms),
      OPT_INT("client.channel_limit", channel_limit),
      OPT_INT("client.queue_max_size", queue_max_size),
      OPT_INT("client.user_connection_limit", user_connection_limit),
      OPT_INT("client.connection_limit", connection_limit),
      OPT_STR("client.token.hmac_secret_key", token_hmac_secret_key),
      OPT_STR("client.token.rsa_public_key", token_rsa_public_key),
      OPT_STR("client.token.ecdsa_public_key", token_ecdsa_public_key),
      OPT_STR("client.token.jwks_public_endpoint", token_jwks_public_endpoint),
      OPT_STR("client.subscription_token.hmac_secret_key", sub_token_hmac_secret_key),
      OPT_STR("client.subscription_token.rsa_public_key", sub_token_rsa_public_key),
      OPT_STR("client.subscription_token.ecdsa_public_key", sub_token_ecdsa_public_key),
      OPT_STR("client.subscription_token.jwks_public_endpoint", sub_token_jwks_public_endpoint),
      OPT_DUR("client.presence_update_interval", presence_update_interval_ms),
      OPT_INT("client.history_max_publication_limit", history_max_publication_limit),
      OPT_INT("client.recovery_max_publication_limit", recovery_max_publication_limit),
      OPT_BOOL("client.connect_include_server_time", connect_include_server_time),
      OPT_DUR("client.channel_position_check_delay", channel_position_check_delay_ms),
      OPT_STR("store.path", store_path),
      OPT_INT("channel.max_length", channel.max_length),
      OPT_STR("channel.private_prefix", channel.private_prefix),
      OPT_STR("channel.namespace_boundary", channel.namespace_boundary),
      OPT_STR("channel.user_boundary", channel.user_boundary),
      OPT_STR("channel.user_separator", channel.user_separator),
      OPT_DUR("channel.history_meta_ttl", channel.history_meta_ttl_ms),
      OPT_STR("channel.publication_data_format", channel.publication_data_format),
      OPT_STR("websocket.handler_prefix", ws_prefix),
      OPT_BOOL("websocket.disabled", ws_disabled),
      OPT_INT("websocket.message_size_limit", ws_message_size_limit),
      OPT_DUR("websocket.write_timeout", ws_write_timeout_ms),
      OPT_BOOL("health.enabled", health_enabled),
      OPT_BOOL("sse.enabled", sse_enabled),
      OPT_BOOL("http_stream.enabled", http_stream_enabled),
      OPT_BOOL("uni_sse.enabled", uni_sse_enabled),
      OPT_BOOL("uni_http_stream.enabled", uni_http_stream_enabled),
      OPT_BOOL("uni_websocket.enabled", uni_websocket_enabled),
      OPT_STR("engine.type", engine_type),
      OPT_DUR("engine.redis.presence_ttl", presence_ttl_ms),
      OPT_STR("node.name", node_name),
      OPT_INT("node.workers", workers),
      OPT_DUR("shutdown.timeout", shutdown_timeout_ms),
  };
  return opts;
}

// Sections whose every key is handled by a special setter.
bool is_special(const std::string &path) {
  return path == "channel.without_namespace" || path == "channel.namespaces" || path == "plugins" ||
         path == "client.proxy" || path == "proxies" || path == "rpc" || path == "channel.proxy";
}

const Option *find_option(const std::string &path) {
  for (const auto &o : options())
    if (path == o.path) return &o;
  return nullptr;
}

// Is `path` a prefix (section) of any known option?
bool is_section(const std::string &path) {
  std::string p = path + ".";
  for (const auto &o : options())
    if (std::string_view(o.path).starts_with(p)) return true;
  return path == "channel" || path == "engine";
}

std::string apply_special(Config &c, const std::string &path, const json::Value &v,
                          std::vector<std::string> &warnings) {
  if (path == "channel.without_namespace") {
    c.channel.without_namespace = ChannelOptions{};
    return apply_ns_object(v, c.channel.without_namespace, "channel.without_namespace", warnings,
                           false);
  }
  if (path == "channel.namespaces") return set_namespaces(c, v, warnings);
  if (path == "plugins") return set_plugins(c, v, warnings);
  if (path == "client.proxy") return parse_client_proxy(c.proxy, v, warnings);
  if (path == "proxies") return parse_named_proxies(c.proxy, v, warnings);
  if (path == "rpc") return parse_rpc(c.proxy, v, warnings);
  if (path == "channel.proxy") return parse_channel_proxy(c.proxy, v, warnings);
  return "unknown";
}

std::string walk(Config &c, const json::Value &obj, const std::string &prefix,
                 std::vector<std::string> &warnings) {
  for (auto m = obj.first_child(); m; m = m.next_sibling()) {
    std::string path = prefix.empty() ? m.key() : prefix + "." + m.key();
    if (is_special(path)) {
      std::string e = apply_special(c, path, m, warnings);
      if (!e.empty()) return e;
      continue;
    }
    if (const Option *o = find_option(path)) {
      std::string e = o->set(c, m);
      if (!e.empty()) return path + ": " + e;
      continue;
    }
    if (m.is_object() && is_section(path)) {
      std::string e = walk(c, m, path, warnings);
      if (!e.empty()) return e;
      continue;
    }
    warnings.push_back("unknown key " + path);
  }
  return "";
}

std::string env_name(std::string_view path) {
  std::string n = "GYRE_";
  for (char ch : path)
    n += ch == '.' ? '_' : static_cast<char>(toupper(static_cast<unsigned char>(ch)));
  return n;
}

// Turns an env/flag text into JSON text for the option's kind.
std::string text_to_json(Kind kind, const std::string &text) {
  std::string out;
  switch (kind) {
    case Kind::Bool:
      if (text == "1" || text == "true" || text == "TRUE" || text == "True" || text == "t")
        return "true";
      if (text == "0" || text == "false" || text == "FALSE" || text == "False" || text == "f")
        return "false";
      return "\"" + text + "\"";  // fails the bool check with a clear message
    case Kind::Int: {
      // Not a number: hand it over as a string so the error reads "must be
      // an integer", as for the same mistake in the file.
      json::Document d;
      if (d.parse(text) && d.root().is_number()) return text;
      json::append_quoted(out, text);
      return out;
    }
    case Kind::StringList: {
      out = "[";
      std::istringstream ss(text);
      std::string item;
      bool first = true;
      while (ss >> item) {
        if (!first) out += ',';
        first = false;
        json::append_quoted(out, item);
      }
      return out + "]";
    }
    default: json::append_quoted(out, text); return out;
  }
}

std::string apply_text(Config &c, const std::string &path, const std::string &text,
                       const char *source, std::vector<std::string> &warnings) {
  std::string jtext;
  const Option *o = find_option(path);
  if (o) {
    jtext = text_to_json(o->kind, text);
  } else if (is_special(path)) {
    jtext = text;  // JSON given whole
  } else {
    return std::string("unknown option ") + path + " (" + source + ")";
  }
  json::Document d;
  if (!d.parse(jtext)) return path + " (" + source + "): invalid value: " + d.error();
  std::string e = o ? o->set(c, d.root()) : apply_special(c, path, d.root(), warnings);
  if (!e.empty()) return (o ? path + ": " + e : e) + " (" + source + ")";
  return "";
}

std::string validate_ns(const ChannelOptions &o, const std::string &where,
                        const ChannelRules &rules) {
  if ((o.history_size > 0) != (o.history_ttl_ms > 0))
    return where + ": history_size and history_ttl must be set together";
  if (o.history_ttl_ms > 0 && o.history_ttl_ms % 1000 != 0)
    return where + ".history_ttl: must be whole seconds";
  if (o.history_meta_ttl_ms > 0 && o.history_meta_ttl_ms % 1000 != 0)
    return where + ".history_meta_ttl: must be whole seconds";
  if (o.history_ttl_ms > rules.meta_ttl_ms(o))
    return where + ".history_ttl: must not exceed history_meta_ttl";
  if (o.force_recovery && !o.history_enabled())
    return where + ".force_recovery: needs history_size and history_ttl";
  if (o.force_positioning && !o.history_enabled())
    return where + ".force_positioning: needs history_size and history_ttl";
  if (!o.force_recovery_mode.empty() && o.force_recovery_mode != "stream" &&
      o.force_recovery_mode != "cache")
    return where + ".force_recovery_mode: must be \"stream\" or \"cache\"";
  const std::string &f = o.publication_data_format;
  if (!f.empty() && f != "json" && f != "json_object" && f != "binary")
    return where + ".publication_data_format: must be json, json_object or binary";
  return "";
}

std::string finish(Config &c) {
  if (c.port < 0 || c.port > 65535) return "http_server.port: must be 0..65535";
  if (c.ping_interval_ms > 0 && c.pong_timeout_ms > 0 && c.pong_timeout_ms >= c.ping_interval_ms)
    return "client.pong_timeout: must be less than client.ping_interval";
  if (c.channel_limit < 0) return "client.channel_limit: must be >= 0";
  if (c.workers < -1 || c.workers == 0 || c.workers > kMaxWorkers)
    return "node.workers: must be -1 (one per core, at most 64) or 1..64";
  if (c.queue_max_size <= 0) return "client.queue_max_size: must be > 0";
  if (c.ws_message_size_limit <= 0) return "websocket.message_size_limit: must be > 0";
  if (c.max_header_size < 1024) return "http_server.max_header_size: must be >= 1024";
  if (c.api_max_request_body_size <= 0) return "http_api.max_request_body_size: must be > 0";
  if (c.api_prefix.empty() || c.api_prefix[0] != '/')
    return "http_api.handler_prefix: must start with /";
  if (c.ws_prefix.empty() || c.ws_prefix[0] != '/')
    return "websocket.handler_prefix: must start with /";
  if (!c.api_error_mode.empty() && c.api_error_mode != "transport")
    return "http_api.error_mode: must be \"\" or \"transport\"";
  // memory and redis are Centrifugo's; any other type names a third-party
  // engine plugin, engine-<type>.so.
  bool type_ok = !c.engine_type.empty() && c.engine_type.size() <= 64;
  for (char ch : c.engine_type)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
      type_ok = false;
  if (!type_ok)
    return "engine.type: must be \"memory\", \"redis\" or the name of an engine plugin "
           "(engine-<type>.so; lower-case letters, digits, - and _)";
  if (c.channel.history_meta_ttl_ms <= 0 || c.channel.history_meta_ttl_ms % 1000)
    return "channel.history_meta_ttl: must be whole seconds > 0";
  const std::string &gf = c.channel.publication_data_format;
  if (!gf.empty() && gf != "json" && gf != "json_object" && gf != "binary")
    return "channel.publication_data_format: must be json, json_object or binary";
  static const std::regex name_re("^[-a-zA-Z0-9_.]{2,}$");
  std::set<std::string> seen;
  auto compile = [](ChannelOptions &o, const std::string &where) -> std::string {
    if (o.channel_regex.empty()) return "";
    try {
      o.compiled_regex = std::make_shared<std::regex>(o.channel_regex);
    } catch (const std::regex_error &) {
      return where + ".channel_regex: invalid regular expression";
    }
    return "";
  };
  std::string e = validate_ns(c.channel.without_namespace, "channel.without_namespace", c.channel);
  if (e.empty()) e = compile(c.channel.without_namespace, "channel.without_namespace");
  if (!e.empty()) return e;
  for (size_t i = 0; i < c.channel.namespaces.size(); ++i) {
    auto &ns = c.channel.namespaces[i];
    std::string where = "channel.namespaces[" + std::to_string(i) + "]";
    if (!std::regex_match(ns.name, name_re))
      return where + ".name: \"" + ns.name + "\" must match ^[-a-zA-Z0-9_.]{2,}$";
    if (!seen.insert(ns.name).second)
      return where + ".name: duplicate namespace \"" + ns.name + "\"";
    e = validate_ns(ns.options, where, c.channel);
    if (e.empty()) e = compile(ns.options, where);
    if (e.empty()) e = c.proxy.check_channel_proxies(ns.options, where);
    if (!e.empty()) return e;
  }
  e = c.proxy.check_channel_proxies(c.channel.without_namespace, "channel.without_namespace");
  if (!e.empty()) return e;
  e = validate_proxies(c.proxy);
  if (!e.empty()) return e;
  std::set<std::string> plugin_names;
  for (const auto &p : c.plugins)
    if (!plugin_names.insert(p.name).second)
      return "plugins.load: plugin \"" + p.name + "\" listed twice";
  return "";
}

bool read_file(const std::string &path, std::string &out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

ConfigResult load_file_into(const std::string &path, bool must_exist, Config &out,
                            ConfigResult &res) {
  std::string text;
  if (!read_file(path, text)) {
    if (must_exist) {
      res.error = "cannot read config file " + path;
      return res;
    }
    res.ok = true;
    return res;
  }
  json::Document d;
  if (!d.parse(text)) {
    res.error = "config file " + path + " is not valid JSON: " + d.error();
    return res;
  }
  if (!d.root().is_object()) {
    res.error = "config file " + path + " must hold a JSON object";
    return res;
  }
  std::string e = walk(out, d.root(), "", res.warnings);
  if (!e.empty()) {
    res.error = e;
    return res;
  }
  out.file_json = std::string(d.root().raw());
  res.ok = true;
  return res;
}

}  // namespace

std::string config_env_name(std::string_view path) { return env_name(path); }

namespace {

bool claims_below(const std::vector<std::string> &claimed, std::string_view path) {
  for (const auto &c : claimed)
    if (c.size() > path.size() && std::string_view(c).starts_with(path) && c[path.size()] == '.')
      return true;
  return false;
}

// An unknown object that holds claimed keys: what is left in it is unknown.
void unclaimed_below(const json::Value &obj, const std::string &path,
                     const std::vector<std::string> &claimed, std::vector<std::string> &out) {
  for (auto m = obj.first_child(); m; m = m.next_sibling()) {
    std::string p = path + "." + m.key();
    if (std::find(claimed.begin(), claimed.end(), p) != claimed.end()) continue;
    if (m.is_object() && claims_below(claimed, p))
      unclaimed_below(m, p, claimed, out);
    else
      out.push_back("unknown key " + p);
  }
}

}  // namespace

std::vector<std::string> unclaimed_warnings(const std::vector<std::string> &warnings,
                                            const std::vector<std::string> &claimed,
                                            std::string_view file_json) {
  json::Document doc;
  bool have_doc = doc.parse(file_json) && doc.root().is_object();
  std::vector<std::string> out;
  for (const auto &w : warnings) {
    static constexpr std::string_view kKey = "unknown key ";
    if (w.starts_with(kKey)) {
      std::string key = w.substr(kKey.size());
      bool claimed_key = false;
      for (const auto &c : claimed)
        claimed_key = claimed_key || key == c || (key.starts_with(c) && key[c.size()] == '.');
      if (claimed_key) continue;
      if (claims_below(claimed, key) && have_doc) {
        // A section the server does not know but a plugin reads from.
        json::Value v = doc.root();
        std::string_view rest = key;
        while (v && !rest.empty()) {
          size_t dot = rest.find('.');
          v = v.get(rest.substr(0, dot));
          rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
        }
        if (v.is_object()) {
          unclaimed_below(v, key, claimed, out);
          continue;
        }
      }
    }
    bool env_claimed = false;
    for (const auto &c : claimed)
      env_claimed = env_claimed || w == "unknown environment variable " + env_name(c);
    if (!env_claimed) out.push_back(w);
  }
  return out;
}

bool parse_duration_ms(std::string_view text, int64_t &out_ms) {
  if (text.empty()) return false;
  bool neg = false;
  size_t i = 0;
  if (text[0] == '-' || text[0] == '+') {
    neg = text[0] == '-';
    ++i;
  }
  if (i >= text.size()) return false;
  // A bare number: nanoseconds (Go). "0" is fine.
  bool all_digits = true;
  for (size_t k = i; k < text.size(); ++k)
    if (!isdigit(static_cast<unsigned char>(text[k]))) all_digits = false;
  if (all_digits) {
    long double ns = std::strtold(std::string(text.substr(i)).c_str(), nullptr);
    out_ms = static_cast<int64_t>(ns / 1e6L);
    if (neg) out_ms = -out_ms;
    if (neg && out_ms == 0) out_ms = -1;
    return true;
  }
  long double total_ms = 0;
  while (i < text.size()) {
    size_t start = i;
    int digits = 0, dots = 0;
    while (i < text.size() && (isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      if (text[i] == '.')
        ++dots;
      else
        ++digits;
      ++i;
    }
    if (digits == 0 || dots > 1) return false;
    long double num = std::strtold(std::string(text.substr(start, i - start)).c_str(), nullptr);
    size_t us = i;
    // A unit is everything up to the next number (µ is two bytes in UTF-8).
    while (i < text.size() && !isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') ++i;
    std::string_view unit = text.substr(us, i - us);
    long double mult;
    if (unit == "ns")
      mult = 1e-6L;
    else if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs")
      mult = 1e-3L;
    else if (unit == "ms")
      mult = 1;
    else if (unit == "s")
      mult = 1000;
    else if (unit == "m")
      mult = 60000;
    else if (unit == "h")
      mult = 3600000;
    else
      return false;
    total_ms += num * mult;
  }
  out_ms = static_cast<int64_t>(std::llround(total_ms));
  if (neg) out_ms = out_ms == 0 ? -1 : -out_ms;
  return true;
}

std::vector<std::string> known_option_paths() {
  std::vector<std::string> out;
  for (const auto &o : options()) out.push_back(o.path);
  out.push_back("channel.without_namespace");
  out.push_back("channel.namespaces");
  out.push_back("plugins");
  return out;
}

namespace {

// "channel.namespaces[2].x" -> "namespace \"chat\": x" (likewise proxies[i]).
std::string name_items(std::string e, const char *array, const char *what,
                       const std::vector<std::string> &names) {
  std::string prefix = std::string(array) + "[";
  if (!e.starts_with(prefix)) return e;
  size_t close = e.find(']');
  if (close == std::string::npos) return e;
  size_t i = std::stoul(e.substr(prefix.size(), close - prefix.size()));
  if (i >= names.size()) return e;
  std::string rest = e.substr(close + 1);
  if (rest.starts_with(".")) rest = rest.substr(1);
  if (rest.starts_with(":")) rest = rest.substr(1);
  while (rest.starts_with(" ")) rest = rest.substr(1);
  return std::string(what) + " \"" + names[i] + "\": " + rest;
}

}  // namespace

std::string replace_runtime_items(Config &c, const RuntimeItems &items,
                                  std::vector<std::string> &warnings) {
  Config next = c;
  auto array = [](const std::vector<NamedJson> &list, std::vector<std::string> &names) {
    std::string out = "[";
    for (const auto &it : list) {
      if (out.size() > 1) out += ',';
      out += it.json;
      names.push_back(it.name);
    }
    return out + "]";
  };
  std::vector<std::string> ns_names, proxy_names, rpc_names;
  std::string ns_text = array(items.namespaces, ns_names),
              proxy_text = array(items.proxies, proxy_names),
              rpc_text = array(items.rpc_namespaces, rpc_names);
  json::Document ns_doc, proxy_doc, rpc_doc;
  if (!ns_doc.parse(ns_text)) return "a namespace is not a JSON object: " + ns_doc.error();
  if (!proxy_doc.parse(proxy_text)) return "a proxy is not a JSON object: " + proxy_doc.error();
  if (!rpc_doc.parse(rpc_text)) return "an RPC namespace is not a JSON object: " + rpc_doc.error();
  std::string e = set_namespaces(next, ns_doc.root(), warnings);
  if (e.empty()) e = parse_named_proxies(next.proxy, proxy_doc.root(), warnings);
  if (e.empty()) e = parse_rpc_namespaces(next.proxy, rpc_doc.root(), warnings);
  if (e.empty()) e = finish(next);
  if (!e.empty()) {
    e = name_items(e, "channel.namespaces", "namespace", ns_names);
    e = name_items(e, "rpc.namespaces", "RPC namespace", rpc_names);
    return name_items(e, "proxies", "proxy", proxy_names);
  }
  c = std::move(next);
  return "";
}

ConfigResult load_config_file(const std::string &path, Config &out) {
  ConfigResult res;
  out = Config{};
  load_file_into(path, true, out, res);
  if (!res.ok) return res;
  std::string e = finish(out);
  if (!e.empty()) {
    res.ok = false;
    res.error = e;
  }
  return res;
}

ConfigResult load_config(const ConfigFlags &flags, bool path_explicit, Config &out) {
  ConfigResult res;
  out = Config{};
  std::string path = flags.config_path.empty() ? "config.json" : flags.config_path;
  load_file_into(path, path_explicit, out, res);
  if (!res.ok) return res;
  res.ok = false;
  // Environment: every known option, plus the JSON-valued sections.
  for (const std::string &p : known_option_paths()) {
    const char *v = getenv(env_name(p).c_str());
    if (!v || !*v) continue;
    std::string e = apply_text(out, p, v, ("environment " + env_name(p)).c_str(), res.warnings);
    if (!e.empty()) {
      res.error = e;
      return res;
    }
  }
  // A GYRE_* variable that names no option is most likely a typo.
  std::set<std::string> known_env;
  for (const std::string &p : known_option_paths()) known_env.insert(env_name(p));
  for (char **e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (!kv.starts_with("GYRE_")) continue;
    std::string name(kv.substr(0, kv.find('=')));
    if (!known_env.count(name) && name != "GYRE_BIN")
      res.warnings.push_back("unknown environment variable " + name);
  }
  for (const auto &[p, v] : flags.values) {
    std::string e = apply_text(out, p, v, "flag", res.warnings);
    if (!e.empty()) {
      res.error = e;
      return res;
    }
  }
  out.flag_values = flags.values;
  std::string e = finish(out);
  if (!e.empty()) {
    res.error = e;
    return res;
  }
  // Entries a node does not refresh in time vanish from presence while
  // their clients are still connected.
  if (out.engine_type != "memory" && out.presence_ttl_ms > 0 &&
      out.presence_update_interval_ms >= out.presence_ttl_ms)
    res.warnings.push_back(
        "client.presence_update_interval is not shorter than engine.redis.presence_ttl: "
        "presence entries expire between refreshes");
  res.ok = true;
  return res;
}

}  // namespace gyre
