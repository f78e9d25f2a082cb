// The event loop: one libevent base, timers, and the one thread-safe door
// (post) through which other threads hand work to the loop thread.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "timer_wheel.h"

namespace gyre {

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop &) = delete;
  Loop &operator=(const Loop &) = delete;

  event_base *base() const { return base_; }
  // Coarse timers (kTickMs resolution) for per-connection deadlines.
  TimerWheel &wheel() { return *wheel_; }
  // Wall-clock unix ms, cached per loop iteration.
  int64_t now_ms() const;
  // Monotonic ms for deadlines.
  int64_t mono_ms() const;

  // Runs the loop on the calling thread, which becomes this loop's thread
  // (see current()).
  void run();
  void stop();
  // The loop whose run() is executing on this thread; nullptr on a thread
  // that runs none (e.g. the main thread before Node::run).
  static Loop *current();

  // Thread-safe: run fn on the loop thread soon, after what was posted
  // before it from the same thread (FIFO per poster). False once stopping;
  // fn is then destroyed on the calling thread without running.
  bool post(std::function<void()> fn);

 private:
  static void on_wakeup(evutil_socket_t fd, short, void *arg);
  event_base *base_;
  std::unique_ptr<TimerWheel> wheel_;
  event *wakeup_ev_ = nullptr;
  int wake_fds_[2] = {-1, -1};
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
  bool stopping_ = false;
};

// A restartable timer bound to the loop. The callback runs on the loop.
class Timer {
 public:
  Timer() = default;
  Timer(Loop &loop, std::function<void()> cb);
  ~Timer();
  Timer(const Timer &) = delete;
  Timer &operator=(const Timer &) = delete;
  void init(Loop &loop, std::function<void()> cb);
  void start_ms(int64_t delay_ms, bool repeat = false);
  void stop();
  bool pending() const;

 private:
  static void on_fire(evutil_socket_t, short, void *arg);
  event *ev_ = nullptr;
  std::function<void()> cb_;
};

}  // namespace gyre
