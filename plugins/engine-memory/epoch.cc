#include "epoch.h"

#include <sys/random.h>

#include <cerrno>
#include <random>

namespace gyre::memory {

namespace {

constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr unsigned kNumLetters = sizeof(kLetters) - 1;  // 52
// Bytes at or above this would make `b % 52` favour the first letters.
constexpr unsigned kRejectFrom = 256 - 256 % kNumLetters;  // 208

void fill_random(unsigned char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(buf + got, n - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (r < 0 && errno != EINTR) {
      // Kernels without getrandom(2): random_device still reads the kernel
      // pool through /dev/urandom.
      std::random_device rd;
      for (; got < n; ++got) buf[got] = static_cast<unsigned char>(rd());
    }
  }
}

}  // namespace

std::string new_epoch() {
  std::string out;
  out.reserve(kEpochLen);
  unsigned char buf[32];
  while (out.size() < kEpochLen) {
    fill_random(buf, sizeof(buf));
    for (unsigned char b : buf) {
      if (b >= kRejectFrom) continue;
      out.push_back(kLetters[b % kNumLetters]);
      if (out.size() == kEpochLen) break;
    }
  }
  return out;
}

}  // namespace gyre::memory
