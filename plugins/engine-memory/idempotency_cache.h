// Results of idempotent publishes, per (channel, idempotency key) (R8).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "str_util.h"

namespace gyre::memory {

class IdempotencyCache {
 public:
  struct Result {
    uint64_t offset = 0;
    std::string epoch;  // empty for publishes without history
    int64_t expire_ms = 0;
  };

  // The cached result, or NULL when there is none or it has expired (an
  // expired one is dropped on the way).
  const Result *find(std::string_view channel, std::string_view key, int64_t now_ms);
  // The entry for (channel, key), created empty if missing. Publish creates
  // it before storing anything, so the only allocation that can fail happens
  // while there is still nothing to undo.
  Result &slot(std::string_view channel, std::string_view key);
  void erase(std::string_view channel, std::string_view key);

  // Drops every expired result; returns how many.
  size_t sweep(int64_t now_ms);

  size_t size() const { return map_.size(); }

 private:
  // Builds the map key in a reused buffer. The channel's length goes first
  // so ("a.b", "c") and ("a", "b.c") cannot collide, whatever the bytes.
  std::string_view compose(std::string_view channel, std::string_view key);

  StrMap<Result> map_;
  std::string scratch_;
};

}  // namespace gyre::memory
