// Node: one Gyre server process. Owns the node loop (the main thread) with
// the engine plugin, the server API, the listener and the signals, and the
// workers that own the connections (worker 0 shares the node loop). Offers
// the operations the client protocol and the server API share (publish,
// history, presence), and routes engine events to the workers whose clients
// subscribe to the channel.
//
// Threads: everything here runs on the node loop unless its comment says
// otherwise; config(), registry(), engine(), publish() and history() may be
// used from any worker (the engine relays, see engine.h).
//
// Configuration: channel namespaces and named proxies change at run time
// (the store, StoreService). Each loop thread has its own snapshot, replaced
// only between two of its callbacks (install_config), so a reference from
// config() holds for the callback that took it. Code that keeps a pointer
// into it (ChannelOptions, ProxyEndpoint) across an asynchronous wait keeps
// config_ref() with it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "auth.h"
#include "codes.h"
#include "config.h"
#include "connection.h"
#include "engine.h"
#include "http.h"
#include "json.h"
#include "loop.h"
#include "plugin_host.h"
#include "registry.h"
#include "worker.h"

namespace gyre {

class Client;
class Controller;
class ServerApi;
class StoreService;

struct PublishRequest {
  std::string channel;
  std::string_view data;
  const gyre_client_info *info = nullptr;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string idempotency_key;
  uint64_t version = 0;
  std::string version_epoch;
  bool skip_history = false;
};

struct HistoryRequest {
  int32_t limit = 0;
  bool has_since = false;
  uint64_t since_offset = 0;
  std::string since_epoch;
  bool reverse = false;
};

class Node : public EngineEventHandler, public TransportServices {
 public:
  explicit Node(Config config);
  ~Node() override;
  Node(const Node &) = delete;
  Node &operator=(const Node &) = delete;

  // Loads plugins and binds the listener. False (after logging) on failure.
  // `config_warnings` are logged once the plugins are loaded, less those
  // about keys a plugin's bound config section claims.
  bool start(const std::vector<std::string> &config_warnings = {});
  void run();
  // Graceful stop: clients get 3001 shutdown, then the loop ends.
  void shutdown();

  // The calling loop thread's snapshot; other threads see the startup one.
  const Config &config() const;
  // The same snapshot, kept alive while held (any loop thread).
  ConfigRef config_ref() const;
  // Node loop: every loop thread moves to `next` (between two of its
  // callbacks); done() on the node loop once all have.
  void install_config(ConfigRef next, std::function<void()> done);
  // Any thread, before its loop runs: the snapshot config() returns there.
  static void use_config_on_this_thread(ConfigRef c);
  // The store's service (nullptr without store.path).
  StoreService *store() { return store_.get(); }
  Loop &loop() { return loop_; }
  Engine &engine() { return *engine_; }
  // The auth plugins' chain (empty without any); usable from any worker.
  Auth &auth() { return auth_; }
  ClientRegistry &registry() { return registry_; }
  // The node-to-node control plane and the position checks.
  Controller &controller() { return *controller_; }
  const HttpLimits &http_limits() const { return http_limits_; }
  // Open connections on all workers (any thread).
  std::atomic<size_t> &connection_count() { return connection_count_; }
  const std::string &uid() const { return uid_; }
  const std::string &name() const { return name_; }
  std::string version() const;
  int64_t started_at_ms() const { return started_at_ms_; }
  int bound_port() const { return bound_port_; }
  // Any thread.
  bool shutting_down() const { return shutting_down_.load(std::memory_order_relaxed); }
  // Any thread.
  std::string new_client_id();

  size_t num_workers() const { return workers_.size(); }
  // Its hub and loop belong to its thread; see Worker.
  Worker &worker(size_t i) { return *workers_[i]; }
  // Runs fn(worker) on every worker's thread, then done() on the node loop.
  void on_every_worker(std::function<void(Worker &)> fn, std::function<void()> done);
  // Channels with a subscriber on any worker.
  size_t num_channels() const { return routes_.size(); }
  // Bit i set when worker i has subscribers of `channel`.
  uint64_t route_mask(std::string_view channel) const {
    auto it = routes_.find(channel);
    return it == routes_.end() ? 0 : it->second;
  }

  // Called on a worker's thread for each HTTP request it reads.
  void route(Worker &worker, HttpRequest &req, HttpResponder resp);
  // A worker's first local subscriber of a channel arrived / last one left
  // (the node subscribes the engine while any worker has one).
  void channel_used(const std::string &channel, Worker &worker, std::function<void(bool ok)> cb);
  void channel_unused(const std::string &channel, Worker &worker);

  // Operations shared by the client protocol and the server API.
  using PublishCallback = std::function<void(const Error *, const gyre_publish_result *)>;
  void publish(const PublishRequest &req, const ChannelOptions &opts, PublishCallback cb);
  using HistoryCallback = std::function<void(const Error *, const std::string &json)>;
  void history(const std::string &channel, const ChannelOptions &opts, const HistoryRequest &req,
               HistoryCallback cb);
  // Decodes limit/since/reverse. `ignore_case` for the server API.
  static bool decode_history_request(const json::Value &params, bool ignore_case,
                                     HistoryRequest &out);
  static std::string presence_json(const OpResult &r);
  static std::string presence_stats_json(const OpResult &r);

  // EngineEventHandler
  void handle_publication(std::string_view channel, const gyre_publication &pub,
                          const gyre_stream_position *position,
                          const gyre_publication *prev) override;
  void handle_join(std::string_view channel, const gyre_client_info &info) override;
  void handle_leave(std::string_view channel, const gyre_client_info &info) override;
  void handle_control(std::string_view data) override;
  void handle_resync(std::string_view channel) override;

  // TransportServices (emulation sessions, origins; any thread). A session
  // on another live node is reached through the engine's control plane.
  gyre_status deliver_to_session(std::string_view node, std::string_view session,
                                 std::string_view data) override;
  bool origin_allowed(std::string_view origin, std::string_view host) const override;

 private:
  static void on_accept(evutil_socket_t fd, short, void *arg);
  void accept_ready();
  bool load_plugins();
  // Any thread: serve this socket on `worker`, through its loop's queue.
  void hand_over(Worker &worker, int fd);
  // Encodes a push once (only if some worker has subscribers to the
  // channel) and delivers it on each such worker.
  template <typename Encode, typename Deliver>
  void fan_out(std::string_view channel, Encode encode, Deliver deliver);
  void fan_out_join_leave(std::string_view channel, const gyre_client_info &info, bool join);
  // Stops and joins every worker (worker 0 last).
  void stop_workers();

  // The startup configuration (see config()).
  ConfigRef config_;
  Loop loop_;
  std::string uid_;
  std::string name_;
  int64_t started_at_ms_ = 0;
  // Before plugins_: pending auth ops outlive the plugins' destroy.
  Auth auth_;
  PluginHost plugins_;
  std::unique_ptr<Engine> engine_;
  ClientRegistry registry_;
  std::atomic<size_t> connection_count_ = 0;
  HttpLimits http_limits_;
  std::vector<std::unique_ptr<Worker>> workers_;
  size_t next_worker_ = 0;
  std::unique_ptr<ServerApi> api_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<StoreService> store_;
  int listen_fd_ = -1;
  int bound_port_ = 0;
  event *accept_ev_ = nullptr;
  Timer accept_pause_timer_;
  int64_t last_emfile_log_ms_ = -1000000;
  std::atomic<bool> shutting_down_ = false;
  event *sigint_ev_ = nullptr;
  event *sigterm_ev_ = nullptr;
  Timer shutdown_timer_;
  int64_t shutdown_deadline_ms_ = 0;  // mono_ms: stop waiting for connections to close
  static constexpr int64_t kShutdownPollMs = 10;
  // Channel -> bit i set when worker i has local subscribers (node.workers
  // is at most 64). A mask, not a list: with one channel per connection this
  // map costs per connection.
  std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> routes_;
  // Channels whose engine subscription is in flight, with waiters.
  std::unordered_map<std::string, std::vector<std::function<void(bool)>>> subscribing_;
};

}  // namespace gyre
