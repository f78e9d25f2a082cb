// The control plane's message codec (every type round-trips; malformed or
// out-of-bounds messages are refused with a reason) and the registry of
// other nodes (expiry after 7 s, removal, revival).
#include "controller.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace {

using gyre::ControlMessage;
using gyre::ControlType;
using gyre::decode_control;
using gyre::encode_control;
using gyre::NodeInfo;
using gyre::NodeRegistry;

ControlMessage round_trip(const ControlMessage &m) {
  std::string text = encode_control(m);
  ControlMessage out;
  std::string error;
  EXPECT_TRUE(decode_control(text, out, error)) << error << "\n" << text;
  return out;
}

// Decodes text that must be refused; returns the reason.
std::string refused(std::string_view text) {
  ControlMessage out;
  std::string error;
  EXPECT_FALSE(decode_control(text, out, error)) << text;
  EXPECT_FALSE(error.empty()) << text;
  return error;
}

TEST(ControlCodec, NodeInfo) {
  ControlMessage m;
  m.uid = "node-a";
  m.type = ControlType::Node;
  m.node = NodeInfo{"", "host_8000", "1.0.0 OSS", 3, 2, 5, 7, 42};
  ControlMessage d = round_trip(m);
  EXPECT_EQ(d.uid, "node-a");
  EXPECT_EQ(d.type, ControlType::Node);
  EXPECT_EQ(d.node.uid, "node-a");  // the sender's
  EXPECT_EQ(d.node.name, "host_8000");
  EXPECT_EQ(d.node.version, "1.0.0 OSS");
  EXPECT_EQ(d.node.num_clients, 3u);
  EXPECT_EQ(d.node.num_users, 2u);
  EXPECT_EQ(d.node.num_channels, 5u);
  EXPECT_EQ(d.node.num_subs, 7u);
  EXPECT_EQ(d.node.uptime, 42u);
}

TEST(ControlCodec, ShutdownIsCompact) {
  ControlMessage m;
  m.uid = "u";
  m.type = ControlType::Shutdown;
  EXPECT_EQ(encode_control(m), R"({"uid":"u","type":"shutdown"})");
  EXPECT_EQ(round_trip(m).type, ControlType::Shutdown);
}

TEST(ControlCodec, StoreChange) {
  ControlMessage m;
  m.uid = "u";
  m.type = ControlType::Store;
  m.item_kind = "rpc_namespace";
  m.item_name = "billing";
  m.item_options = R"({"name":"billing","proxy_enabled":true,"x":{"deep":[1,{"a":2}]}})";
  ControlMessage d = round_trip(m);
  EXPECT_EQ(d.type, ControlType::Store);
  EXPECT_EQ(d.item_kind, "rpc_namespace");
  EXPECT_EQ(d.item_name, "billing");
  EXPECT_FALSE(d.item_remove);
  EXPECT_EQ(d.item_options, m.item_options);  // nested JSON travels as a string
  m.item_remove = true;
  m.item_options.clear();
  EXPECT_EQ(encode_control(m),
            R"({"uid":"u","type":"store","kind":"rpc_namespace","name":"billing","remove":true})");
  EXPECT_TRUE(round_trip(m).item_remove);
  refused(R"({"uid":"u","type":"store","kind":"proxy","name":"p"})");     // a set without options
  refused(R"({"uid":"u","type":"store","kind":"proxy","remove":true})");  // no name
  refused(R"({"uid":"u","type":"store","kind":"proxy","name":"p","options":{}})");  // not a string
}

TEST(ControlCodec, Disconnect) {
  ControlMessage m;
  m.uid = "u";
  m.type = ControlType::Disconnect;
  m.user = "alice";
  m.client = "c1";
  m.whitelist = {"c2", "c3"};
  m.code = 4000;
  m.reason = "go \"away\"\n";
  ControlMessage d = round_trip(m);
  EXPECT_EQ(d.type, ControlType::Disconnect);
  EXPECT_EQ(d.user, "alice");
  EXPECT_EQ(d.client, "c1");
  EXPECT_TRUE(d.session.empty());
  EXPECT_EQ(d.whitelist, (std::vector<std::string>{"c2", "c3"}));
  EXPECT_EQ(d.code, 4000u);
  EXPECT_EQ(d.reason, "go \"away\"\n");
}

TEST(ControlCodec, SubscribeCarriesBytesAsBase64) {
  ControlMessage m;
  m.uid = "u";
  m.type = ControlType::Subscribe;
  m.user = "";  // anonymous connections
  m.channel = "news";
  m.info = std::string("\x00\xff\n{", 4);  // not JSON, not UTF-8
  m.data = R"({"x":1})";
  std::string text = encode_control(m);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  ControlMessage d = round_trip(m);
  EXPECT_EQ(d.channel, "news");
  EXPECT_EQ(d.info, m.info);
  EXPECT_EQ(d.data, m.data);
}

TEST(ControlCodec, UnsubscribeAndRefresh) {
  ControlMessage u;
  u.uid = "u";
  u.type = ControlType::Unsubscribe;
  u.user = "bob";
  ControlMessage du = round_trip(u);
  EXPECT_EQ(du.type, ControlType::Unsubscribe);
  EXPECT_EQ(du.user, "bob");
  EXPECT_TRUE(du.channel.empty());  // every channel

  ControlMessage r;
  r.uid = "u";
  r.type = ControlType::Refresh;
  r.client = "c";
  r.expired = true;
  r.expire_at = -5;
  r.info = R"({"role":"admin"})";
  ControlMessage dr = round_trip(r);
  EXPECT_TRUE(dr.expired);
  EXPECT_EQ(dr.expire_at, -5);
  EXPECT_EQ(dr.info, r.info);
}

TEST(ControlCodec, EmulationAndSurveys) {
  ControlMessage e;
  e.uid = "u";
  e.type = ControlType::Emulation;
  e.session = "s1";
  e.data = "{\"id\":2,\"publish\":{}}\n{\"id\":3}";
  ControlMessage de = round_trip(e);
  EXPECT_EQ(de.session, "s1");
  EXPECT_EQ(de.data, e.data);

  ControlMessage s;
  s.uid = "u";
  s.type = ControlType::Survey;
  s.id = 7;
  s.op = "channels";
  s.pattern = "chat:*";
  ControlMessage ds = round_trip(s);
  EXPECT_EQ(ds.id, 7u);
  EXPECT_EQ(ds.op, "channels");
  EXPECT_EQ(ds.pattern, "chat:*");

  ControlMessage r;
  r.uid = "v";
  r.type = ControlType::SurveyReply;
  r.id = 7;
  r.channels = {{"a", 1}, {"chat:\"x\"", 12}};
  ControlMessage dr = round_trip(r);
  EXPECT_EQ(dr.code, gyre::kSurveyOk);
  EXPECT_EQ(dr.channels, r.channels);
}

TEST(ControlCodec, UnknownFieldsAreIgnored) {
  ControlMessage m;
  std::string error;
  ASSERT_TRUE(decode_control(R"({"uid":"u","type":"shutdown","future":{"x":[1]}})", m, error))
      << error;
  EXPECT_EQ(m.type, ControlType::Shutdown);
}

TEST(ControlCodec, RefusesMalformed) {
  refused("");
  refused("not json");
  refused("[]");
  refused(R"("a string")");
  refused(R"({"type":"shutdown"})");                     // no uid
  refused(R"({"uid":"","type":"shutdown"})");            // empty uid
  refused(R"({"uid":1,"type":"shutdown"})");             // uid of another type
  refused(R"({"uid":"u"})");                             // no type
  refused(R"({"uid":"u","type":"gossip"})");             // unknown type
  refused(R"({"uid":"u","type":"shutdown"} trailing)");  // not one value
  refused("{\"uid\":\"" + std::string(65, 'x') + "\",\"type\":\"shutdown\"}");
  EXPECT_EQ(refused(R"({"uid":"u","type":"node","num_clients":-1})"),
            "num_clients: not an unsigned integer");
  refused(R"({"uid":"u","type":"node","num_subs":1.5})");
  refused(R"({"uid":"u","type":"node","name":null})");
  // Disconnect needs a close code in the application range.
  refused(R"({"uid":"u","type":"disconnect"})");
  refused(R"({"uid":"u","type":"disconnect","code":1000})");
  refused(R"({"uid":"u","type":"disconnect","code":5000})");
  refused(R"({"uid":"u","type":"disconnect","code":3503,"whitelist":"c"})");
  refused(R"({"uid":"u","type":"disconnect","code":3503,"whitelist":[1]})");
  refused(R"({"uid":"u","type":"disconnect","code":3503,"user":7})");
  // Subscribe needs a channel; bytes must be base64.
  refused(R"({"uid":"u","type":"subscribe","user":"a"})");
  EXPECT_EQ(refused(R"({"uid":"u","type":"subscribe","channel":"c","b64data":"@@@@"})"),
            "b64data: not base64");
  refused(R"({"uid":"u","type":"subscribe","channel":"c","b64info":"abc"})");
  refused(R"({"uid":"u","type":"refresh","expired":"yes"})");
  refused(R"({"uid":"u","type":"refresh","expire_at":"1"})");
  refused(R"({"uid":"u","type":"emulation","b64data":"e30="})");  // no session
  refused(R"({"uid":"u","type":"survey","op":"channels"})");      // no id
  refused(R"({"uid":"u","type":"survey","id":1})");               // no op
  refused(R"({"uid":"u","type":"survey_reply","id":1,"code":4})");
  refused(R"({"uid":"u","type":"survey_reply","id":1,"channels":[]})");
  refused(R"({"uid":"u","type":"survey_reply","id":1,"channels":{"a":"1"}})");
  refused(R"({"uid":"u","type":"survey_reply","id":1,"channels":{"a":{"n":1}}})");
  // Deeper nesting than any message has.
  refused(R"({"uid":"u","type":"shutdown","x":[[[[1]]]]})");
}

TEST(ControlCodec, RefusesOversized) {
  std::string big = R"({"uid":"u","type":"unsubscribe","channel":")" +
                    std::string(gyre::kMaxControlBytes, 'c') + "\"}";
  EXPECT_EQ(refused(big), "too large");
  // A field over its own bound inside a message that fits.
  std::string long_channel =
      R"({"uid":"u","type":"unsubscribe","channel":")" + std::string(70000, 'c') + "\"}";
  EXPECT_EQ(refused(long_channel), "channel: too long");
}

TEST(ControlCodec, NodeInfoJsonShape) {
  std::string out;
  gyre::json::Writer w(out);
  gyre::write_node_info(w, NodeInfo{"id", "n", "v OSS", 1, 2, 3, 4, 0});
  EXPECT_EQ(out, R"({"uid":"id","name":"n","version":"v OSS","num_clients":1,"num_users":2,)"
                 R"("num_channels":3,"num_subs":4})");
  out.clear();
  gyre::json::Writer w2(out);
  gyre::write_node_info(w2, NodeInfo{"id", "n", "v", 0, 0, 0, 0, 9});
  EXPECT_NE(out.find(R"("num_channels":0,"uptime":9,"num_subs":0)"), std::string::npos) << out;
}

NodeInfo info(std::string uid, std::string name, uint64_t clients = 0) {
  NodeInfo n;
  n.uid = std::move(uid);
  n.name = std::move(name);
  n.num_clients = clients;
  return n;
}

TEST(NodeRegistry, UpdateReportsNewcomers) {
  NodeRegistry r;
  EXPECT_TRUE(r.update(info("b", "node-b"), 1000));
  EXPECT_FALSE(r.update(info("b", "node-b", 5), 2000));
  EXPECT_TRUE(r.update(info("a", "node-a"), 2000));
  auto live = r.live(2000);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].uid, "a");  // by name
  EXPECT_EQ(live[1].uid, "b");
  EXPECT_EQ(live[1].num_clients, 5u);  // the latest info
  EXPECT_TRUE(r.contains("a", 2000));
  EXPECT_FALSE(r.contains("c", 2000));
}

TEST(NodeRegistry, ExpiresAfterSevenSeconds) {
  NodeRegistry r;
  r.update(info("a", "node-a"), 0);
  r.update(info("b", "node-b"), 5000);
  EXPECT_TRUE(r.contains("a", NodeRegistry::kExpireMs));
  EXPECT_EQ(r.live(NodeRegistry::kExpireMs).size(), 2u);
  // Past the bound a node is not live even before the sweep drops it.
  EXPECT_FALSE(r.contains("a", NodeRegistry::kExpireMs + 1));
  EXPECT_EQ(r.live(NodeRegistry::kExpireMs + 1).size(), 1u);
  EXPECT_EQ(r.size(), 2u);
  auto gone = r.sweep(NodeRegistry::kExpireMs + 1);
  EXPECT_EQ(gone, (std::vector<std::string>{"a"}));
  EXPECT_EQ(r.size(), 1u);
  EXPECT_TRUE(r.sweep(NodeRegistry::kExpireMs + 1).empty());
  // A heartbeat keeps a node alive; an expired one that speaks again is
  // new again (it gets this node's info at once).
  r.update(info("b", "node-b"), 11000);
  EXPECT_TRUE(r.sweep(17000).empty());
  EXPECT_FALSE(r.update(info("b", "node-b"), 18000));
  EXPECT_TRUE(r.update(info("b", "node-b"), 18000 + NodeRegistry::kExpireMs + 1));
}

TEST(NodeRegistry, RemoveOnShutdown) {
  NodeRegistry r;
  r.update(info("a", "node-a"), 0);
  EXPECT_TRUE(r.remove("a"));
  EXPECT_FALSE(r.remove("a"));
  EXPECT_FALSE(r.contains("a", 0));
  EXPECT_TRUE(r.live(0).empty());
  EXPECT_TRUE(r.update(info("a", "node-a"), 1));
}

}  // namespace
