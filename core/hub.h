// Hub: the node's local registry — channel -> subscribed clients, client id
// -> client, user -> clients — and the local fan-out of publications,
// joins and leaves. A publication is encoded once per channel.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gyre/plugin.h"

namespace gyre {

class Client;
struct ClientSubscription;

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

  void add_client(Client *client);
  void remove_client(Client *client);
  Client *find_client(std::string_view id) const;
  const std::vector<Client *> *user_clients(std::string_view user) const;
  template <typename Fn>
  void for_each_client(Fn fn) const {
    for (const auto &[id, c] : clients_) fn(c);
  }

  void broadcast_publication(std::string_view channel, const gyre_publication &pub,
                             const gyre_stream_position *position);
  void broadcast_join_leave(std::string_view channel, const gyre_client_info &info, bool join);

  size_t num_clients() const { return clients_.size(); }
  size_t num_users() const { return users_.size(); }
  size_t num_channels() const { return channels_.size(); }
  size_t num_subscriptions() const { return num_subs_; }
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
  // Keyed by a view of Client::id(), which lives as long as the entry.
  std::unordered_map<std::string_view, Client *, StringHash> clients_;
  std::unordered_map<std::string, std::vector<Client *>, StringHash, std::equal_to<>> users_;
  size_t num_subs_ = 0;
};

}  // namespace gyre
