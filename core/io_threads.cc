#include "io_threads.h"

namespace gyre {

IoThreads::IoThreads(unsigned helpers) {
  for (unsigned i = 0; i < helpers; ++i) threads_.emplace_back([this, i] { work(i + 1); });
}

IoThreads::~IoThreads() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  start_cv_.notify_all();
  for (auto &t : threads_) t.join();
}

void IoThreads::run(const std::function<void(size_t)> &fn) {
  if (threads_.empty()) return fn(0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    pending_ = threads_.size();
    ++generation_;
  }
  start_cv_.notify_all();
  fn(0);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
}

void IoThreads::work(size_t index) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(size_t)> *job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
    }
    (*job)(index);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

}  // namespace gyre
