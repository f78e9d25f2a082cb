// engine-redis's pure parts: shard placement (must match Centrifugo's, spec
// §7.1 vectors), the PUB/SUB and history wire format, address parsing.
#include <gtest/gtest.h>

#include <string>

#include "settings.h"
#include "sharding.h"
#include "wire.h"

using namespace gyre::redis;

namespace {
gyre_str g(std::string_view s) { return gyre_str{s.data(), s.size()}; }
std::string_view v(gyre_str s) { return std::string_view(s.ptr ? s.ptr : "", s.len); }
}  // namespace

TEST(RedisSharding, MatchesCentrifugeVectors) {
  EXPECT_EQ(fnv1a64("chat"), 0xf2a38d910b5b348bULL);
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  struct Row {
    const char *ch;
    int n2, n3, n5, n16;
  } rows[] = {{"chat", 0, 0, 4, 4},
              {"news", 1, 2, 3, 3},
              {"user:42", 1, 1, 1, 15},
              {"a", 1, 2, 2, 12},
              {"", 1, 1, 1, 13}};
  for (const auto &r : rows) {
    SCOPED_TRACE(r.ch);
    EXPECT_EQ(shard_of(r.ch, 2), r.n2);
    EXPECT_EQ(shard_of(r.ch, 3), r.n3);
    EXPECT_EQ(shard_of(r.ch, 5), r.n5);
    EXPECT_EQ(shard_of(r.ch, 16), r.n16);
    EXPECT_EQ(shard_of(r.ch, 1), 0);
  }
}

TEST(RedisWire, PublicationRoundTripsBinarySafe) {
  std::string data("{\"x\":\"a:b\\u0000\"}\0:5:", 22);
  gyre_client_info info{sizeof(gyre_client_info), g("u1"), g("c-1"), g("{\"n\":1}"), g("")};
  gyre_tag tags[] = {{g("k"), g("v:1")}, {g(""), g("")}};
  gyre_publication pub{sizeof(gyre_publication), g(data), 0, &info, tags, 2, 1234567};
  std::string body;
  encode_publication(body, pub);
  ASSERT_EQ(body[0], 'G');
  DecodedPublication d;
  ASSERT_TRUE(decode_publication(body, d));
  EXPECT_EQ(v(d.pub.data), data);
  EXPECT_EQ(d.pub.time_ms, 1234567);
  ASSERT_NE(d.pub.info, nullptr);
  EXPECT_EQ(v(d.pub.info->user), "u1");
  EXPECT_EQ(v(d.pub.info->client), "c-1");
  EXPECT_EQ(v(d.pub.info->conn_info), "{\"n\":1}");
  ASSERT_EQ(d.pub.num_tags, 2u);
  EXPECT_EQ(v(d.pub.tags[0].value), "v:1");

  gyre_publication bare{sizeof(gyre_publication), g("1"), 0, nullptr, nullptr, 0, 0};
  body.clear();
  encode_publication(body, bare);
  ASSERT_TRUE(decode_publication(body, d));
  EXPECT_EQ(d.pub.info, nullptr);
  EXPECT_EQ(d.pub.num_tags, 0u);
}

TEST(RedisWire, RejectsDamagedBodies) {
  gyre_publication pub{sizeof(gyre_publication), g("{}"), 0, nullptr, nullptr, 0, 1};
  std::string body;
  encode_publication(body, pub);
  DecodedPublication d;
  for (size_t cut = 0; cut < body.size(); ++cut)
    EXPECT_FALSE(decode_publication(std::string_view(body).substr(0, cut), d)) << cut;
  EXPECT_FALSE(decode_publication(body + "x", d));
  EXPECT_FALSE(decode_publication("G99999999999999999999999:x", d));
  EXPECT_FALSE(decode_publication("G2:{}1:10:1:5", d));  // bad has_info / short
  gyre_client_info info{};
  EXPECT_FALSE(decode_info("I1:a", info));
  EXPECT_FALSE(decode_info("", info));
}

TEST(RedisWire, Frames) {
  Frame f;
  std::string p = history_frame_prefix(42, "AbCdEfGh") + "Gbody";
  ASSERT_TRUE(parse_frame(p, f));
  EXPECT_EQ(f.kind, FrameKind::Publication);
  EXPECT_EQ(f.offset, 42u);
  EXPECT_EQ(f.epoch, "AbCdEfGh");
  EXPECT_EQ(f.body, "Gbody");
  ASSERT_TRUE(parse_frame("Graw", f));
  EXPECT_EQ(f.offset, 0u);
  EXPECT_EQ(f.body, "Graw");
  ASSERT_TRUE(parse_frame("__j__Ix", f));
  EXPECT_EQ(f.kind, FrameKind::Join);
  ASSERT_TRUE(parse_frame("__l__Ix", f));
  EXPECT_EQ(f.kind, FrameKind::Leave);
  EXPECT_FALSE(parse_frame("__p1:x:e__G", f));
  EXPECT_FALSE(parse_frame("__p1:0:e__G", f));
  EXPECT_FALSE(parse_frame("__p1:5:eee", f));
  EXPECT_FALSE(parse_frame("__zz__", f));
}

TEST(RedisSettings, Addresses) {
  RedisAddress a;
  EXPECT_EQ(parse_address("redis://127.0.0.1:6390/2", a), "");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 6390);
  EXPECT_EQ(a.db, 2);
  EXPECT_EQ(parse_address("redis://user:p%40ss@127.0.0.1", a), "");
  EXPECT_EQ(a.user, "user");
  EXPECT_EQ(a.password, "p@ss");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.text.find("p@ss"), std::string::npos);  // never in logs
  EXPECT_EQ(parse_address("redis://:secret@localhost:7000", a), "");
  EXPECT_EQ(a.password, "secret");
  EXPECT_EQ(a.port, 7000);
  EXPECT_EQ(parse_address("127.0.0.1:6000", a), "");
  EXPECT_EQ(a.port, 6000);
  EXPECT_EQ(parse_address("[::1]:6001", a), "");
  EXPECT_EQ(a.host, "::1");
  EXPECT_NE(parse_address("127.0.0.1:0", a), "");
  EXPECT_NE(parse_address("127.0.0.1:99999", a), "");
  EXPECT_NE(parse_address("redis://127.0.0.1/x", a), "");
  EXPECT_NE(parse_address("rediss://127.0.0.1", a), "");
  EXPECT_NE(parse_address("", a), "");
  EXPECT_EQ(
      parse_address("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001?addr=127.0.0.1:7002", a),
      "");
  ASSERT_EQ(a.cluster_nodes.size(), 3u);
  EXPECT_EQ(a.cluster_nodes[2].second, 7002);
  EXPECT_EQ(a.host, "127.0.0.1");  // the first node, for the PUB/SUB connection
  EXPECT_EQ(a.port, 7000);
  EXPECT_EQ(a.password, "pw");
  EXPECT_NE(parse_address("redis+cluster://127.0.0.1:7000/3", a), "");  // only db 0
  EXPECT_NE(parse_address("redis+cluster://", a), "");
  EXPECT_EQ(parse_address("redis+sentinel://:pw@127.0.0.1:26379,127.0.0.1?sentinel_master_name=m1&"
                          "sentinel_password=sp",
                          a),
            "");
  ASSERT_EQ(a.sentinels.size(), 2u);
  EXPECT_EQ(a.sentinels[1].second, 26379);
  EXPECT_EQ(a.master_name, "m1");
  EXPECT_EQ(a.password, "pw");
  EXPECT_EQ(a.sentinel_password, "sp");
  EXPECT_TRUE(a.host.empty());  // named by the sentinels at run time
  EXPECT_NE(parse_address("redis+sentinel://127.0.0.1:26379", a), "");  // no master name
}

TEST(RedisCluster, SlotsOfHashTags) {
  // spec §7.3 check values (CLUSTER KEYSLOT on a real cluster).
  EXPECT_EQ(crc16_xmodem("123456789"), 0x31C3);
  EXPECT_EQ(cluster_slot("123456789"), 12739);
  EXPECT_EQ(cluster_slot("chat"), 14028);
  EXPECT_EQ(cluster_slot("centrifuge.stream.{chat}"), 14028);
  EXPECT_EQ(cluster_slot("centrifuge.result.{chat}.key"), 14028);
  EXPECT_EQ(cluster_slot("centrifuge.stream.{3}.chat"), 1584);
  // An empty tag hashes the whole key; only the first {...} counts.
  EXPECT_EQ(cluster_slot("a{}b"), crc16_xmodem("a{}b") & 16383);
  EXPECT_EQ(cluster_slot("x{a}{b}"), cluster_slot("a"));
  EXPECT_EQ(cluster_slot("{a{b}c}"), cluster_slot("a{b"));
}
