#include "bench_host.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace gyre::bench {

namespace {

std::string_view sv(gyre_str s) { return std::string_view(s.ptr ? s.ptr : "", s.len); }

// "500ms", "25s", "1m", "2h", or a bare number of milliseconds.
bool parse_duration_ms(std::string_view s, int64_t &out) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || v < 0) return false;
  std::string_view unit(p, static_cast<size_t>(s.data() + s.size() - p));
  int64_t mult = unit.empty() || unit == "ms" ? 1
                 : unit == "s"                ? 1000
                 : unit == "m"                ? 60000
                 : unit == "h"                ? 3600000
                                              : 0;
  if (!mult) return false;
  out = v * mult;
  return true;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t end = s.find_first_of(" ,");
    if (end != 0) out.emplace_back(s.substr(0, end));
    s = end == std::string_view::npos ? std::string_view() : s.substr(end + 1);
  }
  return out;
}

}  // namespace

// C thunks behind gyre_host_api (the same shape as core/host_api.cc).
struct Thunks {
  static BenchHost &host(gyre_host *h) { return *h->bench; }

  static void log(gyre_host *h, gyre_log_level level, gyre_str msg) {
    BenchHost &b = host(h);
    if (level == GYRE_LOG_WARN) ++b.counters_.log_warnings;
    if (level == GYRE_LOG_ERROR) ++b.counters_.log_errors;
    if (static_cast<int>(level) < b.log_level_) return;
    static const char *const kNames[] = {"debug", "info", "warn", "error"};
    std::fprintf(stderr, "[%s] %s: %.*s\n", kNames[std::clamp(static_cast<int>(level), 0, 3)],
                 b.name_.c_str(), static_cast<int>(msg.len), msg.ptr ? msg.ptr : "");
  }

  // The loop's cached wall-clock time, as core's Loop::now_ms (updated once
  // per loop turn).
  static int64_t now_ms(gyre_host *h) {
    struct timeval tv;
    if (event_base_gettimeofday_cached(host(h).base_, &tv) != 0) gettimeofday(&tv, nullptr);
    return static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
  }

  static void free_timer(gyre_timer *t) {
    t->owner->timers_.erase(t);
    event_free(t->ev);
    delete t;
  }
  static void free_watch(gyre_watch *w) {
    w->owner->watches_.erase(w);
    event_free(w->ev);
    delete w;
  }

  static void on_timer(evutil_socket_t, short, void *arg) {
    auto *t = static_cast<gyre_timer *>(arg);
    t->firing = true;
    t->cb(t->arg);
    t->firing = false;
    if (!t->repeat || t->stopped) free_timer(t);
  }

  static gyre_timer *timer_start(gyre_host *h, uint64_t delay_ms, bool repeat, gyre_callback_fn cb,
                                 void *arg) {
    BenchHost &b = host(h);
    auto *t = new gyre_timer{&b, nullptr, cb, arg, repeat, false, false};
    t->ev = event_new(b.base_, -1, repeat ? EV_PERSIST : 0, &on_timer, t);
    if (!t->ev) {
      delete t;
      return nullptr;
    }
    struct timeval tv = {static_cast<time_t>(delay_ms / 1000),
                         static_cast<suseconds_t>((delay_ms % 1000) * 1000)};
    event_add(t->ev, &tv);
    b.timers_.insert(t);
    return t;
  }

  static void timer_stop(gyre_host *, gyre_timer *t) {
    if (!t) return;
    if (t->firing) {
      event_del(t->ev);
      t->stopped = true;
      return;
    }
    free_timer(t);
  }

  static short ev_mask(int events) {
    return static_cast<short>(((events & GYRE_WATCH_READ) ? EV_READ : 0) |
                              ((events & GYRE_WATCH_WRITE) ? EV_WRITE : 0) | EV_PERSIST);
  }

  static void on_watch(evutil_socket_t fd, short what, void *arg) {
    auto *w = static_cast<gyre_watch *>(arg);
    int events =
        ((what & EV_READ) ? GYRE_WATCH_READ : 0) | ((what & EV_WRITE) ? GYRE_WATCH_WRITE : 0);
    w->cb(fd, events, w->arg);
  }

  static gyre_watch *watch_start(gyre_host *h, int fd, int events, gyre_watch_fn cb, void *arg) {
    BenchHost &b = host(h);
    auto *w = new gyre_watch{&b, nullptr, fd, cb, arg};
    w->ev = event_new(b.base_, fd, ev_mask(events), &on_watch, w);
    if (!w->ev) {
      delete w;
      return nullptr;
    }
    if (events) event_add(w->ev, nullptr);
    b.watches_.insert(w);
    return w;
  }

  static void watch_update(gyre_host *, gyre_watch *w, int events) {
    event_del(w->ev);
    event_assign(w->ev, event_get_base(w->ev), w->fd, ev_mask(events), &on_watch, w);
    if (events) event_add(w->ev, nullptr);
  }

  static void watch_stop(gyre_host *, gyre_watch *w) {
    if (w) free_watch(w);
  }

  // Thread-safe: one write of a (fn, arg) pair is atomic on a pipe.
  struct Posted {
    gyre_callback_fn fn;
    void *arg;
  };
  static gyre_status post(gyre_host *h, gyre_callback_fn fn, void *arg) {
    Posted p{fn, arg};
    ssize_t n = write(host(h).post_pipe_[1], &p, sizeof p);
    return n == static_cast<ssize_t>(sizeof p) ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
  }
  static void on_posted(evutil_socket_t fd, short, void *) {
    Posted p;
    while (read(fd, &p, sizeof p) == static_cast<ssize_t>(sizeof p)) p.fn(p.arg);
  }

  static const BenchHost::Setting *setting(gyre_host *h, const char *key) {
    auto &cfg = host(h).config_;
    auto it = cfg.find(key);
    return it == cfg.end() ? nullptr : &it->second;
  }
  static bool config_get_string(gyre_host *h, const char *key, gyre_str *out) {
    const auto *s = setting(h, key);
    if (!s || (s->type != GYRE_CONFIG_STRING && s->type != GYRE_CONFIG_DURATION_MS)) return false;
    *out = gyre_str{s->text.data(), s->text.size()};
    return true;
  }
  static bool config_get_int(gyre_host *h, const char *key, int64_t *out) {
    const auto *s = setting(h, key);
    if (!s || s->type != GYRE_CONFIG_INT) return false;
    auto [p, ec] = std::from_chars(s->text.data(), s->text.data() + s->text.size(), *out);
    return ec == std::errc() && p == s->text.data() + s->text.size();
  }
  static bool config_get_bool(gyre_host *h, const char *key, bool *out) {
    const auto *s = setting(h, key);
    if (!s || s->type != GYRE_CONFIG_BOOL) return false;
    *out = s->text == "true" || s->text == "1";
    return true;
  }
  static bool config_get_duration_ms(gyre_host *h, const char *key, int64_t *out) {
    const auto *s = setting(h, key);
    return s && s->type == GYRE_CONFIG_DURATION_MS && parse_duration_ms(s->text, *out);
  }
  static bool config_get_list(gyre_host *h, const char *key, size_t index, gyre_str *out) {
    const auto *s = setting(h, key);
    if (!s || s->type != GYRE_CONFIG_STRING_LIST || index >= s->items.size()) return false;
    *out = gyre_str{s->items[index].data(), s->items[index].size()};
    return true;
  }

  static void finish(gyre_op *op, const OpResult &r) {
    op->done(op->ctx, op->index, r);
    delete op;
  }
  static void complete(gyre_op *op, gyre_status status, gyre_str message) {
    OpResult r;
    r.status = status;
    r.message = sv(message);
    finish(op, r);
  }
  static void complete_publish(gyre_op *op, const gyre_publish_result *res) {
    OpResult r;
    r.publish = res;
    finish(op, r);
  }
  static void complete_history(gyre_op *op, const gyre_publication *const *pubs, size_t n,
                               const gyre_stream_position *top) {
    OpResult r;
    r.pubs = pubs;
    r.num_pubs = n;
    r.top = top;
    finish(op, r);
  }
  static void complete_presence(gyre_op *op, const gyre_client_info *const *, size_t n) {
    OpResult r;
    r.num_infos = n;
    finish(op, r);
  }
  static void complete_presence_stats(gyre_op *op, uint32_t c, uint32_t u) {
    OpResult r;
    r.num_clients = c;
    r.num_users = u;
    finish(op, r);
  }

  static void handle_publication(gyre_host *h, gyre_str channel, const gyre_publication *pub,
                                 const gyre_stream_position *pos, const gyre_publication *) {
    BenchHost &b = host(h);
    ++b.counters_.in_event;
    b.events_.on_publication(sv(channel), *pub, pos);
    --b.counters_.in_event;
  }
  static void handle_join(gyre_host *h, gyre_str channel, const gyre_client_info *info) {
    BenchHost &b = host(h);
    ++b.counters_.joins;
    ++b.counters_.in_event;
    b.events_.on_join(sv(channel), *info);
    --b.counters_.in_event;
  }
  static void handle_leave(gyre_host *h, gyre_str channel, const gyre_client_info *info) {
    BenchHost &b = host(h);
    ++b.counters_.leaves;
    ++b.counters_.in_event;
    b.events_.on_leave(sv(channel), *info);
    --b.counters_.in_event;
  }
  static gyre_str node_id(gyre_host *h) {
    const std::string &id = host(h).node_id_;
    return gyre_str{id.data(), id.size()};
  }
  static void handle_control(gyre_host *h, gyre_str) { ++host(h).counters_.controls; }
  static void handle_resync(gyre_host *h, gyre_str) { ++host(h).counters_.resyncs; }
};

const gyre_host_api &BenchHost::api() {
  // Auth and transport calls are NULL: an engine never makes them.
  static const gyre_host_api table = {
      .abi_major = GYRE_ABI_MAJOR,
      .abi_minor = GYRE_ABI_MINOR,
      .size = sizeof(gyre_host_api),
      .log = &Thunks::log,
      .now_ms = &Thunks::now_ms,
      .timer_start = &Thunks::timer_start,
      .timer_stop = &Thunks::timer_stop,
      .watch_start = &Thunks::watch_start,
      .watch_update = &Thunks::watch_update,
      .watch_stop = &Thunks::watch_stop,
      .post = &Thunks::post,
      .config_get_string = &Thunks::config_get_string,
      .config_get_int = &Thunks::config_get_int,
      .config_get_bool = &Thunks::config_get_bool,
      .config_get_duration_ms = &Thunks::config_get_duration_ms,
      .complete = &Thunks::complete,
      .complete_publish = &Thunks::complete_publish,
      .complete_history = &Thunks::complete_history,
      .complete_presence = &Thunks::complete_presence,
      .complete_presence_stats = &Thunks::complete_presence_stats,
      .handle_publication = &Thunks::handle_publication,
      .handle_join = &Thunks::handle_join,
      .handle_leave = &Thunks::handle_leave,
      .auth_grant = nullptr,
      .auth_grant_subscription = nullptr,
      .auth_deny = nullptr,
      .route_add = nullptr,
      .http_respond = nullptr,
      .stream_open = nullptr,
      .stream_write = nullptr,
      .stream_deliver = nullptr,
      .stream_close = nullptr,
      .session_deliver = nullptr,
      .buffer_append = nullptr,
      .origin_allowed = nullptr,
      .node_id = &Thunks::node_id,
      .handle_control = &Thunks::handle_control,
      .handle_resync = &Thunks::handle_resync,
      .config_get_list = &Thunks::config_get_list,
  };
  return table;
}

BenchHost::BenchHost(EngineEvents &events, int log_level) : events_(events), log_level_(log_level) {
  base_ = event_base_new();
  node_id_ = "engine-bench-" + std::to_string(getpid());
  if (pipe2(post_pipe_, O_NONBLOCK | O_CLOEXEC) == 0) {
    post_ev_ = event_new(base_, post_pipe_[0], EV_READ | EV_PERSIST, &Thunks::on_posted, nullptr);
    event_add(post_ev_, nullptr);
  }
  // A heartbeat, so that run_until sees its deadline even when the plugin
  // has no timer of its own.
  heartbeat_ = event_new(
      base_, -1, EV_PERSIST, [](evutil_socket_t, short, void *) {}, nullptr);
  struct timeval tv = {0, 100 * 1000};
  event_add(heartbeat_, &tv);
}

BenchHost::~BenchHost() {
  unload();
  if (post_ev_) event_free(post_ev_);
  if (heartbeat_) event_free(heartbeat_);
  for (int fd : post_pipe_)
    if (fd >= 0) close(fd);
  if (base_) event_base_free(base_);
  // v1 hosts never dlclose a plugin; neither does this one.
}

bool BenchHost::load(const std::string &path, const std::map<std::string, std::string> &settings,
                     const std::set<std::string> &soft, std::string &error) {
  if (!base_) {
    error = "cannot create the event loop";
    return false;
  }
  handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char *e = dlerror();
    error = "cannot load " + path + ": " + (e ? e : "unknown error");
    return false;
  }
  auto entry = reinterpret_cast<gyre_plugin_entry_fn>(dlsym(handle_, GYRE_PLUGIN_ENTRY_SYMBOL));
  if (!entry) {
    error = path + " has no " GYRE_PLUGIN_ENTRY_SYMBOL " symbol";
    return false;
  }
  const gyre_plugin_descriptor *d = entry();
  if (!d) {
    error = path + " refused to load";
    return false;
  }
  if (d->size < offsetof(gyre_plugin_descriptor, engine)) {
    error = path + " has a truncated descriptor";
    return false;
  }
  if (d->abi_major != GYRE_ABI_MAJOR) {
    error = path + " was built for plugin ABI " + std::to_string(d->abi_major) + "." +
            std::to_string(d->abi_minor) + ", this host speaks " + std::to_string(GYRE_ABI_MAJOR) +
            "." + std::to_string(GYRE_ABI_MINOR);
    return false;
  }
  std::memcpy(&desc_, d, std::min(d->size, sizeof desc_));
  name_ = desc_.name ? desc_.name : "";
  version_ = desc_.version ? desc_.version : "";
  if (!(desc_.kinds & GYRE_PLUGIN_ENGINE) || !desc_.engine || !desc_.init) {
    error = "plugin " + name_ + " is not an engine (or has no init)";
    return false;
  }
  std::memcpy(&ops_, desc_.engine, std::min(desc_.engine->size, sizeof ops_));
  std::string missing;
  auto need = [&](const void *hook, const char *hook_name) {
    if (!hook) missing += std::string(missing.empty() ? "" : ", ") + hook_name;
  };
  need(reinterpret_cast<const void *>(ops_.subscribe), "subscribe");
  need(reinterpret_cast<const void *>(ops_.unsubscribe), "unsubscribe");
  need(reinterpret_cast<const void *>(ops_.publish), "publish");
  need(reinterpret_cast<const void *>(ops_.history), "history");
  need(reinterpret_cast<const void *>(ops_.presence_add), "presence_add");
  need(reinterpret_cast<const void *>(ops_.presence_stats), "presence_stats");
  if (!missing.empty()) {
    error = "plugin " + name_ + " lacks engine hooks the bench drives: " + missing;
    return false;
  }
  // The schema's defaults, then the bench's settings (as the host's
  // bind_config: defaults first, then the section's values).
  for (const gyre_config_field *f = desc_.config_schema; f && f->key; ++f) {
    Setting s{f->type, f->default_value ? f->default_value : "", {}};
    auto it = settings.find(f->key);
    if (it != settings.end()) s.text = it->second;
    if (!f->default_value && it == settings.end()) continue;
    if (f->type == GYRE_CONFIG_STRING_LIST) s.items = split_list(s.text);
    config_[f->key] = std::move(s);
  }
  for (const auto &[key, value] : settings) {
    if (!config_.count(key) && !soft.count(key)) {
      bool declared = false;
      for (const gyre_config_field *f = desc_.config_schema; f && f->key; ++f)
        declared = declared || key == f->key;
      if (!declared) {
        error = "plugin " + name_ + " has no setting \"" + key + "\"";
        return false;
      }
    }
  }
  gyre_status st = desc_.init(&api(), &host_, &state_);
  if (st != GYRE_OK) {
    error = "plugin " + name_ + " failed to initialize (status " + std::to_string(st) + ")";
    while (!timers_.empty()) Thunks::free_timer(*timers_.begin());
    while (!watches_.empty()) Thunks::free_watch(*watches_.begin());
    return false;
  }
  initialized_ = true;
  return true;
}

void BenchHost::unload() {
  if (initialized_ && desc_.destroy) desc_.destroy(state_);
  if (initialized_ && (!timers_.empty() || !watches_.empty()))
    std::fprintf(stderr, "engine-bench: plugin %s left %zu timers and %zu watches after destroy\n",
                 name_.c_str(), timers_.size(), watches_.size());
  initialized_ = false;
  state_ = nullptr;
  while (!timers_.empty()) Thunks::free_timer(*timers_.begin());
  while (!watches_.empty()) Thunks::free_watch(*watches_.begin());
}

int64_t BenchHost::steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool BenchHost::run_until(bool (*done)(void *), void *arg, int64_t deadline_ms) {
  while (!done(arg)) {
    if (steady_ms() > deadline_ms) return false;
    // One turn: blocks until something is ready (the engine's own 50 ms
    // tick bounds the wait), runs it, returns.
    event_base_loop(base_, EVLOOP_ONCE);
  }
  return true;
}

}  // namespace gyre::bench
