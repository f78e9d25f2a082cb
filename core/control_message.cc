#include "control_message.h"

#include <algorithm>
#include <tuple>

#include "base64.h"

namespace gyre {

namespace {

// Bounds of one message's fields (the message itself: kMaxControlBytes).
constexpr size_t kMaxUid = 64;
constexpr size_t kMaxField = 64 * 1024;

// By ControlType, in its order.
constexpr const char *kTypeNames[] = {"node",         "shutdown", "disconnect", "unsubscribe",
                                      "subscribe",    "refresh",  "emulation",  "survey",
                                      "survey_reply", "store"};

const char *type_name(ControlType t) { return kTypeNames[static_cast<size_t>(t)]; }

bool type_from(std::string_view s, ControlType &out) {
  for (size_t i = 0; i < std::size(kTypeNames); ++i) {
    if (s != kTypeNames[i]) continue;
    out = static_cast<ControlType>(i);
    return true;
  }
  return false;
}

bool has_targets(ControlType t) {
  return t == ControlType::Disconnect || t == ControlType::Unsubscribe ||
         t == ControlType::Subscribe || t == ControlType::Refresh;
}

// Typed field readers over one message object: absent = default; a field
// of another type or out of bounds fails with its name.
struct Reader {
  json::Value obj;
  std::string &error;
  bool fail(std::string_view key, const char *what) {
    error = std::string(key) + ": " + what;
    return false;
  }
  bool str(std::string_view key, std::string &out, size_t max = kMaxField) {
    auto v = obj.get(key);
    if (!v) return true;
    if (!v.is_string()) return fail(key, "not a string");
    out = v.as_string();
    return out.size() <= max || fail(key, "too long");
  }
  bool bytes(std::string_view key, std::string &out) {
    std::string text;
    if (!str(key, text, kMaxControlBytes)) return false;
    return b64decode(text, out) || fail(key, "not base64");
  }
  // uint64_t or int64_t.
  template <typename Int>
  bool integer(std::string_view key, Int &out) {
    auto v = obj.get(key);
    if (!v) return true;
    std::optional<Int> n;
    if constexpr (std::is_signed_v<Int>)
      n = v.as_int64();
    else
      n = v.as_uint64();
    if (!n) return fail(key, std::is_signed_v<Int> ? "not an integer" : "not an unsigned integer");
    out = *n;
    return true;
  }
  bool boolean(std::string_view key, bool &out) {
    auto v = obj.get(key);
    if (!v) return true;
    if (!v.is_bool()) return fail(key, "not a boolean");
    out = v.as_bool();
    return true;
  }
};

}  // namespace

void write_node_info(json::Writer &w, const NodeInfo &n) {
  w.begin_object().field("uid", n.uid).field("name", n.name).field("version", n.version);
  w.field_uint("num_clients", n.num_clients).field_uint("num_users", n.num_users);
  w.field_uint("num_channels", n.num_channels);
  if (n.uptime > 0) w.field_uint("uptime", n.uptime);
  w.field_uint("num_subs", n.num_subs).end_object();
}

const char *control_type_name(ControlType t) { return type_name(t); }

std::string encode_control(const ControlMessage &m) {
  std::string out;
  json::Writer w(out);
  w.begin_object().field("uid", m.uid).field("type", type_name(m.type));
  auto opt = [&w](std::string_view key, const std::string &v) {
    if (!v.empty()) w.field(key, v);
  };
  auto opt_bytes = [&w](std::string_view key, const std::string &v) {
    if (!v.empty()) w.field(key, b64encode(v));
  };
  if (has_targets(m.type)) {
    opt("user", m.user);
    opt("client", m.client);
    opt("session", m.session);
  }
  switch (m.type) {
    case ControlType::Node:
      w.field("name", m.node.name).field("version", m.node.version);
      w.field_uint("num_clients", m.node.num_clients).field_uint("num_users", m.node.num_users);
      w.field_uint("num_channels", m.node.num_channels).field_uint("num_subs", m.node.num_subs);
      w.field_uint("uptime", m.node.uptime);
      break;
    case ControlType::Shutdown: break;
    case ControlType::Disconnect:
      if (!m.whitelist.empty()) {
        w.key("whitelist").begin_array();
        for (const auto &id : m.whitelist) w.string(id);
        w.end_array();
      }
      w.field_uint("code", m.code);
      opt("reason", m.reason);
      break;
    case ControlType::Unsubscribe: opt("channel", m.channel); break;
    case ControlType::Subscribe:
      opt("channel", m.channel);
      opt_bytes("b64info", m.info);
      opt_bytes("b64data", m.data);
      break;
    case ControlType::Refresh:
      if (m.expired) w.field_bool("expired", true);
      if (m.expire_at) w.key("expire_at").int64(m.expire_at);
      opt_bytes("b64info", m.info);
      break;
    case ControlType::Emulation:
      opt("session", m.session);
      opt_bytes("b64data", m.data);
      break;
    case ControlType::Survey:
      w.field_uint("id", m.id).field("op", m.op);
      opt("pattern", m.pattern);
      break;
    case ControlType::SurveyReply:
      w.field_uint("id", m.id).field_uint("code", m.code);
      if (!m.channels.empty()) {
        w.key("channels").begin_object();
        for (const auto &[name, n] : m.channels) w.field_uint(name, n);
        w.end_object();
      }
      break;
    case ControlType::Store:
      w.field("kind", m.item_kind).field("name", m.item_name);
      if (m.item_remove) w.field_bool("remove", true);
      opt("options", m.item_options);
      break;
  }
  w.end_object();
  return out;
}

bool decode_control(std::string_view data, ControlMessage &m, std::string &error) {
  if (data.size() > kMaxControlBytes) {
    error = "too large";
    return false;
  }
  json::Document doc;
  // Objects hold scalars, one array or one object of scalars: depth 2.
  if (!doc.parse(data, 3)) {
    error = "not JSON: " + doc.error();
    return false;
  }
  if (!doc.root().is_object()) {
    error = "not an object";
    return false;
  }
  Reader r{doc.root(), error};
  std::string type;
  if (!r.str("uid", m.uid, kMaxUid) || !r.str("type", type, 32)) return false;
  if (m.uid.empty()) return r.fail("uid", "missing");
  if (!type_from(type, m.type)) return r.fail("type", "unknown");
  if (has_targets(m.type) &&
      (!r.str("user", m.user) || !r.str("client", m.client) || !r.str("session", m.session)))
    return false;
  uint64_t code = 0;
  switch (m.type) {
    case ControlType::Node:
      m.node.uid = m.uid;
      return r.str("name", m.node.name) && r.str("version", m.node.version) &&
             r.integer("num_clients", m.node.num_clients) &&
             r.integer("num_users", m.node.num_users) &&
             r.integer("num_channels", m.node.num_channels) &&
             r.integer("num_subs", m.node.num_subs) && r.integer("uptime", m.node.uptime);
    case ControlType::Shutdown: return true;
    case ControlType::Disconnect: {
      if (!r.integer("code", code) || !r.str("reason", m.reason)) return false;
      // What the API accepts (a close frame's application range).
      if (code < 3000 || code > 4999) return r.fail("code", "not in 3000..4999");
      m.code = static_cast<uint32_t>(code);
      auto wl = doc.root().get("whitelist");
      if (!wl) return true;
      if (!wl.is_array()) return r.fail("whitelist", "not an array");
      for (auto e = wl.first_child(); e; e = e.next_sibling()) {
        if (!e.is_string()) return r.fail("whitelist", "not a list of strings");
        m.whitelist.push_back(e.as_string());
        if (m.whitelist.back().size() > kMaxField) return r.fail("whitelist", "too long");
      }
      return true;
    }
    case ControlType::Unsubscribe: return r.str("channel", m.channel);
    case ControlType::Subscribe:
      if (!r.str("channel", m.channel) || !r.bytes("b64info", m.info) ||
          !r.bytes("b64data", m.data))
        return false;
      return !m.channel.empty() || r.fail("channel", "missing");
    case ControlType::Refresh:
      return r.boolean("expired", m.expired) && r.integer("expire_at", m.expire_at) &&
             r.bytes("b64info", m.info);
    case ControlType::Emulation:
      if (!r.str("session", m.session) || !r.bytes("b64data", m.data)) return false;
      return !m.session.empty() || r.fail("session", "missing");
    case ControlType::Survey:
      if (!r.integer("id", m.id) || !r.str("op", m.op, 64) || !r.str("pattern", m.pattern))
        return false;
      if (m.id == 0) return r.fail("id", "missing");
      return !m.op.empty() || r.fail("op", "missing");
    case ControlType::SurveyReply: {
      if (!r.integer("id", m.id) || !r.integer("code", code)) return false;
      if (m.id == 0) return r.fail("id", "missing");
      if (code > kSurveyUnknownOp) return r.fail("code", "unknown");
      m.code = static_cast<uint32_t>(code);
      auto chs = doc.root().get("channels");
      if (!chs) return true;
      if (!chs.is_object()) return r.fail("channels", "not an object");
      for (auto e = chs.first_child(); e; e = e.next_sibling()) {
        auto n = e.as_uint64();
        if (!n) return r.fail("channels", "a count is not an unsigned integer");
        m.channels.emplace_back(e.key(), *n);
        if (m.channels.back().first.size() > kMaxField) return r.fail("channels", "too long");
      }
      return true;
    }
    case ControlType::Store:
      if (!r.str("kind", m.item_kind, 32) || !r.str("name", m.item_name) ||
          !r.boolean("remove", m.item_remove) ||
          !r.str("options", m.item_options, kMaxControlBytes))
        return false;
      if (m.item_name.empty()) return r.fail("name", "missing");
      return m.item_remove || !m.item_options.empty() || r.fail("options", "missing");
  }
  return r.fail("type", "unknown");
}

// --- NodeRegistry ----------------------------------------------------------

bool NodeRegistry::update(const NodeInfo &info, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(info.uid);
  bool fresh = it == nodes_.end() || now_ms - it->second.seen_ms > kExpireMs;
  nodes_[info.uid] = Entry{info, now_ms};
  return fresh;
}

bool NodeRegistry::remove(std::string_view uid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(uid);
  if (it == nodes_.end()) return false;
  nodes_.erase(it);
  return true;
}

std::vector<std::string> NodeRegistry::sweep(int64_t now_ms) {
  std::vector<std::string> gone;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (now_ms - it->second.seen_ms > kExpireMs) {
      gone.push_back(it->first);
      it = nodes_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

std::vector<NodeInfo> NodeRegistry::live(int64_t now_ms) const {
  std::vector<NodeInfo> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto &[uid, e] : nodes_)
      if (now_ms - e.seen_ms <= kExpireMs) out.push_back(e.info);
  }
  std::sort(out.begin(), out.end(), [](const NodeInfo &a, const NodeInfo &b) {
    return std::tie(a.name, a.uid) < std::tie(b.name, b.uid);
  });
  return out;
}

bool NodeRegistry::contains(std::string_view uid, int64_t now_ms) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(uid);
  return it != nodes_.end() && now_ms - it->second.seen_ms <= kExpireMs;
}

size_t NodeRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return nodes_.size();
}

}  // namespace gyre
