#include "config_store.h"

#include "json.h"

namespace gyre {

std::vector<NamedJson> named_json(const std::vector<Store::Item> &items) {
  std::vector<NamedJson> out;
  out.reserve(items.size());
  for (const auto &it : items) out.push_back(NamedJson{it.name, it.json});
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
  bool seeded = false;
  if (!store->seeded(seeded, err)) return "store " + c.store_path + ": " + err;
  if (!seeded) {
    std::vector<Store::Item> seed;
    for (const auto &ns : c.channel.namespaces)
      seed.push_back(Store::Item{Store::Kind::Namespace, ns.name, ns.source_json, 0});
    for (const auto &p : c.proxy.named)
      seed.push_back(Store::Item{Store::Kind::Proxy, p.name, p.source_json, 0});
    if (!store->seed(seed, err)) return "store " + c.store_path + ": " + err;
    note = "store " + c.store_path + " seeded from the config file (" +
           std::to_string(c.channel.namespaces.size()) + " namespaces, " +
           std::to_string(c.proxy.named.size()) + " proxies); it is the source of them from now on";
    return "";
  }
  std::vector<Store::Item> namespaces, proxies;
  if (!store->list(Store::Kind::Namespace, namespaces, err) ||
      !store->list(Store::Kind::Proxy, proxies, err))
    return "store " + c.store_path + ": " + err;
  std::string e = replace_runtime_items(c, named_json(namespaces), named_json(proxies), warnings);
  if (!e.empty()) return "store " + c.store_path + ": " + e;
  note = "store " + c.store_path + ": " + std::to_string(namespaces.size()) + " namespaces, " +
         std::to_string(proxies.size()) + " proxies (channel.namespaces and proxies in the " +
         "config file are not used)";
  return "";
}

}  // namespace gyre
