// The server API methods. Decoding follows Go's encoding/json: keys match
// case-insensitively, a field of the wrong type is a decode error (HTTP 400
// on per-method endpoints, 107 inside batch and legacy requests).

#include "api.h"
#include "base64.h"
#include "controller.h"
#include "log.h"
#include "node.h"

namespace gyre {

namespace {

// Field readers: false = wrong type (decode error). Absent/null = default.
bool read_string(const json::Value &p, std::string_view key, std::string &out) {
  auto v = p.get(key, true);
  if (!v || v.is_null()) return true;
  if (!v.is_string()) return false;
  out = v.as_string();
  return true;
}

bool read_bool(const json::Value &p, std::string_view key, bool &out) {
  auto v = p.get(key, true);
  if (!v || v.is_null()) return true;
  if (!v.is_bool()) return false;
  out = v.as_bool();
  return true;
}

bool read_uint(const json::Value &p, std::string_view key, uint64_t &out) {
  auto v = p.get(key, true);
  if (!v || v.is_null()) return true;
  auto n = v.as_uint64();
  if (!n) return false;
  out = *n;
  return true;
}

bool read_int(const json::Value &p, std::string_view key, int64_t &out) {
  auto v = p.get(key, true);
  if (!v || v.is_null()) return true;
  auto n = v.as_int64();
  if (!n) return false;
  out = *n;
  return true;
}

bool read_string_list(const json::Value &p, std::string_view key, std::vector<std::string> &out) {
  auto v = p.get(key, true);
  if (!v || v.is_null()) return true;
  if (!v.is_array()) return false;
  for (auto e = v.first_child(); e; e = e.next_sibling()) {
    if (!e.is_string()) return false;
    out.push_back(e.as_string());
  }
  return true;
}

// Raw JSON of "any JSON" fields; `null` counts as present.
std::string_view raw(const json::Value &p, std::string_view key) {
  auto v = p.get(key, true);
  return v ? v.raw() : std::string_view();
}

std::string position_json(const gyre_publish_result *r) {
  if (!r || r->position.offset == 0) return "{}";
  std::string out;
  json::Writer w(out);
  w.begin_object().field_uint("offset", r->position.offset);
  w.field("epoch", to_sv(r->position.epoch)).end_object();
  return out;
}

// The publish fields shared by publish and broadcast.
struct PublishFields {
  std::string data;  // raw JSON, or decoded b64data
  bool has_data = false;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string idempotency_key;
  uint64_t version = 0;
  std::string version_epoch;
  bool skip_history = false;
};

// Returns nullptr on success, else the error (decode errors flagged).
bool read_publish_fields(const json::Value &p, PublishFields &f, ApiOutcome &err) {
  std::string b64;
  bool delta = false;
  if (!read_string(p, "b64data", b64) || !read_string(p, "idempotency_key", f.idempotency_key) ||
      !read_uint(p, "version", f.version) || !read_string(p, "version_epoch", f.version_epoch) ||
      !read_bool(p, "skip_history", f.skip_history) || !read_bool(p, "delta", delta)) {
    err = ApiOutcome::bad_input();
    return false;
  }
  auto tags = p.get("tags", true);
  if (tags && !tags.is_null()) {
    if (!tags.is_object()) {
      err = ApiOutcome::bad_input();
      return false;
    }
    for (auto t = tags.first_child(); t; t = t.next_sibling()) {
      if (!t.is_string()) {
        err = ApiOutcome::bad_input();
        return false;
      }
      f.tags.emplace_back(t.key(), t.as_string());
    }
  }
  if (!b64.empty()) {
    if (!b64decode(b64, f.data)) {
      err = ApiOutcome::fail(errors::kBadRequest);
      return false;
    }
    f.has_data = true;
  } else {
    std::string_view d = raw(p, "data");
    f.data = std::string(d);
    f.has_data = !d.empty();
  }
  return true;
}

}  // namespace

void ServerApi::publish(const json::Value &p, ApiDone done) {
  std::string channel;
  if (!read_string(p, "channel", channel)) return done(ApiOutcome::bad_input());
  PublishFields f;
  ApiOutcome err;
  if (!read_publish_fields(p, f, err)) return done(err);
  if (channel.empty()) return done(ApiOutcome::fail(errors::kBadRequest));
  const ChannelRules &rules = node_.config().channel;
  const ChannelOptions *opts = rules.resolve(channel);
  if (!opts) return done(ApiOutcome::fail(errors::kUnknownChannel));
  if (!rules.data_format_ok(*opts, f.data)) return done(ApiOutcome::fail(errors::kBadRequest));
  PublishRequest req;
  req.channel = channel;
  req.data = f.data;
  req.tags = std::move(f.tags);
  req.idempotency_key = f.idempotency_key;
  req.version = f.version;
  req.version_epoch = f.version_epoch;
  req.skip_history = f.skip_history;
  node_.publish(req, *opts, [done](const Error *e, const gyre_publish_result *r) {
    if (e) return done(ApiOutcome::fail(*e));
    done(ApiOutcome::ok(position_json(r)));
  });
}

void ServerApi::broadcast(const json::Value &p, ApiDone done) {
  std::vector<std::string> channels;
  if (!read_string_list(p, "channels", channels)) return done(ApiOutcome::bad_input());
  auto f = std::make_shared<PublishFields>();
  ApiOutcome err;
  if (!read_publish_fields(p, *f, err)) return done(err);
  if (channels.empty()) return done(ApiOutcome::fail(errors::kBadRequest));
  struct State {
    std::vector<std::string> results;
    size_t left;
    ApiDone done;
  };
  auto st = std::make_shared<State>();
  st->results.resize(channels.size());
  st->left = channels.size();
  st->done = std::move(done);
  auto finish_one = [st](size_t i, const ApiOutcome &o) {
    std::string r;
    json::Writer w(r);
    w.begin_object();
    if (o.error) {
      w.key("error").begin_object().field_uint("code", o.error->code);
      w.field("message", o.error->message).end_object();
    } else {
      w.field_raw("result", o.result);
    }
    w.end_object();
    st->results[i] = r;
    if (--st->left == 0) {
      std::string out = "{\"responses\":[";
      for (size_t k = 0; k < st->results.size(); ++k) {
        if (k) out += ',';
        out += st->results[k];
      }
      out += "]}";
      st->done(ApiOutcome::ok(out));
    }
  };
  const ChannelRules &rules = node_.config().channel;
  for (size_t i = 0; i < channels.size(); ++i) {
    const std::string &ch = channels[i];
    if (ch.empty()) {
      finish_one(i, ApiOutcome::fail(errors::kBadRequest));
      continue;
    }
    const ChannelOptions *opts = rules.resolve(ch);
    if (!opts) {
      finish_one(i, ApiOutcome::fail(errors::kUnknownChannel));
      continue;
    }
    if (!rules.data_format_ok(*opts, f->data)) {
      finish_one(i, ApiOutcome::fail(errors::kBadRequest));
      continue;
    }
    PublishRequest req;
    req.channel = ch;
    req.data = f->data;
    req.tags = f->tags;
    req.idempotency_key = f->idempotency_key;
    req.version = f->version;
    req.version_epoch = f->version_epoch;
    req.skip_history = f->skip_history;
    node_.publish(req, *opts, [finish_one, i, f](const Error *e, const gyre_publish_result *r) {
      if (e) return finish_one(i, ApiOutcome::fail(*e));
      finish_one(i, ApiOutcome::ok(position_json(r)));
    });
  }
}

namespace {

// The targets every node looks up among its own connections.
bool read_target(const json::Value &p, ControlMessage &m) {
  return read_string(p, "user", m.user) && read_string(p, "client", m.client) &&
         read_string(p, "session", m.session);
}

// Runs a command here and on every other node (see Controller::apply).
void run_everywhere(Node &node, ControlMessage cmd, ApiDone done) {
  node.controller().run_command(std::move(cmd), [done](const Error *e) {
    if (e) return done(ApiOutcome::fail(*e));
    done(ApiOutcome::ok("{}"));
  });
}

}  // namespace

void ServerApi::subscribe(const json::Value &p, ApiDone done) {
  ControlMessage m;
  m.type = ControlType::Subscribe;
  std::string b64info, b64data;
  int64_t expire_at = 0;
  if (!read_target(p, m) || !read_string(p, "channel", m.channel) ||
      !read_string(p, "b64info", b64info) || !read_string(p, "b64data", b64data) ||
      !read_int(p, "expire_at", expire_at))
    return done(ApiOutcome::bad_input());
  auto since = p.get("recover_since", true);
  if (since && !since.is_null() && !since.is_object()) return done(ApiOutcome::bad_input());
  auto over = p.get("override", true);
  if (over && !over.is_null() && !over.is_object()) return done(ApiOutcome::bad_input());
  if (m.channel.empty()) return done(ApiOutcome::fail(errors::kBadRequest));
  if (!node_.config().channel.resolve(m.channel))
    return done(ApiOutcome::fail(errors::kUnknownChannel));
  m.info = std::string(raw(p, "info"));
  m.data = std::string(raw(p, "data"));
  if (!b64info.empty() && !b64decode(b64info, m.info))
    return done(ApiOutcome::fail(errors::kBadRequest));
  if (!b64data.empty() && !b64decode(b64data, m.data))
    return done(ApiOutcome::fail(errors::kBadRequest));
  run_everywhere(node_, std::move(m), std::move(done));
}

void ServerApi::unsubscribe(const json::Value &p, ApiDone done) {
  ControlMessage m;
  m.type = ControlType::Unsubscribe;
  if (!read_target(p, m) || !read_string(p, "channel", m.channel))
    return done(ApiOutcome::bad_input());
  if (!m.channel.empty() && !node_.config().channel.resolve(m.channel))
    return done(ApiOutcome::fail(errors::kUnknownChannel));
  run_everywhere(node_, std::move(m), std::move(done));
}

void ServerApi::disconnect(const json::Value &p, ApiDone done) {
  ControlMessage m;
  m.type = ControlType::Disconnect;
  if (!read_target(p, m) || !read_string_list(p, "whitelist", m.whitelist))
    return done(ApiOutcome::bad_input());
  m.code = disconnects::kForceNoReconnect.code;
  m.reason = std::string(disconnects::kForceNoReconnect.reason);
  std::string reason;
  auto dv = p.get("disconnect", true);
  if (dv && !dv.is_null()) {
    if (!dv.is_object()) return done(ApiOutcome::bad_input());
    uint64_t code = 0;
    if (!read_uint(dv, "code", code) || !read_string(dv, "reason", reason))
      return done(ApiOutcome::bad_input());
    if (code) {
      // Only codes a close frame may carry and the SDKs interpret
      // (3000-4999); anything else would reach clients as 1006.
      if (code < 3000 || code > 4999) return done(ApiOutcome::fail(errors::kBadRequest));
      m.code = static_cast<uint32_t>(code);
      m.reason = reason;
    }
  }
  run_everywhere(node_, std::move(m), std::move(done));
}

void ServerApi::refresh(const json::Value &p, ApiDone done) {
  ControlMessage m;
  m.type = ControlType::Refresh;
  if (!read_target(p, m) || !read_bool(p, "expired", m.expired) ||
      !read_int(p, "expire_at", m.expire_at))
    return done(ApiOutcome::bad_input());
  m.info = std::string(raw(p, "info"));
  run_everywhere(node_, std::move(m), std::move(done));
}

void ServerApi::presence(const json::Value &p, bool stats, ApiDone done) {
  std::string channel;
  if (!read_string(p, "channel", channel)) return done(ApiOutcome::bad_input());
  if (channel.empty()) return done(ApiOutcome::fail(errors::kBadRequest));
  const ChannelOptions *opts = node_.config().channel.resolve(channel);
  if (!opts) return done(ApiOutcome::fail(errors::kUnknownChannel));
  if (!opts->presence || !node_.engine().has_presence())
    return done(ApiOutcome::fail(errors::kNotAvailable));
  auto cb = [done, stats](const OpResult &r) {
    if (r.status != GYRE_OK) return done(ApiOutcome::fail(errors::kInternal));
    done(ApiOutcome::ok(stats ? Node::presence_stats_json(r) : Node::presence_json(r)));
  };
  if (stats)
    node_.engine().presence_stats(channel, cb);
  else
    node_.engine().presence_get(channel, cb);
}

void ServerApi::history(const json::Value &p, ApiDone done) {
  std::string channel;
  if (!read_string(p, "channel", channel)) return done(ApiOutcome::bad_input());
  HistoryRequest req;
  if (!Node::decode_history_request(p, true, req)) return done(ApiOutcome::bad_input());
  if (channel.empty()) return done(ApiOutcome::fail(errors::kBadRequest));
  const ChannelOptions *opts = node_.config().channel.resolve(channel);
  if (!opts) return done(ApiOutcome::fail(errors::kUnknownChannel));
  if (!opts->history_enabled()) return done(ApiOutcome::fail(errors::kNotAvailable));
  if (req.has_since && req.reverse && req.since_offset == 0)
    return done(ApiOutcome::fail(errors::kInternal));  // Centrifugo maps this to 100
  node_.history(channel, *opts, req, [done](const Error *e, const std::string &json) {
    if (e) return done(ApiOutcome::fail(*e));
    done(ApiOutcome::ok(json));
  });
}

void ServerApi::history_remove(const json::Value &p, ApiDone done) {
  std::string channel;
  if (!read_string(p, "channel", channel)) return done(ApiOutcome::bad_input());
  if (channel.empty()) return done(ApiOutcome::fail(errors::kBadRequest));
  const ChannelOptions *opts = node_.config().channel.resolve(channel);
  if (!opts) return done(ApiOutcome::fail(errors::kUnknownChannel));
  if (!opts->history_enabled()) return done(ApiOutcome::fail(errors::kNotAvailable));
  node_.engine().remove_history(channel, [done](const OpResult &r) {
    if (r.status != GYRE_OK) return done(ApiOutcome::fail(errors::kInternal));
    done(ApiOutcome::ok("{}"));
  });
}

void ServerApi::channels(const json::Value &p, ApiDone done) {
  std::string pattern;
  if (!read_string(p, "pattern", pattern)) return done(ApiOutcome::bad_input());
  if (!pattern.empty() && !glob_match(pattern, ""))
    return done(ApiOutcome::fail(errors::kInternal));
  node_.controller().channels(pattern, [done](const Error *e, const std::string &json) {
    if (e) return done(ApiOutcome::fail(*e));
    done(ApiOutcome::ok(json));
  });
}

void ServerApi::info(const json::Value &, ApiDone done) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("nodes").begin_array();
  for (const NodeInfo &n : node_.controller().nodes()) write_node_info(w, n);
  w.end_array().end_object();
  done(ApiOutcome::ok(out));
}

void ServerApi::rpc(const json::Value &p, ApiDone done) {
  std::string method;
  if (!read_string(p, "method", method)) return done(ApiOutcome::bad_input());
  // No server-side RPC handlers are registered (as in Centrifugo OSS).
  if (method.empty()) return done(ApiOutcome::fail(errors::kBadRequest));
  done(ApiOutcome::fail(errors::kApiNotFound));
}

std::optional<bool> glob_match(std::string_view pat, std::string_view text) {
  // Validate first so that an invalid pattern is reported even when the
  // text would not reach the broken part.
  int braces = 0;
  // {a,b} groups expand into alternatives; a pattern whose expansion would
  // exceed kMaxAlternatives is refused rather than allowed to take seconds.
  constexpr uint64_t kMaxAlternatives = 1024;
  uint64_t alternatives = 1, in_group = 0;
  for (size_t i = 0; i < pat.size(); ++i) {
    char c = pat[i];
    if (c == '\\') {
      if (++i >= pat.size()) return std::nullopt;
    } else if (c == '[') {
      size_t j = i + 1;
      if (j < pat.size() && pat[j] == '!') ++j;
      if (j < pat.size() && pat[j] == ']') return std::nullopt;
      while (j < pat.size() && pat[j] != ']') ++j;
      if (j >= pat.size()) return std::nullopt;
      i = j;
    } else if (c == '{') {
      ++braces;
      in_group = 1;
    } else if (c == ',' && braces > 0) {
      ++in_group;
    } else if (c == '}') {
      if (--braces < 0) return std::nullopt;
      alternatives *= in_group;
      if (alternatives > kMaxAlternatives) return std::nullopt;
    }
  }
  if (braces) return std::nullopt;
  // Expand {a,b} alternatives (non-nested) by recursion; escaped braces are
  // literals.
  auto find_unescaped = [&](char want, size_t from) {
    for (size_t i = from; i < pat.size(); ++i) {
      if (pat[i] == '\\') {
        ++i;
        continue;
      }
      if (pat[i] == want) return i;
    }
    return std::string_view::npos;
  };
  size_t open = find_unescaped('{', 0);
  if (open != std::string_view::npos) {
    size_t close = find_unescaped('}', open);
    std::string_view alts = pat.substr(open + 1, close - open - 1);
    size_t start = 0;
    while (true) {
      size_t comma = alts.find(',', start);
      std::string candidate(pat.substr(0, open));
      candidate += alts.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      candidate += pat.substr(close + 1);
      auto m = glob_match(candidate, text);
      if (m && *m) return true;
      if (comma == std::string_view::npos) return false;
      start = comma + 1;
    }
  }
  // Iterative match with backtracking over the last '*'.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  auto match_one = [&](size_t &p, char ch) -> bool {
    char c = pat[p];
    if (c == '?') {
      ++p;
      return true;
    }
    if (c == '\\') {
      bool ok = pat[p + 1] == ch;
      p += 2;
      return ok;
    }
    if (c == '[') {
      size_t j = p + 1;
      bool neg = pat[j] == '!';
      if (neg) ++j;
      bool hit = false;
      while (pat[j] != ']') {
        if (j + 2 < pat.size() && pat[j + 1] == '-' && pat[j + 2] != ']') {
          if (ch >= pat[j] && ch <= pat[j + 2]) hit = true;
          j += 3;
        } else {
          if (pat[j] == ch) hit = true;
          ++j;
        }
      }
      p = j + 1;
      return hit != neg;
    }
    ++p;
    return c == ch;
  };
  while (ti < text.size()) {
    if (pi < pat.size() && pat[pi] == '*') {
      star = pi++;
      mark = ti;
      continue;
    }
    size_t save = pi;
    if (pi < pat.size() && match_one(pi, text[ti])) {
      ++ti;
      continue;
    }
    pi = save;
    if (star == std::string_view::npos) return false;
    pi = star + 1;
    ti = ++mark;
  }
  while (pi < pat.size() && pat[pi] == '*') ++pi;
  return pi == pat.size();
}

}  // namespace gyre
