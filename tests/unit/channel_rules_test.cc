// ChannelRules: namespace resolution, name checks, user-limited channels and
// publication data formats (server-api spec §2.1-§2.4).
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <string>

#include "channel_options.h"

namespace {

using gyre::ChannelOptions;
using gyre::ChannelRules;
using gyre::Namespace;

ChannelOptions with_regex(const std::string &re) {
  ChannelOptions o;
  o.channel_regex = re;
  o.compiled_regex = std::make_shared<std::regex>(re);
  return o;
}

class ChannelRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ChannelOptions chat;
    chat.presence = true;
    ChannelOptions news;
    news.history_size = 10;
    ChannelOptions a;
    a.join_leave = true;
    r_.namespaces = {Namespace{"chat", chat, {}}, Namespace{"news", news, {}},
                     Namespace{"a", a, {}}, Namespace{"b", ChannelOptions{}, {}}};
  }
  const ChannelOptions *ns(size_t i) const { return &r_.namespaces[i].options; }
  ChannelRules r_;
};

TEST_F(ChannelRulesTest, Defaults) {
  ChannelRules d;
  EXPECT_EQ(d.max_length, 255);
  EXPECT_EQ(d.private_prefix, "$");
  EXPECT_EQ(d.namespace_boundary, ":");
  EXPECT_EQ(d.user_boundary, "#");
  EXPECT_EQ(d.user_separator, ",");
  EXPECT_EQ(d.history_meta_ttl_ms, 720LL * 3600 * 1000);
  EXPECT_EQ(d.publication_data_format, "");
  EXPECT_TRUE(d.namespaces.empty());
}

TEST_F(ChannelRulesTest, ResolveNamespace) {
  EXPECT_EQ(r_.resolve("chat:index"), ns(0));
  EXPECT_EQ(r_.resolve("news:1"), ns(1));
  EXPECT_EQ(r_.resolve("chat:"), ns(0));
  EXPECT_TRUE(r_.resolve("chat:index")->presence);
  EXPECT_EQ(r_.namespace_of("chat:index"), "chat");
}

TEST_F(ChannelRulesTest, ResolveStripsPrivatePrefix) {
  EXPECT_EQ(r_.resolve("$chat:x"), ns(0));
  EXPECT_EQ(r_.namespace_of("$chat:x"), "chat");
  EXPECT_EQ(r_.resolve("$plain"), &r_.without_namespace);
  // Only one prefix is stripped.
  EXPECT_EQ(r_.resolve("$$chat:x"), nullptr);
  EXPECT_EQ(r_.namespace_of("$$chat:x"), "$chat");
  // A '$' elsewhere is not a prefix.
  EXPECT_EQ(r_.resolve("c$hat:x"), nullptr);
}

TEST_F(ChannelRulesTest, ResolveSplitsAtFirstBoundary) {
  EXPECT_EQ(r_.resolve("a:b:c"), ns(2));
  EXPECT_EQ(r_.resolve("b:a:c"), ns(3));
  EXPECT_EQ(r_.namespace_of("a:b:c"), "a");
}

TEST_F(ChannelRulesTest, ResolveUnknownNamespace) {
  EXPECT_EQ(r_.resolve("unknown:x"), nullptr);
  EXPECT_EQ(r_.resolve("Chat:x"), nullptr);  // names are case-sensitive
  EXPECT_EQ(r_.resolve("$unknown:x"), nullptr);
  EXPECT_EQ(r_.resolve("chatx:y"), nullptr);
}

TEST_F(ChannelRulesTest, ResolveWithoutBoundary) {
  EXPECT_EQ(r_.resolve("index"), &r_.without_namespace);
  EXPECT_EQ(r_.resolve("chat"), &r_.without_namespace);
  EXPECT_EQ(r_.resolve("news#42"), &r_.without_namespace);
  EXPECT_EQ(r_.resolve(""), &r_.without_namespace);
  EXPECT_EQ(r_.namespace_of("index"), "");
}

// Centrifugo v6 internal/config/container.go: namespaceName(":x") returns
// nsName "" and channelOpts("") returns channel.without_namespace.
TEST_F(ChannelRulesTest, ResolveEmptyNamespacePartUsesWithoutNamespace) {
  EXPECT_EQ(r_.resolve(":x"), &r_.without_namespace);
  EXPECT_EQ(r_.resolve("$:x"), &r_.without_namespace);
}

TEST_F(ChannelRulesTest, ResolveCustomAndEmptyBoundaries) {
  r_.namespace_boundary = "::";
  EXPECT_EQ(r_.resolve("chat::x"), ns(0));
  EXPECT_EQ(r_.resolve("chat:x"), &r_.without_namespace);
  r_.namespace_boundary = "";
  EXPECT_EQ(r_.resolve("chat:x"), &r_.without_namespace);
  EXPECT_EQ(r_.namespace_of("chat:x"), "");
  r_.namespace_boundary = ":";
  r_.private_prefix = "";
  EXPECT_EQ(r_.resolve("$chat:x"), nullptr);
  EXPECT_FALSE(r_.is_private("$chat:x"));
  r_.private_prefix = "private-";
  EXPECT_EQ(r_.resolve("private-chat:x"), ns(0));
  EXPECT_TRUE(r_.is_private("private-chat:x"));
}

TEST_F(ChannelRulesTest, IsPrivate) {
  EXPECT_TRUE(r_.is_private("$x"));
  EXPECT_TRUE(r_.is_private("$chat:x"));
  EXPECT_FALSE(r_.is_private("chat:$x"));
  EXPECT_FALSE(r_.is_private("x"));
  EXPECT_FALSE(r_.is_private(""));
}

// --- name_valid -------------------------------------------------------------

TEST_F(ChannelRulesTest, NameValidAsciiRule) {
  ChannelOptions o;
  EXPECT_TRUE(r_.name_valid("news", o));
  EXPECT_TRUE(r_.name_valid("chat:a b~!@#$%^&*()\x7f", o));
  EXPECT_TRUE(r_.name_valid("", o));
  EXPECT_FALSE(r_.name_valid("caf\xC3\xA9", o));
  EXPECT_FALSE(r_.name_valid("chat:\xE2\x82\xAC", o));
  EXPECT_FALSE(r_.name_valid("\x80", o));
  // Non-ASCII in the namespace part fails too (the whole name is checked).
  EXPECT_FALSE(r_.name_valid("\xC3\xA9:x", o));
}

TEST_F(ChannelRulesTest, NameValidRegexAppliesAfterNamespace) {
  ChannelOptions o = with_regex("^[a-z]+$");
  EXPECT_TRUE(r_.name_valid("chat:abc", o));
  EXPECT_TRUE(r_.name_valid("$chat:abc", o));
  EXPECT_FALSE(r_.name_valid("chat:abc1", o));
  EXPECT_FALSE(r_.name_valid("chat:", o));
  // Split at the first boundary: the tail keeps later ':'.
  EXPECT_FALSE(r_.name_valid("chat:a:b", o));
  ChannelOptions o2 = with_regex("^a:b$");
  EXPECT_TRUE(r_.name_valid("chat:a:b", o2));
  // Without a boundary the whole name is the tail.
  EXPECT_TRUE(r_.name_valid("abc", o));
  EXPECT_FALSE(r_.name_valid("ab1", o));
  // The namespace part itself is not matched.
  ChannelOptions digits = with_regex("^[0-9]+$");
  EXPECT_TRUE(r_.name_valid("chat:123", digits));
  EXPECT_FALSE(r_.name_valid("chat:12a", digits));
}

TEST_F(ChannelRulesTest, NameValidRegexReplacesAsciiCheck) {
  ChannelOptions any = with_regex("^.+$");
  EXPECT_TRUE(r_.name_valid("chat:caf\xC3\xA9", any));
  EXPECT_TRUE(r_.name_valid("\xC3\xA9:x", any));  // namespace part not checked
}

// Go's regexp.MatchString reports a match anywhere in the text (it is not
// anchored); Centrifugo calls regex.MatchString(rest).
TEST_F(ChannelRulesTest, NameValidRegexIsUnanchoredLikeGo) {
  ChannelOptions o = with_regex("[0-9]+");
  EXPECT_TRUE(r_.name_valid("chat:user42", o));
  EXPECT_TRUE(r_.name_valid("chat:42", o));
  EXPECT_FALSE(r_.name_valid("chat:abc", o));
}

// Centrifugo: a channel without a namespace boundary is matched whole
// (`return "", ch` in namespaceName: the private prefix is kept; spec
// §2.1 "tail := ch").
TEST_F(ChannelRulesTest, NameValidRegexWithoutNamespaceKeepsPrivatePrefix) {
  ChannelOptions o = with_regex("^[a-z]+$");
  EXPECT_FALSE(r_.name_valid("$abc", o));
  ChannelOptions p = with_regex("^\\$[a-z]+$");
  EXPECT_TRUE(r_.name_valid("$abc", p));
}

// --- user-limited channels ----------------------------------------------------

TEST_F(ChannelRulesTest, UserLimited) {
  EXPECT_TRUE(r_.is_user_limited("news#42"));
  EXPECT_TRUE(r_.is_user_limited("#42"));
  EXPECT_TRUE(r_.is_user_limited("news#"));
  EXPECT_FALSE(r_.is_user_limited("news"));
  r_.user_boundary = "";
  EXPECT_FALSE(r_.is_user_limited("news#42"));
}

TEST_F(ChannelRulesTest, UserAllowed) {
  EXPECT_TRUE(r_.user_allowed("news#42,43", "42"));
  EXPECT_TRUE(r_.user_allowed("news#42,43", "43"));
  EXPECT_FALSE(r_.user_allowed("news#42,43", "4"));
  EXPECT_FALSE(r_.user_allowed("news#42,43", "42,43"));
  EXPECT_FALSE(r_.user_allowed("news#42,43", "44"));
  EXPECT_TRUE(r_.user_allowed("dialog#1,2,3", "2"));
  EXPECT_TRUE(r_.user_allowed("#42", "42"));
  EXPECT_TRUE(r_.user_allowed("chat:#42", "42"));
  EXPECT_FALSE(r_.user_allowed("news", "42"));
  // The list is what follows the last '#'.
  EXPECT_TRUE(r_.user_allowed("a#1#2,3", "3"));
  EXPECT_FALSE(r_.user_allowed("a#1#2,3", "1"));
  EXPECT_TRUE(r_.user_allowed("a#1#2,3", "2"));
}

TEST_F(ChannelRulesTest, UserAllowedCustomSeparators) {
  r_.user_boundary = "@@";
  r_.user_separator = ";";
  EXPECT_TRUE(r_.user_allowed("news@@a;b", "b"));
  EXPECT_FALSE(r_.user_allowed("news@@a,b", "b"));
  EXPECT_TRUE(r_.user_allowed("news@@a,b", "a,b"));
  r_.user_separator = "";
  EXPECT_TRUE(r_.user_allowed("news@@a;b", "a;b"));
  EXPECT_FALSE(r_.user_allowed("news@@a;b", "a"));
}

// --- meta TTL and data formats -------------------------------------------------

TEST_F(ChannelRulesTest, MetaTtl) {
  ChannelOptions o;
  EXPECT_EQ(r_.meta_ttl_ms(o), 720LL * 3600 * 1000);
  o.history_meta_ttl_ms = 5000;
  EXPECT_EQ(r_.meta_ttl_ms(o), 5000);
  r_.history_meta_ttl_ms = 9000;
  o.history_meta_ttl_ms = 0;
  EXPECT_EQ(r_.meta_ttl_ms(o), 9000);
}

TEST_F(ChannelRulesTest, HistoryEnabled) {
  ChannelOptions o;
  EXPECT_FALSE(o.history_enabled());
  o.history_size = 10;
  EXPECT_FALSE(o.history_enabled());
  o.history_ttl_ms = 1000;
  EXPECT_TRUE(o.history_enabled());
  o.history_size = 0;
  EXPECT_FALSE(o.history_enabled());
}

TEST_F(ChannelRulesTest, DataFormatDefault) {
  ChannelOptions o;
  EXPECT_FALSE(r_.data_format_ok(o, ""));
  EXPECT_TRUE(r_.data_format_ok(o, "{}"));
  EXPECT_TRUE(r_.data_format_ok(o, "1"));
  EXPECT_TRUE(r_.data_format_ok(o, "not json"));  // no format check
}

TEST_F(ChannelRulesTest, DataFormatJson) {
  ChannelOptions o;
  o.publication_data_format = "json";
  EXPECT_TRUE(r_.data_format_ok(o, "{\"a\":1}"));
  EXPECT_TRUE(r_.data_format_ok(o, "[1]"));
  EXPECT_TRUE(r_.data_format_ok(o, "1"));
  EXPECT_TRUE(r_.data_format_ok(o, "\"s\""));
  EXPECT_TRUE(r_.data_format_ok(o, "null"));
  EXPECT_FALSE(r_.data_format_ok(o, ""));
  EXPECT_FALSE(r_.data_format_ok(o, "not json"));
  EXPECT_FALSE(r_.data_format_ok(o, "{\"a\":1"));
  EXPECT_FALSE(r_.data_format_ok(o, "{\"a\":1}x"));
}

TEST_F(ChannelRulesTest, DataFormatJsonObject) {
  ChannelOptions o;
  o.publication_data_format = "json_object";
  EXPECT_TRUE(r_.data_format_ok(o, "{}"));
  EXPECT_TRUE(r_.data_format_ok(o, " {\"a\":[1]} "));
  EXPECT_FALSE(r_.data_format_ok(o, "[]"));
  EXPECT_FALSE(r_.data_format_ok(o, "1"));
  EXPECT_FALSE(r_.data_format_ok(o, "\"{}\""));
  EXPECT_FALSE(r_.data_format_ok(o, "null"));
  EXPECT_FALSE(r_.data_format_ok(o, "{"));
  EXPECT_FALSE(r_.data_format_ok(o, ""));
}

TEST_F(ChannelRulesTest, DataFormatBinary) {
  ChannelOptions o;
  o.publication_data_format = "binary";
  EXPECT_TRUE(r_.data_format_ok(o, std::string("\x00\xFF\x80", 3)));
  EXPECT_TRUE(r_.data_format_ok(o, "not json"));
  EXPECT_TRUE(r_.data_format_ok(o, "{}"));
}

TEST_F(ChannelRulesTest, DataFormatNamespaceWinsOverGlobal) {
  ChannelOptions o;
  r_.publication_data_format = "json_object";
  EXPECT_FALSE(r_.data_format_ok(o, "[1]"));  // global applies
  EXPECT_TRUE(r_.data_format_ok(o, "{}"));
  o.publication_data_format = "json";
  EXPECT_TRUE(r_.data_format_ok(o, "[1]"));  // namespace wins
  EXPECT_FALSE(r_.data_format_ok(o, "x"));
  r_.publication_data_format = "binary";
  EXPECT_FALSE(r_.data_format_ok(o, "x"));
  o.publication_data_format = "";
  EXPECT_TRUE(r_.data_format_ok(o, "x"));
}

}  // namespace
