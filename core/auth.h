// Auth: the chain of auth plugins (gyre_auth_ops) as clients see it, with
// owned C++ requests and decisions instead of gyre_auth_op handles.
//
// The plugins live on the node loop. decide() may be called from any
// worker's loop: the request is posted to the node loop, the chain runs
// there (each plugin in load order until one decides), and the decision is
// posted back, so the callback always runs on the caller's loop.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "gyre/plugin.h"

namespace gyre {

class Loop;
class Plugin;

enum class AuthKind { Connect, Refresh, Subscribe, SubRefresh };

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct AuthRequest {
  AuthKind kind = AuthKind::Connect;
  std::string client, user, transport, token, data;
  std::string name, version;  // connect
  std::string channel;        // subscribe, sub_refresh
  std::string info;           // the current conn_info
  int64_t expire_at = 0;      // refresh: the current expiry (unix s)
  HeaderList headers, emulated_headers;
};

// A subscription granted (gyre_subscription_grant, owned).
struct GrantedSub {
  std::string channel, info, data;
  int64_t expire_at = 0;  // unix s, 0 = never
  bool client_side_refresh = false;
  uint32_t override_mask = 0;
  uint32_t override_values = 0;
};

struct AuthDecision {
  enum class Outcome {
    Declined,  // every plugin declined (or none was asked): the host's rules apply
    Granted,
    Denied,
    Failed  // a plugin failed: answer 100
  };
  Outcome outcome = Outcome::Declined;
  // Denied: an error reply (code < 3000) or a disconnect.
  uint32_t code = 0;
  std::string reason;
  bool temporary = false;
  // Granted connect / refresh (gyre_credentials).
  std::string user, info, data;
  int64_t expire_at = 0;
  bool client_side_refresh = false;
  std::vector<GrantedSub> subs;  // connect: server-side subscriptions
  std::string meta;              // a raw JSON object for proxies; empty = none (refresh: keep)
  // Granted subscribe / sub_refresh.
  GrantedSub sub;
};

using AuthCallback = std::function<void(AuthDecision)>;

class Auth {
 public:
  explicit Auth(Loop &home);
  ~Auth();
  Auth(const Auth &) = delete;
  Auth &operator=(const Auth &) = delete;

  // Node loop, at startup, in load order.
  void add(Plugin &plugin);
  bool empty() const { return plugins_.empty(); }
  // Any thread: would some plugin be asked? (Token-only plugins skip
  // requests without a token; a NULL hook declines.) When false, decide()
  // answers Declined, so callers skip it and its thread hop.
  bool wants(AuthKind kind, bool has_token) const;
  // Any worker's loop thread.
  void decide(AuthRequest req, AuthCallback cb);
  // Node loop, once the workers are gone: answers from now on (a plugin
  // refusing its parked ops in destroy) free their op and go nowhere.
  void close() { closed_ = true; }
  // Node loop, after the plugins were destroyed: drops unanswered ops.
  void abandon_all();

  // Bounds on what one grant may carry.
  static constexpr size_t kMaxGrantedSubs = 1024;

 private:
  friend struct auth_thunks;
  void run(gyre_auth_op *op);
  void finish(gyre_auth_op *op);
  // An answered op finishes now, or, while any auth hook is on the stack
  // (a plugin answering op A inside its hook for op B), once the outermost
  // hook returned: continuations never run nested inside a hook.
  void finish_when_idle(gyre_auth_op *op);
  void drain();
  Loop &home_;
  std::vector<Plugin *> plugins_;
  std::unordered_set<gyre_auth_op *> live_;
  int depth_ = 0;  // auth hooks on the stack
  std::vector<gyre_auth_op *> finished_;
  bool closed_ = false;
};

// The host API's auth answers (see gyre_host_api).
struct auth_thunks {
  static void grant(gyre_auth_op *op, const gyre_credentials *creds);
  static void grant_subscription(gyre_auth_op *op, const gyre_subscription_grant *grant);
  static void deny(gyre_auth_op *op, uint32_t code, gyre_str reason, bool temporary);

 private:
  static void answer(gyre_auth_op *op, AuthDecision d);
};

}  // namespace gyre
