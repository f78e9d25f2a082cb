// IoThreads: helper threads that share the loop's socket writes.
//
// Nearly all of a fan-out's CPU is the kernel's send path (see
// docs/performance.md). At the end of a loop turn the connections with
// queued frames are split into chunks; the helpers write some chunks while
// the loop thread writes the rest and then waits for them. Only sendmsg
// and queue bookkeeping run on helpers (Connection::write_some); every
// libevent call and every state change stays on the loop thread, which is
// blocked meanwhile, so connections need no locks. Frames are shared, so
// their reference counts are atomic.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gyre {

class IoThreads {
 public:
  explicit IoThreads(unsigned helpers);
  ~IoThreads();
  IoThreads(const IoThreads &) = delete;
  IoThreads &operator=(const IoThreads &) = delete;

  unsigned helpers() const { return static_cast<unsigned>(threads_.size()); }
  // Calls fn(chunk) for chunk in [0, helpers()+1), one chunk on the calling
  // thread, and returns when all have returned. fn must not touch libevent.
  void run(const std::function<void(size_t chunk)> &fn);

 private:
  void work(size_t index);
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const std::function<void(size_t)> *job_ = nullptr;
  uint64_t generation_ = 0;
  size_t pending_ = 0;
  bool stopping_ = false;
};

}  // namespace gyre
