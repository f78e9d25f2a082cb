// RedisConnection: one hiredis async context driven by the host's loop
// (gyre watch API), with what hiredis 0.14 lacks (spec §10): a connect
// timeout, a reply timeout (io_timeout, measured on the oldest request: the
// replies come in order), reconnection with backoff, and the AUTH / SELECT /
// CLIENT SETNAME handshake pipelined ahead of everything else.
//
// Requests are accepted while the connection is connecting or up: hiredis
// buffers them and writes everything queued in one loop turn with one
// write() (spec §10.3). While it is down (between attempts) send() refuses
// at once, so callers fail fast instead of queueing behind a dead server.
//
// A PUB/SUB connection (Role::PubSub) takes no requests after its handshake;
// its subscriptions and messages go to Events::on_pubsub.
//
// Threads: the loop thread only. Lifetime: owned by its Shard; destroying
// it frees the context (pending callbacks run with nullptr first).
#pragma once

#include <gyre/plugin.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "settings.h"

namespace gyre::redis {

class RedisConnection {
 public:
  enum class Role { Command, PubSub };
  enum class State { Down, Connecting, Up };
  // nullptr reply: the request failed (connection lost, timed out, closed).
  using ReplyFn = std::function<void(redisReply *reply)>;

  class Events {
   public:
    virtual ~Events() = default;
    // A new context exists (requests may be queued now, before it is up).
    virtual void on_open(RedisConnection &conn) = 0;
    // The context is gone; every pending callback has run.
    virtual void on_down(RedisConnection &conn) = 0;
    // PUB/SUB traffic: ["subscribe"|"unsubscribe"|"message", channel, x].
    virtual void on_pubsub(RedisConnection &conn, redisReply *reply) = 0;
  };

  RedisConnection(const gyre_host_api *api, gyre_host *host, const RedisAddress &addr,
                  const RedisSettings &settings, Role role, std::string name, Events &events);
  ~RedisConnection();
  RedisConnection(const RedisConnection &) = delete;
  RedisConnection &operator=(const RedisConnection &) = delete;

  // Starts the first attempt.
  void start();
  // Timers: call every few tens of ms (the engine's tick).
  void tick(int64_t now_ms);

  State state() const { return state_; }
  bool accepting() const { return state_ != State::Down; }
  const std::string &name() const { return name_; }

  // Queues a command. False (fn not called) when the connection is down or
  // hiredis refused it; otherwise fn runs exactly once, later.
  bool send(int argc, const char **argv, const size_t *lens, ReplyFn fn);
  // PUB/SUB: SUBSCRIBE / UNSUBSCRIBE channels (each confirmation arrives at
  // on_pubsub and counts against io_timeout). False when down.
  bool subscribe(const std::vector<std::string> &channels, bool unsubscribe);

  // Drops the context now (as after a timeout) and reconnects after backoff.
  void drop(const char *why);
  // Where the next attempt goes (Sentinel: the master the sentinels name).
  // A connection to another address is dropped.
  void set_address(const std::string &host, int port);
  const RedisAddress &address() const { return addr_; }

 private:
  struct Pending {
    ReplyFn fn;
    int64_t deadline_ms;
  };
  struct Watch;
  static void on_connect(const redisAsyncContext *ac, int status);
  static void on_disconnect(const redisAsyncContext *ac, int status);
  static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);
  static void on_pubsub_reply(redisAsyncContext *ac, void *reply, void *privdata);
  void connect_now();
  void lost(const char *why);
  void handshake();
  int64_t now() const;

  const gyre_host_api *api_;
  gyre_host *host_;
  RedisAddress addr_;
  const RedisSettings &settings_;
  Role role_;
  std::string name_;
  Events &events_;
  redisAsyncContext *ac_ = nullptr;
  State state_ = State::Down;
  std::deque<Pending> pending_;
  std::deque<int64_t> confirmations_;  // deadlines of awaited (un)subscribe replies
  int64_t connect_deadline_ms_ = 0;
  int64_t next_attempt_ms_ = 0;
  int64_t backoff_ms_ = 0;
  int failures_ = 0;
  const char *drop_reason_ = nullptr;  // set when we freed the context ourselves
  bool destroying_ = false;
};

}  // namespace gyre::redis
