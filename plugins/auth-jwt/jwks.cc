#include "jwks.h"

#include "http_get.h"
#include "json_value.h"

namespace gyre::jwt {

namespace {

void log(const gyre_host_api *api, gyre_host *host, gyre_log_level level, const std::string &msg) {
  api->log(host, level, gyre_str{msg.data(), msg.size()});
}

}  // namespace

// What the fetcher thread hands to the loop (owned by the post).
struct JwksSource::Result {
  std::shared_ptr<std::atomic<bool>> alive;
  JwksSource *source;
  bool ok;
  std::string body;   // when ok
  std::string error;  // when not
};

JwksSource::JwksSource(const gyre_host_api *api, gyre_host *host, std::string url)
    : api_(api),
      host_(host),
      url_(std::move(url)),
      alive_(std::make_shared<std::atomic<bool>>(true)) {
  thread_ = std::thread([this] { run(); });
  start_fetch();
}

JwksSource::~JwksSource() {
  alive_->store(false);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const KeyRing> JwksSource::keys() {
  int64_t now = api_->now_ms(host_);
  if (keys_ && now - last_success_ms_ >= kMaxStaleMs) {
    log(api_, host_, GYRE_LOG_WARN, "JWKS: no good fetch for a day; the old keys are dropped");
    keys_.reset();
  }
  // Stale keys keep serving; an old set is refreshed in the background.
  if (keys_ && now - last_success_ms_ >= kTtlMs && !in_flight_ && may_refetch()) start_fetch();
  return keys_;
}

bool JwksSource::may_refetch() const {
  return in_flight_ || api_->now_ms(host_) - last_attempt_ms_ >= kMinRefetchMs;
}

bool JwksSource::after_fetch(std::function<void()> then) {
  if (!may_refetch() || waiters_.size() >= kMaxWaiters) return false;
  waiters_.push_back(std::move(then));
  if (!in_flight_) start_fetch();
  return true;
}

void JwksSource::start_fetch() {
  in_flight_ = true;
  last_attempt_ms_ = api_->now_ms(host_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    want_ = true;
  }
  cv_.notify_all();
}

void JwksSource::run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return want_ || stop_; });
      if (stop_) return;
      want_ = false;
    }
    // Nothing may escape this thread: an exception here would end the
    // process.
    try {
      auto r = std::make_unique<Result>(Result{alive_, this, false, {}, {}});
      for (int i = 0; i < kAttempts && alive_->load(); ++i) {
        HttpResult h = http_get(url_, kFetchTimeoutMs, kMaxBody);
        if (h.status == 200) {
          r->ok = true;
          r->body = std::move(h.body);
          break;
        }
        r->error = h.status ? "HTTP status " + std::to_string(h.status) : h.error;
      }
      // post is the one thread-safe door back to the loop.
      if (api_->post(host_, &JwksSource::on_result, r.get()) == GYRE_OK) r.release();
    } catch (...) {
      // Out of memory: the loop hears nothing and the fetch stays in
      // flight; keys stay as they were.
    }
  }
}

void JwksSource::on_result(void *arg) {
  std::unique_ptr<Result> r(static_cast<Result *>(arg));
  if (!r->alive->load()) return;  // destroyed meanwhile
  try {
    r->source->finish(*r);
  } catch (...) {
    // A hook must not throw into the host.
  }
}

void JwksSource::finish(Result &r) {
  in_flight_ = false;
  std::string why = r.error;
  if (r.ok && install(r.body, why)) {
    last_success_ms_ = api_->now_ms(host_);
  } else {
    log(api_, host_, GYRE_LOG_WARN,
        "JWKS fetch failed (" + why + ")" +
            (keys_ ? "; the keys fetched before keep serving" : "; no keys yet"));
  }
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto &w : waiters) w();
}

bool parse_jwks(const std::string &body, KeyRing &out, std::string &why,
                std::vector<std::string> *skipped) {
  JsonValue doc;
  if (!parse_json(body, doc, why) || !doc.is_object() || !doc.get("keys") ||
      !doc.get("keys")->is_array()) {
    if (why.empty()) why = "no \"keys\" array";
    return false;
  }
  out.by_kid = true;
  for (const auto &jwk : doc.get("keys")->items()) {
    std::string err;
    auto key = Key::from_jwk(jwk, err);
    if (!key) {
      if (skipped) skipped->push_back(err);
      continue;
    }
    out.keys.push_back(std::move(key));
  }
  if (out.keys.empty()) {
    why = "no usable key";
    return false;
  }
  return true;
}

bool JwksSource::install(const std::string &body, std::string &why) {
  auto ring = std::make_shared<KeyRing>();
  std::vector<std::string> skipped;
  bool ok = parse_jwks(body, *ring, why, &skipped);
  for (const auto &s : skipped) log(api_, host_, GYRE_LOG_DEBUG, "JWKS: a key skipped: " + s);
  if (!ok) return false;
  log(api_, host_, GYRE_LOG_INFO, "JWKS: " + std::to_string(ring->keys.size()) + " keys");
  keys_ = std::move(ring);
  return true;
}

}  // namespace gyre::jwt
