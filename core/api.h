// ServerApi: Centrifugo's HTTP server API — POST <prefix>/<method> and the
// legacy POST <prefix> — with its key check, error model and JSON shapes
// (server-api spec §1).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "codes.h"
#include "http.h"
#include "json.h"

namespace gyre {

class Node;

struct ApiOutcome {
  const Error *error = nullptr;
  bool decode_error = false;  // request fields of the wrong type
  std::string result;         // JSON object, when no error
  // An error with a message of its own (`error` points here).
  struct OwnedError {
    std::string text;
    Error error;
  };
  std::shared_ptr<const OwnedError> owned;
  static ApiOutcome ok(std::string json) { return ApiOutcome{nullptr, false, std::move(json), {}}; }
  static ApiOutcome fail(const Error &e) { return ApiOutcome{&e, false, {}, {}}; }
  // Code `code` with a message that says more than the code's own.
  static ApiOutcome fail(uint32_t code, std::string message) {
    auto e = std::make_shared<OwnedError>();
    e->text = std::move(message);
    e->error = Error{code, e->text};
    ApiOutcome o{&e->error, false, {}, {}};
    o.owned = std::move(e);
    return o;
  }
  static ApiOutcome bad_input() { return ApiOutcome{&errors::kBadRequest, true, {}, {}}; }
};

using ApiDone = std::function<void(ApiOutcome)>;

// ns_list|get|set|delete, proxy_*, rpc_ns_* (api_store.cc).
bool is_store_method(std::string_view method);

class ServerApi {
 public:
  explicit ServerApi(Node &node);
  bool handles(std::string_view path) const;
  void handle(HttpRequest &req, HttpResponder resp);

  // Runs one method. params must stay valid until done is called (the
  // caller keeps the document alive). False when the method is unknown.
  bool call(std::string_view method, const json::Value &params, ApiDone done);

 private:
  bool authorized(const HttpRequest &req) const;
  void handle_legacy(const std::string &body, HttpResponder resp);
  void batch(const json::Value &params, ApiDone done);

  // Methods (api_methods.cc).
  void publish(const json::Value &p, ApiDone done);
  void broadcast(const json::Value &p, ApiDone done);
  void subscribe(const json::Value &p, ApiDone done);
  void unsubscribe(const json::Value &p, ApiDone done);
  void disconnect(const json::Value &p, ApiDone done);
  void refresh(const json::Value &p, ApiDone done);
  void presence(const json::Value &p, bool stats, ApiDone done);
  void history(const json::Value &p, ApiDone done);
  void history_remove(const json::Value &p, ApiDone done);
  void channels(const json::Value &p, ApiDone done);
  void info(const json::Value &p, ApiDone done);
  void rpc(const json::Value &p, ApiDone done);
  // The store's namespaces, proxies and RPC namespaces (api_store.cc).
  bool store_method(std::string_view method, const json::Value &p, ApiDone &done);

  Node &node_;
  std::string prefix_;
};

// Maps a server API error to its HTTP status in transport error mode.
int api_error_status(uint32_t code);
// Constant-time comparison of secrets.
bool secret_equals(std::string_view a, std::string_view b);
// gobwas/glob-style match: '*', '?', '[...]', '{a,b}'. nullopt when the
// pattern itself is invalid.
std::optional<bool> glob_match(std::string_view pattern, std::string_view text);

}  // namespace gyre
