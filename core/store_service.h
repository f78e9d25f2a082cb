// StoreService: the running node's side of the store (store.path). Its own
// thread owns the sqlite connection, so no database work ever runs on a
// loop: the server API's ns_* / proxy_* / rpc_ns_* methods, changes other
// nodes broadcast, and a check every second of whether another process (the
// `gyre ns` command with the server's API unreachable) committed to the file.
// Every change is validated with the whole config and written in one
// transaction, or refused with the store untouched; a change that took
// makes a new config snapshot that every loop installs (Node::
// install_config) before the caller hears back, so it applies to the next
// command of every connection and disconnects nobody.
//
// Threads: the public methods run on the node loop and call back there.
// Lifetime: stop() (or the destructor) joins the thread; callbacks of jobs
// still queued then are dropped.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config.h"
#include "store.h"

namespace gyre {

class Node;

class StoreService {
 public:
  // How often the file is checked for other processes' commits.
  static constexpr int kPollMs = 1000;

  // `current`: the config the node started with (the store applied).
  StoreService(Node &node, ConfigRef current);
  ~StoreService();
  StoreService(const StoreService &) = delete;
  StoreService &operator=(const StoreService &) = delete;

  // Opens the store on the service's thread; false and `error` when it
  // cannot (the node started with it a moment ago, so that is rare).
  bool start(std::string &error);
  void stop();

  struct Reply {
    bool ok = false;
    bool not_found = false;
    std::string message;  // !ok: why (the item named)
    std::string json;     // ok: the result object of the API method
  };
  using Done = std::function<void(Reply)>;
  // {"items":[item_json...]}.
  void list(Store::Kind kind, Done done);
  // {"item":item_json}; not_found when there is none.
  void get(Store::Kind kind, const std::string &name, Done done);
  // Sets or removes one item: {"changed":bool} once every loop of this node
  // runs with it. A change that took is passed to `broadcast` (the other
  // nodes apply it too) before done.
  void change(Store::Change change, Done done);
  // A change another node made: applied here the same way (a refusal is
  // logged: this node's config file differs).
  void apply_remote(Store::Change change);
  // Set by the node: sends a change to the other nodes.
  std::function<void(const Store::Change &)> broadcast;

 private:
  void run();
  void post(std::function<void()> job);
  // Service thread: validates and writes; new snapshot into `next`.
  Reply apply(const Store::Change &c, ConfigRef &next);
  // Service thread: rebuilds the snapshot from the file when another
  // process changed it.
  void poll();
  // Service thread -> node loop: install `next` (when set), then fn.
  void finish(ConfigRef next, std::function<void()> fn);

  Node &node_;
  std::string path_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  // Service thread only.
  std::unique_ptr<Store> store_;
  ConfigRef current_;   // the last snapshot made from the file
  Store::Items items_;  // what current_ was made from
  int64_t data_version_ = -1;
};

}  // namespace gyre
