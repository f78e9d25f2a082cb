#include "memory_engine.h"

#include <cstdio>
#include <exception>
#include <utility>

#include "str_util.h"

namespace gyre::memory {

namespace {

constexpr int64_t kDefaultIdempotentResultTtlMs = 300'000;

bool read_info(const gyre_client_info *in, gyre_client_info *out) {
  return read_record(in, out) && valid(out->user) && valid(out->client) && valid(out->conn_info) &&
         valid(out->chan_info);
}

bool tags_valid(const gyre_publication &p) {
  if (p.num_tags == 0) return true;
  if (p.tags == nullptr) return false;
  for (size_t i = 0; i < p.num_tags; ++i)
    if (!valid(p.tags[i].key) || !valid(p.tags[i].value)) return false;
  return true;
}

}  // namespace

MemoryEngine::MemoryEngine(const gyre_host_api *api, gyre_host *host, const EngineConfig &cfg)
    : api_(api), host_(host), cfg_(cfg), history_(cfg.history_meta_ttl_ms) {}

MemoryEngine::~MemoryEngine() {
  if (sweep_timer_) api_->timer_stop(host_, sweep_timer_);
}

void MemoryEngine::start() {
  if (cfg_.sweep_interval_ms <= 0) return;
  sweep_timer_ = api_->timer_start(host_, static_cast<uint64_t>(cfg_.sweep_interval_ms), true,
                                   &MemoryEngine::on_sweep_timer, this);
  if (!sweep_timer_)
    log(GYRE_LOG_WARN,
        "could not start the sweep timer: expired channels keep their memory "
        "until next touched");
}

void MemoryEngine::on_sweep_timer(void *arg) {
  auto *self = static_cast<MemoryEngine *>(arg);
  try {
    self->sweep();
  } catch (const std::exception &e) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), "sweep failed: %s", e.what());
    self->log(GYRE_LOG_ERROR, buf);
  } catch (...) {
    self->log(GYRE_LOG_ERROR, "sweep failed");
  }
}

void MemoryEngine::sweep() {
  const int64_t now_ms = now();
  const auto h = history_.sweep(now_ms);
  const size_t idem = idempotency_.sweep(now_ms);
  const size_t pres = presence_.sweep(now_ms);
  if (h.streams_removed + h.streams_cleared + idem + pres == 0) return;
  char buf[192];
  std::snprintf(buf, sizeof(buf),
                "sweep: streams_removed=%zu streams_cleared=%zu "
                "idempotency_removed=%zu presence_removed=%zu",
                h.streams_removed, h.streams_cleared, idem, pres);
  log(GYRE_LOG_DEBUG, buf);
}

void MemoryEngine::log(gyre_log_level level, std::string_view msg) const {
  if (api_->log) api_->log(host_, level, to_gyre(msg));
}

void MemoryEngine::complete_ok(gyre_op *op) const {
  api_->complete(op, GYRE_OK, gyre_str{nullptr, 0});
}

gyre_status MemoryEngine::subscribe(gyre_str channel, gyre_op *op) {
  // One process is the whole cluster: every publication already reaches
  // the host, which drops channels without local subscribers.
  if (!op || !valid(channel)) return GYRE_ERR_INVALID;
  complete_ok(op);
  return GYRE_OK;
}

gyre_status MemoryEngine::publish(gyre_str channel, const gyre_publication *pub_in,
                                  const gyre_publish_options *opts_in, gyre_op *op) {
  gyre_publication pub;
  gyre_publish_options o;
  gyre_client_info info;
  if (!op || !valid(channel) || !read_record(pub_in, &pub) || !read_record(opts_in, &o) ||
      !valid(pub.data) || !tags_valid(pub) || !valid(o.idempotency_key) || !valid(o.version_epoch))
    return GYRE_ERR_INVALID;
  if (pub.info && !read_info(pub.info, &info)) return GYRE_ERR_INVALID;
  const gyre_client_info *info_p = pub.info ? &info : nullptr;
  pub.size = sizeof(pub);
  pub.info = info_p;

  const std::string_view ch = view(channel);
  const std::string_view key = view(o.idempotency_key);
  const int64_t now_ms = now();
  const int64_t result_ttl_ms = o.idempotent_result_ttl_s > 0
                                    ? int64_t{o.idempotent_result_ttl_s} * 1000
                                    : kDefaultIdempotentResultTtlMs;
  gyre_publish_result res{};
  res.size = sizeof(res);

  // R8 comes first: a repeated key neither stores nor delivers.
  if (!key.empty()) {
    if (const auto *r = idempotency_.find(ch, key, now_ms)) {
      res.position = {r->offset, to_gyre(r->epoch)};
      res.suppressed = GYRE_SUPPRESS_IDEMPOTENCY;
      api_->complete_publish(op, &res);
      return GYRE_OK;
    }
  }

  if (o.history_size == 0 || o.history_ttl_s == 0) {
    // R1 without history: nothing stored, position zero, still delivered.
    if (!key.empty()) {
      auto &cached = idempotency_.slot(ch, key);
      cached.offset = 0;
      cached.epoch.clear();
      cached.expire_ms = now_ms + result_ttl_ms;
    }
    pub.offset = 0;
    pub.time_ms = now_ms;
    const gyre_stream_position pos{0, gyre_str{nullptr, 0}};
    api_->handle_publication(host_, channel, &pub, &pos, nullptr);
    api_->complete_publish(op, &res);
    return GYRE_OK;
  }

  Stream &s = history_.acquire(ch, now_ms);
  if (HistoryStore::version_suppressed(s, o)) {
    // Like the Redis script: a skipped publish refreshes no TTL and is not
    // remembered under its idempotency key.
    res.position = {s.top, to_gyre(s.epoch)};
    res.suppressed = GYRE_SUPPRESS_VERSION;
    api_->complete_publish(op, &res);
    return GYRE_OK;
  }

  IdempotencyCache::Result *cached = key.empty() ? nullptr : &idempotency_.slot(ch, key);
  Appended stored;
  try {
    stored = history_.append(s, pub, info_p, o, now_ms);
  } catch (...) {
    if (cached) idempotency_.erase(ch, key);
    throw;
  }
  if (cached) {
    cached->offset = s.top;
    cached->epoch.assign(s.epoch);  // 8 bytes: fits the SSO, cannot throw
    cached->expire_ms = now_ms + result_ttl_ms;
  }

  // Deliver before completing, so the host sees offsets in order (R11)
  // and the publisher's reply never overtakes its own publication.
  res.position = {s.top, to_gyre(s.epoch)};
  api_->handle_publication(host_, channel, stored.pub, &res.position, stored.prev);
  api_->complete_publish(op, &res);
  return GYRE_OK;
}

gyre_status MemoryEngine::publish_join(gyre_str channel, const gyre_client_info *info_in,
                                       gyre_op *op, bool join) {
  gyre_client_info info;
  if (!op || !valid(channel) || !read_info(info_in, &info)) return GYRE_ERR_INVALID;
  if (join) {
    api_->handle_join(host_, channel, &info);
  } else {
    api_->handle_leave(host_, channel, &info);
  }
  complete_ok(op);
  return GYRE_OK;
}

gyre_status MemoryEngine::history(gyre_str channel, const gyre_history_filter *filter_in,
                                  gyre_op *op) {
  gyre_history_filter f;
  if (!op || !valid(channel) || !read_record(filter_in, &f)) return GYRE_ERR_INVALID;
  const int64_t now_ms = now();
  Stream &s = history_.acquire(view(channel), now_ms);
  history_.touch_meta(s, f.history_meta_ttl_s, now_ms);

  std::vector<const gyre_publication *> ptrs = std::move(pub_ptrs_);
  HistoryStore::read(s, f, ptrs);
  const gyre_stream_position top{s.top, to_gyre(s.epoch)};
  api_->complete_history(op, ptrs.data(), ptrs.size(), &top);
  pub_ptrs_ = std::move(ptrs);
  return GYRE_OK;
}

gyre_status MemoryEngine::remove_history(gyre_str channel, gyre_op *op) {
  if (!op || !valid(channel)) return GYRE_ERR_INVALID;
  // R6: items go, top and epoch stay (and so does the meta deadline).
  if (Stream *s = history_.find(view(channel), now())) {
    s->items.clear();
    s->items_expire_ms = 0;
  }
  complete_ok(op);
  return GYRE_OK;
}

gyre_status MemoryEngine::presence_add(gyre_str channel, const gyre_client_info *info_in,
                                       uint32_t ttl_s, gyre_op *op) {
  gyre_client_info info;
  if (!op || !valid(channel) || !read_info(info_in, &info)) return GYRE_ERR_INVALID;
  presence_.add(view(channel), info, ttl_s, now());
  complete_ok(op);
  return GYRE_OK;
}

gyre_status MemoryEngine::presence_remove(gyre_str channel, gyre_str client_id, gyre_op *op) {
  if (!op || !valid(channel) || !valid(client_id)) return GYRE_ERR_INVALID;
  presence_.remove(view(channel), view(client_id));
  complete_ok(op);
  return GYRE_OK;
}

gyre_status MemoryEngine::presence_get(gyre_str channel, gyre_op *op) {
  if (!op || !valid(channel)) return GYRE_ERR_INVALID;
  std::vector<gyre_client_info> recs = std::move(presence_recs_);
  std::vector<const gyre_client_info *> ptrs = std::move(presence_ptrs_);
  presence_.get(view(channel), now(), recs, ptrs);
  api_->complete_presence(op, ptrs.data(), ptrs.size());
  presence_recs_ = std::move(recs);
  presence_ptrs_ = std::move(ptrs);
  return GYRE_OK;
}

gyre_status MemoryEngine::presence_stats(gyre_str channel, gyre_op *op) {
  if (!op || !valid(channel)) return GYRE_ERR_INVALID;
  const auto st = presence_.stats(view(channel), now());
  api_->complete_presence_stats(op, st.num_clients, st.num_users);
  return GYRE_OK;
}

}  // namespace gyre::memory
