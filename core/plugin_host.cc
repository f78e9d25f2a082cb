#include "plugin_host.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "config.h"
#include "json.h"
#include "log.h"
#include "loop.h"

#ifndef GYRE_INSTALL_PLUGIN_DIR
#define GYRE_INSTALL_PLUGIN_DIR "/usr/local/lib/gyre/plugins"
#endif

struct gyre_host {
  gyre::Plugin *plugin;
};
struct gyre_timer {
  gyre::Plugin *owner = nullptr;
  event *ev = nullptr;
  gyre_callback_fn cb = nullptr;
  void *arg = nullptr;
  bool repeat = false;
  bool firing = false;
  bool stopped = false;
};
struct gyre_watch {
  gyre::Plugin *owner = nullptr;
  event *ev = nullptr;
  gyre_watch_fn cb = nullptr;
  void *arg = nullptr;
  int fd = -1;
};

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

  static int64_t now_ms(gyre_host *h) { return plugin(h).loop_->now_ms(); }

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

PluginHost::PluginHost(Loop &loop, EngineEventHandler &events) : loop_(loop), events_(events) {}

PluginHost::~PluginHost() { shutdown(); }

namespace {

// Checks the plugin's settings against its declared schema and stores each
// value (or default) as JSON text.
bool validate_config(const gyre_config_field *schema, const std::string &name,
                     const std::string &config_json, std::map<std::string, std::string> &out,
                     std::string &error) {
  json::Document d;
  if (!d.parse(config_json) || !d.root().is_object()) {
    error = "plugin " + name + ": config must be a JSON object";
    return false;
  }
  for (const gyre_config_field *f = schema; f && f->key; ++f) {
    if (f->default_value) {
      std::string text;
      if (f->type == GYRE_CONFIG_STRING || f->type == GYRE_CONFIG_DURATION_MS)
        json::append_quoted(text, f->default_value);
      else
        text = f->default_value;
      out[f->key] = text;
    }
  }
  for (auto m = d.root().first_child(); m; m = m.next_sibling()) {
    std::string key = m.key();
    const gyre_config_field *field = nullptr;
    for (const gyre_config_field *f = schema; f && f->key; ++f)
      if (key == f->key) field = f;
    if (!field) {
      error = "plugin " + name + ": unknown config key \"" + key + "\"";
      return false;
    }
    bool ok = false;
    switch (field->type) {
      case GYRE_CONFIG_STRING: ok = m.is_string(); break;
      case GYRE_CONFIG_INT: ok = m.as_int64().has_value(); break;
      case GYRE_CONFIG_BOOL: ok = m.is_bool(); break;
      case GYRE_CONFIG_DURATION_MS: {
        int64_t ms;
        // A number is milliseconds; a string needs its unit ("500ms", "5s").
        std::string text = m.is_string() ? m.as_string() : "";
        bool has_unit = text.find_first_not_of("0123456789.-+") != std::string::npos;
        ok = m.as_int64().has_value() || (m.is_string() && has_unit && parse_duration_ms(text, ms));
        break;
      }
    }
    if (!ok) {
      static const char *types[] = {"", "a string", "an integer", "a boolean", "a duration"};
      error = "plugin " + name + ": config key \"" + key + "\" must be " + types[field->type];
      return false;
    }
    out[key] = std::string(m.raw());
  }
  return true;
}

}  // namespace

Plugin *PluginHost::load(const std::string &path, const std::string &expected_name,
                         const std::string &config_json, std::string &error) {
  for (const auto &p : plugins_) {
    if (p->name_ == expected_name) {
      error = "plugin " + expected_name + " is already loaded";
      return nullptr;
    }
  }
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *e = dlerror();
    error =
        "cannot load plugin " + expected_name + " from " + path + ": " + (e ? e : "unknown error");
    return nullptr;
  }
  // From here on, a failure leaves the object mapped but unused: v1 never
  // dlcloses (a plugin may have registered process-wide state).
  auto entry = reinterpret_cast<gyre_plugin_entry_fn>(dlsym(handle, GYRE_PLUGIN_ENTRY_SYMBOL));
  if (!entry) {
    error = "plugin " + path + " has no " GYRE_PLUGIN_ENTRY_SYMBOL " symbol";
    return nullptr;
  }
  const gyre_plugin_descriptor *d = entry();
  if (!d) {
    error = "plugin " + path + " refused to load";
    return nullptr;
  }
  if (d->size < offsetof(gyre_plugin_descriptor, engine)) {
    error = "plugin " + path + " has a truncated descriptor";
    return nullptr;
  }
  if (d->abi_major != GYRE_ABI_MAJOR) {
    error = "plugin " + path + " was built for Gyre plugin ABI " + std::to_string(d->abi_major) +
            "." + std::to_string(d->abi_minor) + ", this server speaks ABI " +
            std::to_string(GYRE_ABI_MAJOR) + "." + std::to_string(GYRE_ABI_MINOR);
    return nullptr;
  }
  auto p = std::make_unique<Plugin>();
  // Copy no more than the plugin's own descriptor size: a plugin built
  // against an older minor has a shorter descriptor.
  std::memcpy(&p->desc_, d, std::min(d->size, sizeof(gyre_plugin_descriptor)));
  p->name_ = d->name ? d->name : "";
  if (p->name_ != expected_name) {
    error = "plugin at " + path + " calls itself \"" + p->name_ + "\", expected \"" +
            expected_name + "\"";
    return nullptr;
  }
  if (!p->desc_.init) {
    error = "plugin " + p->name_ + " has no init function";
    return nullptr;
  }
  if (p->desc_.kinds & GYRE_PLUGIN_ENGINE) {
    const gyre_engine_ops *ops = p->desc_.engine;
    if (!ops) {
      error = "plugin " + p->name_ + " declares an engine but has no engine ops";
      return nullptr;
    }
    std::memcpy(&p->engine_, ops, std::min(ops->size, sizeof(gyre_engine_ops)));
    p->has_engine_ = true;
  }
  if (!validate_config(p->desc_.config_schema, p->name_, config_json, p->config_, error))
    return nullptr;
  p->handle_ = handle;
  p->loop_ = &loop_;
  p->events_ = &events_;
  p->host_ = std::make_unique<gyre_host>();
  p->host_->plugin = p.get();
  void *state = nullptr;
  gyre_status st;
  try {
    st = p->desc_.init(&api(), p->host_.get(), &state);
  } catch (...) {
    st = GYRE_ERR_INTERNAL;
  }
  if (st != GYRE_OK) {
    error = "plugin " + p->name_ + " failed to initialize (status " + std::to_string(st) +
            "); see its log lines above";
    return nullptr;
  }
  p->state_ = state;
  p->initialized_ = true;
  LOG_INFO("loaded plugin %s %s from %s", p->name_.c_str(),
           p->desc_.version ? p->desc_.version : "", path.c_str());
  plugins_.push_back(std::move(p));
  return plugins_.back().get();
}

void PluginHost::shutdown() {
  while (!plugins_.empty()) {
    auto &p = plugins_.back();
    if (p->initialized_ && p->desc_.destroy) {
      try {
        p->desc_.destroy(p->state_);
      } catch (...) {
      }
    }
    plugins_.pop_back();
  }
}

namespace {

std::string default_plugin_dir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::string exe(buf, static_cast<size_t>(n));
    std::string dir = exe.substr(0, exe.rfind('/')) + "/plugins";
    struct stat st;
    if (stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return dir;
  }
  return GYRE_INSTALL_PLUGIN_DIR;
}

}  // namespace

std::string engine_unfit(const Plugin &plugin) {
  const gyre_engine_ops *ops = plugin.engine();
  if (!ops) return "plugin " + plugin.name() + " is not an engine";
  std::string missing;
  auto need = [&](const void *hook, const char *name) {
    if (hook) return;
    if (!missing.empty()) missing += ", ";
    missing += name;
  };
  need(reinterpret_cast<const void *>(ops->subscribe), "subscribe");
  need(reinterpret_cast<const void *>(ops->unsubscribe), "unsubscribe");
  need(reinterpret_cast<const void *>(ops->publish), "publish");
  need(reinterpret_cast<const void *>(ops->publish_join), "publish_join");
  need(reinterpret_cast<const void *>(ops->publish_leave), "publish_leave");
  need(reinterpret_cast<const void *>(ops->history), "history");
  need(reinterpret_cast<const void *>(ops->remove_history), "remove_history");
  if (missing.empty()) return {};
  return "plugin " + plugin.name() + " cannot run as the engine: its engine ops lack " + missing;
}

std::vector<PluginLoad> PluginHost::plan(const Config &config) {
  std::string dir = config.plugins_dir.empty() ? default_plugin_dir() : config.plugins_dir;
  std::string engine_name = "engine-" + config.engine_type;
  std::vector<PluginLoad> out;
  bool engine_listed = false;
  for (const auto &p : config.plugins)
    if (p.name == engine_name) engine_listed = true;
  if (!engine_listed)
    out.push_back(PluginLoad{engine_name, dir + "/" + engine_name + ".so", "{}", true});
  for (const auto &p : config.plugins)
    out.push_back(PluginLoad{p.name, p.path.empty() ? dir + "/" + p.name + ".so" : p.path,
                             p.config_json, p.name == engine_name});
  return out;
}

}  // namespace gyre
