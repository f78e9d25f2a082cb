// TimerWheel: many coarse timers (pings, pong deadlines, stale connections)
// on one libevent timer per loop, instead of one libevent event per
// connection. Resolution is one tick (kTickMs); a timer never fires early.
//
// Timers are intrusive: the owner embeds a WheelTimer, so arming and
// disarming allocate nothing. A WheelTimer must be disarmed (or destroyed,
// which disarms it) before its owner goes away; its callback may re-arm or
// destroy its own timer.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <vector>

namespace gyre {

class TimerWheel;

class WheelTimer {
 public:
  using Callback = void (*)(WheelTimer *timer, void *arg);
  WheelTimer() = default;
  WheelTimer(Callback cb, void *arg) : cb_(cb), arg_(arg) {}
  ~WheelTimer() { stop(); }
  WheelTimer(const WheelTimer &) = delete;
  WheelTimer &operator=(const WheelTimer &) = delete;
  void set_callback(Callback cb, void *arg) {
    cb_ = cb;
    arg_ = arg;
  }
  // Fires after at least delay_ms (rounded up to the next tick).
  void start(TimerWheel &wheel, int64_t delay_ms);
  void stop();
  bool armed() const { return wheel_ != nullptr; }

 private:
  friend class TimerWheel;
  Callback cb_ = nullptr;
  void *arg_ = nullptr;
  TimerWheel *wheel_ = nullptr;
  WheelTimer *prev_ = nullptr;
  WheelTimer *next_ = nullptr;
  uint64_t due_tick_ = 0;
};

class TimerWheel {
 public:
  static constexpr int64_t kTickMs = 50;
  explicit TimerWheel(event_base *base);
  ~TimerWheel();
  TimerWheel(const TimerWheel &) = delete;
  TimerWheel &operator=(const TimerWheel &) = delete;
  size_t armed() const { return armed_; }

 private:
  friend class WheelTimer;
  static constexpr size_t kSlots = 1024;  // 51.2 s per turn
  static void on_tick(evutil_socket_t, short, void *arg);
  void link(WheelTimer *t);
  void unlink(WheelTimer *t);
  void advance();
  uint64_t now_tick() const;

  event_base *base_;
  event *tick_ev_;
  std::vector<WheelTimer *> slots_;
  uint64_t current_tick_;  // the next tick to process
  size_t armed_ = 0;
  bool ticking_ = false;
  WheelTimer *iter_next_ = nullptr;  // the walk's next timer (see advance)
};

}  // namespace gyre
