// Which Redis shard holds a channel: jump consistent hash (Lamping & Veach)
// over FNV-1a-64 of the channel name, exactly as Centrifuge computes it, so
// a channel lands on the same shard index as with Centrifugo (spec §7.1).
#pragma once

#include <cstdint>
#include <string_view>

namespace gyre::redis {

inline uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// Bucket in [0, n) for key; n >= 1.
inline int jump_hash(uint64_t key, int n) {
  int64_t b = -1, j = 0;
  while (j < n) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) * (static_cast<double>(1LL << 31) /
                                                           static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<int>(b);
}

inline int shard_of(std::string_view channel, int shards) {
  return shards <= 1 ? 0 : jump_hash(fnv1a64(channel), shards);
}

// Redis Cluster's slot of a key (spec §7.3): CRC16-XMODEM of the hash tag
// (the text between the first '{' and the next '}', when not empty) or of
// the whole key, mod 16384.
inline uint16_t crc16_xmodem(std::string_view s) {
  uint16_t crc = 0;
  for (unsigned char c : s) {
    crc ^= static_cast<uint16_t>(c << 8);
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
  }
  return crc;
}

inline int cluster_slot(std::string_view key) {
  size_t open = key.find('{');
  if (open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return crc16_xmodem(key) & 16383;
}

}  // namespace gyre::redis
