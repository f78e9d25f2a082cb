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
  num_subs_.fetch_add(1, std::memory_order_relaxed);
  return first;
}

bool Hub::remove_subscriber(std::string_view channel, ClientSubscription *sub) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) return false;
  Channel &ch = it->second;
  size_t i = sub->hub_index;
  if (i >= ch.subs.size() || ch.subs[i].sub != sub) return false;
  --ch.live;
  num_subs_.fetch_sub(1, std::memory_order_relaxed);
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

void Hub::broadcast_publication(std::string_view channel, SharedPush &push, uint64_t offset,
                                std::string_view epoch) {
  walk(channel,
       [&](const Subscriber &s) { s.client->deliver_publication(*s.sub, push, offset, epoch); });
}

void Hub::broadcast_join_leave(std::string_view channel, SharedPush &push) {
  walk(channel, [&](const Subscriber &s) {
    if (s.sub->push_join_leave) s.client->deliver_shared(push);
  });
}

}  // namespace gyre
