#include "hub.h"

#include <algorithm>

#include "client.h"
#include "protocol.h"
#include "transport.h"

namespace gyre {

bool Hub::add_subscriber(std::string_view channel, Client *client, ClientSubscription *sub) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) it = channels_.emplace(std::string(channel), Channel{}).first;
  Channel &ch = it->second;
  // An entry emptied during a fan-out lingers until the walk ends; it still
  // counts as a channel without subscribers.
  bool first = ch.live == 0;
  sub->hub_index = ch.subs.size();
  ch.subs.push_back(Subscriber{client, sub});
  ++ch.live;
  ++num_subs_;
  return first;
}

bool Hub::remove_subscriber(std::string_view channel, ClientSubscription *sub) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) return false;
  Channel &ch = it->second;
  size_t i = sub->hub_index;
  if (i >= ch.subs.size() || ch.subs[i].sub != sub) return false;
  --ch.live;
  --num_subs_;
  if (ch.iterating) {
    // A fan-out is walking this vector: leave a hole, compact afterwards
    // (the entry is erased then if it stays empty).
    ch.subs[i] = Subscriber{nullptr, nullptr};
    ch.has_holes = true;
    return ch.live == 0;
  }
  if (i + 1 != ch.subs.size()) {
    ch.subs[i] = ch.subs.back();
    ch.subs[i].sub->hub_index = i;
  }
  ch.subs.pop_back();
  if (ch.live == 0) {
    channels_.erase(it);
    return true;
  }
  return false;
}

void Hub::compact(Channel &ch) {
  size_t j = 0;
  for (size_t i = 0; i < ch.subs.size(); ++i) {
    if (!ch.subs[i].sub) continue;
    ch.subs[j] = ch.subs[i];
    ch.subs[j].sub->hub_index = j;
    ++j;
  }
  ch.subs.resize(j);
  ch.has_holes = false;
}

size_t Hub::channel_subscribers(std::string_view channel) const {
  auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.live;
}

void Hub::add_client(Client *client) {
  clients_[std::string_view(client->id())] = client;
  auto &list = users_[client->user()];
  client->hub_user_index = list.size();
  list.push_back(client);
}

void Hub::remove_client(Client *client) {
  auto it = clients_.find(client->id());
  if (it == clients_.end() || it->second != client) return;
  clients_.erase(it);
  auto u = users_.find(client->user());
  if (u != users_.end()) {
    auto &v = u->second;
    size_t i = client->hub_user_index;
    if (i < v.size() && v[i] == client) {
      v[i] = v.back();
      v[i]->hub_user_index = i;
      v.pop_back();
    }
    if (v.empty()) users_.erase(u);
  }
}

Client *Hub::find_client(std::string_view id) const {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second;
}

const std::vector<Client *> *Hub::user_clients(std::string_view user) const {
  auto it = users_.find(user);
  return it == users_.end() ? nullptr : &it->second;
}

template <typename Fn>
void Hub::walk(std::string_view channel, Fn fn) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  Channel &ch = it->second;
  ++ch.iterating;
  // Index loop: subscribers added during the walk are not visited, and
  // removed ones leave holes (see remove_subscriber).
  size_t n = ch.subs.size();
  for (size_t i = 0; i < n; ++i) {
    Subscriber s = ch.subs[i];
    if (s.sub) fn(s);
  }
  --ch.iterating;
  if (!ch.iterating && ch.has_holes) {
    compact(ch);
    // The map may have rehashed during the walk: find the entry again.
    if (ch.live == 0) channels_.erase(channels_.find(channel));
  }
}

void Hub::broadcast_publication(std::string_view channel, const gyre_publication &pub,
                                const gyre_stream_position *position) {
  if (!channels_.count(channel)) return;
  // Encoded once; every subscriber's queue shares the same frame.
  SharedPush push{protocol::pub_push(channel, pub), {}};
  std::string_view epoch =
      position
          ? std::string_view(position->epoch.ptr ? position->epoch.ptr : "", position->epoch.len)
          : std::string_view();
  walk(channel, [&](const Subscriber &s) {
    s.client->deliver_publication(*s.sub, push, pub.offset, epoch);
  });
}

void Hub::broadcast_join_leave(std::string_view channel, const gyre_client_info &info, bool join) {
  if (!channels_.count(channel)) return;
  SharedPush push{protocol::join_push(channel, info, join), {}};
  walk(channel, [&](const Subscriber &s) {
    if (s.sub->push_join_leave) s.client->deliver_shared(push);
  });
}

}  // namespace gyre
