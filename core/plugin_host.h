// Loading plugins (dlopen, ABI and config checks) and the host side of the C
// ABI: the gyre_host_api table, gyre_host handles and gyre_op completions.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "config.h"
#include "gyre/plugin.h"

namespace gyre {

class Loop;
struct Config;

// Receives engine events (the BrokerEventHandler of Centrifuge).
class EngineEventHandler {
 public:
  virtual ~EngineEventHandler() = default;
  virtual void handle_publication(std::string_view channel, const gyre_publication &pub,
                                  const gyre_stream_position *position,
                                  const gyre_publication *prev) = 0;
  virtual void handle_join(std::string_view channel, const gyre_client_info &info) = 0;
  virtual void handle_leave(std::string_view channel, const gyre_client_info &info) = 0;
  // ABI 1.4: node-to-node control bytes from the engine, and "events of
  // channel (empty: every channel) may have been lost". Without a control
  // plane (tests, gyre plugins) both are dropped.
  virtual void handle_control(std::string_view /*data*/) {}
  virtual void handle_resync(std::string_view /*channel*/) {}
};

// What transport plugins reach through the host that only the node knows:
// emulation sessions (gyre_host_api.session_deliver) and the origin policy
// (gyre_host_api.origin_allowed).
class TransportServices {
 public:
  virtual ~TransportServices() = default;
  // Any thread. GYRE_ERR_NOT_FOUND for an unknown node; GYRE_OK otherwise
  // (an unknown session is ignored).
  virtual gyre_status deliver_to_session(std::string_view node, std::string_view session,
                                         std::string_view data) = 0;
  // Any thread. May a request carrying this Origin header (empty: none)
  // proceed, by client.allowed_origins?
  virtual bool origin_allowed(std::string_view origin, std::string_view host) const = 0;
};

// For hosts without a node (gyre plugins, tests): events go nowhere.
class NoEngineEvents : public EngineEventHandler {
 public:
  void handle_publication(std::string_view, const gyre_publication &, const gyre_stream_position *,
                          const gyre_publication *) override {}
  void handle_join(std::string_view, const gyre_client_info &) override {}
  void handle_leave(std::string_view, const gyre_client_info &) override {}
};

// What an engine operation completed with. Pointers are borrowed for the
// duration of the callback.
struct OpResult {
  gyre_status status = GYRE_OK;
  std::string_view message;
  const gyre_publish_result *publish = nullptr;
  const gyre_publication *const *pubs = nullptr;
  size_t num_pubs = 0;
  const gyre_stream_position *top = nullptr;
  const gyre_client_info *const *infos = nullptr;
  size_t num_infos = 0;
  uint32_t num_clients = 0;
  uint32_t num_users = 0;
};
using OpCallback = std::function<void(const OpResult &)>;

}  // namespace gyre

// The host's definition of the opaque completion handle.
struct gyre_op {
  gyre::OpCallback done;
};

namespace gyre {

class PluginHost;

// One loaded plugin instance.
class Plugin {
 public:
  ~Plugin();
  const std::string &name() const { return name_; }
  const gyre_plugin_descriptor &descriptor() const { return desc_; }
  // The vtables, with missing trailing slots zeroed; nullptr if none.
  const gyre_engine_ops *engine() const { return has_engine_ ? &engine_ : nullptr; }
  const gyre_auth_ops *auth() const { return has_auth_ ? &auth_ : nullptr; }
  const gyre_transport_ops *transport() const { return has_transport_ ? &transport_ : nullptr; }
  // The command-line command `name` this plugin offers (ABI 1.2), or nullptr.
  const gyre_command *command(std::string_view name) const;
  void *state() const { return state_; }
  // Paths claimed with route_add during init.
  const std::vector<std::string> &routes() const { return routes_; }
  // The config keys of a bound section, as full dotted paths (empty when
  // the plugin reads plugins.load[].config).
  std::vector<std::string> claimed_keys() const;

 private:
  friend class PluginHost;
  friend struct HostThunks;
  std::string name_;
  void *handle_ = nullptr;
  gyre_plugin_descriptor desc_{};
  gyre_engine_ops engine_{};
  gyre_auth_ops auth_{};
  gyre_transport_ops transport_{};
  bool has_engine_ = false;
  bool has_auth_ = false;
  bool has_transport_ = false;
  void *state_ = nullptr;
  bool initialized_ = false;
  bool in_init_ = false;
  PluginHost *owner_ = nullptr;
  std::string section_;  // config_section, when bound
  bool bound_ = false;
  std::vector<std::string> routes_;
  std::map<std::string, std::string> config_;   // key -> JSON text
  std::map<std::string, std::string> strings_;  // stable string values
  std::unique_ptr<gyre_host> host_;
  // Live timer and watch handles, freed with the plugin (see ~Plugin).
  std::unordered_set<gyre_timer *> timers_;
  std::unordered_set<gyre_watch *> watches_;
  Loop *loop_ = nullptr;
  EngineEventHandler *events_ = nullptr;
};

// One plugin a config asks for, in load order.
struct PluginLoad {
  std::string name;
  std::string path;
  std::string config_json = "{}";
  bool config_given = false;  // plugins.load[].config was there
  bool engine = false;        // the node's engine (engine-<engine.type>)
};

// Why `plugin` cannot be the node's engine (not an engine, or a broker hook
// missing: the presence hooks are optional); empty when it can.
std::string engine_unfit(const Plugin &plugin);

class PluginHost {
 public:
  // What `config` loads: the engine plugin of engine.type first (unless
  // plugins.load lists it), auth-jwt when client.token.* or
  // client.subscription_token.* name a key, transport-sse when sse,
  // http_stream or a uni_* transport is enabled (each unless listed), then
  // plugins.load in order, with paths resolved against plugins.dir
  // (default: plugins/ next to the binary, then the install prefix).
  static std::vector<PluginLoad> plan(const Config &config);

  PluginHost(Loop &loop, EngineEventHandler &events);
  ~PluginHost();
  // The server's config file and flags (for bound sections), and from them
  // the paths the server serves itself (route_add refuses those). Before the
  // first load.
  void set_config(const Config &config);
  void set_transport_services(TransportServices *services) { services_ = services; }
  TransportServices *transport_services() const { return services_; }
  // This node's id (gyre_host_api.node_id). Before the first load.
  void set_node_id(std::string id) { node_id_ = std::move(id); }
  // Loads and initializes one plugin. On failure returns nullptr and sets
  // error (the load is fully unwound).
  Plugin *load(const PluginLoad &spec, std::string &error);
  // Destroys every plugin (reverse load order). Never dlcloses: see ABI doc.
  void shutdown();
  const std::vector<std::unique_ptr<Plugin>> &plugins() const { return plugins_; }
  // Which plugin serves this exact path (route_add), or nullptr.
  Plugin *route(std::string_view path) const;
  // Every config key the loaded plugins' bound sections declare.
  std::vector<std::string> claimed_keys() const;
  static const gyre_host_api &api();

 private:
  friend struct HostThunks;
  // route_add's check: not reserved, not claimed already.
  bool route_free(std::string_view path) const;
  bool bind_config(Plugin &p, const PluginLoad &spec, std::string &error);
  Loop &loop_;
  EngineEventHandler &events_;
  TransportServices *services_ = nullptr;
  std::string node_id_;
  std::string config_root_ = "{}";
  std::map<std::string, std::string> flag_values_;
  std::vector<std::string> reserved_;
  std::vector<std::unique_ptr<Plugin>> plugins_;
};

}  // namespace gyre
