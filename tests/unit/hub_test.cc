// Hub: one worker's channel -> subscribers bookkeeping. add_subscriber and
// remove_subscriber never dereference the Client pointer (see hub.cc), so
// opaque dummy pointers stand in for clients.
#include "hub.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "client.h"
#include "transport.h"

namespace {

using gyre::Client;
using gyre::ClientSubscription;
using gyre::Hub;

Client *fake_client(uintptr_t n) { return reinterpret_cast<Client *>(0x1000 + n * 16); }

std::map<std::string, size_t> channels_of(const Hub &hub) {
  std::map<std::string, size_t> out;
  hub.for_each_channel([&](const std::string &name, size_t live) { out[name] = live; });
  return out;
}

TEST(Hub, Empty) {
  Hub hub;
  EXPECT_EQ(hub.num_channels(), 0u);
  EXPECT_EQ(hub.num_subscriptions(), 0u);
  EXPECT_EQ(hub.channel_subscribers("x"), 0u);
  EXPECT_FALSE(hub.has_channel("x"));
  EXPECT_TRUE(channels_of(hub).empty());
}

TEST(Hub, FirstSubscriberReturnsTrue) {
  Hub hub;
  ClientSubscription s1, s2, s3;
  EXPECT_TRUE(hub.add_subscriber("news", fake_client(1), &s1));
  EXPECT_FALSE(hub.add_subscriber("news", fake_client(2), &s2));
  EXPECT_TRUE(hub.add_subscriber("chat", fake_client(1), &s3));
  EXPECT_EQ(hub.num_channels(), 2u);
  EXPECT_EQ(hub.num_subscriptions(), 3u);
  EXPECT_EQ(hub.channel_subscribers("news"), 2u);
  EXPECT_EQ(hub.channel_subscribers("chat"), 1u);
  EXPECT_EQ(hub.channel_subscribers("other"), 0u);
  EXPECT_EQ(s1.hub_index, 0u);
  EXPECT_EQ(s2.hub_index, 1u);
  EXPECT_EQ(s3.hub_index, 0u);
  EXPECT_EQ(channels_of(hub), (std::map<std::string, size_t>{{"chat", 1}, {"news", 2}}));
}

TEST(Hub, LastSubscriberRemovalReturnsTrue) {
  Hub hub;
  ClientSubscription s1, s2;
  hub.add_subscriber("news", fake_client(1), &s1);
  hub.add_subscriber("news", fake_client(2), &s2);
  EXPECT_FALSE(hub.remove_subscriber("news", &s1));
  EXPECT_EQ(hub.channel_subscribers("news"), 1u);
  EXPECT_EQ(hub.num_subscriptions(), 1u);
  EXPECT_EQ(hub.num_channels(), 1u);
  EXPECT_TRUE(hub.remove_subscriber("news", &s2));
  EXPECT_EQ(hub.channel_subscribers("news"), 0u);
  EXPECT_EQ(hub.num_subscriptions(), 0u);
  EXPECT_EQ(hub.num_channels(), 0u);
  EXPECT_TRUE(channels_of(hub).empty());
  // The channel is gone: the next subscriber is a first one again.
  EXPECT_TRUE(hub.add_subscriber("news", fake_client(3), &s1));
  EXPECT_EQ(s1.hub_index, 0u);
}

TEST(Hub, SwapRemoveMaintainsIndexes) {
  Hub hub;
  ClientSubscription s[4];
  for (int i = 0; i < 4; ++i) hub.add_subscriber("c", fake_client(i), &s[i]);
  // Removing index 0 moves the last subscriber (s[3]) into slot 0.
  EXPECT_FALSE(hub.remove_subscriber("c", &s[0]));
  EXPECT_EQ(s[3].hub_index, 0u);
  EXPECT_EQ(s[1].hub_index, 1u);
  EXPECT_EQ(s[2].hub_index, 2u);
  EXPECT_EQ(hub.channel_subscribers("c"), 3u);
  // Removing the last slot moves nothing.
  EXPECT_FALSE(hub.remove_subscriber("c", &s[2]));
  EXPECT_EQ(s[3].hub_index, 0u);
  EXPECT_EQ(s[1].hub_index, 1u);
  // Removing slot 0 again moves s[1] down.
  EXPECT_FALSE(hub.remove_subscriber("c", &s[3]));
  EXPECT_EQ(s[1].hub_index, 0u);
  EXPECT_TRUE(hub.remove_subscriber("c", &s[1]));
  EXPECT_EQ(hub.num_channels(), 0u);
  EXPECT_EQ(hub.num_subscriptions(), 0u);
}

TEST(Hub, RemoveUnknownIsRejected) {
  Hub hub;
  ClientSubscription a, b, stranger;
  EXPECT_FALSE(hub.remove_subscriber("nope", &a));  // no such channel
  hub.add_subscriber("x", fake_client(1), &a);
  hub.add_subscriber("y", fake_client(1), &b);
  // Registered in another channel: b.hub_index == 0 but slot 0 of x is a.
  EXPECT_FALSE(hub.remove_subscriber("x", &b));
  // Never registered, index past the end.
  stranger.hub_index = 5;
  EXPECT_FALSE(hub.remove_subscriber("x", &stranger));
  stranger.hub_index = 0;
  EXPECT_FALSE(hub.remove_subscriber("x", &stranger));
  EXPECT_EQ(hub.num_subscriptions(), 2u);
  EXPECT_EQ(hub.channel_subscribers("x"), 1u);
  EXPECT_EQ(hub.channel_subscribers("y"), 1u);
  // Double remove: the second call is a no-op.
  EXPECT_TRUE(hub.remove_subscriber("x", &a));
  EXPECT_FALSE(hub.remove_subscriber("x", &a));
  EXPECT_EQ(hub.num_subscriptions(), 1u);
  EXPECT_EQ(hub.num_channels(), 1u);
}

TEST(Hub, DoubleRemoveAfterSlotReuse) {
  Hub hub;
  ClientSubscription a, b, c;
  hub.add_subscriber("x", fake_client(1), &a);
  hub.add_subscriber("x", fake_client(2), &b);
  hub.add_subscriber("x", fake_client(3), &c);
  EXPECT_FALSE(hub.remove_subscriber("x", &a));  // c moves to slot 0
  EXPECT_EQ(a.hub_index, 0u);                    // stale index of a
  EXPECT_FALSE(hub.remove_subscriber("x", &a));  // slot 0 is c now: rejected
  EXPECT_EQ(hub.channel_subscribers("x"), 2u);
  EXPECT_EQ(hub.num_subscriptions(), 2u);
  EXPECT_EQ(c.hub_index, 0u);
  EXPECT_EQ(b.hub_index, 1u);
}

TEST(Hub, BroadcastWithoutSubscribersIsNoop) {
  Hub hub;
  gyre::SharedPush push("{}");
  hub.broadcast_publication("none", push, 1, "e");
  hub.broadcast_join_leave("none", push);
  EXPECT_EQ(hub.num_channels(), 0u);
}

// Random adds and removes against a simple model; after every step each
// channel's hub_index values are exactly 0..n-1.
TEST(Hub, RandomizedAgainstModel) {
  Hub hub;
  std::mt19937 rng(12345);
  const char *names[] = {"a", "b", "c", "$d:e"};
  std::vector<std::unique_ptr<ClientSubscription>> pool;
  std::map<std::string, std::vector<ClientSubscription *>> model;
  size_t total = 0;
  for (int step = 0; step < 5000; ++step) {
    std::string ch = names[rng() % 4];
    auto &v = model[ch];
    if (v.empty() || rng() % 3 != 0) {
      pool.push_back(std::make_unique<ClientSubscription>());
      ClientSubscription *s = pool.back().get();
      bool first = hub.add_subscriber(ch, fake_client(step), s);
      ASSERT_EQ(first, v.empty()) << "step " << step;
      v.push_back(s);
      ++total;
    } else {
      size_t k = rng() % v.size();
      ClientSubscription *s = v[k];
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(k));
      bool last = hub.remove_subscriber(ch, s);
      ASSERT_EQ(last, v.empty()) << "step " << step;
      --total;
    }
    ASSERT_EQ(hub.num_subscriptions(), total);
    size_t live_channels = 0;
    for (const auto &[name, subs] : model) {
      ASSERT_EQ(hub.channel_subscribers(name), subs.size());
      if (!subs.empty()) ++live_channels;
      std::vector<size_t> idx;
      for (auto *s : subs) idx.push_back(s->hub_index);
      std::sort(idx.begin(), idx.end());
      for (size_t i = 0; i < idx.size(); ++i) ASSERT_EQ(idx[i], i) << name << " step " << step;
    }
    ASSERT_EQ(hub.num_channels(), live_channels);
  }
  // Drain everything.
  for (auto &[name, subs] : model) {
    while (!subs.empty()) {
      ClientSubscription *s = subs.back();
      subs.pop_back();
      EXPECT_EQ(hub.remove_subscriber(name, s), subs.empty());
    }
  }
  EXPECT_EQ(hub.num_subscriptions(), 0u);
  EXPECT_EQ(hub.num_channels(), 0u);
}

}  // namespace
