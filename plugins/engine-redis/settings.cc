#include "settings.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace gyre::redis {

const gyre_config_field kConfigSchema[] = {
    {"address", GYRE_CONFIG_STRING_LIST, "redis://127.0.0.1:6379",
     "Redis server(s): host:port or redis://[[user]:password@]host[:port][/db]; several "
     "addresses shard channels over independent servers (jump hash, as Centrifugo)"},
    {"prefix", GYRE_CONFIG_STRING, "centrifugo", "prefix of every Redis key and PUB/SUB channel"},
    {"connect_timeout", GYRE_CONFIG_DURATION_MS, "1s", "how long a connection attempt may take"},
    {"io_timeout", GYRE_CONFIG_DURATION_MS, "4s",
     "how long a command may wait for its reply before the connection is dropped"},
    {"user", GYRE_CONFIG_STRING, nullptr, "ACL user (AUTH user password)"},
    {"password", GYRE_CONFIG_STRING, nullptr, "password (AUTH); never logged"},
    {"db", GYRE_CONFIG_INT, "0", "database number (SELECT); PUB/SUB ignores it"},
    {"client_name", GYRE_CONFIG_STRING, nullptr, "CLIENT SETNAME of every connection"},
    {"sentinel_address", GYRE_CONFIG_STRING_LIST, nullptr,
     "Redis Sentinel servers (host:port) that name the master of sentinel_master_name; "
     "one shard (use redis+sentinel:// addresses for several)"},
    {"sentinel_master_name", GYRE_CONFIG_STRING, nullptr, "the master's name at the sentinels"},
    {"sentinel_user", GYRE_CONFIG_STRING, nullptr, "ACL user at the sentinels"},
    {"sentinel_password", GYRE_CONFIG_STRING, nullptr, "password at the sentinels; never logged"},
    {"cluster_address", GYRE_CONFIG_STRING_LIST, nullptr,
     "Redis Cluster nodes (host:port) to learn the slot map from; one cluster (use "
     "redis+cluster:// addresses for several)"},
    {nullptr, GYRE_CONFIG_STRING, nullptr, nullptr},
};

namespace {

bool parse_int(std::string_view s, int lo, int hi, int &out) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

// Percent-decoding for user and password in a URL.
std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// A name or literal to one IPv4/IPv6 address text. Only at startup.
bool resolve(std::string &host) {
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1)
    return true;
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo *res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) return false;
  char text[INET6_ADDRSTRLEN] = {0};
  const void *a =
      res->ai_family == AF_INET
          ? static_cast<const void *>(&reinterpret_cast<sockaddr_in *>(res->ai_addr)->sin_addr)
          : static_cast<const void *>(&reinterpret_cast<sockaddr_in6 *>(res->ai_addr)->sin6_addr);
  bool ok = inet_ntop(res->ai_family, a, text, sizeof text) != nullptr;
  freeaddrinfo(res);
  if (ok) host = text;
  return ok;
}

// The address without its credentials, for messages.
std::string redact(std::string_view text) {
  size_t at = text.rfind('@');
  if (at == std::string_view::npos) return std::string(text);
  size_t scheme = text.find("://");
  size_t from = scheme == std::string_view::npos ? 0 : scheme + 3;
  if (from > at) return std::string(text);
  return std::string(text.substr(0, from)) + "***" + std::string(text.substr(at));
}

bool parse_host_port(std::string_view s, int default_port, std::string &host, int &port) {
  std::string_view h = s, p;
  if (s.starts_with('[')) {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    h = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return false;
      p = rest.substr(1);
    }
  } else if (size_t colon = s.rfind(':'); colon != std::string_view::npos) {
    h = s.substr(0, colon);
    p = s.substr(colon + 1);
  }
  port = default_port;
  if (h.empty() || (!p.empty() && !parse_int(p, 1, 65535, port))) return false;
  host = std::string(h);
  return true;
}

// The parts of "[[user]:password@]hosts[/db][?query]" after a redis://,
// redis+sentinel:// or redis+cluster:// scheme; the credentials go into out
// (percent-decoded; "secret@host" is a password without a user).
struct UrlParts {
  std::string_view hosts, db, query;
};

UrlParts split_url(std::string_view s, RedisAddress &out) {
  UrlParts parts;
  if (size_t q = s.find('?'); q != std::string_view::npos) {
    parts.query = s.substr(q + 1);
    s = s.substr(0, q);
  }
  if (size_t at = s.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = s.substr(0, at);
    s.remove_prefix(at + 1);
    size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      out.password = url_decode(cred);
    } else {
      out.user = url_decode(cred.substr(0, colon));
      out.password = url_decode(cred.substr(colon + 1));
    }
  }
  if (size_t slash = s.find('/'); slash != std::string_view::npos) {
    parts.db = s.substr(slash + 1);
    s = s.substr(0, slash);
  }
  parts.hosts = s;
  return parts;
}

// host:port[,host:port...] into nodes (resolved); `what` names them in errors.
std::string parse_node_list(std::string_view s, int default_port, const char *what,
                            std::vector<std::pair<std::string, int>> &nodes) {
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view one = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
    std::string host;
    int port = 0;
    if (!parse_host_port(one, default_port, host, port))
      return std::string("bad ") + what + " address";
    if (!resolve(host)) return std::string("cannot resolve ") + what + " host " + host;
    nodes.emplace_back(std::move(host), port);
  }
  return {};
}

// After "redis+sentinel://".
std::string parse_sentinel(std::string_view s, RedisAddress &out) {
  UrlParts parts = split_url(s, out);
  if (!parts.db.empty() && !parse_int(parts.db, 0, 1 << 20, out.db)) return "bad database number";
  std::string err = parse_node_list(parts.hosts, 26379, "sentinel", out.sentinels);
  if (!err.empty()) return err;
  std::string_view query = parts.query;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    std::string v = eq == std::string_view::npos ? std::string() : url_decode(kv.substr(eq + 1));
    if (k == "sentinel_master_name") out.master_name = v;
    if (k == "sentinel_password") out.sentinel_password = v;
    if (k == "sentinel_user") out.sentinel_user = v;
  }
  if (out.sentinels.empty()) return "no sentinel address";
  if (out.master_name.empty()) return "sentinel_master_name missing";
  out.host.clear();
  out.port = 0;
  out.text = "sentinel master " + out.master_name;
  return {};
}

// After "redis+cluster://".
std::string parse_cluster(std::string_view s, RedisAddress &out) {
  UrlParts parts = split_url(s, out);
  if (!parts.db.empty() && parts.db != "0") return "Redis Cluster has only database 0";
  std::string_view query = parts.query;
  std::string err = parse_node_list(parts.hosts, 6379, "cluster node", out.cluster_nodes);
  if (!err.empty()) return err;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = kv.find('=');
    if (kv.substr(0, eq) != "addr" || eq == std::string_view::npos) continue;
    std::string v = url_decode(kv.substr(eq + 1));
    err = parse_node_list(v, 6379, "cluster node", out.cluster_nodes);
    if (!err.empty()) return err;
  }
  if (out.cluster_nodes.empty()) return "no cluster node address";
  out.host = out.cluster_nodes[0].first;
  out.port = out.cluster_nodes[0].second;
  out.text = "cluster " + out.host + ":" + std::to_string(out.port);
  return {};
}

}  // namespace

std::string parse_address(std::string_view text, RedisAddress &out) {
  out = RedisAddress{};
  std::string_view s = text;
  bool url = false;
  if (s.starts_with("redis+cluster://")) return parse_cluster(s.substr(16), out);
  if (s.starts_with("redis+sentinel://")) return parse_sentinel(s.substr(17), out);
  if (s.starts_with("rediss://")) return "TLS to Redis (rediss://) is not supported yet";
  if (s.starts_with("unix://")) return "unix sockets are not supported";
  if (s.starts_with("redis://")) {
    s.remove_prefix(8);
    url = true;
  } else if (s.starts_with("tcp://")) {
    s.remove_prefix(6);
  }
  if (!url && s.find('?') != std::string_view::npos)
    return "options after '?' need the redis:// form";
  if (url) {
    // Centrifugo options in the query: none we act on.
    UrlParts parts = split_url(s, out);
    if (!parts.db.empty() && !parse_int(parts.db, 0, 1 << 20, out.db)) return "bad database number";
    s = parts.hosts;
  }
  std::string_view host = s, port;
  if (s.starts_with('[')) {  // [::1]:6379
    size_t close = s.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in the host";
    host = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return "expected ':' after ']'";
      port = rest.substr(1);
    }
  } else if (size_t colon = s.rfind(':'); colon != std::string_view::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty()) return "no host";
  if (!port.empty() && !parse_int(port, 1, 65535, out.port)) return "bad port";
  out.host = std::string(host);
  out.text = out.host + ":" + std::to_string(out.port);
  if (out.db) out.text += "/" + std::to_string(out.db);
  if (!resolve(out.host)) return "cannot resolve host " + std::string(host);
  return {};
}

std::string read_settings(const gyre_host_api *api, gyre_host *host, RedisSettings &out) {
  gyre_str v{};
  auto str = [&](const char *key, std::string &dst) {
    if (api->config_get_string(host, key, &v)) dst.assign(v.ptr ? v.ptr : "", v.len);
  };
  std::string user, password, master, s_user, s_password;
  str("user", user);
  str("password", password);
  str("sentinel_master_name", master);
  str("sentinel_user", s_user);
  str("sentinel_password", s_password);
  // Centrifugo's separate keys: the sentinels of one master, one shard.
  std::string sentinel_url;
  RedisAddress from_sentinel_keys;
  for (size_t i = 0; api->config_get_list(host, "sentinel_address", i, &v); ++i) {
    if (i) sentinel_url += ',';
    sentinel_url.append(v.ptr ? v.ptr : "", v.len);
  }
  if (!sentinel_url.empty()) {
    if (master.empty())
      return "engine.redis.sentinel_master_name: required with engine.redis.sentinel_address";
    RedisAddress &a = from_sentinel_keys;
    std::string err = parse_sentinel(sentinel_url + "?sentinel_master_name=x", a);
    if (!err.empty()) return "engine.redis.sentinel_address: " + err;
    a.master_name = master;
    a.text = "sentinel master " + master;
  } else if (!master.empty()) {
    return "engine.redis.sentinel_address: required with engine.redis.sentinel_master_name";
  }
  int64_t db = 0;
  api->config_get_int(host, "db", &db);
  if (db < 0 || db > (1 << 20)) return "engine.redis.db: must be between 0 and 1048576";
  // Centrifugo's cluster_address: the seed nodes of one cluster, one shard.
  std::string cluster_url;
  for (size_t i = 0; api->config_get_list(host, "cluster_address", i, &v); ++i) {
    if (i) cluster_url += ',';
    cluster_url.append(v.ptr ? v.ptr : "", v.len);
  }
  if (!cluster_url.empty()) {
    if (!sentinel_url.empty())
      return "engine.redis.cluster_address: cannot be combined with engine.redis.sentinel_address";
    RedisAddress a;
    std::string err = parse_cluster(cluster_url, a);
    if (!err.empty()) return "engine.redis.cluster_address: " + err;
    a.user = user;
    a.password = password;
    out.shards.push_back(std::move(a));
  }
  if (!from_sentinel_keys.sentinels.empty()) {
    // engine.redis.address (its default included) is not used then.
    RedisAddress a = std::move(from_sentinel_keys);
    a.user = user;
    a.password = password;
    a.db = static_cast<int>(db);
    a.sentinel_user = s_user;
    a.sentinel_password = s_password;
    out.shards.push_back(std::move(a));
  }
  for (size_t i = 0;
       sentinel_url.empty() && cluster_url.empty() && api->config_get_list(host, "address", i, &v);
       ++i) {
    if (i >= 64) return "engine.redis.address: at most 64 shards";
    RedisAddress a;
    std::string text(v.ptr ? v.ptr : "", v.len);
    std::string err = parse_address(text, a);
    if (!err.empty()) return "engine.redis.address \"" + redact(text) + "\": " + err;
    if (a.user.empty()) a.user = user;
    if (a.password.empty()) a.password = password;
    if (a.db == 0) a.db = static_cast<int>(db);
    if (!a.sentinels.empty()) {
      if (a.sentinel_user.empty()) a.sentinel_user = s_user;
      if (a.sentinel_password.empty()) a.sentinel_password = s_password;
    }
    out.shards.push_back(std::move(a));
  }
  if (out.shards.empty()) return "engine.redis.address: no address given";
  size_t clusters = 0;
  for (auto &a : out.shards) {
    if (a.cluster_nodes.empty()) continue;
    ++clusters;
    if (a.db != 0) return "engine.redis.db: Redis Cluster has only database 0";
  }
  // Key names differ (hash tags), so one node cannot mix the two kinds.
  if (clusters && clusters != out.shards.size())
    return "engine.redis.address: Redis Cluster and standalone/Sentinel shards cannot be mixed";
  str("prefix", out.prefix);
  if (out.prefix.empty() || out.prefix.size() > 128)
    return "engine.redis.prefix: must be 1 to 128 characters";
  str("client_name", out.client_name);
  api->config_get_duration_ms(host, "connect_timeout", &out.connect_timeout_ms);
  api->config_get_duration_ms(host, "io_timeout", &out.io_timeout_ms);
  if (out.connect_timeout_ms < 10) return "engine.redis.connect_timeout: must be at least 10ms";
  if (out.io_timeout_ms < 10) return "engine.redis.io_timeout: must be at least 10ms";
  return {};
}

}  // namespace gyre::redis
