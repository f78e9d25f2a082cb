#include "loop.h"

#include <fcntl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <stdexcept>

#include "log.h"

namespace gyre {

Loop::Loop() {
  // Default flags: libevent's timers use the (coarse) monotonic clock
  // either way. EVENT_BASE_FLAG_PRECISE_TIMER would arm a timerfd with one
  // more syscall per loop turn (1.3% of the CPU in the churn scenario);
  // Gyre's deadlines are on a 50 ms wheel and need no better than 1 ms.
  base_ = event_base_new();
  if (!base_) throw std::runtime_error("event_base_new failed");
  wheel_ = std::make_unique<TimerWheel>(base_);
  if (pipe2(wake_fds_, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  wakeup_ev_ = event_new(base_, wake_fds_[0], EV_READ | EV_PERSIST, &Loop::on_wakeup, this);
  event_add(wakeup_ev_, nullptr);
}

Loop::~Loop() {
  wheel_.reset();
  if (wakeup_ev_) event_free(wakeup_ev_);
  if (wake_fds_[0] >= 0) close(wake_fds_[0]);
  if (wake_fds_[1] >= 0) close(wake_fds_[1]);
  event_base_free(base_);
}

int64_t Loop::now_ms() const {
  struct timeval tv;
  event_base_gettimeofday_cached(base_, &tv);
  return static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
}

int64_t Loop::mono_ms() const {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

namespace {
thread_local Loop *tl_current = nullptr;
}

Loop *Loop::current() { return tl_current; }

void Loop::run() {
  Loop *outer = tl_current;
  tl_current = this;
  event_base_dispatch(base_);
  tl_current = outer;
}

void Loop::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  event_base_loopexit(base_, nullptr);
}

bool Loop::post(std::function<void()> fn) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    // Only the first post after a drain writes the pipe: a fan-out posting
    // to a worker many times per turn costs one wakeup, not one per post.
    wake = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  if (!wake) return true;
  char c = 1;
  // A full pipe already guarantees a wakeup; ignore EAGAIN.
  ssize_t r = write(wake_fds_[1], &c, 1);
  (void)r;
  return true;
}

void Loop::on_wakeup(evutil_socket_t fd, short, void *arg) {
  auto *self = static_cast<Loop *>(arg);
  char buf[256];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    work.swap(self->posted_);
  }
  for (auto &fn : work) fn();
}

Timer::Timer(Loop &loop, std::function<void()> cb) { init(loop, std::move(cb)); }

Timer::~Timer() {
  if (ev_) event_free(ev_);
}

void Timer::init(Loop &loop, std::function<void()> cb) {
  if (ev_) event_free(ev_);
  cb_ = std::move(cb);
  ev_ = event_new(loop.base(), -1, 0, &Timer::on_fire, this);
}

void Timer::start_ms(int64_t delay_ms, bool repeat) {
  if (!ev_) return;
  event_del(ev_);
  event_assign(ev_, event_get_base(ev_), -1, repeat ? EV_PERSIST : 0, &Timer::on_fire, this);
  if (delay_ms < 0) delay_ms = 0;
  struct timeval tv = {static_cast<time_t>(delay_ms / 1000),
                       static_cast<suseconds_t>((delay_ms % 1000) * 1000)};
  event_add(ev_, &tv);
}

void Timer::stop() {
  if (ev_) event_del(ev_);
}

bool Timer::pending() const { return ev_ && event_pending(ev_, EV_TIMEOUT, nullptr); }

void Timer::on_fire(evutil_socket_t, short, void *arg) {
  auto *t = static_cast<Timer *>(arg);
  t->cb_();
}

}  // namespace gyre
