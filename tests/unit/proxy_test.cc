// Proxy config, wire format and answer decoding (server-api spec §5).
#include "proxy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "config.h"
#include "json.h"
#include "proxy_config.h"

namespace {

using gyre::AuthDecision;
using gyre::BackendResponse;
using Outcome = gyre::AuthDecision::Outcome;

gyre::ConfigResult load(const std::string &text, gyre::Config &c) {
  char path[] = "/tmp/gyre_proxy_test_XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  auto r = gyre::load_config_file(path, c);
  std::remove(path);
  return r;
}

BackendResponse ok(std::string body) { return BackendResponse{200, std::move(body), {}}; }

TEST(ProxyUrl, Parses) {
  gyre::HttpUrl u;
  EXPECT_EQ(gyre::parse_http_url("http://127.0.0.1:3000/centrifugo/connect?x=1", u), "");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 3000);
  EXPECT_EQ(u.path, "/centrifugo/connect?x=1");
  EXPECT_EQ(gyre::parse_http_url("http://backend", u), "");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.path, "/");
  EXPECT_EQ(gyre::parse_http_url("http://[::1]:81/a", u), "");
  EXPECT_EQ(u.host, "::1");
  EXPECT_FALSE(u.https);
  EXPECT_EQ(gyre::parse_http_url("https://backend/p", u), "");
  EXPECT_TRUE(u.https);
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(gyre::parse_http_url("https://backend:8443", u), "");
  EXPECT_EQ(u.port, 8443);
  EXPECT_NE(gyre::parse_http_url("ftp://x", u), "");
  EXPECT_NE(gyre::parse_http_url("http://:80/", u), "");
  EXPECT_NE(gyre::parse_http_url("http://h:0/", u), "");
  EXPECT_NE(gyre::parse_http_url("http://h/a b", u), "");
  EXPECT_NE(gyre::parse_http_url("http://user:pw@h/", u), "");
}

TEST(ProxyConfig, CentrifugoV6Keys) {
  gyre::Config c;
  auto r = load(R"({
    "client": {"proxy": {"connect": {"enabled": true, "endpoint": "http://127.0.0.1:1/c",
        "timeout": "500ms", "http_headers": ["Authorization"], "emulated_headers": ["X-E"],
        "http": {"static_headers": {"X-S": "1"}}}}},
    "proxies": [{"name": "billing", "endpoint": "http://127.0.0.1:2/b", "timeout": "2s"}],
    "rpc": {"proxy": {"endpoint": "http://127.0.0.1:3/r"},
            "without_namespace": {"proxy_enabled": true},
            "namespaces": [{"name": "bill", "proxy_enabled": true, "proxy_name": "billing"}],
            "ping": {"enabled": true, "method": "p"}}})",
                c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty());
  const auto &p = c.proxy;
  EXPECT_TRUE(p.connect.enabled);
  EXPECT_EQ(p.connect.timeout_ms, 500);
  EXPECT_EQ(p.connect.url.port, 1);
  ASSERT_EQ(p.connect.http_headers.size(), 1u);
  EXPECT_EQ(p.connect.http_headers[0], "authorization");
  ASSERT_EQ(p.rpc_namespaces.size(), 1u);
  ASSERT_NE(p.rpc_proxy("billing"), nullptr);
  EXPECT_EQ(p.rpc_proxy("billing")->timeout_ms, 2000);
  EXPECT_EQ(p.rpc_proxy("default")->url.port, 3);
  EXPECT_TRUE(p.rpc_ping);
  EXPECT_EQ(p.rpc_ping_method, "p");
}

TEST(ProxyConfig, RefusedAtStartup) {
  struct Case {
    const char *json, *names;
  };
  const Case cases[] = {
      {R"({"client":{"proxy":{"connect":{"enabled":true}}}})", "client.proxy.connect.endpoint"},
      {R"({"client":{"proxy":{"connect":{"enabled":true,"endpoint":"http://h/","timeout":"0s"}}}})",
       "client.proxy.connect.timeout"},
      {R"({"rpc":{"without_namespace":{"proxy_enabled":true}}})", "rpc.without_namespace"},
      {R"({"proxies":[{"name":"a","endpoint":"http://h/"}]})", "proxies[0].name"},
      {R"({"proxies":[{"name":"default","endpoint":"http://h/"}]})", "proxies[0].name"},
      {R"({"proxies":[{"name":"aa","endpoint":"http://h/"},{"name":"aa","endpoint":"http://h/"}]})",
       "proxies[1].name"},
      {R"({"rpc":{"proxy":{"endpoint":"grpc://h:1"}}})", "rpc.proxy.endpoint"},
      {R"({"rpc":{"proxy":{"endpoint":"https://h/","http":{"tls":{"enabled":true,
          "server_ca_pem":"/nonexistent/ca.pem"}}}}})",
       "rpc.proxy.http.tls.server_ca_pem"},
      {R"({"proxies":[{"name":"aa","endpoint":"https://h/","http":{"tls":{"enabled":true,
          "cert_pem":"-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n"}}}]})",
       "proxies[0].http.tls.cert_pem: needs key_pem"},
      {R"({"client":{"proxy":{"connect":{"enabled":true,"endpoint":"https://h/","http":{"tls":{
          "enabled":true,"server_ca_pem":"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"}}}}}})",
       "client.proxy.connect.http.tls.server_ca_pem"},
      {R"({"rpc":{"proxy":{"endpoint":"https://h/","http":{"tls":{"insecure_skip_verify":"yes"}}}}})",
       "rpc.proxy.http.tls.insecure_skip_verify"},
      {R"({"rpc":{"namespaces":[{"name":"x","proxy_enabled":false}]}})", "rpc.namespaces[0].name"},
  };
  for (const auto &tc : cases) {
    gyre::Config c;
    auto r = load(tc.json, c);
    EXPECT_FALSE(r.ok) << tc.json;
    EXPECT_NE(r.error.find(tc.names), std::string::npos) << tc.json << " -> " << r.error;
  }
  // A disabled connect proxy need not be complete.
  gyre::Config c;
  EXPECT_TRUE(load(R"({"client":{"proxy":{"connect":{"enabled":false}}}})", c).ok);
}

TEST(ProxyConfig, HttpsEndpoints) {
  gyre::Config c;
  // Without tls (or with it disabled) an https endpoint uses the system's CAs.
  auto r = load(R"({"rpc":{"proxy":{"endpoint":"https://backend.test/rpc"}},
                    "proxies":[{"name":"aa","endpoint":"https://127.0.0.1:8443/a",
                                "http":{"tls":{"enabled":true,"insecure_skip_verify":true,
                                               "client_ca_pem":"x","bogus":1}}}]})",
                c);
  ASSERT_TRUE(r.ok) << r.error;
  const auto *def = c.proxy.rpc_proxy("default");
  ASSERT_NE(def, nullptr);
  EXPECT_TRUE(def->url.https);
  ASSERT_NE(def->url.tls, nullptr);
  const auto *aa = c.proxy.rpc_proxy("aa");
  ASSERT_NE(aa, nullptr);
  ASSERT_NE(aa->url.tls, nullptr);
  // Different material, different pools.
  EXPECT_NE(def->url.tls->id(), aa->url.tls->id());
  // client_ca_pem is a server's option and `bogus` unknown: both warned about.
  ASSERT_EQ(r.warnings.size(), 2u);
}

TEST(ProxyWire, HeadersPrecedence) {
  gyre::ProxyEndpoint p;
  p.static_headers = {{"X-Static", "s"}, {"Authorization", "static"}};
  p.http_headers = {"authorization", "x-custom"};
  p.emulated_headers = {"x-emulated", "authorization"};
  gyre::HeaderList transport = {{"Authorization", "bearer t"}, {"Cookie", "c"}, {"X-Custom", "1"}};
  gyre::HeaderList emulated = {{"X-Emulated", "e"}, {"X-Other", "o"}, {"Authorization", "em"}};
  auto h = gyre::proxy_headers(p, &transport, emulated);
  auto get = [&h](const std::string &k) -> std::string {
    for (auto &[hk, hv] : h)
      if (strcasecmp(hk.c_str(), k.c_str()) == 0) return hv;
    return "<none>";
  };
  EXPECT_EQ(get("Authorization"), "bearer t");  // transport > emulated > static
  EXPECT_EQ(get("X-Static"), "s");
  EXPECT_EQ(get("X-Emulated"), "e");
  EXPECT_EQ(get("X-Custom"), "1");
  EXPECT_EQ(get("Cookie"), "<none>");
  EXPECT_EQ(get("X-Other"), "<none>");
}

TEST(ProxyWire, RequestBodies) {
  gyre::ProxyCaller c{"c1", "websocket", "56"};
  EXPECT_EQ(gyre::connect_proxy_request(c, "js", "5.0.0", R"({"a":1})"),
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
            R"("data":{"a":1},"name":"js","version":"5.0.0"})");
  EXPECT_EQ(gyre::connect_proxy_request(c, "", "", ""),
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json"})");
  EXPECT_EQ(gyre::rpc_proxy_request(c, "getPrice", R"({"id":12})"),
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
            R"("user":"56","method":"getPrice","data":{"id":12}})");
  // meta goes last, only when the caller has some to send.
  gyre::ProxyCaller m{"c1", "uni_sse", "56", R"({"plan":"pro"})"};
  EXPECT_EQ(gyre::channel_proxy_request(m, "chat:index", ""),
            R"({"client":"c1","transport":"uni_sse","protocol":"json","encoding":"json",)"
            R"("user":"56","channel":"chat:index","meta":{"plan":"pro"}})");
  EXPECT_EQ(gyre::subscribe_proxy_request(m, "chat:index", R"({"s":1})"),
            R"({"client":"c1","transport":"uni_sse","protocol":"json","encoding":"json",)"
            R"("user":"56","channel":"chat:index","meta":{"plan":"pro"},"data":{"s":1}})");
  EXPECT_EQ(gyre::refresh_proxy_request(m),
            R"({"client":"c1","transport":"uni_sse","protocol":"json","encoding":"json",)"
            R"("user":"56","meta":{"plan":"pro"}})");
  EXPECT_EQ(gyre::rpc_proxy_request(m, "", R"(1)"),
            R"({"client":"c1","transport":"uni_sse","protocol":"json","encoding":"json",)"
            R"("user":"56","data":1,"meta":{"plan":"pro"}})");
}

TEST(ProxyWire, BinaryEncoding) {
  // binary_encoding: the client's payload bytes as base64 b64data.
  gyre::ProxyCaller c{"c1", "websocket", "56", {}, true};
  EXPECT_EQ(gyre::rpc_proxy_request(c, "m", R"({"id":12})"),
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"binary",)"
            R"("user":"56","method":"m","b64data":"eyJpZCI6MTJ9"})");
  EXPECT_EQ(gyre::connect_proxy_request(c, "", "", ""),
            R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"binary"})");
  // Answers may carry b64data / b64info (which win over data / info); the
  // bytes must be JSON for JSON clients, else the answer is unusable.
  auto r = gyre::rpc_proxy_outcome(ok(R"({"result":{"data":{"x":1},"b64data":"eyJ5IjoyfQ=="}})"));
  EXPECT_EQ(r.kind, gyre::RpcProxyOutcome::Kind::Result);
  EXPECT_EQ(r.data, R"({"y":2})");
  r = gyre::rpc_proxy_outcome(ok(R"({"result":{"b64data":"aGVsbG8="}})"));  // "hello"
  EXPECT_EQ(r.kind, gyre::RpcProxyOutcome::Kind::Failed);
  EXPECT_NE(r.message.find("b64data is not JSON"), std::string::npos) << r.message;
  r = gyre::rpc_proxy_outcome(ok(R"({"result":{"b64data":"***"}})"));
  EXPECT_EQ(r.kind, gyre::RpcProxyOutcome::Kind::Failed);
  auto d = gyre::connect_proxy_decision(
      ok(R"({"result":{"user":"1","b64info":"eyJhIjoxfQ==","subs":{"ch":{"b64data":"WzFd"}}}})"));
  EXPECT_EQ(d.outcome, Outcome::Granted);
  EXPECT_EQ(d.info, R"({"a":1})");
  ASSERT_EQ(d.subs.size(), 1u);
  EXPECT_EQ(d.subs[0].data, "[1]");
  d = gyre::connect_proxy_decision(ok(R"({"result":{"user":"1","subs":{"ch":{"b64info":"!"}}}})"));
  EXPECT_EQ(d.outcome, Outcome::Failed);
  EXPECT_TRUE(d.subs.empty());
  auto sd =
      gyre::subscribe_proxy_decision(ok(R"({"result":{"b64data":"eyJzIjp0cnVlfQ=="}})"), nullptr);
  EXPECT_EQ(sd.outcome, Outcome::Granted);
  EXPECT_EQ(sd.sub.data, R"({"s":true})");
  auto pub = gyre::publish_proxy_outcome(ok(R"({"result":{"b64data":"eyJwIjoxfQ=="}})"), nullptr);
  EXPECT_EQ(pub.kind, gyre::PublishProxyOutcome::Kind::Publish);
  EXPECT_EQ(pub.data, R"({"p":1})");
  EXPECT_EQ(gyre::refresh_proxy_decision(ok(R"({"result":{"b64info":"x"}})"), "56").outcome,
            Outcome::Failed);
}

TEST(ProxyWire, ConnectAnswers) {
  AuthDecision d = gyre::connect_proxy_decision(
      ok(R"({"result":{"user":"56","info":{"a":1},"data":{"h":"x"},"expire_at":1735689600,)"
         R"("channels":["news"],"subs":{"chat":{"info":{"r":1}},"news":{"data":{"n":2}}}}})"));
  EXPECT_EQ(d.outcome, Outcome::Granted);
  EXPECT_EQ(d.user, "56");
  EXPECT_EQ(d.info, R"({"a":1})");
  EXPECT_EQ(d.data, R"({"h":"x"})");
  EXPECT_EQ(d.expire_at, 1735689600);
  EXPECT_EQ(d.meta, "");
  EXPECT_EQ(
      gyre::connect_proxy_decision(ok(R"({"result":{"user":"1","meta":{"plan":"pro"}}})")).meta,
      R"({"plan":"pro"})");
  ASSERT_EQ(d.subs.size(), 2u);  // channels and subs merged
  EXPECT_EQ(d.subs[0].channel, "news");
  EXPECT_EQ(d.subs[0].data, R"({"n":2})");
  EXPECT_EQ(d.subs[1].channel, "chat");
  EXPECT_EQ(d.subs[1].info, R"({"r":1})");

  EXPECT_EQ(gyre::connect_proxy_decision(ok(R"({"result":{"user":""}})")).outcome,
            Outcome::Granted);
  EXPECT_EQ(gyre::connect_proxy_decision(ok("{}")).outcome, Outcome::Declined);
  EXPECT_EQ(gyre::connect_proxy_decision(ok(R"({"result":null})")).outcome, Outcome::Declined);
  d = gyre::connect_proxy_decision(
      ok(R"({"disconnect":{"code":4501,"reason":"unauthorized"},"result":{"user":"1"}})"));
  EXPECT_EQ(d.outcome, Outcome::Denied);
  EXPECT_EQ(d.code, 4501u);
  EXPECT_EQ(d.reason, "unauthorized");
  d = gyre::connect_proxy_decision(ok(R"({"error":{"code":403,"message":"forbidden"}})"));
  EXPECT_EQ(d.outcome, Outcome::Denied);
  EXPECT_EQ(d.code, 403u);
  for (const BackendResponse &r : {BackendResponse{500, "{}", {}},
                                   BackendResponse{0, {}, "timeout"}, ok("not json"), ok("[]")})
    EXPECT_EQ(gyre::connect_proxy_decision(r).outcome, Outcome::Failed) << r.status << r.body;
}

TEST(ProxyWire, RpcAnswers) {
  using Kind = gyre::RpcProxyOutcome::Kind;
  auto o = gyre::rpc_proxy_outcome(ok(R"({"result":{"data":{"price":42}}})"));
  EXPECT_EQ(o.kind, Kind::Result);
  EXPECT_EQ(o.data, R"({"price":42})");
  o = gyre::rpc_proxy_outcome(ok(R"({"error":{"code":1000,"message":"custom"}})"));
  EXPECT_EQ(o.kind, Kind::Error);
  EXPECT_EQ(o.code, 1000u);
  o = gyre::rpc_proxy_outcome(ok(R"({"disconnect":{"code":4000,"reason":"bye"}})"));
  EXPECT_EQ(o.kind, Kind::Disconnect);
  EXPECT_EQ(o.code, 4000u);
  EXPECT_EQ(gyre::rpc_proxy_outcome(BackendResponse{502, "", {}}).kind, Kind::Failed);
}

TEST(ProxyWire, SubscribeAnswers) {
  auto d = gyre::subscribe_proxy_decision(
      ok(R"({"result":{"info":{"x":1},"data":{"d":2},"expire_at":1735689600,)"
         R"("override":{"presence":{"value":true},"join_leave":{"value":false}}}})"),
      nullptr);
  EXPECT_EQ(d.outcome, Outcome::Granted);
  EXPECT_EQ(d.sub.info, R"({"x":1})");
  EXPECT_EQ(d.sub.data, R"({"d":2})");
  EXPECT_EQ(d.sub.expire_at, 1735689600);
  EXPECT_EQ(d.sub.override_mask, uint32_t{GYRE_OVERRIDE_PRESENCE | GYRE_OVERRIDE_JOIN_LEAVE});
  EXPECT_EQ(d.sub.override_values, uint32_t{GYRE_OVERRIDE_PRESENCE});
  EXPECT_EQ(gyre::subscribe_proxy_decision(ok("{}"), nullptr).outcome, Outcome::Granted);
  EXPECT_EQ(gyre::subscribe_proxy_decision(ok(R"({"result":{}})"), nullptr).outcome,
            Outcome::Granted);
  d = gyre::subscribe_proxy_decision(ok(R"({"error":{"code":403,"message":"forbidden"}})"),
                                     nullptr);
  EXPECT_EQ(d.outcome, Outcome::Denied);
  EXPECT_EQ(d.code, 403u);
  d = gyre::subscribe_proxy_decision(BackendResponse{500, "", {}}, nullptr);
  EXPECT_EQ(d.outcome, Outcome::Failed);
}

TEST(ProxyWire, PublishAnswers) {
  using Kind = gyre::PublishProxyOutcome::Kind;
  auto o = gyre::publish_proxy_outcome(
      ok(R"({"result":{"data":{"input":"edited"},"skip_history":true,"idempotency_key":"k",)"
         R"("version":3,"version_epoch":"e","tags":{"a":"b"}}})"),
      nullptr);
  EXPECT_EQ(o.kind, Kind::Publish);
  EXPECT_EQ(o.data, R"({"input":"edited"})");
  EXPECT_TRUE(o.skip_history);
  EXPECT_EQ(o.idempotency_key, "k");
  EXPECT_EQ(o.version, 3u);
  EXPECT_EQ(o.version_epoch, "e");
  ASSERT_EQ(o.tags.size(), 1u);
  o = gyre::publish_proxy_outcome(ok(R"({"result":{}})"), nullptr);
  EXPECT_EQ(o.kind, Kind::Publish);
  EXPECT_TRUE(o.data.empty());
  EXPECT_EQ(gyre::publish_proxy_outcome(ok(R"({"error":{"code":403}})"), nullptr).kind,
            Kind::Error);
  EXPECT_EQ(gyre::publish_proxy_outcome(ok("x"), nullptr).kind, Kind::Failed);
}

TEST(ProxyConfig, ChannelProxies) {
  gyre::Config c;
  auto r = load(R"({"channel":{"proxy":{"subscribe":{"endpoint":"http://h/s"}},
      "without_namespace":{"subscribe_proxy_enabled":true},
      "namespaces":[{"name":"nn","publish_proxy_enabled":true,"publish_proxy_name":"pp"}]},
      "proxies":[{"name":"pp","endpoint":"http://h/p"}]})",
                c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(c.channel.without_namespace.subscribe_proxy_enabled);
  ASSERT_NE(c.proxy.subscribe_proxy("default"), nullptr);
  ASSERT_NE(c.proxy.publish_proxy("pp"), nullptr);
  EXPECT_EQ(c.proxy.publish_proxy("default"), nullptr);
  gyre::Config bad;
  r = load(R"({"channel":{"without_namespace":{"publish_proxy_enabled":true}}})", bad);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("publish_proxy_name"), std::string::npos) << r.error;
}

TEST(ProxyWire, RefreshAnswers) {
  auto d = gyre::refresh_proxy_decision(ok(R"({"result":{"expire_at":1735689600,"info":{"i":1}}})"),
                                        "56");
  EXPECT_EQ(d.outcome, Outcome::Granted);
  EXPECT_EQ(d.user, "56");
  EXPECT_EQ(d.expire_at, 1735689600);
  EXPECT_EQ(d.info, R"({"i":1})");
  EXPECT_EQ(d.meta, "");
  d = gyre::refresh_proxy_decision(ok(R"({"result":{"meta":{"plan":"max"}}})"), "56");
  EXPECT_EQ(d.meta, R"({"plan":"max"})");
  d = gyre::refresh_proxy_decision(ok(R"({"result":{"meta":"not an object"}})"), "56");
  EXPECT_EQ(d.meta, "");
  d = gyre::refresh_proxy_decision(ok(R"({"result":{"expired":true}})"), "56");
  EXPECT_EQ(d.outcome, Outcome::Denied);
  EXPECT_EQ(d.code, 3005u);
  // Only the result counts: no result is expired, an error is ignored.
  EXPECT_EQ(gyre::refresh_proxy_decision(ok(R"({"error":{"code":403}})"), "56").outcome,
            Outcome::Denied);
  EXPECT_EQ(gyre::refresh_proxy_decision(BackendResponse{0, {}, "timeout"}, "56").outcome,
            Outcome::Failed);
  auto s = gyre::sub_refresh_proxy_decision(ok(R"({"result":{"expire_at":99,"info":{"c":1}}})"));
  EXPECT_EQ(s.outcome, Outcome::Granted);
  EXPECT_EQ(s.sub.expire_at, 99);
  EXPECT_EQ(s.sub.info, R"({"c":1})");
  EXPECT_EQ(gyre::sub_refresh_proxy_decision(ok("{}")).outcome, Outcome::Denied);
}

}  // namespace
