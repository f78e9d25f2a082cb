// HttpClient: HTTP/1.1 POSTs from a loop to backends (the proxies), on
// libevent's evhttp client: keep-alive connections pooled per scheme,
// host:port and TLS setup, at most kMaxConnections requests in flight per
// pool (one per connection), a bounded queue behind them, a whole-request
// deadline, and a bounded response body. https:// goes through OpenSSL
// bufferevents (the URL's TlsClient, else the system's CAs). Every callback
// runs exactly once, on the loop, never inside post().
//
// Threads: one HttpClient per loop (each worker has its own), used only on
// that loop's thread. Lifetime: destroying it drops pending requests without
// calling their callbacks (the loop is stopping).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "proxy_config.h"

struct evhttp_connection;
struct evhttp_request;
struct evdns_base;
struct event;

namespace gyre {

class Loop;

struct BackendResponse {
  int status = 0;     // 0: no HTTP answer (see error)
  std::string body;   // up to kMaxBodyBytes
  std::string error;  // "timeout", "connection refused or reset", "TLS: ...", "overloaded", ...
};
using HttpCallback = std::function<void(BackendResponse)>;
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  static constexpr size_t kMaxConnections = 64;  // per pool
  static constexpr size_t kMaxQueued = 4096;     // per pool, beyond the in-flight ones
  static constexpr size_t kMaxBodyBytes = 4 << 20;
  // A pool without a request for this long is closed (its endpoint may be
  // gone from the config).
  static constexpr int64_t kIdlePoolMs = 5 * 60 * 1000;

  explicit HttpClient(Loop &loop);
  ~HttpClient();
  HttpClient(const HttpClient &) = delete;
  HttpClient &operator=(const HttpClient &) = delete;

  // POST `body` (Content-Type: application/json) to url with `headers`.
  void post(const HttpUrl &url, const HttpHeaders &headers, std::string body, int64_t timeout_ms,
            HttpCallback cb);

 private:
  struct Pool;
  struct Conn;
  struct Call;
  evhttp_connection *connect(Pool &pool);
  static void on_sweep(int, short, void *arg);
  void arm_sweep();
  void start(Pool &pool, Conn &conn, std::unique_ptr<Call> call);
  void finish(Call *call, BackendResponse res);
  void next(Pool &pool);
  static void on_response(evhttp_request *req, void *arg);
  static void on_timeout(int, short, void *arg);
  static void later(int, short, void *arg);
  void defer(HttpCallback cb, BackendResponse res);

  Loop &loop_;
  evdns_base *dns_ = nullptr;
  std::shared_ptr<const TlsClient> default_tls_;  // https:// URLs without a TlsClient
  std::unordered_map<std::string, std::unique_ptr<Pool>> pools_;
  std::vector<std::pair<HttpCallback, BackendResponse>> deferred_;
  event *deferred_ev_ = nullptr;
  event *sweep_ev_ = nullptr;
};

}  // namespace gyre
