// Hub: one worker's channels -> subscribed clients, and the fan-out of
// publications, joins and leaves to them. Owned by its worker and used only
// on that worker's thread (no lock). A publication arrives encoded once per
// node and shares one frame across the worker's subscribers.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gyre/plugin.h"

namespace gyre {

class Client;
struct ClientSubscription;
struct SharedPush;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Hub {
 public:
  // Registers a subscriber. True when it is the channel's first local one
  // (the node must then subscribe the engine to the channel).
  bool add_subscriber(std::string_view channel, Client *client, ClientSubscription *sub);
  // True when the channel has no local subscriber left.
  bool remove_subscriber(std::string_view channel, ClientSubscription *sub);

  bool has_channel(std::string_view channel) const { return channels_.count(channel) != 0; }
  // Delivers an encoded publication push / join or leave push to the
  // channel's subscribers.
  void broadcast_publication(std::string_view channel, SharedPush &push, uint64_t offset,
                             std::string_view epoch);
  void broadcast_join_leave(std::string_view channel, SharedPush &push);
  // Every (client, subscription) pair, e.g. to refresh presence.
  template <typename Fn>
  void for_each_subscriber(Fn fn) const {
    for (const auto &[name, ch] : channels_)
      for (const auto &s : ch.subs)
        if (s.sub) fn(*s.client, *s.sub);
  }

  size_t num_channels() const { return channels_.size(); }
  // Readable from any thread (the server API sums the workers' counts).
  size_t num_subscriptions() const { return num_subs_.load(std::memory_order_relaxed); }
  // Channels with local subscribers and their counts.
  template <typename Fn>
  void for_each_channel(Fn fn) const {
    for (const auto &[name, ch] : channels_)
      if (ch.live) fn(name, ch.live);
  }
  size_t channel_subscribers(std::string_view channel) const;

 private:
  struct Subscriber {
    Client *client;
    ClientSubscription *sub;
  };
  struct Channel {
    std::vector<Subscriber> subs;
    size_t live = 0;
    int iterating = 0;       // a fan-out is walking subs
    bool has_holes = false;  // removed during a fan-out, compact after
  };
  void compact(Channel &ch);
  // Calls fn for every subscriber of channel, safe against subscribers
  // being added or removed by fn.
  template <typename Fn>
  void walk(std::string_view channel, Fn fn);
  std::unordered_map<std::string, Channel, StringHash, std::equal_to<>> channels_;
  std::atomic<size_t> num_subs_ = 0;
};

}  // namespace gyre
