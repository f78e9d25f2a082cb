#include "api.h"

#include <openssl/crypto.h>

#include <cctype>

#include "log.h"
#include "node.h"

namespace gyre {

namespace {

std::string error_object(const Error &e) {
  std::string out;
  json::Writer w(out);
  w.begin_object().field_uint("code", e.code).field("message", e.message).end_object();
  return out;
}

std::string wrap(const ApiOutcome &o) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  if (o.error)
    w.field_raw("error", error_object(*o.error));
  else
    w.field_raw("result", o.result.empty() ? "{}" : o.result);
  w.end_object();
  return out;
}

// The request body and its parsed document, kept alive across async calls.
struct ParsedBody {
  std::string text;
  json::Document doc;
};

// Runs n calls one after another and collects one reply text per call.
// call(i, reply) must call reply(text) exactly once, now or later; finish
// gets the replies in order. Synchronous replies loop instead of recursing;
// a pending reply callback keeps the sequence alive (no self-reference).
class Sequence : public std::enable_shared_from_this<Sequence> {
 public:
  using Reply = std::function<void(std::string)>;
  using Call = std::function<void(size_t, Reply)>;
  using Finish = std::function<void(std::vector<std::string> &)>;
  Sequence(size_t n, Call call, Finish finish)
      : n_(n), call_(std::move(call)), finish_(std::move(finish)) {}
  void pump() {
    running_ = true;
    while (replies_.size() < n_) {
      size_t before = replies_.size();
      auto self = shared_from_this();
      call_(before, [self](std::string r) {
        self->replies_.push_back(std::move(r));
        if (!self->running_) self->pump();
      });
      if (replies_.size() == before) {  // answered later: that answer resumes
        running_ = false;
        return;
      }
    }
    running_ = false;
    finish_(replies_);
  }

 private:
  size_t n_;
  std::vector<std::string> replies_;
  Call call_;
  Finish finish_;
  bool running_ = false;
};

void run_sequential(size_t n, Sequence::Call call, Sequence::Finish finish) {
  std::make_shared<Sequence>(n, std::move(call), std::move(finish))->pump();
}

}  // namespace

bool secret_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

int api_error_status(uint32_t code) {
  switch (code) {
    case 102:
    case 104: return 404;
    case 107:
    case 108: return 400;
    case 112: return 416;
    case 113: return 409;
    default: return 500;
  }
}

ServerApi::ServerApi(Node &node) : node_(node), prefix_(node.config().api_prefix) {}

bool ServerApi::handles(std::string_view path) const {
  if (path == prefix_) return true;
  if (!path.starts_with(prefix_) || path.size() <= prefix_.size() + 1 ||
      path[prefix_.size()] != '/')
    return false;
  std::string_view method = path.substr(prefix_.size() + 1);
  static const char *kMethods[] = {"publish",    "broadcast",      "subscribe", "unsubscribe",
                                   "disconnect", "refresh",        "presence",  "presence_stats",
                                   "history",    "history_remove", "channels",  "info",
                                   "rpc",        "batch"};
  for (const char *m : kMethods)
    if (method == m) return true;
  return is_store_method(method);
}

bool ServerApi::authorized(const HttpRequest &req) const {
  const Config &cfg = node_.config();
  if (cfg.api_insecure) return true;
  if (cfg.api_key.empty()) return false;
  // A non-empty X-API-Key is checked alone: Authorization is then not looked
  // at (Centrifugo's order). Either way the query key may still match.
  bool valid = false;
  std::string_view xkey = req.header("x-api-key");
  std::string_view auth = req.header("authorization");
  if (!xkey.empty()) {
    valid = secret_equals(xkey, cfg.api_key);
  } else if (!auth.empty()) {
    size_t sp = auth.find_first_of(" \t");
    if (sp != std::string_view::npos) {
      std::string_view scheme = auth.substr(0, sp);
      std::string_view rest = auth.substr(sp);
      while (!rest.empty() && isspace(static_cast<unsigned char>(rest.front())))
        rest.remove_prefix(1);
      while (!rest.empty() && isspace(static_cast<unsigned char>(rest.back())))
        rest.remove_suffix(1);
      bool two_fields = rest.find_first_of(" \t") == std::string_view::npos && !rest.empty();
      std::string lower;
      for (char c : scheme) lower += static_cast<char>(tolower(static_cast<unsigned char>(c)));
      valid = two_fields && lower == "apikey" && secret_equals(rest, cfg.api_key);
    }
  }
  if (valid) return true;
  std::string qkey;
  if (req.query_param("api_key", qkey)) return secret_equals(qkey, cfg.api_key);
  return false;
}

void ServerApi::handle(HttpRequest &req, HttpResponder resp) {
  if (req.method != "POST") return resp.send(HttpResponse::empty(405));
  if (!authorized(req)) {
    static bool warned = false;  // once: a misconfigured server must not flood the log
    if (!warned && node_.config().api_key.empty() && !node_.config().api_insecure) {
      warned = true;
      LOG_WARN("API requests are refused: http_api.key is not set");
    }
    return resp.send(HttpResponse::empty(401));
  }
  if (req.path == prefix_) {
    // The legacy endpoint tells callers a node is going away (Centrifugo).
    if (node_.shutting_down()) return resp.send(HttpResponse::empty(503));
    return handle_legacy(req.body, std::move(resp));
  }
  std::string method = req.path.substr(prefix_.size() + 1);
  auto body = std::make_shared<ParsedBody>();
  body->text = std::move(req.body);
  if (body->text.empty()) body->text = "{}";
  if (!body->doc.parse(body->text) || !body->doc.root().is_object())
    return resp.send(HttpResponse::text(400, "Bad Request"));
  bool transport_mode = node_.config().api_error_mode == "transport" ||
                        req.header("x-centrifugo-error-mode") == "transport";
  call(method, body->doc.root(), [body, resp, transport_mode, method](ApiOutcome o) {
    if (o.decode_error) return resp.send(HttpResponse::text(400, "Bad Request"));
    if (o.error && transport_mode && method != "batch")
      return resp.send(HttpResponse::json(error_object(*o.error), api_error_status(o.error->code)));
    if (method == "batch" && !o.error) return resp.send(HttpResponse::json(o.result));
    resp.send(HttpResponse::json(wrap(o)));
  });
}

bool ServerApi::call(std::string_view method, const json::Value &p, ApiDone done) {
  if (method == "publish")
    publish(p, std::move(done));
  else if (method == "broadcast")
    broadcast(p, std::move(done));
  else if (method == "subscribe")
    subscribe(p, std::move(done));
  else if (method == "unsubscribe")
    unsubscribe(p, std::move(done));
  else if (method == "disconnect")
    disconnect(p, std::move(done));
  else if (method == "refresh")
    refresh(p, std::move(done));
  else if (method == "presence")
    presence(p, false, std::move(done));
  else if (method == "presence_stats")
    presence(p, true, std::move(done));
  else if (method == "history")
    history(p, std::move(done));
  else if (method == "history_remove")
    history_remove(p, std::move(done));
  else if (method == "channels")
    channels(p, std::move(done));
  else if (method == "info")
    info(p, std::move(done));
  else if (method == "rpc")
    rpc(p, std::move(done));
  else if (method == "batch")
    batch(p, std::move(done));
  else
    return store_method(method, p, done);
  return true;
}

void ServerApi::batch(const json::Value &p, ApiDone done) {
  auto commands = p.get("commands", true);
  if (commands && !commands.is_null() && !commands.is_array()) return done(ApiOutcome::bad_input());
  auto items = std::make_shared<std::vector<json::Value>>();
  for (auto c = commands.first_child(); c; c = c.next_sibling()) items->push_back(c);
  if (items->empty()) return done(ApiOutcome::ok("{}"));
  auto error_reply = [](const Error &e) { return "{\"error\":" + error_object(e) + "}"; };
  // Commands run one after another; each reply keeps the command's key.
  run_sequential(
      items->size(),
      [this, items, error_reply](size_t i, std::function<void(std::string)> reply) {
        json::Value item = (*items)[i];
        if (item.is_null() || !item.is_object()) return reply(error_reply(errors::kBadRequest));
        std::string key;
        json::Value params;
        for (auto m = item.first_child(); m; m = m.next_sibling()) {
          std::string lk;
          for (char c : m.key()) lk += static_cast<char>(tolower(static_cast<unsigned char>(c)));
          if (lk != "batch" && handles(prefix_ + "/" + lk)) {
            key = lk;
            params = m;
            break;
          }
        }
        if (key.empty()) return reply(error_reply(errors::kApiNotFound));
        if (!params.is_object()) return reply(error_reply(errors::kBadRequest));
        call(key, params, [key, reply](ApiOutcome o) {
          std::string r;
          json::Writer w(r);
          w.begin_object();
          if (o.error)
            w.field_raw("error", error_object(*o.error));
          else
            w.field_raw(key, o.result.empty() ? "{}" : o.result);
          w.end_object();
          reply(std::move(r));
        });
      },
      [done](std::vector<std::string> &replies) {
        std::string out = "{\"replies\":[";
        for (size_t k = 0; k < replies.size(); ++k) {
          if (k) out += ',';
          out += replies[k];
        }
        out += "]}";
        done(ApiOutcome::ok(out));
      });
}

void ServerApi::handle_legacy(const std::string &text, HttpResponder resp) {
  static const char *kByNumber[] = {"publish",  "broadcast",      "unsubscribe", "disconnect",
                                    "presence", "presence_stats", "history",     "history_remove",
                                    "channels", "info",           "rpc",         "subscribe",
                                    "refresh"};
  struct Cmd {
    uint32_t id = 0;
    std::string method;  // empty: unknown numeric method -> 104
    json::Value params;
  };
  auto body = std::make_shared<std::vector<std::unique_ptr<ParsedBody>>>();
  auto cmds = std::make_shared<std::vector<Cmd>>();
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line(text.data() + start,
                          (nl == std::string::npos ? text.size() : nl) - start);
    start = nl == std::string::npos ? text.size() : nl + 1;
    bool blank = true;
    for (char c : line)
      if (!isspace(static_cast<unsigned char>(c))) blank = false;
    if (blank) continue;
    auto pb = std::make_unique<ParsedBody>();
    pb->text = std::string(line);
    if (!pb->doc.parse(pb->text) || !pb->doc.root().is_object())
      return resp.send(HttpResponse::text(400, "Bad Request"));
    json::Value root = pb->doc.root();
    Cmd c;
    auto id = root.get("id", true);
    if (id && !id.is_null()) {
      auto v = id.as_uint64();
      if (!v || *v > UINT32_MAX) return resp.send(HttpResponse::text(400, "Bad Request"));
      c.id = static_cast<uint32_t>(*v);
    }
    auto m = root.get("method", true);
    if (!m || m.is_null()) {
      c.method = "publish";  // an omitted method decodes as 0 = publish
    } else if (m.is_string()) {
      std::string name;
      for (char ch : m.as_string())
        name += static_cast<char>(tolower(static_cast<unsigned char>(ch)));
      if (name == "batch" || !handles(prefix_ + "/" + name))
        return resp.send(HttpResponse::text(400, "Bad Request"));
      c.method = name;
    } else if (auto n = m.as_uint64()) {
      if (*n < sizeof kByNumber / sizeof *kByNumber) c.method = kByNumber[*n];
    } else {
      return resp.send(HttpResponse::text(400, "Bad Request"));
    }
    c.params = root.get("params", true);
    cmds->push_back(c);
    body->push_back(std::move(pb));
  }
  if (cmds->empty()) return resp.send(HttpResponse::text(400, "Bad Request"));
  run_sequential(
      cmds->size(),
      [this, cmds, body](size_t i, std::function<void(std::string)> reply) {
        const Cmd &c = (*cmds)[i];
        auto finish = [id = c.id, reply](ApiOutcome o) {
          std::string r;
          json::Writer w(r);
          w.begin_object();
          if (id) w.field_uint("id", id);
          if (o.error)
            w.field_raw("error", error_object(*o.error));
          else
            w.field_raw("result", o.result.empty() ? "{}" : o.result);
          w.end_object();
          reply(std::move(r));
        };
        if (c.method.empty()) return finish(ApiOutcome::fail(errors::kApiNotFound));
        json::Value params = c.params;
        if (!params.is_object()) {
          if (c.method != "info" && params && !params.is_null())
            return finish(ApiOutcome::fail(errors::kBadRequest));
          static const json::Document empty = [] {
            json::Document d;
            d.parse("{}");
            return d;
          }();
          params = empty.root();
        }
        call(c.method, params, finish);
      },
      [resp](std::vector<std::string> &replies) {
        std::string out;
        for (size_t k = 0; k < replies.size(); ++k) {
          if (k) out += '\n';
          out += replies[k];
        }
        resp.send(HttpResponse::json(out));
      });
}

}  // namespace gyre
