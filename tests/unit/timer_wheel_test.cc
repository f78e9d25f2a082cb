#include "timer_wheel.h"

#include <gtest/gtest.h>
#include <time.h>

#include <memory>
#include <vector>

namespace gyre {
namespace {

int64_t mono_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

struct Fixture : ::testing::Test {
  event_base *base = event_base_new();
  std::unique_ptr<TimerWheel> wheel = std::make_unique<TimerWheel>(base);
  ~Fixture() override {
    wheel.reset();
    event_base_free(base);
  }
  // Runs the loop until nothing is armed or the budget runs out.
  void run(int64_t budget_ms) {
    int64_t end = mono_ms() + budget_ms;
    while (wheel->armed() > 0 && mono_ms() < end) event_base_loop(base, EVLOOP_ONCE);
  }
};

struct Recorder {
  std::vector<int> *order;
  int id;
  int64_t fired_at = 0;
  WheelTimer timer{[](WheelTimer *, void *arg) {
                     auto *r = static_cast<Recorder *>(arg);
                     r->fired_at = mono_ms();
                     r->order->push_back(r->id);
                   },
                   this};
};

TEST_F(Fixture, FiresInDeadlineOrderAndNeverEarly) {
  std::vector<int> order;
  Recorder a{&order, 1}, b{&order, 2}, c{&order, 3};
  int64_t start = mono_ms();
  c.timer.start(*wheel, 300);
  a.timer.start(*wheel, 100);
  b.timer.start(*wheel, 200);
  EXPECT_EQ(wheel->armed(), 3u);
  run(3000);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(a.fired_at - start, 100);
  EXPECT_GE(b.fired_at - start, 200);
  EXPECT_GE(c.fired_at - start, 300);
  EXPECT_EQ(wheel->armed(), 0u);
}

TEST_F(Fixture, StoppedTimerDoesNotFire) {
  std::vector<int> order;
  Recorder a{&order, 1}, b{&order, 2};
  a.timer.start(*wheel, 50);
  b.timer.start(*wheel, 50);
  a.timer.stop();
  EXPECT_FALSE(a.timer.armed());
  run(2000);
  EXPECT_EQ(order, std::vector<int>{2});
}

TEST_F(Fixture, RestartMovesTheDeadline) {
  std::vector<int> order;
  Recorder a{&order, 1};
  int64_t start = mono_ms();
  a.timer.start(*wheel, 50);
  a.timer.start(*wheel, 400);
  EXPECT_EQ(wheel->armed(), 1u);
  run(3000);
  EXPECT_EQ(order, std::vector<int>{1});
  EXPECT_GE(a.fired_at - start, 400);
}

// A callback that stops (and frees) the next timer of the same slot must
// not make the wheel touch freed memory (run under ASan/valgrind to see).
TEST_F(Fixture, CallbackMayDestroyOtherTimersAndRearmItself) {
  struct Chain {
    TimerWheel *wheel;
    std::unique_ptr<WheelTimer> victim;
    WheelTimer self;
    int fired = 0;
  } chain{wheel.get(), std::make_unique<WheelTimer>(), {}};
  chain.self.set_callback(
      [](WheelTimer *t, void *arg) {
        auto *c = static_cast<Chain *>(arg);
        ++c->fired;
        c->victim.reset();  // destroys an armed timer due in the same tick
        if (c->fired < 3) t->start(*c->wheel, 10);
      },
      &chain);
  int victim_fired = 0;
  chain.victim->set_callback([](WheelTimer *, void *n) { ++*static_cast<int *>(n); },
                             &victim_fired);
  chain.victim->start(*wheel, 60);
  chain.self.start(*wheel, 60);  // linked after: fires first in the slot
  run(3000);
  EXPECT_EQ(chain.fired, 3);
  EXPECT_EQ(victim_fired, 0);
  EXPECT_EQ(wheel->armed(), 0u);
}

}  // namespace
}  // namespace gyre
