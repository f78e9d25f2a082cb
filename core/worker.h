// Worker: one event loop on its own thread, and everything a connection
// needs that is local to it: the connections, their HTTP/WebSocket sessions
// and Clients, the Hub of their subscriptions, the timer wheel and the wslay
// context pool. Nothing here is locked: each object is used only on its
// worker's thread. Other threads reach a worker only through loop().post().
//
// Worker 0 runs on the node's loop (the main thread), next to the engine
// plugin and the server API; workers 1..N-1 run their own loops on their own
// threads. The node accepts connections and hands them out round-robin. A
// publication reaches a worker once (a post with its encoded JSON), and the
// worker shares one frame across its subscribers.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "codes.h"
#include "connection.h"
#include "http.h"
#include "http_client.h"
#include "hub.h"
#include "loop.h"
#include "ws_context_pool.h"

namespace gyre {

class Client;
class Node;

class Worker {
 public:
  // `shared_loop`: the node's loop for worker 0; nullptr = a loop of its own.
  Worker(Node &node, size_t index, Loop *shared_loop);
  ~Worker();
  Worker(const Worker &) = delete;
  Worker &operator=(const Worker &) = delete;

  Node &node() const { return node_; }
  size_t index() const { return index_; }
  Loop &loop() { return *loop_; }
  // Calls to backends (proxies) from this worker's loop; made on first use.
  HttpClient &http_client();
  Hub &hub() { return hub_; }
  WsContextPool &ws_pool() { return ws_pool_; }
  // True for the worker on the node's loop.
  bool is_home() const { return own_loop_ == nullptr; }

  // Starts the thread of a worker with its own loop (no-op for worker 0).
  void start();
  // Ends this worker: closes every connection now, stops its loop and
  // joins its thread. Call from the node's thread.
  void stop_and_join();

  // Worker thread: serve an accepted socket.
  void adopt(int fd);
  // Worker thread: runs fn after the current callback, in this loop turn
  // (never inside an engine event or a fan-out).
  void defer(std::function<void()> fn);

  // Worker thread, from its Clients.
  bool client_connected(Client &c);
  void client_closed(Client &c);
  // Call after a client's or one of its subscriptions' expiry changed
  // (only clients with one are checked by the housekeeping timer).
  void track_expiry(Client &c);
  // A local subscriber of a channel arrived (`first`: the Hub had none).
  // cb(ok) once the engine delivers the channel to this worker: at once
  // when it already does, after the node's answer for the first subscriber
  // and for those arriving while that is in flight.
  void channel_used(const std::string &channel, bool first, std::function<void(bool ok)> cb);
  // The last local subscriber left.
  void channel_unused(const std::string &channel);

  // Worker thread: disconnect every client (shutdown).
  void disconnect_all(const Disconnect &d);

  // A stream's top position as the engine reported it (history, limit 0).
  struct StreamTop {
    std::string channel;
    uint64_t offset = 0;
    std::string epoch;
  };
  // Worker thread: the position check (spec §2.3) of every positioned
  // subscription of these channels (see Client::check_position). Those
  // behind the top are looked at again about a second later, so that
  // publications still on their way when the top was read are not taken
  // for lost ones.
  void check_positions(const std::vector<StreamTop> &tops);
  // Worker thread: channels with at least one positioned subscription.
  std::vector<std::string> positioned_channels() const;

 private:
  void housekeeping();

  Node &node_;
  size_t index_;
  std::unique_ptr<Loop> own_loop_;
  Loop *loop_;
  Hub hub_;
  WsContextPool ws_pool_;
  ConnectionPool pool_;
  HttpHandler http_handler_;
  Timer housekeeping_timer_;
  int64_t last_presence_refresh_ms_ = 0;
  std::unordered_set<Client *> expiring_;
  // Channels with channel_used requests in flight, and the subscribers
  // waiting for the last one's answer.
  struct Joining {
    int in_flight = 0;
    std::vector<std::function<void(bool)>> waiters;
  };
  std::unordered_map<std::string, Joining> joining_;
  // Position checks to repeat (see check_positions): due time (mono ms).
  struct Recheck {
    int64_t due_ms;
    std::vector<StreamTop> tops;
  };
  std::vector<Recheck> rechecks_;
  // Walks the subscriptions of `tops`' channels; returns those behind.
  std::vector<StreamTop> walk_positions(const std::vector<StreamTop> &tops, bool final);
  event *defer_ev_ = nullptr;
  std::vector<std::function<void()>> deferred_;
  std::thread thread_;
  std::unique_ptr<HttpClient> http_client_;  // before the loop goes
};

}  // namespace gyre
