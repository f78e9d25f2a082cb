// Node: one Gyre server process. Wires the loop, the HTTP server, the engine
// plugin, the Hub and the clients together, and offers the operations the
// client protocol and the server API share (publish, history, presence).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "codes.h"
#include "config.h"
#include "connection.h"
#include "engine.h"
#include "http.h"
#include "hub.h"
#include "io_threads.h"
#include "json.h"
#include "loop.h"
#include "plugin_host.h"
#include "ws_context_pool.h"

namespace gyre {

class Client;
class ServerApi;

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

class Node : public EngineEventHandler {
 public:
  explicit Node(Config config);
  ~Node() override;
  Node(const Node &) = delete;
  Node &operator=(const Node &) = delete;

  // Loads plugins and binds the listener. False (after logging) on failure.
  bool start();
  void run();
  // Graceful stop: clients get 3001 shutdown, then the loop ends.
  void shutdown();

  const Config &config() const { return config_; }
  Loop &loop() { return loop_; }
  Hub &hub() { return hub_; }
  Engine &engine() { return *engine_; }
  WsContextPool &ws_pool() { return ws_pool_; }
  const std::string &uid() const { return uid_; }
  const std::string &name() const { return name_; }
  std::string version() const;
  int64_t started_at_ms() const { return started_at_ms_; }
  int bound_port() const { return bound_port_; }
  bool shutting_down() const { return shutting_down_; }
  std::string new_client_id();
  // Runs fn after the current callback, in this loop iteration. Used for
  // work that must not run inside an engine event (no re-entry into the
  // engine from handle_publication).
  void defer(std::function<void()> fn);

  // Client registry.
  bool client_connected(Client &c);
  void client_closed(Client &c);
  // Call after a client's expire_at changed (only those with one are
  // checked by the housekeeping timer).
  void track_expiry(Client &c);
  // First local subscriber of a channel arrived / last one left.
  void channel_used(const std::string &channel, std::function<void(bool ok)> cb);
  void channel_unused(const std::string &channel);

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

 private:
  static void on_accept(evutil_socket_t fd, short, void *arg);
  void accept_ready();
  void route(HttpRequest &req, HttpResponder resp);
  bool load_engine();
  bool origin_allowed(std::string_view origin, std::string_view host) const;
  void housekeeping();

  Config config_;
  Loop loop_;
  std::string uid_;
  std::string name_;
  int64_t started_at_ms_ = 0;
  PluginHost plugins_;
  std::unique_ptr<Engine> engine_;
  Hub hub_;
  WsContextPool ws_pool_;
  std::unique_ptr<IoThreads> io_threads_;  // outlives pool_ (declared first)
  ConnectionPool pool_;
  HttpLimits http_limits_;
  HttpHandler http_handler_;
  std::unique_ptr<ServerApi> api_;
  int listen_fd_ = -1;
  int bound_port_ = 0;
  event *accept_ev_ = nullptr;
  Timer housekeeping_timer_;
  Timer accept_pause_timer_;
  int64_t last_emfile_log_ms_ = -1000000;
  int64_t last_presence_refresh_ms_ = 0;
  std::unordered_set<Client *> expiring_;
  bool shutting_down_ = false;
  event *defer_ev_ = nullptr;
  std::vector<std::function<void()>> deferred_;
  event *sigint_ev_ = nullptr;
  event *sigterm_ev_ = nullptr;
  Timer shutdown_timer_;
  // Channels whose engine subscription is in flight, with waiters.
  std::unordered_map<std::string, std::vector<std::function<void(bool)>>> subscribing_;
};

}  // namespace gyre
