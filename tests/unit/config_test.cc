// Configuration: Go-style durations, the JSON config file, GYRE_* env vars
// and flags, and startup validation (server-api spec §2.3, §3).
#include "config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace {

using gyre::Config;
using gyre::ConfigFlags;
using gyre::ConfigResult;

int64_t dur(std::string_view s, bool *ok = nullptr) {
  int64_t v = 123456789;
  bool r = gyre::parse_duration_ms(s, v);
  if (ok) *ok = r;
  return r ? v : 123456789;
}

bool dur_ok(std::string_view s) {
  int64_t v = 0;
  return gyre::parse_duration_ms(s, v);
}

// --- durations ----------------------------------------------------------------

TEST(Duration, Units) {
  EXPECT_EQ(dur("500ms"), 500);
  EXPECT_EQ(dur("25s"), 25000);
  EXPECT_EQ(dur("2m"), 120000);
  EXPECT_EQ(dur("720h"), 720LL * 3600 * 1000);
  EXPECT_EQ(dur("1h30m"), 5400000);
  EXPECT_EQ(dur("1h30m15s250ms"), 5415250);
  EXPECT_EQ(dur("1.5s"), 1500);
  EXPECT_EQ(dur("0.5h"), 1800000);
  EXPECT_EQ(dur("2000000ns"), 2);
  EXPECT_EQ(dur("3000us"), 3);
  EXPECT_EQ(dur("0s"), 0);
  EXPECT_EQ(dur("+5s"), 5000);
}

// Go accepts both micro signs: U+00B5 and U+03BC.
TEST(Duration, MicroSignUnit) {
  EXPECT_EQ(dur("5000\xC2\xB5s"), 5);
  EXPECT_EQ(dur("5000\xCE\xBCs"), 5);
}

TEST(Duration, BareNumberIsNanoseconds) {
  EXPECT_EQ(dur("0"), 0);
  EXPECT_EQ(dur("1000000"), 1);
  EXPECT_EQ(dur("25000000000"), 25000);
  EXPECT_EQ(dur("999999"), 0);
}

TEST(Duration, Negative) {
  EXPECT_EQ(dur("-1"), -1);  // the "disabled" value
  EXPECT_EQ(dur("-1s"), -1000);
  EXPECT_EQ(dur("-1h30m"), -5400000);
  EXPECT_EQ(dur("-2000000"), -2);
}

TEST(Duration, Garbage) {
  for (const char *bad : {"", "-", "+", "abc", "s", "5x", "5 s", " 5s", "5s ", "5S", "5sec", "1d",
                          "1h-30m", "ms", "5s5", "1,5s"}) {
    bool ok = true;
    int64_t v = 77;
    ok = gyre::parse_duration_ms(bad, v);
    EXPECT_FALSE(ok) << "'" << bad << "' -> " << v;
  }
}

// Go's time.ParseDuration rejects malformed numbers ("missing unit" /
// "invalid duration").
TEST(Duration, MalformedNumbers) {
  EXPECT_FALSE(dur_ok("1.2.3s"));
  EXPECT_FALSE(dur_ok(".s"));
  EXPECT_FALSE(dur_ok("..5s"));
}

// --- config file ----------------------------------------------------------------

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gyre_config_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const std::string &p : gyre::known_option_paths()) {
      std::string n = "GYRE_";
      for (char c : p)
        n += c == '.' ? '_' : static_cast<char>(toupper(static_cast<unsigned char>(c)));
      unsetenv(n.c_str());
    }
  }
  void TearDown() override {
    for (const auto &f : files_) std::remove(f.c_str());
    rmdir(dir_.c_str());
    for (const auto &e : env_) unsetenv(e.c_str());
  }
  std::string write(const std::string &text, const std::string &name = "config.json") {
    std::string path = dir_ + "/" + name;
    std::ofstream f(path, std::ios::binary);
    f << text;
    files_.push_back(path);
    return path;
  }
  ConfigResult load(const std::string &text) {
    cfg_ = Config{};
    return gyre::load_config_file(write(text), cfg_);
  }
  void set_env(const std::string &name, const std::string &value) {
    setenv(name.c_str(), value.c_str(), 1);
    env_.push_back(name);
  }
  static bool has_warning(const ConfigResult &r, const std::string &needle) {
    return std::any_of(r.warnings.begin(), r.warnings.end(),
                       [&](const std::string &w) { return w.find(needle) != std::string::npos; });
  }
  std::string dir_;
  std::vector<std::string> files_;
  std::vector<std::string> env_;
  Config cfg_;
};

#define EXPECT_ERROR_HAS(res, needle)                                            \
  do {                                                                           \
    const ConfigResult &res_once = (res);                                        \
    EXPECT_FALSE(res_once.ok);                                                   \
    EXPECT_NE(res_once.error.find(needle), std::string::npos) << res_once.error; \
  } while (0)

TEST_F(ConfigFileTest, EmptyObjectGivesDefaults) {
  auto r = load("{}");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(cfg_.address, "");
  EXPECT_EQ(cfg_.port, 8000);
  EXPECT_EQ(cfg_.log_level, gyre::LogLevel::Info);
  EXPECT_EQ(cfg_.api_key, "");
  EXPECT_FALSE(cfg_.api_insecure);
  EXPECT_EQ(cfg_.api_prefix, "/api");
  EXPECT_TRUE(cfg_.allowed_origins.empty());
  EXPECT_FALSE(cfg_.client_insecure);
  EXPECT_EQ(cfg_.ping_interval_ms, 25000);
  EXPECT_EQ(cfg_.pong_timeout_ms, 8000);
  EXPECT_EQ(cfg_.stale_close_delay_ms, 10000);
  EXPECT_EQ(cfg_.expired_close_delay_ms, 25000);
  EXPECT_EQ(cfg_.channel_limit, 128);
  EXPECT_EQ(cfg_.queue_max_size, 1048576);
  EXPECT_EQ(cfg_.user_connection_limit, 0);
  EXPECT_EQ(cfg_.presence_update_interval_ms, 27000);
  EXPECT_EQ(cfg_.history_max_publication_limit, 300);
  EXPECT_EQ(cfg_.recovery_max_publication_limit, 300);
  EXPECT_EQ(cfg_.channel.max_length, 255);
  EXPECT_EQ(cfg_.channel.private_prefix, "$");
  EXPECT_EQ(cfg_.channel.history_meta_ttl_ms, 720LL * 3600 * 1000);
  EXPECT_TRUE(cfg_.channel.namespaces.empty());
  EXPECT_EQ(cfg_.ws_prefix, "/connection/websocket");
  EXPECT_EQ(cfg_.ws_message_size_limit, 65536);
  EXPECT_EQ(cfg_.ws_write_timeout_ms, 1000);
  EXPECT_EQ(cfg_.engine_type, "memory");
  EXPECT_EQ(cfg_.presence_ttl_ms, 60000);
  EXPECT_EQ(cfg_.shutdown_timeout_ms, 30000);
  EXPECT_TRUE(cfg_.plugins.empty());
}

TEST_F(ConfigFileTest, LoadResetsPreviousValues) {
  cfg_.port = 1;
  cfg_.api_key = "stale";
  auto r = gyre::load_config_file(write("{}"), cfg_);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(cfg_.port, 8000);
  EXPECT_EQ(cfg_.api_key, "");
}

TEST_F(ConfigFileTest, NestedKeys) {
  auto r = load(R"({
    "http_server": {"address": "127.0.0.1", "port": 9000},
    "log": {"level": "debug"},
    "http_api": {"key": "k", "insecure": true, "error_mode": "transport"},
    "client": {"allowed_origins": ["https://*.example.com", "http://localhost:3000"],
               "insecure": true, "ping_interval": "10s", "pong_timeout": "4s",
               "stale_close_delay": 5000000000, "channel_limit": 7,
               "allow_anonymous_connect_without_token": true},
    "channel": {"max_length": 100, "history_meta_ttl": "1h",
                "without_namespace": {"presence": true, "allow_subscribe_for_client": true}},
    "websocket": {"message_size_limit": 1024, "write_timeout": "2s"},
    "engine": {"type": "redis", "redis": {"presence_ttl": "30s"}},
    "node": {"name": "n1"},
    "shutdown": {"timeout": "1m"}
  })");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];
  EXPECT_EQ(cfg_.address, "127.0.0.1");
  EXPECT_EQ(cfg_.port, 9000);
  EXPECT_EQ(cfg_.log_level, gyre::LogLevel::Debug);
  EXPECT_EQ(cfg_.api_key, "k");
  EXPECT_TRUE(cfg_.api_insecure);
  EXPECT_EQ(cfg_.api_error_mode, "transport");
  EXPECT_EQ(cfg_.allowed_origins,
            (std::vector<std::string>{"https://*.example.com", "http://localhost:3000"}));
  EXPECT_TRUE(cfg_.client_insecure);
  EXPECT_TRUE(cfg_.allow_anonymous_connect_without_token);
  EXPECT_EQ(cfg_.ping_interval_ms, 10000);
  EXPECT_EQ(cfg_.pong_timeout_ms, 4000);
  EXPECT_EQ(cfg_.stale_close_delay_ms, 5000);  // bare number = ns
  EXPECT_EQ(cfg_.channel_limit, 7);
  EXPECT_EQ(cfg_.channel.max_length, 100);
  EXPECT_EQ(cfg_.channel.history_meta_ttl_ms, 3600000);
  EXPECT_TRUE(cfg_.channel.without_namespace.presence);
  EXPECT_TRUE(cfg_.channel.without_namespace.allow_subscribe_for_client);
  EXPECT_FALSE(cfg_.channel.without_namespace.join_leave);
  EXPECT_EQ(cfg_.ws_message_size_limit, 1024);
  EXPECT_EQ(cfg_.ws_write_timeout_ms, 2000);
  EXPECT_EQ(cfg_.engine_type, "redis");
  EXPECT_EQ(cfg_.presence_ttl_ms, 30000);
  EXPECT_EQ(cfg_.node_name, "n1");
  EXPECT_EQ(cfg_.shutdown_timeout_ms, 60000);
}

TEST_F(ConfigFileTest, Namespaces) {
  auto r = load(R"({"channel": {"namespaces": [
    {"name": "chat", "presence": true, "join_leave": true, "history_size": 10,
     "history_ttl": "300s", "force_recovery": true, "allow_history_for_subscriber": true,
     "channel_regex": "^[a-z]+$", "publication_data_format": "json_object"},
    {"name": "news.v2-x_y", "allow_user_limited_channels": true, "history_size": 5,
     "history_ttl": "60s", "history_meta_ttl": "120s", "force_recovery_mode": "cache"}
  ]}})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty());
  ASSERT_EQ(cfg_.channel.namespaces.size(), 2u);
  const auto &chat = cfg_.channel.namespaces[0];
  EXPECT_EQ(chat.name, "chat");
  EXPECT_TRUE(chat.options.presence);
  EXPECT_TRUE(chat.options.join_leave);
  EXPECT_EQ(chat.options.history_size, 10);
  EXPECT_EQ(chat.options.history_ttl_ms, 300000);
  EXPECT_TRUE(chat.options.force_recovery);
  EXPECT_TRUE(chat.options.allow_history_for_subscriber);
  EXPECT_EQ(chat.options.channel_regex, "^[a-z]+$");
  ASSERT_NE(chat.options.compiled_regex, nullptr);
  EXPECT_TRUE(std::regex_match("abc", *chat.options.compiled_regex));
  EXPECT_EQ(chat.options.publication_data_format, "json_object");
  const auto &news = cfg_.channel.namespaces[1];
  EXPECT_EQ(news.name, "news.v2-x_y");
  EXPECT_TRUE(news.options.allow_user_limited_channels);
  EXPECT_EQ(news.options.history_meta_ttl_ms, 120000);
  EXPECT_EQ(news.options.force_recovery_mode, "cache");
  EXPECT_EQ(news.options.compiled_regex, nullptr);
  EXPECT_EQ(cfg_.channel.resolve("chat:x"), &chat.options);
}

TEST_F(ConfigFileTest, Plugins) {
  auto r = load(R"({"plugins": {"dir": "/opt/p", "load": [
    {"name": "engine-redis", "config": {"address": "redis://x:6379", "n": 12345678901234567890}},
    {"name": "auth", "path": "/x/auth.so"}]}})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(cfg_.plugins_dir, "/opt/p");
  ASSERT_EQ(cfg_.plugins.size(), 2u);
  EXPECT_EQ(cfg_.plugins[0].name, "engine-redis");
  EXPECT_EQ(cfg_.plugins[0].path, "");
  EXPECT_EQ(cfg_.plugins[0].config_json,
            "{\"address\": \"redis://x:6379\", \"n\": 12345678901234567890}");
  EXPECT_EQ(cfg_.plugins[1].name, "auth");
  EXPECT_EQ(cfg_.plugins[1].path, "/x/auth.so");
  EXPECT_EQ(cfg_.plugins[1].config_json, "{}");

  EXPECT_ERROR_HAS(load(R"({"plugins": {"load": [{"path": "x"}]}})"), "plugins.load[0].name");
  EXPECT_ERROR_HAS(load(R"({"plugins": {"load": [{"name": "a"}, {"name": "a"}]}})"),
                   "plugin \"a\" listed twice");
  EXPECT_ERROR_HAS(load(R"({"plugins": {"load": [{"name": "a", "config": []}]}})"),
                   "plugins.load[0].config");
}

TEST_F(ConfigFileTest, UnknownKeysAreWarnings) {
  auto r = load(R"({"foo": 1, "client": {"bar": true, "ping_interval": "20s"},
    "http_server": {"tls": {"enabled": false}},
    "channel": {"without_namespace": {"qux": 1},
                "namespaces": [{"name": "chat", "baz": 1}]},
    "plugins": {"zap": 1}})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(cfg_.ping_interval_ms, 20000);
  EXPECT_TRUE(has_warning(r, "unknown key foo"));
  EXPECT_TRUE(has_warning(r, "unknown key client.bar"));
  EXPECT_TRUE(has_warning(r, "unknown key http_server.tls"));
  EXPECT_TRUE(has_warning(r, "unknown key channel.without_namespace.qux"));
  EXPECT_TRUE(has_warning(r, "unknown key channel.namespaces[0].baz"));
  EXPECT_TRUE(has_warning(r, "unknown key plugins.zap"));
  EXPECT_EQ(r.warnings.size(), 6u);
}

TEST_F(ConfigFileTest, UnsupportedChannelOptionsWarnOnlyWhenSet) {
  auto r = load(R"({"channel": {"namespaces": [{"name": "chat",
    "delta_publish": false, "subscribe_proxy_name": "", "allow_tags_filter": true}]}})");
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("channel.namespaces[0].allow_tags_filter"), std::string::npos)
      << r.warnings[0];
}

TEST_F(ConfigFileTest, InvalidValuesNameTheKey) {
  EXPECT_ERROR_HAS(load(R"({"client": {"ping_interval": "abc"}})"), "client.ping_interval");
  EXPECT_ERROR_HAS(load(R"({"client": {"ping_interval": true}})"), "client.ping_interval");
  EXPECT_ERROR_HAS(load(R"({"http_server": {"port": "80"}})"), "http_server.port");
  EXPECT_ERROR_HAS(load(R"({"http_server": {"port": 70000}})"), "http_server.port");
  EXPECT_ERROR_HAS(load(R"({"http_server": {"port": 1.5}})"), "http_server.port");
  EXPECT_ERROR_HAS(load(R"({"http_api": {"insecure": "yes"}})"), "http_api.insecure");
  EXPECT_ERROR_HAS(load(R"({"http_api": {"key": 5}})"), "http_api.key");
  EXPECT_ERROR_HAS(load(R"({"http_api": {"error_mode": "x"}})"), "http_api.error_mode");
  EXPECT_ERROR_HAS(load(R"({"log": {"level": "loud"}})"), "log.level");
  EXPECT_ERROR_HAS(load(R"({"client": {"allowed_origins": "*"}})"), "client.allowed_origins");
  EXPECT_ERROR_HAS(load(R"({"client": {"allowed_origins": ["a", 1]}})"), "client.allowed_origins");
  EXPECT_ERROR_HAS(load(R"({"client": {"queue_max_size": 0}})"), "client.queue_max_size");
  EXPECT_ERROR_HAS(load(R"({"client": {"channel_limit": -1}})"), "client.channel_limit");
  EXPECT_ERROR_HAS(load(R"({"engine": {"type": "../nats"}})"), "engine.type");
  EXPECT_ERROR_HAS(load(R"({"engine": {"type": "Redis"}})"), "engine.type");
  EXPECT_ERROR_HAS(load(R"({"node": {"workers": 0}})"), "node.workers");
  EXPECT_ERROR_HAS(load(R"({"node": {"workers": 65}})"), "node.workers");
  EXPECT_ERROR_HAS(load(R"({"websocket": {"handler_prefix": "ws"}})"), "websocket.handler_prefix");
  EXPECT_ERROR_HAS(load(R"({"channel": {"history_meta_ttl": "1500ms"}})"),
                   "channel.history_meta_ttl");
  EXPECT_ERROR_HAS(load(R"({"channel": {"publication_data_format": "xml"}})"),
                   "channel.publication_data_format");
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": [1]}})"), "channel.namespaces[0]");
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": [{"presence": true}]}})"),
                   "channel.namespaces[0].name");
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": [{"name": "ok", "presence": 1}]}})"),
                   "channel.namespaces[0].presence");
  EXPECT_ERROR_HAS(load(R"({"channel": {"without_namespace": {"history_size": -1}}})"),
                   "channel.without_namespace.history_size");
}

// Every invalid value names its key, including the special sections.
TEST_F(ConfigFileTest, NamespacesNotAnArrayNamesTheKey) {
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": {}}})"), "channel.namespaces");
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": "chat"}})"), "channel.namespaces");
  EXPECT_ERROR_HAS(load(R"({"channel": {"without_namespace": []}})"), "channel.without_namespace");
}

TEST_F(ConfigFileTest, HistoryValidation) {
  EXPECT_ERROR_HAS(load(R"({"channel": {"without_namespace": {"history_size": 10}}})"),
                   "history_size and history_ttl must be set together");
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": [{"name": "ch", "history_ttl": "10s"}]}})"),
                   "channel.namespaces[0]: history_size and history_ttl must be set together");
  EXPECT_ERROR_HAS(
      load(
          R"({"channel": {"namespaces": [{"name": "ch", "history_size": 1, "history_ttl": "1500ms"}]}})"),
      "channel.namespaces[0].history_ttl");
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": [{"name": "ch", "history_size": 1,
      "history_ttl": "100s", "history_meta_ttl": "50s"}]}})"),
                   "channel.namespaces[0].history_ttl");
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": [{"name": "ch", "force_recovery": true}]}})"),
                   "channel.namespaces[0].force_recovery");
  EXPECT_ERROR_HAS(load(R"({"channel": {"without_namespace": {"force_positioning": true}}})"),
                   "channel.without_namespace.force_positioning");
  EXPECT_ERROR_HAS(
      load(R"({"channel": {"namespaces": [{"name": "ch", "force_recovery_mode": "x"}]}})"),
      "channel.namespaces[0].force_recovery_mode");
  EXPECT_ERROR_HAS(
      load(R"({"channel": {"namespaces": [{"name": "ch", "publication_data_format": "x"}]}})"),
      "channel.namespaces[0].publication_data_format");
  auto ok = load(R"({"channel": {"without_namespace": {"history_size": 10, "history_ttl": "30s",
      "force_recovery": true, "force_positioning": true}}})");
  EXPECT_TRUE(ok.ok) << ok.error;
  EXPECT_TRUE(cfg_.channel.without_namespace.history_enabled());
}

TEST_F(ConfigFileTest, NamespaceNames) {
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": [{"name": "x"}]}})"),
                   "channel.namespaces[0].name");
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": [{"name": "a b"}]}})"),
                   "channel.namespaces[0].name");
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": [{"name": "ns:x"}]}})"),
                   "channel.namespaces[0].name");
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": [{"name": ""}]}})"),
                   "channel.namespaces[0].name");
  EXPECT_ERROR_HAS(
      load(R"({"channel": {"namespaces": [{"name": "ab"}, {"name": "cd"}, {"name": "ab"}]}})"),
      "duplicate namespace \"ab\"");
  EXPECT_ERROR_HAS(
      load(R"({"channel": {"namespaces": [{"name": "ab"}, {"name": "cd"}, {"name": "ab"}]}})"),
      "channel.namespaces[2].name");
  EXPECT_TRUE(load(R"({"channel": {"namespaces": [{"name": "ab"}, {"name": "a.b-c_9"}]}})").ok);
}

TEST_F(ConfigFileTest, PingPong) {
  EXPECT_ERROR_HAS(load(R"({"client": {"ping_interval": "10s", "pong_timeout": "10s"}})"),
                   "client.pong_timeout");
  EXPECT_ERROR_HAS(load(R"({"client": {"ping_interval": "5s"}})"), "client.pong_timeout");
  EXPECT_TRUE(load(R"({"client": {"ping_interval": "10s", "pong_timeout": "9s"}})").ok);
  auto r = load(R"({"client": {"ping_interval": "-1"}})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(cfg_.ping_interval_ms, -1);
  r = load(R"({"client": {"ping_interval": -1}})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(cfg_.ping_interval_ms, -1);
  r = load(R"({"client": {"ping_interval": "1s", "pong_timeout": "-1"}})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(cfg_.pong_timeout_ms, -1);
}

TEST_F(ConfigFileTest, ChannelRegexMustCompile) {
  EXPECT_ERROR_HAS(load(R"({"channel": {"namespaces": [{"name": "ch", "channel_regex": "("}]}})"),
                   "channel.namespaces[0].channel_regex");
  EXPECT_ERROR_HAS(load(R"({"channel": {"without_namespace": {"channel_regex": "[a-"}}})"),
                   "channel.without_namespace.channel_regex");
  auto r = load(R"({"channel": {"without_namespace": {"channel_regex": "^x$"}}})");
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_NE(cfg_.channel.without_namespace.compiled_regex, nullptr);
  EXPECT_TRUE(cfg_.channel.name_valid("x", cfg_.channel.without_namespace));
  EXPECT_FALSE(cfg_.channel.name_valid("y", cfg_.channel.without_namespace));
}

TEST_F(ConfigFileTest, BadFiles) {
  EXPECT_ERROR_HAS(load("{\"a\":"), "not valid JSON");
  EXPECT_ERROR_HAS(load("[]"), "must hold a JSON object");
  Config c;
  auto r = gyre::load_config_file(dir_ + "/missing.json", c);
  EXPECT_ERROR_HAS(r, "cannot read config file");
  EXPECT_ERROR_HAS(r, "missing.json");
}

// --- env and flags ----------------------------------------------------------------

TEST_F(ConfigFileTest, EnvVariables) {
  set_env("GYRE_HTTP_API_KEY", "envkey");
  set_env("GYRE_CLIENT_ALLOWED_ORIGINS", "a  b");
  set_env("GYRE_CHANNEL_NAMESPACES", R"([{"name":"x1","presence":true}])");
  set_env("GYRE_CLIENT_INSECURE", "true");
  set_env("GYRE_HTTP_SERVER_PORT", "9001");
  set_env("GYRE_CLIENT_PING_INTERVAL", "30s");
  set_env("GYRE_CHANNEL_WITHOUT_NAMESPACE", R"({"join_leave":true})");
  set_env("GYRE_LOG_LEVEL", "");  // empty = unset
  ConfigFlags flags;
  flags.config_path = dir_ + "/absent.json";
  Config c;
  auto r = gyre::load_config(flags, false, c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(c.api_key, "envkey");
  EXPECT_EQ(c.allowed_origins, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(c.channel.namespaces.size(), 1u);
  EXPECT_EQ(c.channel.namespaces[0].name, "x1");
  EXPECT_TRUE(c.channel.namespaces[0].options.presence);
  EXPECT_TRUE(c.client_insecure);
  EXPECT_EQ(c.port, 9001);
  EXPECT_EQ(c.ping_interval_ms, 30000);
  EXPECT_TRUE(c.channel.without_namespace.join_leave);
  EXPECT_EQ(c.log_level, gyre::LogLevel::Info);
}

TEST_F(ConfigFileTest, EnvBooleans) {
  ConfigFlags flags;
  flags.config_path = dir_ + "/absent.json";
  for (const char *t : {"1", "true", "TRUE", "True", "t"}) {
    set_env("GYRE_HTTP_API_INSECURE", t);
    Config c;
    auto r = gyre::load_config(flags, false, c);
    ASSERT_TRUE(r.ok) << t << ": " << r.error;
    EXPECT_TRUE(c.api_insecure) << t;
  }
  for (const char *f : {"0", "false", "FALSE", "False", "f"}) {
    set_env("GYRE_HTTP_API_INSECURE", f);
    Config c;
    c.api_insecure = true;
    auto r = gyre::load_config(flags, false, c);
    ASSERT_TRUE(r.ok) << f << ": " << r.error;
    EXPECT_FALSE(c.api_insecure) << f;
  }
  set_env("GYRE_HTTP_API_INSECURE", "yes");
  Config c;
  auto r = gyre::load_config(flags, false, c);
  EXPECT_ERROR_HAS(r, "http_api.insecure");
  EXPECT_ERROR_HAS(r, "GYRE_HTTP_API_INSECURE");
}

TEST_F(ConfigFileTest, EnvInvalidValuesNameTheVariable) {
  ConfigFlags flags;
  flags.config_path = dir_ + "/absent.json";
  Config c;
  set_env("GYRE_HTTP_SERVER_PORT", "abc");
  auto r = gyre::load_config(flags, false, c);
  EXPECT_ERROR_HAS(r, "http_server.port");
  EXPECT_ERROR_HAS(r, "GYRE_HTTP_SERVER_PORT");
  unsetenv("GYRE_HTTP_SERVER_PORT");
  set_env("GYRE_CHANNEL_NAMESPACES", "[{\"name\":\"x\"}]");
  r = gyre::load_config(flags, false, c);
  EXPECT_ERROR_HAS(r, "channel.namespaces[0].name");
  set_env("GYRE_CHANNEL_NAMESPACES", "[{");
  r = gyre::load_config(flags, false, c);
  EXPECT_ERROR_HAS(r, "GYRE_CHANNEL_NAMESPACES");
}

TEST_F(ConfigFileTest, PrecedenceFlagsOverEnvOverFile) {
  std::string path = write(R"({"http_api": {"key": "filekey"}, "http_server": {"port": 7000},
    "node": {"name": "file-node"}, "client": {"channel_limit": 3}})");
  set_env("GYRE_HTTP_API_KEY", "envkey");
  set_env("GYRE_HTTP_SERVER_PORT", "7001");
  ConfigFlags flags;
  flags.config_path = path;
  flags.values["http_api.key"] = "flagkey";
  Config c;
  auto r = gyre::load_config(flags, true, c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(c.api_key, "flagkey");  // flag > env > file
  EXPECT_EQ(c.port, 7001);          // env > file
  EXPECT_EQ(c.node_name, "file-node");
  EXPECT_EQ(c.channel_limit, 3);

  flags.values.clear();
  r = gyre::load_config(flags, true, c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(c.api_key, "envkey");

  unsetenv("GYRE_HTTP_API_KEY");
  r = gyre::load_config(flags, true, c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(c.api_key, "filekey");
}

TEST_F(ConfigFileTest, Flags) {
  ConfigFlags flags;
  flags.config_path = dir_ + "/absent.json";
  flags.values["http_server.port"] = "8123";
  flags.values["client.insecure"] = "true";
  flags.values["client.allowed_origins"] = "x y z";
  flags.values["channel.namespaces"] = R"([{"name":"fl"}])";
  flags.values["log.level"] = "error";
  Config c;
  auto r = gyre::load_config(flags, false, c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(c.port, 8123);
  EXPECT_TRUE(c.client_insecure);
  EXPECT_EQ(c.allowed_origins, (std::vector<std::string>{"x", "y", "z"}));
  ASSERT_EQ(c.channel.namespaces.size(), 1u);
  EXPECT_EQ(c.channel.namespaces[0].name, "fl");
  EXPECT_EQ(c.log_level, gyre::LogLevel::Error);

  ConfigFlags bad;
  bad.config_path = dir_ + "/absent.json";
  bad.values["no.such_option"] = "1";
  EXPECT_ERROR_HAS(gyre::load_config(bad, false, c), "no.such_option");
  bad.values.clear();
  bad.values["http_server.port"] = "x";
  auto r2 = gyre::load_config(bad, false, c);
  EXPECT_ERROR_HAS(r2, "http_server.port");
  EXPECT_ERROR_HAS(r2, "flag");
  bad.values["http_server.port"] = "70000";
  EXPECT_ERROR_HAS(gyre::load_config(bad, false, c), "http_server.port");
}

TEST_F(ConfigFileTest, MissingFile) {
  ConfigFlags flags;
  flags.config_path = dir_ + "/absent.json";
  Config c;
  auto r = gyre::load_config(flags, false, c);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(c.port, 8000);
  r = gyre::load_config(flags, true, c);
  EXPECT_ERROR_HAS(r, "absent.json");
}

TEST_F(ConfigFileTest, LoadConfigValidatesFile) {
  ConfigFlags flags;
  flags.config_path = write(R"({"client": {"ping_interval": "1s", "pong_timeout": "2s"},
                                "zzz": 1})");
  Config c;
  auto r = gyre::load_config(flags, true, c);
  EXPECT_ERROR_HAS(r, "client.pong_timeout");
  EXPECT_TRUE(has_warning(r, "unknown key zzz"));
  // An env value can fix what the file broke.
  set_env("GYRE_CLIENT_PONG_TIMEOUT", "500ms");
  r = gyre::load_config(flags, true, c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(c.pong_timeout_ms, 500);
}

TEST(KnownOptions, ListsPaths) {
  auto paths = gyre::known_option_paths();
  auto has = [&](const char *p) { return std::find(paths.begin(), paths.end(), p) != paths.end(); };
  for (const char *p :
       {"http_server.port", "http_api.key", "client.allowed_origins", "client.ping_interval",
        "client.pong_timeout", "channel.max_length", "channel.without_namespace",
        "channel.namespaces", "plugins", "engine.redis.presence_ttl", "log.level"}) {
    EXPECT_TRUE(has(p)) << p;
  }
  EXPECT_FALSE(has("client"));
  // No duplicates.
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(std::adjacent_find(paths.begin(), paths.end()), paths.end());
}

}  // namespace
