// Server API methods of the store (Gyre's; Centrifugo has none): read and
// change the channel namespaces, named proxies and RPC namespaces of a
// running cluster. <kind>_list, <kind>_get {name}, <kind>_set {name,
// options}, <kind>_delete {name}, kind = ns, proxy, rpc_ns. A change is
// validated with the whole config and refused (107, the reason, nothing
// changed) when invalid; once it took, every loop of this node runs with it
// and the other nodes are told.
#include <string>

#include "api.h"
#include "config_store.h"
#include "node.h"
#include "store_service.h"

namespace gyre {

namespace {

struct StoreMethod {
  Store::Kind kind;
  enum Op { List, Get, Set, Delete } op;
};

bool parse_store_method(std::string_view method, StoreMethod &out) {
  static const std::pair<const char *, Store::Kind> kPrefixes[] = {
      {"ns_", Store::Kind::Namespace},
      {"proxy_", Store::Kind::Proxy},
      {"rpc_ns_", Store::Kind::RpcNamespace}};
  static const std::pair<const char *, StoreMethod::Op> kOps[] = {{"list", StoreMethod::List},
                                                                  {"get", StoreMethod::Get},
                                                                  {"set", StoreMethod::Set},
                                                                  {"delete", StoreMethod::Delete}};
  for (const auto &[prefix, kind] : kPrefixes) {
    if (!method.starts_with(prefix)) continue;
    std::string_view op = method.substr(std::string_view(prefix).size());
    for (const auto &[name, o] : kOps) {
      if (op != name) continue;
      out = StoreMethod{kind, o};
      return true;
    }
  }
  return false;
}

ApiOutcome outcome(const StoreService::Reply &r) {
  if (r.ok) return ApiOutcome::ok(r.json);
  if (r.not_found || r.message.starts_with("refused"))
    return ApiOutcome::fail(errors::kBadRequest.code, r.message);
  return ApiOutcome::fail(errors::kInternal.code, r.message);
}

}  // namespace

bool is_store_method(std::string_view method) {
  StoreMethod m;
  return parse_store_method(method, m);
}

bool ServerApi::store_method(std::string_view method, const json::Value &p, ApiDone &done) {
  StoreMethod m;
  if (!parse_store_method(method, m)) return false;
  StoreService *store = node_.store();
  if (!store) {
    done(ApiOutcome::fail(errors::kNotAvailable.code,
                          "not available: this node has no store (set store.path)"));
    return true;
  }
  auto reply = [done](StoreService::Reply r) { done(outcome(r)); };
  if (m.op == StoreMethod::List) {
    store->list(m.kind, reply);
    return true;
  }
  std::string name;
  auto n = p.get("name", true);
  if (n && !n.is_null() && !n.is_string()) {
    done(ApiOutcome::bad_input());
    return true;
  }
  if (n.is_string()) name = n.as_string();
  if (name.empty()) {
    done(ApiOutcome::fail(errors::kBadRequest.code, "bad request: name is required"));
    return true;
  }
  if (m.op == StoreMethod::Get) {
    store->get(m.kind, name, reply);
    return true;
  }
  Store::Change c;
  c.kind = m.kind;
  c.name = name;
  c.remove = m.op == StoreMethod::Delete;
  if (!c.remove) {
    auto o = p.get("options", true);
    if (!o.is_object()) {
      done(
          ApiOutcome::fail(errors::kBadRequest.code, "bad request: options must be a JSON object"));
      return true;
    }
    std::string e = with_name(name, std::string(o.raw()), c.json);
    if (!e.empty()) {
      done(ApiOutcome::fail(errors::kBadRequest.code, "bad request: options: " + e));
      return true;
    }
  }
  store->change(std::move(c), reply);
  return true;
}

}  // namespace gyre
