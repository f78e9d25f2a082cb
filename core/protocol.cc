#include "protocol.h"

namespace gyre::protocol {

namespace {
struct MethodKey {
  const char *key;
  Method method;
};
// Go takes the first non-null method field in this order.
constexpr MethodKey kMethods[] = {
    {"connect", Method::Connect},
    {"subscribe", Method::Subscribe},
    {"unsubscribe", Method::Unsubscribe},
    {"publish", Method::Publish},
    {"presence", Method::Presence},
    {"presence_stats", Method::PresenceStats},
    {"history", Method::History},
    {"rpc", Method::Rpc},
    {"send", Method::Send},
    {"refresh", Method::Refresh},
    {"sub_refresh", Method::SubRefresh},
};
}  // namespace

std::string_view method_name(Method m) {
  for (const auto &k : kMethods)
    if (k.method == m) return k.key;
  return "";
}

bool decode_command(const json::Value &root, Command &out) {
  if (!root.is_object()) return false;
  out = Command{};
  auto id = root.get("id");
  if (id && !id.is_null()) {
    auto v = id.as_uint64();
    if (!v || *v > UINT32_MAX) return false;
    out.id = static_cast<uint32_t>(*v);
  }
  for (const auto &k : kMethods) {
    auto v = root.get(k.key);
    if (v && !v.is_null()) {
      if (!v.is_object()) return false;
      out.method = k.method;
      out.params = v;
      return true;
    }
  }
  return true;
}

std::string error_reply(uint32_t id, const Error &e) {
  std::string out;
  json::Writer w(out);
  w.begin_object().field_uint("id", id).key("error").begin_object();
  w.field_uint("code", e.code).field("message", e.message);
  if (e.temporary) w.field_bool("temporary", true);
  w.end_object().end_object();
  return out;
}

std::string result_reply(uint32_t id, Method m, std::string_view result_json) {
  std::string out;
  out.reserve(result_json.size() + 32);
  json::Writer w(out);
  w.begin_object().field_uint("id", id).key(method_name(m)).raw(result_json).end_object();
  return out;
}

void write_client_info(json::Writer &w, const gyre_client_info &info) {
  w.begin_object();
  w.field("user", std::string_view(info.user.ptr ? info.user.ptr : "", info.user.len));
  w.field("client", std::string_view(info.client.ptr ? info.client.ptr : "", info.client.len));
  if (info.conn_info.len)
    w.field_raw("conn_info", std::string_view(info.conn_info.ptr, info.conn_info.len));
  if (info.size >= offsetof(gyre_client_info, chan_info) + sizeof(gyre_str) && info.chan_info.len)
    w.field_raw("chan_info", std::string_view(info.chan_info.ptr, info.chan_info.len));
  w.end_object();
}

void write_publication(json::Writer &w, const gyre_publication &pub) {
  w.begin_object();
  std::string_view data(pub.data.ptr ? pub.data.ptr : "", pub.data.len);
  if (!data.empty()) w.field_raw("data", data);
  if (pub.info) {
    w.key("info");
    write_client_info(w, *pub.info);
  }
  if (pub.offset) w.field_uint("offset", pub.offset);
  if (pub.num_tags) {
    w.key("tags").begin_object();
    for (size_t i = 0; i < pub.num_tags; ++i)
      w.field(std::string_view(pub.tags[i].key.ptr, pub.tags[i].key.len),
              std::string_view(pub.tags[i].value.ptr, pub.tags[i].value.len));
    w.end_object();
  }
  w.end_object();
}

std::string pub_push(std::string_view channel, const gyre_publication &pub) {
  std::string out;
  out.reserve(64 + channel.size() + pub.data.len);
  json::Writer w(out);
  w.begin_object().key("push").begin_object().field("channel", channel).key("pub");
  write_publication(w, pub);
  w.end_object().end_object();
  return out;
}

std::string join_push(std::string_view channel, const gyre_client_info &info, bool join) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("push").begin_object().field("channel", channel);
  w.key(join ? "join" : "leave").begin_object().key("info");
  write_client_info(w, info);
  w.end_object().end_object().end_object();
  return out;
}

std::string unsubscribe_push(std::string_view channel, const Disconnect &d) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("push").begin_object().field("channel", channel);
  w.key("unsubscribe").begin_object().field_uint("code", d.code).field("reason", d.reason);
  w.end_object().end_object().end_object();
  return out;
}

std::string message_push(std::string_view data) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("push").begin_object().key("message").begin_object();
  w.field_raw("data", data).end_object().end_object().end_object();
  return out;
}

std::string disconnect_push(const Disconnect &d) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("push").begin_object().key("disconnect").begin_object();
  w.field_uint("code", d.code).field("reason", d.reason);
  w.end_object().end_object().end_object();
  return out;
}

}  // namespace gyre::protocol
