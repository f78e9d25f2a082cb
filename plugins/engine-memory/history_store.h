// Per-channel history streams: epoch, top offset, retained items, last
// version, and the two expiries of the reference semantics (R1-R7, R9).
#pragma once

#include <gyre/plugin.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "publication_ring.h"
#include "str_util.h"

namespace gyre::memory {

struct Stream {
  std::string epoch;
  uint64_t top = 0;
  PublicationRing items;
  // Version of the newest publish; a publish without version resets it to
  // 0, exactly as Centrifuge's memory engine does.
  uint64_t version = 0;
  std::string version_epoch;
  // HistoryTTL is an inactivity TTL on the items only (R3); top and epoch
  // live until meta_expire_ms (R4). 0 means "no deadline".
  int64_t items_expire_ms = 0;
  int64_t meta_expire_ms = 0;
};

// What append() stored, and the item before it when the publish asked for
// use_delta. Both point into the stream's ring (see PublicationRing::trim
// for why `prev` stays readable).
struct Appended {
  const gyre_publication *pub = nullptr;
  const gyre_publication *prev = nullptr;
};

class HistoryStore {
 public:
  // default_meta_ttl_ms applies when a call passes meta TTL 0; 0 here means
  // streams never expire as a whole.
  explicit HistoryStore(int64_t default_meta_ttl_ms) : default_meta_ttl_ms_(default_meta_ttl_ms) {}

  // The live stream of channel. A missing or meta-expired stream is
  // (re)created with a fresh epoch and top 0 (R4, R5); items past their TTL
  // are dropped first (R3). Callers refresh the meta TTL themselves.
  Stream &acquire(std::string_view channel, int64_t now_ms);
  // Same expiry rules, but never creates: NULL when there is no live stream.
  Stream *find(std::string_view channel, int64_t now_ms);

  // R9: true when this publish must be skipped because the stream already
  // holds the same or a newer version in the same version epoch.
  static bool version_suppressed(const Stream &s, const gyre_publish_options &o);

  // R1-R3, R10: stores pub as offset top+1, trims to history_size, pushes
  // both expiries. On bad_alloc nothing has changed.
  Appended append(Stream &s, const gyre_publication &pub, const gyre_client_info *info,
                  const gyre_publish_options &o, int64_t now_ms);

  // Pushes the whole-stream expiry to now + ttl (R4).
  void touch_meta(Stream &s, uint32_t meta_ttl_s, int64_t now_ms) const;

  // R7: fills out with the items the filter selects, in result order.
  static void read(const Stream &s, const gyre_history_filter &f,
                   std::vector<const gyre_publication *> &out);

  struct SweepStats {
    size_t streams_removed = 0;
    size_t streams_cleared = 0;
  };
  // Frees what expired since the last sweep, so channels that are never
  // touched again do not hold memory forever.
  SweepStats sweep(int64_t now_ms);

  size_t num_streams() const { return streams_.size(); }

 private:
  // Applies lazy expiry; returns false when the whole stream is dead.
  static bool expire(Stream &s, int64_t now_ms);

  StrMap<Stream> streams_;
  int64_t default_meta_ttl_ms_;
};

}  // namespace gyre::memory
