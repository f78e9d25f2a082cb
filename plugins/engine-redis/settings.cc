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
    {"sentinel_address", GYRE_CONFIG_STRING_LIST, nullptr, "Redis Sentinel: not supported yet"},
    {"sentinel_master_name", GYRE_CONFIG_STRING, nullptr, "Redis Sentinel: not supported yet"},
    {"cluster_address", GYRE_CONFIG_STRING_LIST, nullptr, "Redis Cluster: not supported yet"},
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

}  // namespace

std::string parse_address(std::string_view text, RedisAddress &out) {
  out = RedisAddress{};
  std::string_view s = text;
  bool url = false;
  if (s.starts_with("redis+sentinel://") || s.starts_with("redis+cluster://"))
    return "Redis Sentinel and Redis Cluster are not supported by this version of engine-redis";
  if (s.starts_with("rediss://")) return "TLS to Redis (rediss://) is not supported yet";
  if (s.starts_with("unix://")) return "unix sockets are not supported";
  if (s.starts_with("redis://")) {
    s.remove_prefix(8);
    url = true;
  } else if (s.starts_with("tcp://")) {
    s.remove_prefix(6);
  }
  if (size_t q = s.find('?'); q != std::string_view::npos) {
    if (!url) return "options after '?' need the redis:// form";
    s = s.substr(0, q);  // Centrifugo options in the query: none we act on
  }
  if (url) {
    if (size_t at = s.rfind('@'); at != std::string_view::npos) {
      std::string_view cred = s.substr(0, at);
      s.remove_prefix(at + 1);
      size_t colon = cred.find(':');
      if (colon == std::string_view::npos) {
        out.password = url_decode(cred);  // redis://secret@host (no user)
      } else {
        out.user = url_decode(cred.substr(0, colon));
        out.password = url_decode(cred.substr(colon + 1));
      }
    }
    if (size_t slash = s.find('/'); slash != std::string_view::npos) {
      std::string_view db = s.substr(slash + 1);
      s = s.substr(0, slash);
      if (!db.empty() && !parse_int(db, 0, 1 << 20, out.db)) return "bad database number";
    }
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
  for (const char *key : {"sentinel_master_name"}) {
    std::string s;
    str(key, s);
    if (!s.empty())
      return std::string("engine.redis.") + key +
             ": Redis Sentinel is not supported by this version of engine-redis";
  }
  for (const char *key : {"sentinel_address", "cluster_address"})
    if (api->config_get_list(host, key, 0, &v))
      return std::string("engine.redis.") + key +
             ": Redis Sentinel and Redis Cluster are not supported by this version of "
             "engine-redis";
  std::string user, password;
  str("user", user);
  str("password", password);
  int64_t db = 0;
  api->config_get_int(host, "db", &db);
  if (db < 0 || db > (1 << 20)) return "engine.redis.db: must be between 0 and 1048576";
  for (size_t i = 0; api->config_get_list(host, "address", i, &v); ++i) {
    if (i >= 64) return "engine.redis.address: at most 64 shards";
    RedisAddress a;
    std::string text(v.ptr ? v.ptr : "", v.len);
    std::string err = parse_address(text, a);
    if (!err.empty()) return "engine.redis.address \"" + redact(text) + "\": " + err;
    if (a.user.empty()) a.user = user;
    if (a.password.empty()) a.password = password;
    if (a.db == 0) a.db = static_cast<int>(db);
    out.shards.push_back(std::move(a));
  }
  if (out.shards.empty()) return "engine.redis.address: no address given";
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
