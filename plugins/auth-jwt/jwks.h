// Keys from a JWKS endpoint (client.token.jwks_public_endpoint), fetched on
// a thread of the plugin's own (blocking HTTP there, never on the loop) and
// handed to the loop with api->post. Cached: a fetch at startup, again in
// the background once the keys are an hour old, and on demand when a token
// names a kid the keys lack (at most every few seconds). While the endpoint
// is down the keys of the last good fetch go on serving.
//
// Threads: everything but the fetch runs on the loop thread.
#pragma once

#include <gyre/plugin.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "verifier.h"

namespace gyre::jwt {

// The keys of a JWKS document ({"keys": [JWK...]}); keys of no use for
// signatures are skipped (their reasons in `skipped`). False when the
// document is malformed or holds no usable key.
bool parse_jwks(const std::string &body, KeyRing &out, std::string &why,
                std::vector<std::string> *skipped = nullptr);

class JwksSource {
 public:
  static constexpr int64_t kTtlMs = 3600 * 1000;
  static constexpr int64_t kMinRefetchMs = 5000;
  static constexpr int64_t kFetchTimeoutMs = 1000;
  static constexpr int kAttempts = 3;
  static constexpr size_t kMaxBody = 1024 * 1024;
  // Keys of a fetch this old are dropped while the endpoint stays down: a
  // key removed after a compromise must not live on forever.
  static constexpr int64_t kMaxStaleMs = 24 * 3600 * 1000;
  // Requests waiting for a fetch; beyond this they are answered at once.
  static constexpr size_t kMaxWaiters = 4096;

  // Starts the fetcher thread and the first fetch.
  JwksSource(const gyre_host_api *api, gyre_host *host, std::string url);
  // Stops and joins the thread; waiters still queued are dropped.
  ~JwksSource();
  JwksSource(const JwksSource &) = delete;
  JwksSource &operator=(const JwksSource &) = delete;

  // The keys of the last good fetch (at most kMaxStaleMs old), or nullptr.
  std::shared_ptr<const KeyRing> keys();
  // Whether a fetch may start now: every trigger is rate-limited
  // (kMinRefetchMs between attempts), so an endpoint that is down is not
  // hammered by the clients trying to connect.
  bool may_refetch() const;
  // Queues `then` to run on the loop once a fetch has completed, good or
  // bad (the one in flight, or one started now). False, with nothing
  // queued, when no fetch may start or too many wait: answer now.
  bool after_fetch(std::function<void()> then);

 private:
  struct Result;
  static void on_result(void *arg);
  void finish(Result &r);
  void start_fetch();
  void run();
  bool install(const std::string &body, std::string &why);

  const gyre_host_api *api_;
  gyre_host *host_;
  std::string url_;
  // Loop thread only.
  std::shared_ptr<const KeyRing> keys_;
  bool in_flight_ = false;
  int64_t last_attempt_ms_ = -kMinRefetchMs;
  int64_t last_success_ms_ = 0;
  std::vector<std::function<void()>> waiters_;
  // Shared with the fetcher thread.
  std::shared_ptr<std::atomic<bool>> alive_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool want_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace gyre::jwt
