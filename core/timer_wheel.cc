#include "timer_wheel.h"

#include <time.h>

#include <algorithm>

namespace gyre {

namespace {
int64_t mono_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
}  // namespace

void WheelTimer::start(TimerWheel &wheel, int64_t delay_ms) {
  stop();
  if (delay_ms < 0) delay_ms = 0;
  // Round up, plus one: the current tick may be almost over.
  due_tick_ = wheel.now_tick() + static_cast<uint64_t>(delay_ms / TimerWheel::kTickMs) + 1;
  wheel.link(this);
}

void WheelTimer::stop() {
  if (wheel_) wheel_->unlink(this);
}

TimerWheel::TimerWheel(event_base *base) : base_(base), slots_(kSlots, nullptr) {
  current_tick_ = now_tick();
  tick_ev_ = event_new(base, -1, EV_PERSIST, &TimerWheel::on_tick, this);
}

TimerWheel::~TimerWheel() {
  for (WheelTimer *&head : slots_) {
    while (head) unlink(head);
  }
  event_free(tick_ev_);
}

uint64_t TimerWheel::now_tick() const { return static_cast<uint64_t>(mono_ms() / kTickMs); }

void TimerWheel::link(WheelTimer *t) {
  // An idle wheel has not been advancing: skip the ticks it slept through.
  if (armed_ == 0 && !ticking_) current_tick_ = std::min(now_tick(), t->due_tick_);
  if (t->due_tick_ < current_tick_) t->due_tick_ = current_tick_;
  WheelTimer *&head = slots_[t->due_tick_ % kSlots];
  t->wheel_ = this;
  t->prev_ = nullptr;
  t->next_ = head;
  if (head) head->prev_ = t;
  head = t;
  if (armed_++ == 0) {
    // The ticker runs only while something is armed.
    struct timeval tv = {0, kTickMs * 1000};
    event_add(tick_ev_, &tv);
  }
}

void TimerWheel::unlink(WheelTimer *t) {
  if (t == iter_next_) iter_next_ = t->next_;
  WheelTimer *&head = slots_[t->due_tick_ % kSlots];
  if (t->prev_)
    t->prev_->next_ = t->next_;
  else
    head = t->next_;
  if (t->next_) t->next_->prev_ = t->prev_;
  t->prev_ = t->next_ = nullptr;
  t->wheel_ = nullptr;
  if (--armed_ == 0 && !ticking_) event_del(tick_ev_);
}

void TimerWheel::on_tick(evutil_socket_t, short, void *arg) {
  static_cast<TimerWheel *>(arg)->advance();
}

void TimerWheel::advance() {
  uint64_t target = now_tick();
  ticking_ = true;
  // Catch up on every tick that passed (the loop may have been busy), but
  // never walk more than one full turn.
  if (target > current_tick_ + kSlots) current_tick_ = target - kSlots;
  while (current_tick_ <= target) {
    uint64_t tick = current_tick_++;
    // iter_next_ is kept valid by unlink(): a callback may stop or destroy
    // any timer, including the next one in this slot.
    for (WheelTimer *t = slots_[tick % kSlots]; t; t = iter_next_) {
      iter_next_ = t->next_;
      if (t->due_tick_ > tick) continue;  // a later turn of the wheel
      unlink(t);
      t->cb_(t, t->arg_);
    }
    iter_next_ = nullptr;
  }
  ticking_ = false;
  if (armed_ == 0) event_del(tick_ev_);
}

}  // namespace gyre
