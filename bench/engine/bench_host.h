// BenchHost: the smallest host of one engine plugin, for gyre-engine-bench.
//
// It loads the plugin with dlopen exactly as core/plugin_host.cc does (the
// gyre_plugin_entry symbol, descriptor size and ABI major checks, the engine
// table copied up to its own size, the config schema's defaults overlaid
// with the bench's settings) and implements gyre_host_api on one libevent
// loop: log, now_ms (the loop's cached time, as core's Loop), timers, fd
// watches, post, node_id, config_get_*, the op completions and the engine
// events, which go to an EngineEvents sink. Ops carry a plain function
// pointer instead of core's std::function, so the host adds as little as it
// can to what is measured.
//
// Threads: one (the loop thread); post is thread-safe (a pipe).
#pragma once

#include <event2/event.h>
#include <gyre/plugin.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace gyre::bench {

class BenchHost;

// What a completion handed over; pointers are borrowed for the callback.
struct OpResult {
  gyre_status status = GYRE_OK;
  std::string_view message;
  const gyre_publish_result *publish = nullptr;
  const gyre_publication *const *pubs = nullptr;
  size_t num_pubs = 0;
  const gyre_stream_position *top = nullptr;
  size_t num_infos = 0;
  uint32_t num_clients = 0;
  uint32_t num_users = 0;
};

using OpDoneFn = void (*)(void *ctx, uint64_t index, const OpResult &r);

// Engine events, delivered on the loop thread. No engine hook may be called
// from inside them (ABI rule).
class EngineEvents {
 public:
  virtual ~EngineEvents() = default;
  virtual void on_publication(std::string_view channel, const gyre_publication &pub,
                              const gyre_stream_position *pos) = 0;
  virtual void on_join(std::string_view, const gyre_client_info &) {}
  virtual void on_leave(std::string_view, const gyre_client_info &) {}
};

struct HostCounters {
  uint64_t log_warnings = 0;
  uint64_t log_errors = 0;
  uint64_t joins = 0;
  uint64_t leaves = 0;
  uint64_t controls = 0;
  uint64_t resyncs = 0;
  uint64_t in_event = 0;  // > 0 while inside a handle_* call
};

}  // namespace gyre::bench

// The opaque ABI handles, defined by this host.
struct gyre_host {
  gyre::bench::BenchHost *bench;
};
struct gyre_op {
  gyre::bench::OpDoneFn done;
  void *ctx;
  uint64_t index;
};
struct gyre_timer {
  gyre::bench::BenchHost *owner;
  event *ev;
  gyre_callback_fn cb;
  void *arg;
  bool repeat;
  bool firing;
  bool stopped;
};
struct gyre_watch {
  gyre::bench::BenchHost *owner;
  event *ev;
  int fd;
  gyre_watch_fn cb;
  void *arg;
};

namespace gyre::bench {

class BenchHost {
 public:
  // log_level: the lowest gyre_log_level printed (to stderr).
  BenchHost(EngineEvents &events, int log_level);
  ~BenchHost();
  BenchHost(const BenchHost &) = delete;
  BenchHost &operator=(const BenchHost &) = delete;

  // dlopen + checks + config + init. `settings` are key -> text in the
  // setting's own syntax (lists: items separated by spaces or commas).
  // Keys in `soft` are ignored when the plugin's schema lacks them; any
  // other unknown key is an error.
  bool load(const std::string &path, const std::map<std::string, std::string> &settings,
            const std::set<std::string> &soft, std::string &error);
  // destroy (after the last hook), then the host's own leftovers.
  void unload();

  const gyre_engine_ops &ops() const { return ops_; }
  void *state() const { return state_; }
  const std::string &plugin_name() const { return name_; }
  const std::string &plugin_version() const { return version_; }
  const HostCounters &counters() const { return counters_; }
  event_base *base() const { return base_; }

  // A fresh op; the completion calls done(ctx, index, result), then frees
  // it. Free it yourself (release) when the hook did not take it.
  static gyre_op *new_op(OpDoneFn done, void *ctx, uint64_t index) {
    return new gyre_op{done, ctx, index};
  }
  static void release(gyre_op *op) { delete op; }

  // Runs the loop one turn at a time until done(arg) is true or deadline
  // (steady clock, ms) passes. False on timeout.
  bool run_until(bool (*done)(void *), void *arg, int64_t deadline_ms);
  static int64_t steady_ms();

  static const gyre_host_api &api();

 private:
  struct Setting {
    gyre_config_type type;
    std::string text;
    std::vector<std::string> items;  // lists
  };
  friend struct Thunks;

  EngineEvents &events_;
  int log_level_;
  event_base *base_ = nullptr;
  gyre_host host_{this};
  void *handle_ = nullptr;
  gyre_plugin_descriptor desc_{};
  gyre_engine_ops ops_{};
  void *state_ = nullptr;
  bool initialized_ = false;
  std::string name_, version_, node_id_;
  std::map<std::string, Setting> config_;
  std::set<gyre_timer *> timers_;
  std::set<gyre_watch *> watches_;
  int post_pipe_[2] = {-1, -1};
  event *post_ev_ = nullptr;
  event *heartbeat_ = nullptr;
  HostCounters counters_;
};

}  // namespace gyre::bench
