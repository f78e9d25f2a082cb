#include "idempotency_cache.h"

namespace gyre::memory {

std::string_view IdempotencyCache::compose(std::string_view channel, std::string_view key) {
  const size_t len = channel.size();
  scratch_.clear();
  scratch_.append(reinterpret_cast<const char *>(&len), sizeof(len));
  scratch_.append(channel);
  scratch_.append(key);
  return scratch_;
}

const IdempotencyCache::Result *IdempotencyCache::find(std::string_view channel,
                                                       std::string_view key, int64_t now_ms) {
  auto it = map_.find(compose(channel, key));
  if (it == map_.end()) return nullptr;
  if (now_ms < it->second.expire_ms) return &it->second;
  map_.erase(it);
  return nullptr;
}

IdempotencyCache::Result &IdempotencyCache::slot(std::string_view channel, std::string_view key) {
  std::string_view k = compose(channel, key);
  auto it = map_.find(k);
  if (it != map_.end()) return it->second;
  return map_.emplace(std::string(k), Result{}).first->second;
}

void IdempotencyCache::erase(std::string_view channel, std::string_view key) {
  auto it = map_.find(compose(channel, key));
  if (it != map_.end()) map_.erase(it);
}

size_t IdempotencyCache::sweep(int64_t now_ms) {
  size_t removed = 0;
  for (auto it = map_.begin(); it != map_.end();) {
    if (now_ms >= it->second.expire_ms) {
      it = map_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

}  // namespace gyre::memory
