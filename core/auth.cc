#include "auth.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "json.h"
#include "log.h"
#include "loop.h"
#include "plugin_host.h"

namespace gyre {

namespace {

std::string owned(gyre_str s) { return s.ptr ? std::string(s.ptr, s.len) : std::string(); }
gyre_str view(const std::string &s) { return gyre_str{s.data(), s.size()}; }

// The year 9999: far enough, and x1000 stays far from int64 overflow.
constexpr int64_t kMaxExpireAt = 253402300799;

// A plugin's expiry as the host uses it: 0 never, anything negative is in
// the past, anything huge is capped.
int64_t clamp_expire_at(int64_t s) {
  if (s < 0) return 1;
  return std::min(s, kMaxExpireAt);
}

// Raw JSON from a plugin goes into other clients' pushes: it must parse.
// Throws a message naming the field otherwise.
std::string owned_json(gyre_str s, const char *field) {
  std::string out = owned(s);
  if (!out.empty() && !json::is_valid(out))
    throw std::invalid_argument(std::string(field) + " is not valid JSON");
  return out;
}

GrantedSub copy_grant(const gyre_subscription_grant &g) {
  // Read only what the plugin's record has (a shorter, older record).
  gyre_subscription_grant r{};
  std::memcpy(&r, &g, std::min(g.size, sizeof r));
  GrantedSub out;
  out.channel = owned(r.channel);
  out.info = owned_json(r.info, "subscription info");
  out.data = owned_json(r.data, "subscription data");
  out.expire_at = clamp_expire_at(r.expire_at);
  out.client_side_refresh = r.client_side_refresh;
  out.override_mask = r.override_mask;
  out.override_values = r.override_values;
  return out;
}

const char *kind_name(AuthKind k) {
  switch (k) {
    case AuthKind::Connect: return "connect";
    case AuthKind::Refresh: return "refresh";
    case AuthKind::Subscribe: return "subscribe";
    case AuthKind::SubRefresh: return "sub_refresh";
  }
  return "?";
}

// The fields every request record shares, from the owned request.
template <typename Record>
Record record_of(const AuthRequest &r) {
  Record c{};
  c.size = sizeof c;
  c.client = view(r.client);
  c.transport = view(r.transport);
  c.token = view(r.token);
  return c;
}

// Calls plugin p's hook for request r with borrowed views of it; a NULL
// hook declines.
gyre_status ask(Plugin &p, const AuthRequest &r, gyre_auth_op *op) {
  const gyre_auth_ops *ops = p.auth();
  switch (r.kind) {
    case AuthKind::Connect: {
      if (!ops->on_connect) return GYRE_DECLINED;
      std::vector<gyre_header> h, eh;
      for (const auto &[k, v] : r.headers) h.push_back(gyre_header{view(k), view(v)});
      for (const auto &[k, v] : r.emulated_headers) eh.push_back(gyre_header{view(k), view(v)});
      auto c = record_of<gyre_connect_request>(r);
      c.data = view(r.data);
      c.name = view(r.name);
      c.version = view(r.version);
      c.headers = h.data();
      c.num_headers = h.size();
      c.emulated_headers = eh.data();
      c.num_emulated_headers = eh.size();
      return ops->on_connect(p.state(), &c, op);
    }
    case AuthKind::Refresh: {
      if (!ops->on_refresh) return GYRE_DECLINED;
      auto c = record_of<gyre_refresh_request>(r);
      c.user = view(r.user);
      c.info = view(r.info);
      c.expire_at = r.expire_at;
      return ops->on_refresh(p.state(), &c, op);
    }
    case AuthKind::Subscribe:
    case AuthKind::SubRefresh: {
      auto hook = r.kind == AuthKind::Subscribe ? ops->on_subscribe : ops->on_sub_refresh;
      if (!hook) return GYRE_DECLINED;
      auto c = record_of<gyre_subscribe_request>(r);
      c.user = view(r.user);
      c.channel = view(r.channel);
      c.data = view(r.data);
      c.conn_info = view(r.info);
      return hook(p.state(), &c, op);
    }
  }
  return GYRE_DECLINED;
}

}  // namespace

}  // namespace gyre

// The host's definition of the opaque handle.
struct gyre_auth_op {
  gyre_auth_op(gyre::Auth *a, gyre::AuthRequest r, gyre::AuthCallback d)
      : auth(a), req(std::move(r)), done(std::move(d)) {}
  gyre::Auth *auth;
  gyre::AuthRequest req;
  gyre::AuthCallback done;
  size_t next = 0;  // the next plugin of the chain to ask
  gyre::Plugin *asked = nullptr;
  bool in_hook = false;
  bool answered = false;
  gyre::AuthDecision decision;
};

namespace gyre {

Auth::Auth(Loop &home) : home_(home) {}

Auth::~Auth() { abandon_all(); }

void Auth::add(Plugin &plugin) { plugins_.push_back(&plugin); }

bool Auth::wants(AuthKind kind, bool has_token) const {
  for (Plugin *p : plugins_) {
    const gyre_auth_ops *ops = p->auth();
    if ((ops->flags & GYRE_AUTH_TOKEN_ONLY) && !has_token) continue;
    switch (kind) {
      case AuthKind::Connect:
        if (ops->on_connect) return true;
        break;
      case AuthKind::Refresh:
        if (ops->on_refresh) return true;
        break;
      case AuthKind::Subscribe:
        if (ops->on_subscribe) return true;
        break;
      case AuthKind::SubRefresh:
        if (ops->on_sub_refresh) return true;
        break;
    }
  }
  return false;
}

void Auth::decide(AuthRequest req, AuthCallback cb) {
  Loop *caller = Loop::current();
  if (!caller || caller == &home_) {
    auto *op = new gyre_auth_op(this, std::move(req), std::move(cb));
    live_.insert(op);
    return run(op);
  }
  // Everything crosses as owned copies; the answer goes back to the caller.
  auto back = [caller, cb = std::move(cb)](AuthDecision d) {
    caller->post([cb, d = std::move(d)]() mutable { cb(std::move(d)); });
  };
  bool posted = home_.post([this, req = std::move(req), back]() mutable {
    auto *op = new gyre_auth_op(this, std::move(req), std::move(back));
    live_.insert(op);
    run(op);
  });
  if (!posted) {
    // Shutting down: the client is about to be closed anyway.
    AuthDecision d;
    d.outcome = AuthDecision::Outcome::Failed;
    cb(std::move(d));
  }
}

void Auth::run(gyre_auth_op *op) {
  const AuthRequest &r = op->req;
  bool has_token = !r.token.empty();
  while (op->next < plugins_.size()) {
    Plugin *p = plugins_[op->next++];
    const gyre_auth_ops *ops = p->auth();
    if ((ops->flags & GYRE_AUTH_TOKEN_ONLY) && !has_token) continue;
    gyre_status st = GYRE_DECLINED;
    op->asked = p;
    op->in_hook = true;
    ++depth_;
    try {
      st = ask(*p, r, op);
    } catch (...) {
      st = GYRE_ERR_INTERNAL;
    }
    --depth_;
    op->in_hook = false;
    if (op->answered) {
      if (st != GYRE_OK && st != GYRE_PENDING)
        LOG_WARN("plugin %s answered a %s and then returned %d; the answer stands",
                 p->name().c_str(), kind_name(r.kind), st);
      return finish_when_idle(op);
    }
    if (st == GYRE_DECLINED) continue;
    if (st == GYRE_PENDING || st == GYRE_OK) return drain();  // answered later
    LOG_WARN("plugin %s failed a %s (status %d)", p->name().c_str(), kind_name(r.kind), st);
    op->decision.outcome = AuthDecision::Outcome::Failed;
    op->answered = true;
    return finish_when_idle(op);
  }
  op->decision.outcome = AuthDecision::Outcome::Declined;
  op->answered = true;
  finish_when_idle(op);
}

void Auth::finish_when_idle(gyre_auth_op *op) {
  finished_.push_back(op);
  drain();
}

void Auth::drain() {
  if (depth_ > 0) return;  // the outermost hook's return drains
  while (!finished_.empty()) {
    gyre_auth_op *op = finished_.front();
    finished_.erase(finished_.begin());
    finish(op);
  }
}

void Auth::finish(gyre_auth_op *op) {
  live_.erase(op);
  AuthCallback done = std::move(op->done);
  AuthDecision d = std::move(op->decision);
  delete op;
  if (closed_) return;  // the clients and their loops are gone
  try {
    done(std::move(d));
  } catch (const std::exception &e) {
    LOG_ERROR("auth answer failed: %s", e.what());
  }
}

void Auth::abandon_all() {
  for (gyre_auth_op *op : live_) delete op;
  live_.clear();
  finished_.clear();
}

// Records the answer; runs the continuation unless the hook is still on
// the stack (run() finishes after it returns).
void auth_thunks::answer(gyre_auth_op *op, AuthDecision d) {
  if (op->answered) {
    LOG_ERROR("an auth op was answered twice; the second answer is ignored");
    return;
  }
  op->answered = true;
  op->decision = std::move(d);
  // Inside its own hook, run() finishes it when the hook returns.
  if (!op->in_hook) op->auth->finish_when_idle(op);
}

void auth_thunks::grant(gyre_auth_op *op, const gyre_credentials *creds) {
  AuthDecision d;
  try {
    if (!creds || (op->req.kind != AuthKind::Connect && op->req.kind != AuthKind::Refresh)) {
      LOG_ERROR("auth_grant answers connect and refresh only (this op is a %s)",
                kind_name(op->req.kind));
      d.outcome = AuthDecision::Outcome::Failed;
      return answer(op, std::move(d));
    }
    gyre_credentials c{};
    std::memcpy(&c, creds, std::min(creds->size, sizeof c));
    d.outcome = AuthDecision::Outcome::Granted;
    d.user = owned(c.user);
    d.info = owned_json(c.info, "conn info");
    d.data = owned_json(c.data, "connect data");
    d.expire_at = clamp_expire_at(c.expire_at);
    d.client_side_refresh = c.client_side_refresh;
    d.meta = owned(c.meta);
    if (!d.meta.empty()) {
      json::Document doc;  // one parse checks both JSON and object
      if (!doc.parse(d.meta) || !doc.root().is_object())
        throw std::invalid_argument("connection meta is not a JSON object");
    }
    if (op->req.kind == AuthKind::Connect && c.subs) {
      if (c.num_subs > Auth::kMaxGrantedSubs)
        LOG_WARN("auth_grant with %zu server-side subscriptions: only the first %zu are made",
                 c.num_subs, Auth::kMaxGrantedSubs);
      size_t n = std::min(c.num_subs, Auth::kMaxGrantedSubs);
      for (size_t i = 0; i < n; ++i) d.subs.push_back(copy_grant(c.subs[i]));
    }
  } catch (const std::exception &e) {
    LOG_ERROR("auth_grant refused: %s; answered as 100", e.what());
    d = AuthDecision{};
    d.outcome = AuthDecision::Outcome::Failed;
  }
  answer(op, std::move(d));
}

void auth_thunks::grant_subscription(gyre_auth_op *op, const gyre_subscription_grant *grant) {
  AuthDecision d;
  try {
    if (!grant || (op->req.kind != AuthKind::Subscribe && op->req.kind != AuthKind::SubRefresh)) {
      LOG_ERROR("auth_grant_subscription answers subscribe and sub_refresh only (this op is a %s)",
                kind_name(op->req.kind));
      d.outcome = AuthDecision::Outcome::Failed;
      return answer(op, std::move(d));
    }
    d.outcome = AuthDecision::Outcome::Granted;
    d.sub = copy_grant(*grant);
  } catch (const std::exception &e) {
    LOG_ERROR("auth_grant_subscription refused: %s; answered as 100", e.what());
    d = AuthDecision{};
    d.outcome = AuthDecision::Outcome::Failed;
  }
  answer(op, std::move(d));
}

void auth_thunks::deny(gyre_auth_op *op, uint32_t code, gyre_str reason, bool temporary) {
  AuthDecision d;
  try {
    bool error = code >= 100 && code <= 1999;
    bool disconnect = code >= 3000 && code <= 4999;
    if (!error && !disconnect) {
      LOG_WARN("auth_deny with code %u (neither 100..1999 nor 3000..4999): answered as 100", code);
      d.outcome = AuthDecision::Outcome::Failed;
      return answer(op, std::move(d));
    }
    d.outcome = AuthDecision::Outcome::Denied;
    d.code = code;
    d.reason = owned(reason);
    d.temporary = temporary;
  } catch (...) {
    d = AuthDecision{};
    d.outcome = AuthDecision::Outcome::Failed;
  }
  answer(op, std::move(d));
}

}  // namespace gyre
