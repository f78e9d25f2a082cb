// Controller: the node-to-node control plane (server-api spec §7) over the
// engine's publish_control, and the position checks of positioned
// subscriptions (redis-engine spec §2.3, §6.5).
//
// With an engine that connects nodes (publish_control set) every node
// broadcasts its info every 3 s and keeps a registry of the others (7 s
// without info, or a shutdown message, and a node is gone); the server API's
// subscribe, unsubscribe, disconnect and refresh act here and are broadcast
// so that every other node applies them to its own connections; `channels`
// asks every live node (a survey); emulation commands for a session on
// another node travel there. With a single-node engine everything stays
// local and nothing is sent.
//
// The message format and the registry of other nodes: control_message.h.
//
// Threads: node loop, except where a comment says otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "codes.h"
#include "control_message.h"
#include "json.h"
#include "loop.h"
#include "store.h"
#include "worker.h"

namespace gyre {

class Node;

class Controller {
 public:
  explicit Controller(Node &node);
  ~Controller();
  Controller(const Controller &) = delete;
  Controller &operator=(const Controller &) = delete;

  // Once the engine is loaded (before the workers start): with an engine
  // that connects nodes, starts the heartbeat and the periodic position
  // check.
  void start();
  // Any thread (fixed by start(), before any worker runs).
  bool enabled() const { return enabled_; }
  // The node shuts down: stops the timers and tells the other nodes (they
  // drop this one at once). `sent` runs once the message is out, at once
  // without a control plane, or after at most 500 ms.
  void shutdown(std::function<void()> sent);

  // Server API subscribe/unsubscribe/disconnect/refresh (`cmd` carries the
  // targets and parameters): applies it to this node's connections and
  // broadcasts it. done(nullptr) once both happened, done(error) when the
  // broadcast failed (the local part is done either way).
  void run_command(ControlMessage cmd, std::function<void(const Error *)> done);
  // Server API `channels`: this node's channels plus every live node's,
  // counts summed. Every node that was live when the call started must
  // answer within kSurveyTimeoutMs, or the call fails with 100 (as in
  // Centrifugo, whose survey fails at its deadline); a node that leaves
  // meanwhile is not waited for.
  using ChannelsDone = std::function<void(const Error *, const std::string &json)>;
  void channels(const std::string &pattern, ChannelsDone done);
  // Server API `info`: this node first, then the live others.
  std::vector<NodeInfo> nodes() const;
  NodeInfo local_info() const;
  // Any thread: a live node other than this one (false without a control
  // plane).
  bool knows_node(std::string_view uid) const;
  // Emulation commands for a session on the live node `node`.
  void send_emulation(std::string node, std::string session, std::string data);
  // A change of this node's store, for every other node to apply to its own
  // (nothing without a control plane).
  void send_store_change(const Store::Change &c);

  // From the engine (Node's EngineEventHandler); both defer their work to
  // the next loop turn, as the ABI wants (no engine call from inside).
  void handle(std::string_view data);
  void resync(std::string_view channel);

  // Malformed control messages dropped so far.
  uint64_t dropped() const { return dropped_; }

  static constexpr int64_t kHeartbeatMs = 3000;
  static constexpr int64_t kSurveyTimeoutMs = 3000;
  static constexpr int64_t kSurveyTickMs = 100;

 private:
  struct Survey;
  // Encodes m (uid filled in) and hands it to the engine; cb(ok).
  void publish(std::string_view node, ControlMessage &m, std::function<void(bool)> cb);
  void heartbeat();
  void shutdown_done();  // runs shutdown's `sent` once
  void process(ControlMessage &m);
  // The local half of run_command, and what a command from another node
  // does here: the same code path.
  void apply(const ControlMessage &m, std::function<void()> done);
  // Every worker's channels matching `pattern` (empty: all), summed.
  void collect_channels(const std::string &pattern,
                        std::function<void(std::map<std::string, uint64_t> &)> done);
  void answer_survey(const ControlMessage &m);
  void store_change(const ControlMessage &m);
  void survey_reply(const ControlMessage &m);
  // A node left: surveys stop waiting for it.
  void node_gone(const std::string &uid);
  void finish_survey_if_complete(uint64_t id);
  void fail_survey(uint64_t id, const char *why);
  void expire_surveys();
  // Position checks: queue channels, then read their tops in batches.
  void queue_checks(const std::vector<std::string> &channels);
  void check_all_positioned();
  void pump_checks();

  Node &node_;
  bool enabled_ = false;
  bool stopped_ = false;
  // Engine callbacks may outlive this object (a plugin answering in its
  // destroy): they hold a weak reference to this token.
  std::shared_ptr<char> life_ = std::make_shared<char>(0);
  NodeRegistry registry_;
  uint64_t dropped_ = 0;
  Timer heartbeat_timer_;
  // Messages decoded in handle(), processed on the next turn.
  std::vector<ControlMessage> inbox_;
  Timer inbox_timer_;
  uint64_t next_survey_id_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Survey>> surveys_;
  Timer survey_timer_;  // fails surveys past their deadline
  Timer shutdown_timer_;
  std::function<void()> shutdown_sent_;  // Node::shutdown waits for it
  // Channels waiting for a position check, in order, without duplicates.
  std::vector<std::string> check_queue_;
  size_t check_head_ = 0;
  std::unordered_set<std::string> check_queued_;
  bool check_batch_running_ = false;
  Timer check_timer_;     // the next batch, on a later turn
  Timer periodic_timer_;  // client.channel_position_check_delay
};

}  // namespace gyre
