// Client protocol v2 JSON: command decoding, replies and pushes
// (client-protocol spec §2-§5), checked as exact bytes.
#include "protocol.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "codes.h"
#include "json.h"

namespace {

using gyre::Disconnect;
using gyre::Error;
using gyre::json::Document;
using gyre::protocol::Command;
using gyre::protocol::Method;
namespace protocol = gyre::protocol;
namespace errors = gyre::errors;
namespace disconnects = gyre::disconnects;
namespace unsubscribes = gyre::unsubscribes;

gyre_str gs(std::string_view s) { return {s.data(), s.size()}; }

// Parses and decodes; the document is kept in the fixture so params stay
// valid.
class DecodeTest : public ::testing::Test {
 protected:
  bool decode(std::string_view text) {
    text_ = std::string(text);
    EXPECT_TRUE(doc_.parse(text_)) << text_;
    cmd_ = Command{};
    cmd_.id = 999;  // decode must reset
    cmd_.method = Method::Rpc;
    return protocol::decode_command(doc_.root(), cmd_);
  }
  std::string text_;
  Document doc_;
  Command cmd_;
};

TEST_F(DecodeTest, ConnectWithId) {
  ASSERT_TRUE(decode("{\"id\":1,\"connect\":{\"token\":\"t\",\"name\":\"js\"}}"));
  EXPECT_EQ(cmd_.id, 1u);
  EXPECT_EQ(cmd_.method, Method::Connect);
  EXPECT_EQ(cmd_.params.raw(), "{\"token\":\"t\",\"name\":\"js\"}");
  EXPECT_EQ(cmd_.params["token"].as_string(), "t");
}

TEST_F(DecodeTest, EachMethodKey) {
  struct Case {
    const char *key;
    Method m;
  } cases[] = {
      {"connect", Method::Connect},
      {"subscribe", Method::Subscribe},
      {"unsubscribe", Method::Unsubscribe},
      {"publish", Method::Publish},
      {"presence", Method::Presence},
      {"presence_stats", Method::PresenceStats},
      {"history", Method::History},
      {"rpc", Method::Rpc},
      {"send", Method::Send},
      {"refresh", Method::Refresh},
      {"sub_refresh", Method::SubRefresh},
  };
  for (const auto &c : cases) {
    std::string text = std::string("{\"id\":3,\"") + c.key + "\":{\"channel\":\"x\"}}";
    ASSERT_TRUE(decode(text)) << text;
    EXPECT_EQ(cmd_.method, c.m) << c.key;
    EXPECT_EQ(cmd_.params.raw(), "{\"channel\":\"x\"}");
    EXPECT_EQ(protocol::method_name(c.m), c.key);
  }
  EXPECT_EQ(protocol::method_name(Method::None), "");
}

TEST_F(DecodeTest, MethodPrecedenceFollowsGoOrder) {
  // Key order in the document does not matter; Go's order does.
  ASSERT_TRUE(
      decode("{\"sub_refresh\":{},\"subscribe\":{\"a\":1},\"connect\":{\"b\":2},\"id\":2}"));
  EXPECT_EQ(cmd_.method, Method::Connect);
  EXPECT_EQ(cmd_.params.raw(), "{\"b\":2}");
  ASSERT_TRUE(decode("{\"publish\":{},\"unsubscribe\":{},\"subscribe\":{},\"id\":2}"));
  EXPECT_EQ(cmd_.method, Method::Subscribe);
  ASSERT_TRUE(decode("{\"publish\":{},\"unsubscribe\":{},\"id\":2}"));
  EXPECT_EQ(cmd_.method, Method::Unsubscribe);
  ASSERT_TRUE(decode("{\"presence\":{},\"publish\":{},\"id\":2}"));
  EXPECT_EQ(cmd_.method, Method::Publish);
  ASSERT_TRUE(decode("{\"presence_stats\":{},\"presence\":{},\"id\":2}"));
  EXPECT_EQ(cmd_.method, Method::Presence);
  ASSERT_TRUE(decode("{\"history\":{},\"presence_stats\":{},\"id\":2}"));
  EXPECT_EQ(cmd_.method, Method::PresenceStats);
  ASSERT_TRUE(decode("{\"rpc\":{},\"history\":{},\"id\":2}"));
  EXPECT_EQ(cmd_.method, Method::History);
  ASSERT_TRUE(decode("{\"send\":{},\"rpc\":{},\"id\":2}"));
  EXPECT_EQ(cmd_.method, Method::Rpc);
  ASSERT_TRUE(decode("{\"refresh\":{},\"send\":{}}"));
  EXPECT_EQ(cmd_.method, Method::Send);
  ASSERT_TRUE(decode("{\"sub_refresh\":{},\"refresh\":{},\"id\":2}"));
  EXPECT_EQ(cmd_.method, Method::Refresh);
}

TEST_F(DecodeTest, NullMethodIsSkipped) {
  ASSERT_TRUE(decode("{\"id\":4,\"connect\":null,\"subscribe\":{\"channel\":\"c\"}}"));
  EXPECT_EQ(cmd_.method, Method::Subscribe);
  EXPECT_EQ(cmd_.params.raw(), "{\"channel\":\"c\"}");
  ASSERT_TRUE(decode("{\"id\":4,\"connect\":null}"));
  EXPECT_EQ(cmd_.method, Method::None);
  EXPECT_EQ(cmd_.id, 4u);
}

TEST_F(DecodeTest, NonObjectMethodFails) {
  EXPECT_FALSE(decode("{\"id\":1,\"connect\":\"x\"}"));
  EXPECT_FALSE(decode("{\"id\":1,\"subscribe\":[]}"));
  EXPECT_FALSE(decode("{\"id\":1,\"publish\":1}"));
  EXPECT_FALSE(decode("{\"id\":1,\"rpc\":true}"));
  EXPECT_FALSE(decode("{\"id\":1,\"send\":false}"));
  // The first non-null method decides, even when a later one is fine.
  EXPECT_FALSE(decode("{\"id\":1,\"connect\":5,\"subscribe\":{}}"));
}

TEST_F(DecodeTest, Ids) {
  ASSERT_TRUE(decode("{\"id\":4294967295,\"rpc\":{}}"));
  EXPECT_EQ(cmd_.id, 4294967295u);
  ASSERT_TRUE(decode("{\"id\":0,\"rpc\":{}}"));
  EXPECT_EQ(cmd_.id, 0u);
  ASSERT_TRUE(decode("{\"id\":null,\"rpc\":{}}"));
  EXPECT_EQ(cmd_.id, 0u);
  ASSERT_TRUE(decode("{\"send\":{\"data\":{}}}"));
  EXPECT_EQ(cmd_.id, 0u);
  EXPECT_EQ(cmd_.method, Method::Send);
  EXPECT_FALSE(decode("{\"id\":4294967296,\"rpc\":{}}"));
  EXPECT_FALSE(decode("{\"id\":18446744073709551616,\"rpc\":{}}"));
  EXPECT_FALSE(decode("{\"id\":-1,\"rpc\":{}}"));
  EXPECT_FALSE(decode("{\"id\":1.5,\"rpc\":{}}"));
  EXPECT_FALSE(decode("{\"id\":\"1\",\"rpc\":{}}"));
  EXPECT_FALSE(decode("{\"id\":true,\"rpc\":{}}"));
  EXPECT_FALSE(decode("{\"id\":{},\"rpc\":{}}"));
}

TEST_F(DecodeTest, NoMethod) {
  ASSERT_TRUE(decode("{\"id\":5}"));
  EXPECT_EQ(cmd_.id, 5u);
  EXPECT_EQ(cmd_.method, Method::None);
  EXPECT_FALSE(cmd_.params.valid());
  // ping is not a method (client-protocol §3.12).
  ASSERT_TRUE(decode("{\"id\":5,\"ping\":{}}"));
  EXPECT_EQ(cmd_.method, Method::None);
  ASSERT_TRUE(decode("{}"));
  EXPECT_EQ(cmd_.id, 0u);
  EXPECT_EQ(cmd_.method, Method::None);
  // Unknown fields are ignored.
  ASSERT_TRUE(decode("{\"id\":6,\"flag\":1,\"foo\":[1],\"rpc\":{\"method\":\"m\"}}"));
  EXPECT_EQ(cmd_.method, Method::Rpc);
  EXPECT_EQ(cmd_.id, 6u);
}

// Duplicate keys: the last one wins, as with Go's encoding/json.
TEST_F(DecodeTest, DuplicateKeysLastWins) {
  ASSERT_TRUE(decode("{\"id\":1,\"rpc\":{\"a\":1},\"id\":2,\"rpc\":{\"b\":2}}"));
  EXPECT_EQ(cmd_.id, 2u);
  EXPECT_EQ(cmd_.method, Method::Rpc);
  EXPECT_EQ(cmd_.params.raw(), "{\"b\":2}");
  ASSERT_TRUE(decode("{\"id\":3,\"connect\":{},\"connect\":null,\"subscribe\":{}}"));
  EXPECT_EQ(cmd_.method, Method::Subscribe);
}

TEST_F(DecodeTest, RootMustBeObject) {
  EXPECT_FALSE(decode("[]"));
  EXPECT_FALSE(decode("[{\"id\":1,\"connect\":{}}]"));
  EXPECT_FALSE(decode("1"));
  EXPECT_FALSE(decode("null"));
  EXPECT_FALSE(decode("\"connect\""));
  EXPECT_FALSE(protocol::decode_command(gyre::json::Value(), cmd_));
}

// --- replies ------------------------------------------------------------------

TEST(Replies, ErrorReply) {
  EXPECT_EQ(protocol::error_reply(7, errors::kBadRequest),
            "{\"id\":7,\"error\":{\"code\":107,\"message\":\"bad request\"}}");
  EXPECT_EQ(protocol::error_reply(8, errors::kInternal),
            "{\"id\":8,\"error\":{\"code\":100,\"message\":\"internal server error\","
            "\"temporary\":true}}");
  EXPECT_EQ(protocol::error_reply(9, errors::kTooManyRequests),
            "{\"id\":9,\"error\":{\"code\":111,\"message\":\"too many requests\","
            "\"temporary\":true}}");
  EXPECT_EQ(protocol::error_reply(4294967295u, Error{400, "my \"err\"\n"}),
            "{\"id\":4294967295,\"error\":{\"code\":400,\"message\":\"my \\\"err\\\"\\n\"}}");
}

TEST(Replies, ResultReply) {
  EXPECT_EQ(protocol::result_reply(3, Method::Publish, "{}"), "{\"id\":3,\"publish\":{}}");
  EXPECT_EQ(protocol::result_reply(5, Method::Unsubscribe, "{}"), "{\"id\":5,\"unsubscribe\":{}}");
  EXPECT_EQ(
      protocol::result_reply(6, Method::PresenceStats, "{\"num_clients\":1,\n\"num_users\":1}"),
      "{\"id\":6,\"presence_stats\":{\"num_clients\":1,\"num_users\":1}}");
  EXPECT_EQ(protocol::result_reply(9, Method::SubRefresh, "{\"expires\":true,\"ttl\":3600}"),
            "{\"id\":9,\"sub_refresh\":{\"expires\":true,\"ttl\":3600}}");
  EXPECT_EQ(protocol::result_reply(4, Method::Rpc, "{\"data\":12345678901234567890}"),
            "{\"id\":4,\"rpc\":{\"data\":12345678901234567890}}");
}

// --- pushes -------------------------------------------------------------------

gyre_publication make_pub(std::string_view data, uint64_t offset) {
  gyre_publication p{};
  p.size = sizeof p;
  p.data = gs(data);
  p.offset = offset;
  return p;
}

TEST(Pushes, PubOmitsEmptyFields) {
  auto p = make_pub("{\"hello\":\"x\"}", 0);
  EXPECT_EQ(protocol::pub_push("news", p),
            "{\"push\":{\"channel\":\"news\",\"pub\":{\"data\":{\"hello\":\"x\"}}}}");
  p.offset = 6;
  EXPECT_EQ(protocol::pub_push("news", p),
            "{\"push\":{\"channel\":\"news\",\"pub\":{\"data\":{\"hello\":\"x\"},\"offset\":6}}}");
  // Empty data is left out too.
  auto empty = make_pub("", 0);
  EXPECT_EQ(protocol::pub_push("c", empty), "{\"push\":{\"channel\":\"c\",\"pub\":{}}}");
  gyre_publication nulldata{};
  EXPECT_EQ(protocol::pub_push("c", nulldata), "{\"push\":{\"channel\":\"c\",\"pub\":{}}}");
}

TEST(Pushes, PubDataIsRawAndNewlineFree) {
  auto p =
      make_pub("{\n \"big\": 12345678901234567890,\n \"f\": 1.0e2\n}", 18446744073709551615ull);
  EXPECT_EQ(protocol::pub_push("ch\"1", p),
            "{\"push\":{\"channel\":\"ch\\\"1\",\"pub\":{\"data\":{ \"big\": "
            "12345678901234567890, \"f\": 1.0e2},\"offset\":18446744073709551615}}}");
}

TEST(Pushes, PubWithInfo) {
  gyre_client_info info{};
  info.size = sizeof info;
  info.user = gs("u");
  info.client = gs("c");
  info.conn_info = gs("{\"a\":1}");
  auto p = make_pub("{\"hello\":\"x\"}", 6);
  p.info = &info;
  EXPECT_EQ(protocol::pub_push("news", p),
            "{\"push\":{\"channel\":\"news\",\"pub\":{\"data\":{\"hello\":\"x\"},"
            "\"info\":{\"user\":\"u\",\"client\":\"c\",\"conn_info\":{\"a\":1}},"
            "\"offset\":6}}}");
  info.chan_info = gs("[1,2]");
  EXPECT_EQ(protocol::pub_push("news", p),
            "{\"push\":{\"channel\":\"news\",\"pub\":{\"data\":{\"hello\":\"x\"},"
            "\"info\":{\"user\":\"u\",\"client\":\"c\",\"conn_info\":{\"a\":1},"
            "\"chan_info\":[1,2]},\"offset\":6}}}");
  // A struct from an older ABI (size without chan_info) never reads it.
  info.size = offsetof(gyre_client_info, chan_info);
  EXPECT_EQ(protocol::pub_push("news", p),
            "{\"push\":{\"channel\":\"news\",\"pub\":{\"data\":{\"hello\":\"x\"},"
            "\"info\":{\"user\":\"u\",\"client\":\"c\",\"conn_info\":{\"a\":1}},"
            "\"offset\":6}}}");
  // Anonymous: user and client are always present.
  gyre_client_info anon{};
  anon.size = sizeof anon;
  p.info = &anon;
  p.offset = 0;
  EXPECT_EQ(protocol::pub_push("news", p),
            "{\"push\":{\"channel\":\"news\",\"pub\":{\"data\":{\"hello\":\"x\"},"
            "\"info\":{\"user\":\"\",\"client\":\"\"}}}}");
}

TEST(Pushes, PubWithTags) {
  gyre_tag tags[2] = {{gs("k1"), gs("v1")}, {gs("k\"2"), gs("v\n2")}};
  auto p = make_pub("1", 2);
  p.tags = tags;
  p.num_tags = 2;
  EXPECT_EQ(protocol::pub_push("t", p),
            "{\"push\":{\"channel\":\"t\",\"pub\":{\"data\":1,\"offset\":2,"
            "\"tags\":{\"k1\":\"v1\",\"k\\\"2\":\"v\\n2\"}}}}");
  p.num_tags = 0;  // tags pointer set but count 0: no tags
  EXPECT_EQ(protocol::pub_push("t", p),
            "{\"push\":{\"channel\":\"t\",\"pub\":{\"data\":1,\"offset\":2}}}");
}

TEST(Pushes, WritePublicationStandalone) {
  std::string out;
  gyre::json::Writer w(out);
  auto p = make_pub("{}", 3);
  w.begin_array();
  protocol::write_publication(w, p);
  protocol::write_publication(w, p);
  w.end_array();
  EXPECT_EQ(out, "[{\"data\":{},\"offset\":3},{\"data\":{},\"offset\":3}]");
}

TEST(Pushes, JoinLeave) {
  gyre_client_info info{};
  info.size = sizeof info;
  info.user = gs("42");
  info.client = gs("cc");
  EXPECT_EQ(
      protocol::join_push("chat", info, true),
      "{\"push\":{\"channel\":\"chat\",\"join\":{\"info\":{\"user\":\"42\",\"client\":\"cc\"}}}}");
  EXPECT_EQ(
      protocol::join_push("chat", info, false),
      "{\"push\":{\"channel\":\"chat\",\"leave\":{\"info\":{\"user\":\"42\",\"client\":\"cc\"}}}}");
  info.conn_info = gs("{\"n\":\"x\"}");
  info.chan_info = gs("{\"r\":1}");
  EXPECT_EQ(protocol::join_push("chat", info, true),
            "{\"push\":{\"channel\":\"chat\",\"join\":{\"info\":{\"user\":\"42\",\"client\":\"cc\","
            "\"conn_info\":{\"n\":\"x\"},\"chan_info\":{\"r\":1}}}}}");
}

TEST(Pushes, Unsubscribe) {
  EXPECT_EQ(protocol::unsubscribe_push("priv", unsubscribes::kInsufficientState),
            "{\"push\":{\"channel\":\"priv\",\"unsubscribe\":{\"code\":2500,\"reason\":"
            "\"insufficient state\"}}}");
  EXPECT_EQ(protocol::unsubscribe_push("a", unsubscribes::kServer),
            "{\"push\":{\"channel\":\"a\",\"unsubscribe\":{\"code\":2000,\"reason\":\"server "
            "unsubscribe\"}}}");
  EXPECT_EQ(protocol::unsubscribe_push("a", Disconnect{2501, "subscription expired"}),
            "{\"push\":{\"channel\":\"a\",\"unsubscribe\":{\"code\":2501,\"reason\":\"subscription "
            "expired\"}}}");
}

TEST(Pushes, Message) {
  EXPECT_EQ(protocol::message_push("{\"note\":1}"),
            "{\"push\":{\"message\":{\"data\":{\"note\":1}}}}");
  EXPECT_EQ(protocol::message_push("[1,\n2]"), "{\"push\":{\"message\":{\"data\":[1,2]}}}");
  EXPECT_EQ(protocol::message_push("\"s\""), "{\"push\":{\"message\":{\"data\":\"s\"}}}");
}

TEST(Pushes, Disconnect) {
  EXPECT_EQ(protocol::disconnect_push(disconnects::kForceNoReconnect),
            "{\"push\":{\"disconnect\":{\"code\":3503,\"reason\":\"force disconnect\"}}}");
  EXPECT_EQ(protocol::disconnect_push(disconnects::kShutdown),
            "{\"push\":{\"disconnect\":{\"code\":3001,\"reason\":\"shutdown\"}}}");
  EXPECT_EQ(protocol::disconnect_push(Disconnect{4000, "custom \"r\""}),
            "{\"push\":{\"disconnect\":{\"code\":4000,\"reason\":\"custom \\\"r\\\"\"}}}");
}

TEST(Pushes, AllOutputsAreValidSingleLineJson) {
  gyre_client_info info{};
  info.size = sizeof info;
  info.user = gs("u");
  info.client = gs("c");
  info.conn_info = gs("{\n\"x\":1\n}");
  auto p = make_pub("{\n\"y\":2\n}", 1);
  p.info = &info;
  for (const std::string &s :
       {protocol::pub_push("c", p), protocol::join_push("c", info, true),
        protocol::message_push("{\n}"), protocol::disconnect_push(disconnects::kSlow),
        protocol::unsubscribe_push("c", unsubscribes::kExpired),
        protocol::error_reply(1, errors::kExpired),
        protocol::result_reply(1, Method::History,
                               "{\"publications\":[\n],\"epoch\":\"e\",\"offset\":0}")}) {
    EXPECT_TRUE(gyre::json::is_valid(s)) << s;
    EXPECT_EQ(s.find('\n'), std::string::npos) << s;
  }
}

// --- codes (client-protocol spec §5) ------------------------------------------

TEST(Codes, ErrorCodesAndMessages) {
  struct Case {
    Error e;
    uint32_t code;
    const char *msg;
    bool temporary;
  } cases[] = {
      {errors::kInternal, 100, "internal server error", true},
      {errors::kUnauthorized, 101, "unauthorized", false},
      {errors::kUnknownChannel, 102, "unknown channel", false},
      {errors::kPermissionDenied, 103, "permission denied", false},
      {errors::kMethodNotFound, 104, "method not found", false},
      {errors::kAlreadySubscribed, 105, "already subscribed", false},
      {errors::kLimitExceeded, 106, "limit exceeded", false},
      {errors::kBadRequest, 107, "bad request", false},
      {errors::kNotAvailable, 108, "not available", false},
      {errors::kTokenExpired, 109, "token expired", false},
      {errors::kExpired, 110, "expired", false},
      {errors::kTooManyRequests, 111, "too many requests", true},
      {errors::kUnrecoverablePosition, 112, "unrecoverable position", false},
      {errors::kApiNotFound, 104, "not found", false},
  };
  for (const auto &c : cases) {
    EXPECT_EQ(c.e.code, c.code);
    EXPECT_EQ(c.e.message, c.msg);
    EXPECT_EQ(c.e.temporary, c.temporary) << c.code;
  }
}

TEST(Codes, DisconnectAndUnsubscribeCodes) {
  struct Case {
    Disconnect d;
    uint32_t code;
    const char *reason;
  } cases[] = {
      {disconnects::kConnectionClosed, 3000, "connection closed"},
      {disconnects::kShutdown, 3001, "shutdown"},
      {disconnects::kInternal, 3004, "internal server error"},
      {disconnects::kExpired, 3005, "connection expired"},
      {disconnects::kSubExpired, 3006, "subscription expired"},
      {disconnects::kSlow, 3008, "slow"},
      {disconnects::kWriteError, 3009, "write error"},
      {disconnects::kInsufficientState, 3010, "insufficient state"},
      {disconnects::kForceReconnect, 3011, "force reconnect"},
      {disconnects::kNoPong, 3012, "no pong"},
      {disconnects::kTooManyRequests, 3013, "too many requests"},
      {disconnects::kInvalidToken, 3500, "invalid token"},
      {disconnects::kBadRequest, 3501, "bad request"},
      {disconnects::kStale, 3502, "stale"},
      {disconnects::kForceNoReconnect, 3503, "force disconnect"},
      {disconnects::kConnectionLimit, 3504, "connection limit"},
      {disconnects::kChannelLimit, 3505, "channel limit"},
      {disconnects::kInappropriateProtocol, 3506, "inappropriate protocol"},
      {disconnects::kPermissionDenied, 3507, "permission denied"},
      {disconnects::kNotAvailable, 3508, "not available"},
      {disconnects::kTooManyErrors, 3509, "too many errors"},
      {unsubscribes::kServer, 2000, "server unsubscribe"},
      {unsubscribes::kInsufficientState, 2500, "insufficient state"},
      {unsubscribes::kExpired, 2501, "subscription expired"},
  };
  for (const auto &c : cases) {
    EXPECT_EQ(c.d.code, c.code);
    EXPECT_EQ(c.d.reason, c.reason);
  }
}

}  // namespace
