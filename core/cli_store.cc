// gyre ns … / gyre proxy …: the namespaces and proxies in the store file
// (store.path), changed in one transaction after the whole config with the
// change has been validated, so an invalid change leaves the store as it
// was.
#include "cli_store.h"

#include <cstdio>
#include <string>
#include <vector>

#include "config_store.h"
#include "json.h"
#include "store.h"

namespace gyre {

namespace {

const char kNsHelp[] =
    "Usage: gyre ns list|get NAME|set NAME JSON|delete NAME [-c FILE] [--store PATH]\n"
    "       gyre proxy list|get NAME|set NAME JSON|delete NAME [-c FILE] [--store PATH]\n"
    "\n"
    "Reads and changes the channel namespaces / named proxies in the store file\n"
    "(store.path of the config, or --store). JSON is the options object as in\n"
    "channel.namespaces[] / proxies[] (the name comes from NAME). A change is\n"
    "checked against the whole config first and refused (exit 1) when invalid.\n"
    "The first use of a new store seeds it from the config file. A running gyre\n"
    "reads the store when it starts.\n";

int fail(const std::string &msg) {
  fprintf(stderr, "gyre: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int cmd_store(Store::Kind kind, int argc, char **argv) {
  const char *what = store_kind_name(kind);
  std::vector<std::string> args;
  ConfigFlags flags;
  bool explicit_path = false;
  std::string store_path;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      fputs(kNsHelp, stdout);
      return 0;
    }
    if ((a == "-c" || a == "--config" || a == "--store") && i + 1 < argc) {
      (a == "--store" ? store_path : flags.config_path) = argv[++i];
      if (a != "--store") explicit_path = true;
      continue;
    }
    if (a.starts_with("-")) {
      fprintf(stderr, "gyre: unknown flag %s\n%s", a.c_str(), kNsHelp);
      return 2;
    }
    args.push_back(a);
  }
  if (args.empty()) {
    fputs(kNsHelp, stderr);
    return 2;
  }
  const std::string &op = args[0];
  size_t want = op == "list" ? 1 : op == "set" ? 3 : 2;
  if ((op != "list" && op != "get" && op != "set" && op != "delete") || args.size() != want) {
    fputs(kNsHelp, stderr);
    return 2;
  }
  Config cfg;
  ConfigResult r = load_config(flags, explicit_path, cfg);
  if (!r.ok) return fail("config: " + r.error);
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
  std::vector<Store::Item> namespaces, proxies;
  if (!store->list(Store::Kind::Namespace, namespaces, err) ||
      !store->list(Store::Kind::Proxy, proxies, err))
    return fail(err);
  std::vector<Store::Item> &items = kind == Store::Kind::Namespace ? namespaces : proxies;

  if (op == "list" || op == "get") {
    std::string out;
    json::Writer w(out);
    if (op == "list") w.begin_array();
    bool found = false;
    for (const auto &it : items) {
      if (op == "get" && it.name != args[1]) continue;
      found = true;
      w.begin_object().field("name", it.name).field_raw("options", it.json);
      w.key("updated_at").int64(it.updated_at).end_object();
    }
    if (op == "list") w.end_array();
    if (op == "get" && !found) return fail(std::string("no ") + what + " \"" + args[1] + "\"");
    printf("%s\n", out.c_str());
    return 0;
  }

  const std::string &name = args[1];
  Store::Item change{kind, name, {}, 0};
  bool existed = false;
  std::vector<Store::Item> next;
  for (const auto &it : items) {
    if (it.name == name)
      existed = true;
    else
      next.push_back(it);
  }
  if (op == "set") {
    e = with_name(name, args[2], change.json);
    if (!e.empty()) return fail(std::string(what) + " \"" + name + "\": " + e);
    next.push_back(change);
  } else if (!existed) {
    return fail(std::string("no ") + what + " \"" + name + "\"");
  }
  const auto &ns_list = kind == Store::Kind::Namespace ? next : namespaces;
  const auto &proxy_list = kind == Store::Kind::Proxy ? next : proxies;
  e = replace_runtime_items(cfg, named_json(ns_list), named_json(proxy_list), warnings);
  if (!e.empty()) return fail("refused, the store is unchanged: " + e);
  bool found = false;
  if (op == "set" ? !store->put(change, err) : !store->remove(kind, name, found, err))
    return fail(err);
  printf("%s \"%s\" %s in %s; a running gyre applies it when it restarts\n", what, name.c_str(),
         op == "set" ? (existed ? "updated" : "added") : "deleted", cfg.store_path.c_str());
  for (const auto &wmsg : warnings) fprintf(stderr, "gyre: warning: %s\n", wmsg.c_str());
  return 0;
}

}  // namespace gyre
