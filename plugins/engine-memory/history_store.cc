#include "history_store.h"

#include <limits>
#include <utility>

#include "epoch.h"

namespace gyre::memory {

namespace {

constexpr int64_t kMsPerSecond = 1000;

bool due(int64_t deadline_ms, int64_t now_ms) { return deadline_ms != 0 && now_ms >= deadline_ms; }

}  // namespace

bool HistoryStore::expire(Stream &s, int64_t now_ms) {
  if (due(s.meta_expire_ms, now_ms)) return false;
  if (due(s.items_expire_ms, now_ms)) {
    s.items.clear();
    s.items_expire_ms = 0;
  }
  return true;
}

Stream &HistoryStore::acquire(std::string_view channel, int64_t now_ms) {
  auto it = streams_.find(channel);
  if (it != streams_.end()) {
    Stream &s = it->second;
    if (expire(s, now_ms)) return s;
    // Reborn in place: same observable result as removing and recreating,
    // without a map erase + insert.
    std::string epoch = new_epoch();
    s = Stream{};
    s.epoch = std::move(epoch);
    touch_meta(s, 0, now_ms);
    return s;
  }
  std::string epoch = new_epoch();
  Stream &s = streams_.emplace(std::string(channel), Stream{}).first->second;
  s.epoch = std::move(epoch);
  // Set at once so a stream whose first use fails half-way still expires.
  touch_meta(s, 0, now_ms);
  return s;
}

Stream *HistoryStore::find(std::string_view channel, int64_t now_ms) {
  auto it = streams_.find(channel);
  if (it == streams_.end()) return nullptr;
  if (expire(it->second, now_ms)) return &it->second;
  streams_.erase(it);
  return nullptr;
}

bool HistoryStore::version_suppressed(const Stream &s, const gyre_publish_options &o) {
  if (o.version == 0 || s.version == 0) return false;
  const std::string_view ve = view(o.version_epoch);
  if (!ve.empty() && ve != s.version_epoch) return false;
  return s.version >= o.version;
}

Appended HistoryStore::append(Stream &s, const gyre_publication &pub, const gyre_client_info *info,
                              const gyre_publish_options &o, int64_t now_ms) {
  // Everything that can throw comes before the first change to `s`.
  std::string version_epoch(view(o.version_epoch));
  Appended out;
  if (o.use_delta && !s.items.empty()) out.prev = s.items.back();
  out.pub = s.items.push_back(pub, info, s.top + 1, now_ms);
  ++s.top;
  s.items.trim(o.history_size);
  s.version = o.version;
  s.version_epoch.swap(version_epoch);
  s.items_expire_ms = now_ms + int64_t{o.history_ttl_s} * kMsPerSecond;
  touch_meta(s, o.history_meta_ttl_s, now_ms);
  return out;
}

void HistoryStore::touch_meta(Stream &s, uint32_t meta_ttl_s, int64_t now_ms) const {
  const int64_t ttl_ms = meta_ttl_s > 0 ? int64_t{meta_ttl_s} * kMsPerSecond : default_meta_ttl_ms_;
  s.meta_expire_ms = ttl_ms > 0 ? now_ms + ttl_ms : 0;
}

void HistoryStore::read(const Stream &s, const gyre_history_filter &f,
                        std::vector<const gyre_publication *> &out) {
  out.clear();
  if (f.limit == 0 || s.items.empty()) return;
  // Any negative limit means "all", as in Centrifuge.
  const size_t max =
      f.limit < 0 ? std::numeric_limits<size_t>::max() : static_cast<size_t>(f.limit);
  const size_t n = s.items.size();
  const uint64_t first = s.items.first_offset();  // retained: [first, top]

  if (!f.has_since) {
    if (!f.reverse) {
      for (size_t i = 0; i < n && out.size() < max; ++i) out.push_back(s.items.at(i));
    } else {
      for (size_t i = n; i-- > 0 && out.size() < max;) out.push_back(s.items.at(i));
    }
    return;
  }

  const uint64_t since = f.since_offset;
  if (!f.reverse) {
    if (since >= s.top) return;
    // since+1 already dropped: start at the oldest retained item and let
    // the caller see the gap from the first offset.
    const uint64_t start = since + 1 < first ? first : since + 1;
    for (size_t i = start - first; i < n && out.size() < max; ++i) out.push_back(s.items.at(i));
    return;
  }
  // Reverse: strictly before since. Unlike forward paging there is no
  // fallback when since-1 is gone: the memory engine returns nothing.
  if (since <= 1) return;
  const uint64_t start = since - 1;
  if (start < first || start > s.top) return;
  for (size_t i = start - first + 1; i-- > 0 && out.size() < max;) out.push_back(s.items.at(i));
}

HistoryStore::SweepStats HistoryStore::sweep(int64_t now_ms) {
  SweepStats st;
  for (auto it = streams_.begin(); it != streams_.end();) {
    Stream &s = it->second;
    if (due(s.meta_expire_ms, now_ms)) {
      it = streams_.erase(it);
      ++st.streams_removed;
      continue;
    }
    if (due(s.items_expire_ms, now_ms)) {
      s.items.clear();
      s.items_expire_ms = 0;
      ++st.streams_cleared;
    }
    ++it;
  }
  return st;
}

}  // namespace gyre::memory
