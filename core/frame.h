// Frame: an immutable, reference-counted byte buffer. A publication is
// encoded once into a Frame and every subscriber's output queue points at it.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string_view>

namespace gyre {

class Frame {
 public:
  // A frame of `len` uninitialized bytes with one reference.
  static Frame *make(size_t len) {
    void *mem = std::malloc(sizeof(Frame) + len);
    if (!mem) throw std::bad_alloc();
    return new (mem) Frame(static_cast<uint32_t>(len));
  }
  static Frame *copy_of(std::string_view bytes);
  // Atomic, though today a frame lives on one worker: a few ns per
  // delivery buy safety for transports that hand frames to other threads.
  void ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) std::free(this);
  }
  char *data() { return data_; }
  const char *data() const { return data_; }
  size_t size() const { return len_; }

 private:
  explicit Frame(uint32_t len) : refs_(1), len_(len) {}
  std::atomic<uint32_t> refs_;
  uint32_t len_;
  char data_[];
};

// Owning handle that drops its reference when destroyed.
class FrameRef {
 public:
  FrameRef() = default;
  explicit FrameRef(Frame *f) : f_(f) {}  // adopts one reference
  FrameRef(const FrameRef &) = delete;
  FrameRef &operator=(const FrameRef &) = delete;
  FrameRef(FrameRef &&o) noexcept : f_(o.f_) { o.f_ = nullptr; }
  FrameRef &operator=(FrameRef &&o) noexcept {
    if (this != &o) {
      reset();
      f_ = o.f_;
      o.f_ = nullptr;
    }
    return *this;
  }
  ~FrameRef() { reset(); }
  void reset() {
    if (f_) f_->unref();
    f_ = nullptr;
  }
  Frame *get() const { return f_; }
  explicit operator bool() const { return f_ != nullptr; }

 private:
  Frame *f_ = nullptr;
};

// The longest prefix of s of at most max bytes that does not split a UTF-8
// character (close reasons must be valid UTF-8).
std::string_view truncate_utf8(std::string_view s, size_t max);

// WebSocket server frames (unmasked, FIN set).
Frame *make_ws_text_frame(std::string_view payload);
Frame *make_ws_close_frame(uint16_t code, std::string_view reason);

}  // namespace gyre
