// The items of one history stream: a ring of stored publications.
#pragma once

#include <gyre/plugin.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace gyre::memory {

// Each item is one heap block holding its gyre_publication, gyre_client_info,
// tag array and every byte they point to. So an item is written with one
// allocation, read back as a ready `const gyre_publication *` with no
// per-read work, and the pointer stays valid while the ring grows (growing
// moves block pointers, never blocks).
//
// Retained items are always contiguous offsets ending at the stream top (we
// append at the top and drop from the head or all at once), so offset lookup
// is arithmetic and needs no index.
class PublicationRing {
 public:
  PublicationRing() = default;
  PublicationRing(const PublicationRing &) = delete;
  PublicationRing &operator=(const PublicationRing &) = delete;
  PublicationRing(PublicationRing &&) = default;
  PublicationRing &operator=(PublicationRing &&) = default;

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // i == 0 is the oldest retained item.
  const gyre_publication *at(size_t i) const {
    return pub_of(slots_[(head_ + i) & (slots_.size() - 1)]);
  }
  const gyre_publication *back() const { return at(count_ - 1); }
  uint64_t first_offset() const { return at(0)->offset; }

  // Copies pub's data and tags and *info (may be NULL) into a new item at
  // the tail. pub.offset and pub.time_ms are replaced by the given values.
  // Strong guarantee: on bad_alloc the ring is unchanged.
  const gyre_publication *push_back(const gyre_publication &pub, const gyre_client_info *info,
                                    uint64_t offset, int64_t time_ms);

  // Drops from the head until at most max_items remain. A dropped item's
  // block stays readable until a later push_back reuses its slot; publish
  // relies on that to hand the previous item to the node as `prev` even
  // when history_size is 1.
  void trim(size_t max_items);

  // Drops every item and gives the memory back.
  void clear();

 private:
  struct Slot {
    std::unique_ptr<char[]> blob;
    size_t cap = 0;
  };
  static const gyre_publication *pub_of(const Slot &s) {
    return reinterpret_cast<const gyre_publication *>(s.blob.get());
  }
  void grow();

  std::vector<Slot> slots_;  // size is 0 or a power of two
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace gyre::memory
