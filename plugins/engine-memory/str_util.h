// Small helpers shared by the engine's stores: gyre_str <-> string_view,
// hash maps that look up by view without allocating, and reading versioned
// ABI records safely.
#pragma once

#include <gyre/plugin.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gyre::memory {

inline std::string_view view(gyre_str s) {
  return s.ptr ? std::string_view(s.ptr, s.len) : std::string_view();
}

inline gyre_str to_gyre(std::string_view s) { return {s.data(), s.size()}; }

// A view with len > 0 must have a pointer; anything else is a caller bug.
inline bool valid(gyre_str s) { return s.ptr != nullptr || s.len == 0; }

// Transparent hash so find(string_view) on a std::string-keyed map does not
// build a temporary std::string on every publish.
struct StrHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <class V>
using StrMap = std::unordered_map<std::string, V, StrHash, std::equal_to<>>;

// A sender may be older (smaller record) or newer (larger record) than us:
// copy what both know and zero the rest, as the ABI's size rule demands.
// Returns false when the record is NULL or too small to even hold `size`.
template <class T>
bool read_record(const T *in, T *out) {
  *out = T{};
  if (in == nullptr || in->size < sizeof(size_t)) return false;
  std::memcpy(static_cast<void *>(out), in, std::min(in->size, sizeof(T)));
  return true;
}

}  // namespace gyre::memory
