// Channel options (Centrifugo v6 `channel.without_namespace` and
// `channel.namespaces[]`), and how a channel name resolves to them.
#pragma once

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace gyre {

struct ChannelOptions {
  bool presence = false;
  bool join_leave = false;
  bool force_push_join_leave = false;
  int64_t history_size = 0;
  int64_t history_ttl_ms = 0;
  int64_t history_meta_ttl_ms = 0;  // 0: channel.history_meta_ttl
  bool force_positioning = false;
  bool allow_positioning = false;
  bool force_recovery = false;
  bool allow_recovery = false;
  std::string force_recovery_mode;  // "" / "stream" / "cache"
  bool allow_subscribe_for_client = false;
  bool allow_subscribe_for_anonymous = false;
  bool allow_publish_for_client = false;
  bool allow_publish_for_subscriber = false;
  bool allow_publish_for_anonymous = false;
  bool allow_presence_for_client = false;
  bool allow_presence_for_subscriber = false;
  bool allow_presence_for_anonymous = false;
  bool allow_history_for_client = false;
  bool allow_history_for_subscriber = false;
  bool allow_history_for_anonymous = false;
  bool allow_user_limited_channels = false;
  // The backend decides subscribes / client publishes (spec §5.1); the
  // name picks a proxies[] entry, "default" = channel.proxy.<kind>.
  bool subscribe_proxy_enabled = false;
  std::string subscribe_proxy_name = "default";
  bool publish_proxy_enabled = false;
  std::string publish_proxy_name = "default";
  bool sub_refresh_proxy_enabled = false;
  std::string sub_refresh_proxy_name = "default";
  std::string channel_regex;
  std::shared_ptr<const std::regex> compiled_regex;
  std::string publication_data_format;  // "", json, json_object, binary

  bool history_enabled() const { return history_size > 0 && history_ttl_ms > 0; }
};

struct Namespace {
  std::string name;
  ChannelOptions options;
  std::string source_json;  // the object as configured (seeds the store)
};

// The channel naming rules of `channel.*`.
struct ChannelRules {
  int64_t max_length = 255;
  std::string private_prefix = "$";
  std::string namespace_boundary = ":";
  std::string user_boundary = "#";
  std::string user_separator = ",";
  int64_t history_meta_ttl_ms = 720LL * 3600 * 1000;
  std::string publication_data_format;
  ChannelOptions without_namespace;
  std::vector<Namespace> namespaces;

  // Options for `channel`, or nullptr when its namespace is not configured
  // (error 102). Port of Centrifugo's resolution: strip the private prefix,
  // split at the first namespace boundary.
  const ChannelOptions *resolve(std::string_view channel) const;
  // The namespace name of a channel ("" for none) — for metrics and logs.
  std::string_view namespace_of(std::string_view channel) const;
  bool is_private(std::string_view channel) const;
  // Client-side name check: ASCII only, or the namespace's channel_regex
  // matched against the part after "ns:".
  bool name_valid(std::string_view channel, const ChannelOptions &opts) const;
  // User-limited channel check ("news#42,43"): true when `user` is listed.
  bool user_allowed(std::string_view channel, std::string_view user) const;
  bool is_user_limited(std::string_view channel) const;
  // Effective meta TTL for a channel with these options.
  int64_t meta_ttl_ms(const ChannelOptions &opts) const {
    return opts.history_meta_ttl_ms > 0 ? opts.history_meta_ttl_ms : history_meta_ttl_ms;
  }
  // Data format check for publications ("" rejects empty data).
  bool data_format_ok(const ChannelOptions &opts, std::string_view data) const;
};

}  // namespace gyre
