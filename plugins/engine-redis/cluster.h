// ClusterRouter: the command side of one Redis Cluster (spec §7.3). hiredis
// has no cluster support, so this keeps the slot map (CLUSTER SLOTS, asked
// at start, every 5 s, after a MOVED and when a master's connection drops),
// one pipelined command connection per master, and sends every command to
// the master of its slot. A channel's keys carry the channel as hash tag
// ("P.stream.{ch}"), so one slot holds them all and its scripts run there.
//
// Redirections: MOVED updates the map at once and resends to the named
// node; ASK (a slot being migrated) sends ASKING and the command once to the
// importing node; TRYAGAIN (a multi-key script while its slot's keys are
// being migrated) and CLUSTERDOWN are retried every 50 ms for up to
// io_timeout, and then fail like any error. Requests keep a copy of their
// arguments for that, so the cluster path allocates per command where the
// standalone one does not.
//
// Threads: the loop thread. Lifetime: owned by its Shard; pending callbacks
// run with nullptr when it is destroyed.
#pragma once

#include <gyre/plugin.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connection.h"
#include "settings.h"

namespace gyre::redis {

class ClusterRouter : public RedisConnection::Events {
 public:
  using ReplyFn = RedisConnection::ReplyFn;
  static constexpr int kSlots = 16384;

  // `seed` carries the credentials and the nodes to start from.
  ClusterRouter(const gyre_host_api *api, gyre_host *host, const RedisAddress &seed,
                const RedisSettings &settings, std::string name);
  ~ClusterRouter() override;

  void start();
  void tick(int64_t now_ms);

  // slot < 0: any master (PUBLISH reaches every node of a cluster).
  bool accepting(int slot) const;
  // As RedisConnection::send: false (fn not called) when the node for the
  // slot is down; otherwise fn runs exactly once, with the final reply.
  bool send(int slot, int argc, const char **argv, const size_t *lens, ReplyFn fn);

  // A master with a live connection other than host:port, for the PUB/SUB
  // connection to move to when its node fails. False when there is none.
  bool other_node(const std::string &host, int port, std::string &out_host, int &out_port) const;
  // Masters in the current slot map (0 before the first answer).
  size_t masters() const { return masters_; }

  // RedisConnection::Events
  void on_open(RedisConnection &) override {}
  void on_down(RedisConnection &conn) override;
  void on_pubsub(RedisConnection &, redisReply *) override {}

 private:
  struct Node {
    std::string host;
    int port = 0;
    std::unique_ptr<RedisConnection> conn;
  };
  struct Request {
    std::vector<std::string> argv;
    ReplyFn fn;
    int slot = -1;
    int redirects = 0;
    int64_t give_up_ms = 0;  // TRYAGAIN/CLUSTERDOWN retried until then
    int64_t due_ms = 0;
  };
  int node_index(const std::string &host, int port);  // finds or connects
  Node *route(int slot) const;                        // slot owner, else any live node
  bool dispatch(const std::shared_ptr<Request> &req, Node &node, bool asking);
  void replied(const std::shared_ptr<Request> &req, const Node &node, redisReply *r);
  void refresh_slots(int64_t now_ms);
  void apply_slots(const redisReply *r, const Node &asked);

  const gyre_host_api *api_;
  gyre_host *host_;
  RedisAddress seed_;
  const RedisSettings &settings_;
  std::string name_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<int16_t> slots_;  // node index per slot, -1 unknown
  size_t masters_ = 0;
  std::deque<std::shared_ptr<Request>> retry_;
  bool refreshing_ = false;
  int64_t refresh_due_ms_ = 0;
  int64_t last_refresh_ms_ = 0;
  bool destroying_ = false;
};

}  // namespace gyre::redis
