#include "host_api.h"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "auth.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "plugin_host.h"
#include "plugin_stream.h"

namespace gyre {

// C thunks behind gyre_host_api. Each is a barrier: nothing throws across.
struct HostThunks {
  static Plugin &plugin(gyre_host *h) { return *h->plugin; }

  static void log(gyre_host *h, gyre_log_level level, gyre_str msg) {
    LogLevel l = level == GYRE_LOG_DEBUG  ? LogLevel::Debug
                 : level == GYRE_LOG_INFO ? LogLevel::Info
                 : level == GYRE_LOG_WARN ? LogLevel::Warn
                                          : LogLevel::Error;
    log_write(l, plugin(h).name_, std::string_view(msg.ptr, msg.len));
  }

  static int64_t now_ms(gyre_host *) {
    // Any thread: a loop thread reads its own loop's cached time (stream
    // hooks run on workers); a plugin's own thread reads the clock, never
    // another loop's cache.
    if (Loop *here = Loop::current()) return here->now_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  }

  static gyre_status route_add(gyre_host *h, gyre_str path) {
    Plugin &p = plugin(h);
    std::string_view sv(path.ptr ? path.ptr : "", path.len);
    bool mine = std::find(p.routes_.begin(), p.routes_.end(), sv) != p.routes_.end();
    if (!p.in_init_ || !p.transport() || sv.empty() || sv[0] != '/' || mine ||
        !p.owner_->route_free(sv)) {
      LOG_ERROR(
          "plugin %s: route_add(\"%.*s\") refused (only in init, by a transport, for a "
          "free path starting with '/')",
          p.name_.c_str(), static_cast<int>(sv.size()), sv.data());
      return GYRE_ERR_INVALID;
    }
    p.routes_.emplace_back(sv);
    return GYRE_OK;
  }

  static gyre_status session_deliver(gyre_host *h, gyre_str node, gyre_str session, gyre_str data) {
    TransportServices *r = plugin(h).owner_->transport_services();
    if (!r) return GYRE_ERR_NOT_FOUND;
    try {
      return r->deliver_to_session(std::string_view(node.ptr ? node.ptr : "", node.len),
                                   std::string_view(session.ptr ? session.ptr : "", session.len),
                                   std::string_view(data.ptr ? data.ptr : "", data.len));
    } catch (...) {
      return GYRE_ERR_NOMEM;
    }
  }

  static bool origin_allowed(gyre_host *h, gyre_str origin, gyre_str host_header) {
    TransportServices *r = plugin(h).owner_->transport_services();
    std::string_view o(origin.ptr ? origin.ptr : "", origin.len);
    // Without a node (gyre plugins, tests) only requests without an Origin pass.
    if (!r) return o.empty();
    try {
      return r->origin_allowed(
          o, std::string_view(host_header.ptr ? host_header.ptr : "", host_header.len));
    } catch (...) {
      return false;
    }
  }

  static gyre_str node_id(gyre_host *h) {
    const std::string &id = plugin(h).owner_->node_id_;
    return gyre_str{id.data(), id.size()};
  }

  static void handle_control(gyre_host *h, gyre_str data) {
    try {
      plugin(h).events_->handle_control(std::string_view(data.ptr ? data.ptr : "", data.len));
    } catch (const std::exception &e) {
      LOG_ERROR("control message failed: %s", e.what());
    }
  }

  static void handle_resync(gyre_host *h, gyre_str channel) {
    try {
      plugin(h).events_->handle_resync(
          std::string_view(channel.ptr ? channel.ptr : "", channel.len));
    } catch (const std::exception &e) {
      LOG_ERROR("resync failed: %s", e.what());
    }
  }

  static void on_timer(evutil_socket_t, short, void *arg) {
    auto *t = static_cast<gyre_timer *>(arg);
    t->firing = true;
    t->cb(t->arg);
    t->firing = false;
    // A one-shot timer's handle dies once its callback returned; so does a
    // repeating one stopped from inside its own callback.
    if (!t->repeat || t->stopped) free_timer(t);
  }

  // Every handle is freed here, so the plugin's sets know what is alive.
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

  static gyre_timer *timer_start(gyre_host *h, uint64_t delay_ms, bool repeat, gyre_callback_fn cb,
                                 void *arg) {
    auto *t = new (std::nothrow) gyre_timer;
    if (!t) return nullptr;
    t->owner = &plugin(h);
    t->repeat = repeat;
    t->cb = cb;
    t->arg = arg;
    t->ev = event_new(plugin(h).loop_->base(), -1, repeat ? EV_PERSIST : 0, &on_timer, t);
    if (!t->ev) {
      delete t;
      return nullptr;
    }
    struct timeval tv = {static_cast<time_t>(delay_ms / 1000),
                         static_cast<suseconds_t>((delay_ms % 1000) * 1000)};
    event_add(t->ev, &tv);
    t->owner->timers_.insert(t);
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

  static void on_watch(evutil_socket_t fd, short what, void *arg) {
    auto *w = static_cast<gyre_watch *>(arg);
    int events =
        ((what & EV_READ) ? GYRE_WATCH_READ : 0) | ((what & EV_WRITE) ? GYRE_WATCH_WRITE : 0);
    w->cb(fd, events, w->arg);
  }

  static short ev_mask(int events) {
    return static_cast<short>(((events & GYRE_WATCH_READ) ? EV_READ : 0) |
                              ((events & GYRE_WATCH_WRITE) ? EV_WRITE : 0) | EV_PERSIST);
  }

  static gyre_watch *watch_start(gyre_host *h, int fd, int events, gyre_watch_fn cb, void *arg) {
    auto *w = new (std::nothrow) gyre_watch;
    if (!w) return nullptr;
    w->owner = &plugin(h);
    w->cb = cb;
    w->arg = arg;
    w->fd = fd;
    w->ev = event_new(plugin(h).loop_->base(), fd, ev_mask(events), &on_watch, w);
    if (!w->ev) {
      delete w;
      return nullptr;
    }
    if (events) event_add(w->ev, nullptr);
    w->owner->watches_.insert(w);
    return w;
  }

  static void watch_update(gyre_host *, gyre_watch *w, int events) {
    event_del(w->ev);
    event_assign(w->ev, event_get_base(w->ev), w->fd, ev_mask(events), &on_watch, w);
    if (events) event_add(w->ev, nullptr);
  }

  static void watch_stop(gyre_host *, gyre_watch *w) {
    if (!w) return;
    free_watch(w);
  }

  static gyre_status post(gyre_host *h, gyre_callback_fn fn, void *arg) {
    try {
      return plugin(h).loop_->post([fn, arg] { fn(arg); }) ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
    } catch (...) {
      return GYRE_ERR_NOMEM;
    }
  }

  static const std::string *config_value(gyre_host *h, const char *key) {
    auto &cfg = plugin(h).config_;
    auto it = cfg.find(key);
    return it == cfg.end() ? nullptr : &it->second;
  }

  static bool config_get_string(gyre_host *h, const char *key, gyre_str *out) {
    const std::string *v = config_value(h, key);
    if (!v) return false;
    json::Document d;
    if (!d.parse(*v) || !d.root().is_string()) return false;
    auto &s = plugin(h).strings_[key];
    s = d.root().as_string();
    *out = gyre_str{s.data(), s.size()};
    return true;
  }

  static bool config_get_list(gyre_host *h, const char *key, size_t index, gyre_str *out) {
    const std::string *v = config_value(h, key);
    if (!v) return false;
    json::Document d;
    if (!d.parse(*v)) return false;
    json::Value item;
    if (d.root().is_string()) {
      if (index == 0) item = d.root();
    } else if (d.root().is_array()) {
      item = d.root().first_child();
      for (size_t i = 0; i < index && item; ++i) item = item.next_sibling();
    }
    if (!item || !item.is_string()) return false;
    auto &s = plugin(h).strings_[std::string(key) + "\x1f" + std::to_string(index)];
    s = item.as_string();
    *out = gyre_str{s.data(), s.size()};
    return true;
  }

  static bool config_get_int(gyre_host *h, const char *key, int64_t *out) {
    const std::string *v = config_value(h, key);
    if (!v) return false;
    json::Document d;
    if (!d.parse(*v)) return false;
    auto i = d.root().as_int64();
    if (!i) return false;
    *out = *i;
    return true;
  }

  static bool config_get_bool(gyre_host *h, const char *key, bool *out) {
    const std::string *v = config_value(h, key);
    if (!v) return false;
    json::Document d;
    if (!d.parse(*v) || !d.root().is_bool()) return false;
    *out = d.root().as_bool();
    return true;
  }

  static bool config_get_duration_ms(gyre_host *h, const char *key, int64_t *out);

  static void finish(gyre_op *op, const OpResult &r) {
    // Deleting first would be wrong: the callback may read op-owned data.
    try {
      op->done(r);
    } catch (const std::exception &e) {
      LOG_ERROR("engine completion failed: %s", e.what());
    }
    delete op;
  }

  static void complete(gyre_op *op, gyre_status status, gyre_str message) {
    OpResult r;
    r.status = status;
    r.message = std::string_view(message.ptr ? message.ptr : "", message.len);
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
  static void complete_presence(gyre_op *op, const gyre_client_info *const *infos, size_t n) {
    OpResult r;
    r.infos = infos;
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
                                 const gyre_stream_position *pos, const gyre_publication *prev) {
    try {
      plugin(h).events_->handle_publication(std::string_view(channel.ptr, channel.len), *pub, pos,
                                            prev);
    } catch (const std::exception &e) {
      LOG_ERROR("publication fan-out failed: %s", e.what());
    }
  }
  static void handle_join(gyre_host *h, gyre_str channel, const gyre_client_info *info) {
    try {
      plugin(h).events_->handle_join(std::string_view(channel.ptr, channel.len), *info);
    } catch (const std::exception &e) {
      LOG_ERROR("join fan-out failed: %s", e.what());
    }
  }
  static void handle_leave(gyre_host *h, gyre_str channel, const gyre_client_info *info) {
    try {
      plugin(h).events_->handle_leave(std::string_view(channel.ptr, channel.len), *info);
    } catch (const std::exception &e) {
      LOG_ERROR("leave fan-out failed: %s", e.what());
    }
  }
};

}  // namespace gyre

namespace gyre {

bool HostThunks::config_get_duration_ms(gyre_host *h, const char *key, int64_t *out) {
  const std::string *v = config_value(h, key);
  if (!v) return false;
  json::Document d;
  if (!d.parse(*v)) return false;
  if (d.root().is_number()) {
    auto i = d.root().as_int64();
    if (!i) return false;
    *out = *i;
    return true;
  }
  if (!d.root().is_string()) return false;
  return parse_duration_ms(d.root().as_string(), *out);
}

const gyre_host_api &PluginHost::api() {
  static const gyre_host_api table = {
      GYRE_ABI_MAJOR,
      GYRE_ABI_MINOR,
      sizeof(gyre_host_api),
      &HostThunks::log,
      &HostThunks::now_ms,
      &HostThunks::timer_start,
      &HostThunks::timer_stop,
      &HostThunks::watch_start,
      &HostThunks::watch_update,
      &HostThunks::watch_stop,
      &HostThunks::post,
      &HostThunks::config_get_string,
      &HostThunks::config_get_int,
      &HostThunks::config_get_bool,
      &HostThunks::config_get_duration_ms,
      &HostThunks::complete,
      &HostThunks::complete_publish,
      &HostThunks::complete_history,
      &HostThunks::complete_presence,
      &HostThunks::complete_presence_stats,
      &HostThunks::handle_publication,
      &HostThunks::handle_join,
      &HostThunks::handle_leave,
      // ABI 1.1
      &auth_thunks::grant,
      &auth_thunks::grant_subscription,
      &auth_thunks::deny,
      &HostThunks::route_add,
      &stream_thunks::http_respond,
      &stream_thunks::open,
      &stream_thunks::write,
      &stream_thunks::deliver,
      &stream_thunks::close,
      &HostThunks::session_deliver,
      &stream_thunks::buffer_append,
      // ABI 1.3
      &HostThunks::origin_allowed,
      // ABI 1.4
      &HostThunks::node_id,
      &HostThunks::handle_control,
      &HostThunks::handle_resync,
      &HostThunks::config_get_list,
  };
  return table;
}

Plugin::~Plugin() {
  // A failed init is unwound here, and a destroy that forgot a timer or a
  // watch is caught: nothing of a plugin may fire once it is gone.
  if (initialized_ && (!timers_.empty() || !watches_.empty()))
    LOG_WARN("plugin %s left %zu timers and %zu fd watches after destroy; stopped them",
             name_.c_str(), timers_.size(), watches_.size());
  while (!timers_.empty()) HostThunks::free_timer(*timers_.begin());
  while (!watches_.empty()) HostThunks::free_watch(*watches_.begin());
}

}  // namespace gyre
