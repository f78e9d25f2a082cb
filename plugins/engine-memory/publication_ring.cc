#include "publication_ring.h"

#include <cstring>
#include <new>

namespace gyre::memory {

namespace {

constexpr size_t align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

// Byte layout of one item block; computed once per publish.
struct Layout {
  size_t info_off = 0;  // 0 when there is no info
  size_t tags_off = 0;
  size_t chars_off = 0;
  size_t total = 0;
};

Layout layout_for(const gyre_publication &pub, const gyre_client_info *info) {
  Layout l;
  size_t n = sizeof(gyre_publication);
  if (info) {
    l.info_off = align_up(n, alignof(gyre_client_info));
    n = l.info_off + sizeof(gyre_client_info);
  }
  l.tags_off = align_up(n, alignof(gyre_tag));
  n = l.tags_off + pub.num_tags * sizeof(gyre_tag);
  l.chars_off = n;
  n += pub.data.len;
  if (info) {
    n += info->user.len + info->client.len + info->conn_info.len + info->chan_info.len;
  }
  for (size_t i = 0; i < pub.num_tags; ++i) n += pub.tags[i].key.len + pub.tags[i].value.len;
  l.total = n;
  return l;
}

// Appends s at *cursor and returns a view of the copy.
gyre_str put(char *&cursor, gyre_str s) {
  if (s.len == 0) return {cursor, 0};
  std::memcpy(cursor, s.ptr, s.len);
  gyre_str out{cursor, s.len};
  cursor += s.len;
  return out;
}

}  // namespace

const gyre_publication *PublicationRing::push_back(const gyre_publication &pub,
                                                   const gyre_client_info *info, uint64_t offset,
                                                   int64_t time_ms) {
  const Layout l = layout_for(pub, info);
  if (count_ == slots_.size()) grow();
  Slot &slot = slots_[(head_ + count_) & (slots_.size() - 1)];
  // Reuse a dropped item's block when it fits without wasting much: in a
  // full ring of similar payloads this makes publishing allocation-free.
  if (slot.cap < l.total || slot.cap > 2 * l.total + 512) {
    slot.blob = std::make_unique_for_overwrite<char[]>(l.total);
    slot.cap = l.total;
  }
  char *base = slot.blob.get();
  char *cursor = base + l.chars_off;

  auto *out = new (base) gyre_publication{};
  out->size = sizeof(gyre_publication);
  out->data = put(cursor, pub.data);
  out->offset = offset;
  out->time_ms = time_ms;
  if (info) {
    auto *ci = new (base + l.info_off) gyre_client_info{};
    ci->size = sizeof(gyre_client_info);
    ci->user = put(cursor, info->user);
    ci->client = put(cursor, info->client);
    ci->conn_info = put(cursor, info->conn_info);
    ci->chan_info = put(cursor, info->chan_info);
    out->info = ci;
  }
  if (pub.num_tags > 0) {
    auto *tags = reinterpret_cast<gyre_tag *>(base + l.tags_off);
    for (size_t i = 0; i < pub.num_tags; ++i) {
      gyre_str key = put(cursor, pub.tags[i].key);
      gyre_str value = put(cursor, pub.tags[i].value);
      new (&tags[i]) gyre_tag{key, value};
    }
    out->tags = tags;
    out->num_tags = pub.num_tags;
  }
  ++count_;
  return out;
}

void PublicationRing::trim(size_t max_items) {
  while (count_ > max_items) {
    head_ = (head_ + 1) & (slots_.size() - 1);
    --count_;
  }
}

void PublicationRing::clear() {
  std::vector<Slot>().swap(slots_);
  head_ = 0;
  count_ = 0;
}

void PublicationRing::grow() {
  // Starts small: most channels keep a handful of items, and a stream
  // created only to learn its epoch (history before any publish) never
  // allocates at all.
  const size_t new_size = slots_.empty() ? 4 : slots_.size() * 2;
  std::vector<Slot> next(new_size);
  const size_t mask = slots_.size() - 1;
  // Free slots keep their blocks too, so reuse survives growth.
  for (size_t i = 0; i < slots_.size(); ++i) next[i] = std::move(slots_[(head_ + i) & mask]);
  slots_.swap(next);
  head_ = 0;
}

}  // namespace gyre::memory
