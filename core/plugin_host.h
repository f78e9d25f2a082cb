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

// One loaded plugin instance.
class Plugin {
 public:
  ~Plugin();
  const std::string &name() const { return name_; }
  const gyre_plugin_descriptor &descriptor() const { return desc_; }
  // The engine table, with missing trailing slots zeroed; nullptr if none.
  const gyre_engine_ops *engine() const { return has_engine_ ? &engine_ : nullptr; }
  void *state() const { return state_; }

 private:
  friend class PluginHost;
  friend struct HostThunks;
  std::string name_;
  void *handle_ = nullptr;
  gyre_plugin_descriptor desc_{};
  gyre_engine_ops engine_{};
  bool has_engine_ = false;
  void *state_ = nullptr;
  bool initialized_ = false;
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
  std::string config_json;
  bool engine = false;  // the node's engine (engine-<engine.type>)
};

// Why `plugin` cannot be the node's engine (not an engine, or a broker hook
// missing: the presence hooks are optional); empty when it can.
std::string engine_unfit(const Plugin &plugin);

class PluginHost {
 public:
  // What `config` loads: the engine plugin of engine.type first (unless
  // plugins.load lists it), then plugins.load in order, with paths resolved
  // against plugins.dir (default: plugins/ next to the binary, then the
  // install prefix).
  static std::vector<PluginLoad> plan(const Config &config);

  PluginHost(Loop &loop, EngineEventHandler &events);
  ~PluginHost();
  // Loads and initializes one plugin. config_json is the plugin's settings
  // object. On failure returns nullptr and sets error (the load is fully
  // unwound).
  Plugin *load(const std::string &path, const std::string &expected_name,
               const std::string &config_json, std::string &error);
  // Destroys every plugin (reverse load order). Never dlcloses: see ABI doc.
  void shutdown();
  static const gyre_host_api &api();

 private:
  Loop &loop_;
  EngineEventHandler &events_;
  std::vector<std::unique_ptr<Plugin>> plugins_;
};

}  // namespace gyre
