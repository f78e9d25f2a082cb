// gyre ns … / gyre proxy … / gyre rpc …: the namespaces, proxies and RPC
// namespaces of the store. When the configured gyre runs (its API port
// answers), through its server API, so that the change applies at once on
// every node; when it does not, in the store file itself (store.path),
// after the whole config with the change has been validated, so an invalid
// change leaves the store as it was.
#include "cli_store.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "config_store.h"
#include "http_client.h"
#include "json.h"
#include "loop.h"
#include "store.h"

namespace gyre {

namespace {

const char kStoreHelp[] =
    "Usage: gyre ns    list | get NAME | set NAME JSON | delete NAME [flags]\n"
    "       gyre proxy list | get NAME | set NAME JSON | delete NAME [flags]\n"
    "       gyre rpc   list | get NAME | set NAME JSON | delete NAME [flags]\n"
    "\n"
    "Reads and changes the channel namespaces, named proxies and RPC namespaces\n"
    "of the store. JSON is the options object as in channel.namespaces[] /\n"
    "proxies[] / rpc.namespaces[] (the name comes from NAME).\n"
    "\n"
    "When the configured gyre runs (http_server.address:port answers), the\n"
    "command goes through its server API (http_api.key from the config): a\n"
    "change applies to new commands at once, on every node, and disconnects\n"
    "nobody. When it does not run, the store file (store.path) is changed: gyre\n"
    "reads it when it starts (a gyre running on that file notices within a\n"
    "second, on that node only). Either way an invalid change is refused\n"
    "(exit 1) and the store is left as it was.\n"
    "\n"
    "Flags:\n"
    "  -c, --config FILE  config file (default config.json)\n"
    "  --api URL          the server API to use (e.g. http://10.0.0.5:8000/api);\n"
    "                     an error if it does not answer\n"
    "  --store PATH       change this store file, not the running server\n";

int fail(const std::string &msg) {
  fprintf(stderr, "gyre: %s\n", msg.c_str());
  return 1;
}

const char *method_prefix(Store::Kind kind) {
  switch (kind) {
    case Store::Kind::Namespace: return "ns_";
    case Store::Kind::Proxy: return "proxy_";
    case Store::Kind::RpcNamespace: return "rpc_ns_";
  }
  return "";
}

// Whether something accepts connections at host:port (2 s at most): tells
// a running server from a stopped one before anything is sent.
bool listening(const std::string &host, int port) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return false;
  bool ok = false;
  for (addrinfo *ai = res; ai && !ok; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      ok = poll(&p, 1, 2000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
           err == 0;
    }
    close(fd);
  }
  freeaddrinfo(res);
  return ok;
}

// One server API call; the answer's "result" into `result`, else an error.
std::string call_api(const HttpUrl &api, const std::string &key, const std::string &method,
                     const std::string &body, std::string &result) {
  HttpUrl url = api;
  while (url.path.size() > 1 && url.path.back() == '/') url.path.pop_back();
  url.path += "/" + method;
  Loop loop;
  BackendResponse res;
  {
    HttpClient client(loop);
    HttpHeaders headers;
    if (!key.empty()) headers.emplace_back("X-API-Key", key);
    client.post(url, headers, body, 10000, [&](BackendResponse r) {
      res = std::move(r);
      loop.stop();
    });
    loop.run();
  }
  std::string where = api.text;
  if (res.status == 0) return where + ": " + res.error;
  if (res.status == 401) return where + ": 401, the API key was refused (http_api.key)";
  if (res.status != 200)
    return where + ": HTTP " + std::to_string(res.status) +
           (res.status == 404 ? " (no such API method: is it an older gyre?)" : "");
  json::Document d;
  if (!d.parse(res.body) || !d.root().is_object()) return where + ": the answer is not JSON";
  if (auto e = d.root().get("error"); e.is_object()) {
    auto m = e.get("message");
    return m.is_string() ? m.as_string() : "error " + std::string(e.raw());
  }
  auto r = d.root().get("result");
  result = r ? std::string(r.raw()) : "{}";
  return "";
}

// The options object of every item of a list answer / of a get answer, as
// the file mode prints them.
std::string api_output(const std::string &op, const std::string &result) {
  json::Document d;
  if (!d.parse(result)) return result;
  if (op == "list") {
    auto items = d.root().get("items");
    return items ? std::string(items.raw()) : "[]";
  }
  auto item = d.root().get("item");
  return item ? std::string(item.raw()) : result;
}

}  // namespace

int cmd_store(Store::Kind kind, int argc, char **argv) {
  const char *what = store_kind_name(kind);
  std::vector<std::string> args;
  ConfigFlags flags;
  bool explicit_path = false;
  std::string store_path, api_text;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      fputs(kStoreHelp, stdout);
      return 0;
    }
    if ((a == "-c" || a == "--config" || a == "--store" || a == "--api") && i + 1 < argc) {
      std::string &dest = a == "--store" ? store_path : a == "--api" ? api_text : flags.config_path;
      dest = argv[++i];
      if (a == "-c" || a == "--config") explicit_path = true;
      continue;
    }
    if (a.starts_with("-")) {
      fprintf(stderr, "gyre: unknown flag %s\n%s", a.c_str(), kStoreHelp);
      return 2;
    }
    args.push_back(a);
  }
  const std::string op = args.empty() ? "" : args[0];
  size_t want = op == "list" ? 1 : op == "set" ? 3 : 2;
  if ((op != "list" && op != "get" && op != "set" && op != "delete") || args.size() != want) {
    fputs(kStoreHelp, stderr);
    return 2;
  }
  if (!store_path.empty() && !api_text.empty()) return fail("--store and --api exclude each other");
  Config cfg;
  ConfigResult r = load_config(flags, explicit_path, cfg);
  if (!r.ok) return fail("config: " + r.error);
  const std::string name = want > 1 ? args[1] : "";
  std::string options;
  if (op == "set") {
    std::string e = with_name(name, args[2], options);
    if (!e.empty()) return fail(std::string(what) + " \"" + name + "\": " + e);
  }

  // The running server, unless told to use a file.
  HttpUrl api;
  bool use_api = false;
  if (!api_text.empty()) {
    std::string e = parse_http_url(api_text, api);
    if (!e.empty()) return fail("--api: " + e);
    if (!listening(api.host, api.port)) return fail(api_text + ": nothing answers there");
    use_api = true;
  } else if (store_path.empty() && !cfg.api_disabled) {
    std::string host = cfg.address.empty() || cfg.address == "0.0.0.0" || cfg.address == "::"
                           ? "127.0.0.1"
                           : cfg.address;
    std::string text = "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                       ":" + std::to_string(cfg.port) + cfg.api_prefix;
    if (listening(host, static_cast<int>(cfg.port)) && parse_http_url(text, api).empty())
      use_api = true;
  }
  if (use_api) {
    std::string body;
    json::Writer w(body);
    w.begin_object();
    if (!name.empty()) w.field("name", name);
    if (op == "set") w.field_raw("options", options);
    w.end_object();
    std::string result;
    std::string e =
        call_api(api, cfg.api_insecure ? "" : cfg.api_key, method_prefix(kind) + op, body, result);
    if (!e.empty()) return fail(e);
    if (op == "list" || op == "get") {
      printf("%s\n", api_output(op, result).c_str());
      return 0;
    }
    bool changed = result.find("\"changed\":true") != std::string::npos;
    printf("%s \"%s\" %s on the running gyre (%s)%s\n", what, name.c_str(),
           op == "set" ? (changed ? "set" : "unchanged") : "deleted", api.text.c_str(),
           changed || op == "delete" ? ", applied on every node" : "");
    return 0;
  }

  if (!store_path.empty()) cfg.store_path = store_path;
  if (cfg.store_path.empty())
    return fail("no store: set store.path in the config or give --store PATH");
  std::vector<std::string> warnings;
  std::string note;
  std::string e = apply_store(cfg, warnings, note);
  if (!e.empty()) return fail(e);
  std::string err;
  auto store = Store::open(cfg.store_path, err);
  if (!store) return fail(err);

  if (op == "list" || op == "get") {
    std::vector<Store::Item> items;
    if (!store->list(kind, items, err)) return fail(err);
    std::string out = op == "list" ? "[" : "";
    bool found = false;
    for (const auto &it : items) {
      if (op == "get" && it.name != name) continue;
      if (found) out += ',';
      found = true;
      out += item_json(it);
    }
    if (op == "list") out += "]";
    if (op == "get" && !found) return fail(std::string("no ") + what + " \"" + name + "\"");
    printf("%s\n", out.c_str());
    return 0;
  }

  Store::Change change{kind, name, op == "delete", options};
  Store::Outcome out;
  auto check = [&](const Store::Items &items) {
    Config next;
    return config_with(cfg, items, next);
  };
  if (!store->update(change, check, out, err)) return fail(err);
  if (!out.refused.empty()) return fail("refused, the store is unchanged: " + out.refused);
  if (change.remove && !out.existed) return fail(std::string("no ") + what + " \"" + name + "\"");
  printf(
      "%s \"%s\" %s in %s (a gyre running on this file applies it within a second, this "
      "node only; a stopped one when it starts)\n",
      what, name.c_str(),
      !out.changed  ? "unchanged"
      : op == "set" ? (out.existed ? "updated" : "added")
                    : "deleted",
      cfg.store_path.c_str());
  return 0;
}

}  // namespace gyre
