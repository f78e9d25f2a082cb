#include "plugin_host.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "config.h"
#include "host_api.h"
#include "json.h"
#include "log.h"
#include "loop.h"

#ifndef GYRE_INSTALL_PLUGIN_DIR
#define GYRE_INSTALL_PLUGIN_DIR "/usr/local/lib/gyre/plugins"
#endif

namespace gyre {

PluginHost::PluginHost(Loop &loop, EngineEventHandler &events) : loop_(loop), events_(events) {}

PluginHost::~PluginHost() { shutdown(); }

namespace {

const char *type_name(gyre_config_type t) {
  switch (t) {
    case GYRE_CONFIG_STRING: return "a string";
    case GYRE_CONFIG_INT: return "an integer";
    case GYRE_CONFIG_BOOL: return "a boolean";
    case GYRE_CONFIG_DURATION_MS: return "a duration";
    case GYRE_CONFIG_STRING_LIST: return "a string or an array of strings";
  }
  return "a known type";
}

bool value_fits(const gyre_config_field &field, const json::Value &v) {
  switch (field.type) {
    case GYRE_CONFIG_STRING: return v.is_string();
    case GYRE_CONFIG_INT: return v.as_int64().has_value();
    case GYRE_CONFIG_BOOL: return v.is_bool();
    case GYRE_CONFIG_DURATION_MS: {
      int64_t ms;
      // A number is milliseconds; a string needs its unit ("500ms", "5s").
      std::string text = v.is_string() ? v.as_string() : "";
      bool has_unit = text.find_first_not_of("0123456789.-+") != std::string::npos;
      return v.as_int64().has_value() || (v.is_string() && has_unit && parse_duration_ms(text, ms));
    }
    case GYRE_CONFIG_STRING_LIST: {
      if (v.is_string()) return true;
      if (!v.is_array()) return false;
      for (auto item = v.first_child(); item; item = item.next_sibling())
        if (!item.is_string()) return false;
      return true;
    }
  }
  return false;
}

void store_defaults(const gyre_config_field *schema, std::map<std::string, std::string> &out) {
  for (const gyre_config_field *f = schema; f && f->key; ++f) {
    if (!f->default_value) continue;
    std::string text;
    if (f->type == GYRE_CONFIG_STRING || f->type == GYRE_CONFIG_DURATION_MS ||
        f->type == GYRE_CONFIG_STRING_LIST)
      json::append_quoted(text, f->default_value);
    else
      text = f->default_value;
    out[f->key] = text;
  }
}

// plugins.load[].config: every key must be declared, with its type.
bool check_own_config(const gyre_config_field *schema, const std::string &name,
                      const std::string &config_json, std::map<std::string, std::string> &out,
                      std::string &error) {
  json::Document d;
  if (!d.parse(config_json) || !d.root().is_object()) {
    error = "plugin " + name + ": config must be a JSON object";
    return false;
  }
  store_defaults(schema, out);
  for (auto m = d.root().first_child(); m; m = m.next_sibling()) {
    std::string key = m.key();
    const gyre_config_field *field = nullptr;
    for (const gyre_config_field *f = schema; f && f->key; ++f)
      if (key == f->key) field = f;
    if (!field) {
      error = "plugin " + name + ": unknown config key \"" + key + "\"";
      return false;
    }
    if (!value_fits(*field, m)) {
      error = "plugin " + name + ": config key \"" + key + "\" must be " + type_name(field->type);
      return false;
    }
    out[key] = std::string(m.raw());
  }
  return true;
}

// The member at a dotted path below `v` (an empty path is v itself).
json::Value at_path(json::Value v, std::string_view path) {
  while (!path.empty() && v) {
    size_t dot = path.find('.');
    v = v.is_object() ? v.get(path.substr(0, dot)) : json::Value();
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return v;
}

// An environment value as JSON text of the field's type.
std::string env_json(const gyre_config_field &f, const char *text) {
  std::string out;
  if (f.type == GYRE_CONFIG_BOOL) {
    std::string t = text;
    if (t == "true" || t == "1") return "true";
    if (t == "false" || t == "0") return "false";
  }
  if (f.type == GYRE_CONFIG_STRING_LIST) {
    // "redis://a:6379 redis://b:6379" or "a:6379,b:6379": a JSON array.
    out = "[";
    std::string_view rest(text);
    bool first = true;
    while (!rest.empty()) {
      size_t end = rest.find_first_of(" ,");
      std::string_view item = rest.substr(0, end);
      if (!item.empty()) {
        if (!first) out += ',';
        json::append_quoted(out, item);
        first = false;
      }
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    return out + "]";
  }
  if (f.type == GYRE_CONFIG_INT || f.type == GYRE_CONFIG_DURATION_MS) {
    json::Document d;
    if (d.parse(text) && d.root().is_number()) return text;
  }
  json::append_quoted(out, text);
  return out;
}

std::string join_path(const std::string &section, const char *key) {
  return section.empty() ? std::string(key) : section + "." + key;
}

}  // namespace

const gyre_command *Plugin::command(std::string_view name) const {
  for (const gyre_command *c = desc_.commands; c && c->name; ++c)
    if (name == c->name) return c;
  return nullptr;
}

std::vector<std::string> Plugin::claimed_keys() const {
  std::vector<std::string> out;
  if (!bound_) return out;
  for (const gyre_config_field *f = desc_.config_schema; f && f->key; ++f)
    out.push_back(join_path(section_, f->key));
  return out;
}

bool PluginHost::bind_config(Plugin &p, const PluginLoad &spec, std::string &error) {
  const char *section = p.desc_.config_section;
  if (!section)
    return check_own_config(p.desc_.config_schema, p.name_, spec.config_json, p.config_, error);
  // A section of the server's own config: a Centrifugo config configures
  // the plugin unchanged.
  p.bound_ = true;
  p.section_ = section;
  if (spec.config_given) {
    error = "plugin " + p.name_ + " reads its settings from the config section \"" + p.section_ +
            "\"; remove \"config\" from its plugins.load entry";
    return false;
  }
  json::Document root;
  if (!root.parse(config_root_) || !root.root().is_object()) {
    error = "plugin " + p.name_ + ": the server config is not a JSON object";
    return false;
  }
  json::Value sec = at_path(root.root(), p.section_);
  if (sec && !sec.is_object()) {
    error = "plugin " + p.name_ + ": config section \"" + p.section_ + "\" must be an object";
    return false;
  }
  store_defaults(p.desc_.config_schema, p.config_);
  for (const gyre_config_field *f = p.desc_.config_schema; f && f->key; ++f) {
    std::string full = join_path(p.section_, f->key);
    std::string text;
    std::string where = "config key \"" + full + "\"";
    if (auto flag = flag_values_.find(full); flag != flag_values_.end()) {
      text = env_json(*f, flag->second.c_str());
      where = "flag --" + full;
    } else if (const char *env = getenv(config_env_name(full).c_str()); env && *env) {
      text = env_json(*f, env);
      where = "environment " + config_env_name(full);
    } else if (json::Value v = sec ? at_path(sec, f->key) : json::Value(); v && !v.is_null()) {
      text = std::string(v.raw());
    } else {
      continue;
    }
    json::Document d;
    if (!d.parse(text) || !value_fits(*f, d.root())) {
      error = "plugin " + p.name_ + ": " + where + " must be " + type_name(f->type);
      return false;
    }
    p.config_[f->key] = text;
  }
  return true;
}

void PluginHost::set_config(const Config &config) {
  config_root_ = config.file_json;
  flag_values_ = config.flag_values;
  // A trailing '/' reserves a prefix.
  reserved_.clear();
  if (!config.ws_disabled) reserved_.push_back(config.ws_prefix);
  if (config.health_enabled) reserved_.push_back("/health");
  if (!config.api_disabled) {
    reserved_.push_back(config.api_prefix);
    reserved_.push_back(config.api_prefix + "/");
  }
}

bool PluginHost::route_free(std::string_view path) const {
  for (const auto &r : reserved_)
    if (r.ends_with('/') ? path.starts_with(r) : r == path) return false;
  return route(path) == nullptr;
}

Plugin *PluginHost::route(std::string_view path) const {
  for (const auto &p : plugins_)
    for (const auto &r : p->routes_)
      if (r == path) return p.get();
  // The plugin being initialized is not in plugins_ yet: route_add checks
  // its own list too.
  return nullptr;
}

std::vector<std::string> PluginHost::claimed_keys() const {
  std::vector<std::string> out;
  for (const auto &p : plugins_)
    for (auto &k : p->claimed_keys()) out.push_back(std::move(k));
  return out;
}

namespace {

// The vtable checks: a declared kind needs its table and the table's
// required hooks. Empty when fine.
std::string check_tables(Plugin &p, const gyre_plugin_descriptor &d, gyre_engine_ops &engine,
                         gyre_auth_ops &auth, gyre_transport_ops &transport, bool &has_engine,
                         bool &has_auth, bool &has_transport) {
  const std::string &name = p.name();
  if (d.kinds & GYRE_PLUGIN_ENGINE) {
    if (!d.engine) return "plugin " + name + " declares an engine but has no engine ops";
    std::memcpy(&engine, d.engine, std::min(d.engine->size, sizeof engine));
    has_engine = true;
  }
  if (d.kinds & GYRE_PLUGIN_AUTH) {
    if (!d.auth) return "plugin " + name + " declares auth hooks but has no auth ops";
    std::memcpy(&auth, d.auth, std::min(d.auth->size, sizeof auth));
    if (!auth.on_connect && !auth.on_refresh && !auth.on_subscribe && !auth.on_sub_refresh)
      return "plugin " + name + ": its auth ops have no hook (on_connect, on_refresh, " +
             "on_subscribe, on_sub_refresh all NULL)";
    has_auth = true;
  }
  if (d.kinds & GYRE_PLUGIN_TRANSPORT) {
    if (!d.transport) return "plugin " + name + " declares a transport but has no transport ops";
    std::memcpy(&transport, d.transport, std::min(d.transport->size, sizeof transport));
    std::string missing;
    if (!transport.on_request) missing = "on_request";
    if (!transport.on_close) missing += missing.empty() ? "on_close" : ", on_close";
    if (!missing.empty()) return "plugin " + name + ": its transport ops lack " + missing;
    has_transport = true;
  }
  static const char *const kServerCommands[] = {"serve",   "genconfig", "checkconfig",
                                                "plugins", "version",   "help"};
  for (const gyre_command *c = d.commands; c && c->name; ++c) {
    if (!c->run || !*c->name || c->name[0] == '-')
      return "plugin " + name + ": command \"" + c->name + "\" has no run function or a bad name";
    for (const char *own : kServerCommands)
      if (std::string_view(c->name) == own)
        return "plugin " + name + ": command \"" + c->name + "\" is the server's own";
  }
  uint32_t known = GYRE_PLUGIN_ENGINE | GYRE_PLUGIN_AUTH | GYRE_PLUGIN_TRANSPORT;
  if (d.kinds & ~known)
    LOG_WARN("plugin %s declares kinds 0x%x this host (ABI %d.%d) does not know; ignored",
             name.c_str(), d.kinds & ~known, GYRE_ABI_MAJOR, GYRE_ABI_MINOR);
  return {};
}

}  // namespace

Plugin *PluginHost::load(const PluginLoad &spec, std::string &error) {
  const std::string &path = spec.path;
  const std::string &expected_name = spec.name;
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
  // ABI 1.0's descriptor ends with `engine`; anything shorter is broken.
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
  // against an older minor has a shorter descriptor (missing slots stay
  // NULL), a newer one a longer one (slots this host lacks are not read).
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
  error = check_tables(*p, p->desc_, p->engine_, p->auth_, p->transport_, p->has_engine_,
                       p->has_auth_, p->has_transport_);
  if (!error.empty()) return nullptr;
  if (!bind_config(*p, spec, error)) return nullptr;
  p->handle_ = handle;
  p->loop_ = &loop_;
  p->events_ = &events_;
  p->owner_ = this;
  p->host_ = std::make_unique<gyre_host>();
  p->host_->plugin = p.get();
  void *state = nullptr;
  gyre_status st;
  p->in_init_ = true;
  try {
    st = p->desc_.init(&api(), p->host_.get(), &state);
  } catch (...) {
    st = GYRE_ERR_INTERNAL;
  }
  p->in_init_ = false;
  if (st != GYRE_OK) {
    error = "plugin " + p->name_ + " failed to initialize (status " + std::to_string(st) +
            "); see its log lines above";
    return nullptr;
  }
  p->state_ = state;
  p->initialized_ = true;
  if (p->has_transport_ && p->routes_.empty())
    LOG_WARN("plugin %s is a transport but claimed no route: it will see no request",
             p->name_.c_str());
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
    out.push_back(PluginLoad{engine_name, dir + "/" + engine_name + ".so", "{}", false, true});
  // A Centrifugo config that names token keys gets their verifier, first in
  // the auth chain (unless plugins.load places it).
  static const std::string kJwt = "auth-jwt";
  bool jwt_listed = false;
  for (const auto &p : config.plugins)
    if (p.name == kJwt) jwt_listed = true;
  if (config.wants_token_verifier() && !jwt_listed)
    out.push_back(PluginLoad{kJwt, dir + "/" + kJwt + ".so", "{}", false, false});
  // Likewise sse.enabled and the other stream transports of Centrifugo.
  static const std::string kStreams = "transport-sse";
  bool streams_listed = false;
  for (const auto &p : config.plugins)
    if (p.name == kStreams) streams_listed = true;
  if (config.wants_stream_transports() && !streams_listed)
    out.push_back(PluginLoad{kStreams, dir + "/" + kStreams + ".so", "{}", false, false});
  for (const auto &p : config.plugins)
    out.push_back(PluginLoad{p.name, p.path.empty() ? dir + "/" + p.name + ".so" : p.path,
                             p.config_json, p.config_given, p.name == engine_name});
  return out;
}

}  // namespace gyre
