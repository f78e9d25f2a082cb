// Gyre's configuration: Centrifugo v6 keys for everything Gyre supports, plus
// Gyre's own `plugins` section. Precedence: flags > GYRE_* environment >
// file > defaults.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "channel_options.h"
#include "json.h"
#include "log.h"
#include "proxy_config.h"

namespace gyre {

// Upper bound of node.workers (the node routes channels with a 64-bit mask).
inline constexpr int64_t kMaxWorkers = 64;

struct PluginSpec {
  std::string name;
  std::string path;         // empty: <plugins.dir>/<name>.so
  std::string config_json;  // the plugin's own settings object ("{}" if none)
  bool config_given = false;
};

struct Config {
  // http_server
  std::string address;  // "" = all interfaces
  int64_t port = 8000;
  int64_t max_header_size = 16384;  // Gyre: request head limit (431 above)
  // log
  LogLevel log_level = LogLevel::Info;
  // http_api
  std::string api_key;
  bool api_insecure = false;
  bool api_disabled = false;
  std::string api_prefix = "/api";
  std::string api_error_mode;
  int64_t api_max_request_body_size = 10 * 1024 * 1024;  // Gyre (413 above)
  // client
  std::vector<std::string> allowed_origins;
  bool client_insecure = false;
  bool allow_anonymous_connect_without_token = false;
  int64_t ping_interval_ms = 25000;
  int64_t pong_timeout_ms = 8000;
  int64_t stale_close_delay_ms = 10000;
  int64_t expired_close_delay_ms = 25000;
  int64_t channel_limit = 128;
  int64_t queue_max_size = 1048576;
  int64_t user_connection_limit = 0;
  int64_t connection_limit = 0;
  // The keys of client.token.* and client.subscription_token.*: when one is
  // set, the auth-jwt plugin is loaded (it reads them, and the rest of both
  // sections, itself: the server knows nothing about JWT).
  std::string token_hmac_secret_key;
  std::string token_rsa_public_key;
  std::string token_ecdsa_public_key;
  std::string token_jwks_public_endpoint;
  std::string sub_token_hmac_secret_key;
  std::string sub_token_rsa_public_key;
  std::string sub_token_ecdsa_public_key;
  std::string sub_token_jwks_public_endpoint;
  bool wants_token_verifier() const {
    for (const std::string *k :
         {&token_hmac_secret_key, &token_rsa_public_key, &token_ecdsa_public_key,
          &token_jwks_public_endpoint, &sub_token_hmac_secret_key, &sub_token_rsa_public_key,
          &sub_token_ecdsa_public_key, &sub_token_jwks_public_endpoint})
      if (!k->empty()) return true;
    return false;
  }
  int64_t presence_update_interval_ms = 27000;
  int64_t history_max_publication_limit = 300;
  int64_t recovery_max_publication_limit = 300;
  bool connect_include_server_time = false;
  // How often positioned subscriptions are compared with their stream's top
  // (only with an engine that connects nodes, which can lose messages);
  // <= 0 disables the periodic check.
  int64_t channel_position_check_delay_ms = 40000;
  // channel
  ChannelRules channel;
  // client.proxy, proxies, rpc
  ProxyConfig proxy;
  // websocket
  std::string ws_prefix = "/connection/websocket";
  bool ws_disabled = false;
  int64_t ws_message_size_limit = 65536;
  int64_t ws_write_timeout_ms = 1000;
  // health
  bool health_enabled = false;
  // engine
  std::string engine_type = "memory";
  int64_t presence_ttl_ms = 60000;
  // node
  std::string node_name;
  int64_t workers = -1;  // Gyre: event-loop threads; -1 = one per core (at most kMaxWorkers)
  // shutdown
  int64_t shutdown_timeout_ms = 30000;
  // store (Gyre): the sqlite file of namespaces and proxies ("" = none)
  std::string store_path;
  // plugins (Gyre)
  std::string plugins_dir;  // "" = next to the binary, then the install dir
  std::vector<PluginSpec> plugins;
  // The config file's whole JSON object ("{}" without a file): plugins that
  // bind a section of it (gyre_plugin_descriptor.config_section) read there,
  // under the command-line flags given (option path -> text), which win.
  std::string file_json = "{}";
  std::map<std::string, std::string> flag_values;
  int64_t expired_sub_close_delay_ms = 25000;
  // sse, http_stream, uni_sse, uni_http_stream, uni_websocket: when one is
  // enabled the transport-sse plugin is loaded (it reads these sections).
  bool sse_enabled = false;
  bool http_stream_enabled = false;
  bool uni_sse_enabled = false;
  bool uni_http_stream_enabled = false;
  bool uni_websocket_enabled = false;
  bool wants_stream_transports() const {
    return sse_enabled || http_stream_enabled || uni_sse_enabled || uni_http_stream_enabled ||
           uni_websocket_enabled;
  }
};

// A configuration snapshot. Namespaces and proxies change while Gyre runs
// (StoreService); a change makes a new snapshot, and holders of the old one
// keep it alive (see Node::config_ref()).
using ConfigRef = std::shared_ptr<const Config>;

// Command-line values that override everything else; empty = not given.
struct ConfigFlags {
  std::string config_path;
  std::map<std::string, std::string> values;  // option path -> text
};

struct ConfigResult {
  bool ok = false;
  std::string error;                  // names the key on failure
  std::vector<std::string> warnings;  // unknown keys and the like
};

// Loads file (when present) + env + flags into `out` and validates it.
// A missing file given explicitly with -c is an error; the default
// config.json may be absent.
ConfigResult load_config(const ConfigFlags &flags, bool path_explicit, Config &out);

// A namespace, proxy or RPC namespace object (its "name" inside) as the
// store keeps it.
struct NamedJson {
  std::string name;
  std::string json;
};
// What the store holds and replaces in the config: channel.namespaces,
// proxies[] and rpc.namespaces[].
struct RuntimeItems {
  std::vector<NamedJson> namespaces, proxies, rpc_namespaces;
};
// Replaces those three sections with `items` and validates the whole
// config again; on an error (naming the item) c is unchanged.
std::string replace_runtime_items(Config &c, const RuntimeItems &items,
                                  std::vector<std::string> &warnings);
// Validates and loads only the file and defaults (checkconfig).
ConfigResult load_config_file(const std::string &path, Config &out);

// Parses a Go-style duration ("500ms", "25s", "1h30m", "1.5s") or a bare
// number of nanoseconds; negative values allowed ("-1s" / -1).
bool parse_duration_ms(std::string_view text, int64_t &out_ms);

// A config value of the kind asked for; an error text without the key, or
// "". Durations: Go's "25s"/"500ms"/"1h", or a bare number of nanoseconds.
std::string get_bool(const json::Value &v, bool &out);
std::string get_string(const json::Value &v, std::string &out);
std::string get_duration(const json::Value &v, int64_t &out);

// Paths of every scalar option Gyre knows, for flags and docs.
std::vector<std::string> known_option_paths();

// The environment variable of an option path: GYRE_ + upper case, '.' -> '_'.
std::string config_env_name(std::string_view path);

// Drops the "unknown key P" and "unknown environment variable V" warnings
// that plugins' bound config sections claim (P equal to or below one of
// `claimed`, V the variable of one of them). An unknown object that holds
// claimed keys is looked into (in file_json): its other keys still warn.
std::vector<std::string> unclaimed_warnings(const std::vector<std::string> &warnings,
                                            const std::vector<std::string> &claimed,
                                            std::string_view file_json);

}  // namespace gyre
