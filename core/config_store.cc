#include "config_store.h"

#include "json.h"

namespace gyre {

RuntimeItems runtime_items(const Store::Items &items) {
  RuntimeItems out;
  std::vector<NamedJson> *lists[] = {&out.namespaces, &out.proxies, &out.rpc_namespaces};
  for (size_t k = 0; k < Store::kKinds; ++k)
    for (const auto &it : items[k]) lists[k]->push_back(NamedJson{it.name, it.json});
  return out;
}

std::string config_with(const Config &base, const Store::Items &items, Config &out) {
  out = base;
  std::vector<std::string> warnings;
  return replace_runtime_items(out, runtime_items(items), warnings);
}

std::string item_json(const Store::Item &item) {
  std::string out;
  json::Writer w(out);
  w.begin_object().field("name", item.name).field_raw("options", item.json);
  w.key("updated_at").int64(item.updated_at).end_object();
  return out;
}

std::string with_name(const std::string &name, const std::string &text, std::string &out) {
  json::Document d;
  if (!d.parse(text) || !d.root().is_object()) return "options must be a JSON object";
  if (auto n = d.root().get("name"); n) {
    if (!n.is_string() || n.as_string() != name)
      return "the object names \"" + (n.is_string() ? n.as_string() : std::string("?")) +
             "\", not \"" + name + "\"";
    out = text;
    return "";
  }
  std::string quoted;
  json::append_quoted(quoted, name);
  // After the '{': the members, if any, follow the name.
  std::string_view body(text);
  size_t open = body.find('{');
  std::string rest(body.substr(open + 1));
  bool empty = d.root().size() == 0;
  out = "{\"name\":" + quoted + (empty ? "}" : "," + rest);
  return "";
}

std::string apply_store(Config &c, std::vector<std::string> &warnings, std::string &note) {
  if (c.store_path.empty()) return "";
  std::string err;
  auto store = Store::open(c.store_path, err);
  if (!store) return err;
  auto fail = [&](const std::string &why) { return "store " + c.store_path + ": " + why; };
  // Kinds not seeded yet: all of them in a new file; the RPC namespaces in a
  // file an older Gyre made (schema 1).
  std::vector<Store::Kind> unseeded;
  for (size_t k = 0; k < Store::kKinds; ++k) {
    bool seeded = false;
    if (!store->seeded(static_cast<Store::Kind>(k), seeded, err)) return fail(err);
    if (!seeded) unseeded.push_back(static_cast<Store::Kind>(k));
  }
  if (!unseeded.empty()) {
    std::vector<Store::Item> seed;
    for (Store::Kind k : unseeded) {
      if (k == Store::Kind::Namespace)
        for (const auto &ns : c.channel.namespaces)
          seed.push_back(Store::Item{k, ns.name, ns.source_json, 0});
      if (k == Store::Kind::Proxy)
        for (const auto &p : c.proxy.named)
          seed.push_back(Store::Item{k, p.name, p.source_json, 0});
      if (k == Store::Kind::RpcNamespace)
        for (const auto &ns : c.proxy.rpc_namespaces)
          seed.push_back(Store::Item{k, ns.name, ns.source_json, 0});
    }
    if (!store->seed(seed, unseeded, err)) return fail(err);
  }
  Store::Items items;
  if (!store->list_all(items, err)) return fail(err);
  std::string e = replace_runtime_items(c, runtime_items(items), warnings);
  if (!e.empty()) return fail(e);
  std::string counts = std::to_string(items[0].size()) + " namespaces, " +
                       std::to_string(items[1].size()) + " proxies, " +
                       std::to_string(items[2].size()) + " RPC namespaces";
  if (unseeded.size() == Store::kKinds)
    note = "store " + c.store_path + " seeded from the config file (" + counts +
           "); it is the source of them from now on";
  else
    note = "store " + c.store_path + ": " + counts +
           " (channel.namespaces, proxies and rpc.namespaces in the config file are not used" +
           (unseeded.empty() ? std::string(")") : std::string("; RPC namespaces seeded now)"));
  return "";
}

}  // namespace gyre
