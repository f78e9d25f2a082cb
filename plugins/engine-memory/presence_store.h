// Who is present in which channel: channel -> client id -> info, each entry
// with its own expiry so connections of a node that died without calling
// presence_remove disappear by themselves (the Redis engine behaves so too).
#pragma once

#include <gyre/plugin.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "str_util.h"

namespace gyre::memory {

class PresenceStore {
 public:
  // Inserts or refreshes info->client in channel. ttl_s 0: no expiry.
  void add(std::string_view channel, const gyre_client_info &info, uint32_t ttl_s, int64_t now_ms);
  void remove(std::string_view channel, std::string_view client_id);

  // Live entries of channel. recs holds the records, out the pointers the
  // host wants; both stay valid until the next call on this store.
  void get(std::string_view channel, int64_t now_ms, std::vector<gyre_client_info> &recs,
           std::vector<const gyre_client_info *> &out);

  struct Stats {
    uint32_t num_clients = 0;
    uint32_t num_users = 0;
  };
  Stats stats(std::string_view channel, int64_t now_ms);

  // Drops expired entries and empty channels; returns entries dropped.
  size_t sweep(int64_t now_ms);

  size_t num_channels() const { return channels_.size(); }

 private:
  struct Entry {
    std::string user;
    std::string conn_info;
    std::string chan_info;
    int64_t expire_ms = 0;  // 0: never
  };
  using Clients = StrMap<Entry>;

  // The channel's clients after purging expired ones; NULL (and the channel
  // forgotten) when none is left.
  Clients *live(std::string_view channel, int64_t now_ms);
  static size_t purge(Clients &clients, int64_t now_ms);

  StrMap<Clients> channels_;
  // Reused by stats(). StrHash (a hidden type) also keeps this template
  // instance out of the plugin's exported symbols.
  std::unordered_set<std::string_view, StrHash, std::equal_to<>> users_;
};

}  // namespace gyre::memory
