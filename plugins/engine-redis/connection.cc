#include "connection.h"

#include <sys/ioctl.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

namespace gyre::redis {

// The hiredis event-library adapter over the host's fd watches (as
// adapters/libevent.h does over libevent). hiredis calls these hooks many
// times per loop turn; the watch is touched only when the mask changes.
struct RedisConnection::Watch {
  const gyre_host_api *api;
  gyre_host *host;
  redisAsyncContext *ac;
  gyre_watch *watch = nullptr;
  int mask = GYRE_WATCH_READ | GYRE_WATCH_WRITE;
  // hiredis reads 16 KB per call. A PUB/SUB connection reads on while the
  // socket holds more (up to this many calls per wakeup): a 16 KB read of
  // command replies (~4000 PUBLISH acks) lets the node send ~4000 more
  // publications, whose messages (~80 bytes each) would otherwise come back
  // 200 per turn until Redis closes the subscriber for its output buffer.
  int read_budget = 1;
  bool in_callback = false;
  bool dead = false;

  static void change(void *p, int add, int remove) {
    auto *w = static_cast<Watch *>(p);
    int m = (w->mask | add) & ~remove;
    if (m == w->mask || w->dead) return;
    w->mask = m;
    w->api->watch_update(w->host, w->watch, m);
  }
  static void add_read(void *p) { change(p, GYRE_WATCH_READ, 0); }
  static void del_read(void *p) { change(p, 0, GYRE_WATCH_READ); }
  static void add_write(void *p) { change(p, GYRE_WATCH_WRITE, 0); }
  static void del_write(void *p) { change(p, 0, GYRE_WATCH_WRITE); }
  // hiredis frees the context; the watch goes with it, but never from
  // inside its own callback.
  static void cleanup(void *p) {
    auto *w = static_cast<Watch *>(p);
    w->dead = true;
    w->ac = nullptr;
    if (!w->in_callback) w->finish();
  }
  void finish() {
    if (watch) api->watch_stop(host, watch);
    delete this;
  }
  static void ready(int, int events, void *arg) {
    auto *w = static_cast<Watch *>(arg);
    w->in_callback = true;
    if (events & GYRE_WATCH_READ) {
      for (int i = 0; i < w->read_budget && !w->dead; ++i) {
        redisAsyncHandleRead(w->ac);
        int queued = 0;
        if (w->dead || ioctl(w->ac->c.fd, FIONREAD, &queued) != 0 || queued <= 0) break;
      }
    }
    if ((events & GYRE_WATCH_WRITE) && !w->dead) redisAsyncHandleWrite(w->ac);
    w->in_callback = false;
    if (w->dead) w->finish();
  }
  static bool attach(const gyre_host_api *api, gyre_host *host, redisAsyncContext *ac,
                     int read_budget) {
    auto *w = new Watch{api, host, ac};
    w->read_budget = read_budget;
    w->watch = api->watch_start(host, ac->c.fd, w->mask, &Watch::ready, w);
    if (!w->watch) {
      delete w;
      return false;
    }
    ac->ev.data = w;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return true;
  }
};

RedisConnection::RedisConnection(const gyre_host_api *api, gyre_host *host,
                                 const RedisAddress &addr, const RedisSettings &settings, Role role,
                                 std::string name, Events &events)
    : api_(api),
      host_(host),
      addr_(addr),
      settings_(settings),
      role_(role),
      name_(std::move(name)),
      events_(events) {}

RedisConnection::~RedisConnection() {
  destroying_ = true;
  if (ac_) {
    redisAsyncContext *ac = ac_;
    ac_ = nullptr;
    state_ = State::Down;
    redisAsyncFree(ac);  // pending callbacks run with nullptr
  }
}

int64_t RedisConnection::now() const { return api_->now_ms(host_); }

void RedisConnection::start() { connect_now(); }

void RedisConnection::set_address(const std::string &host, int port) {
  if (host == addr_.host && port == addr_.port) return;
  addr_.host = host;
  addr_.port = port;
  if (addr_.sentinels.empty()) addr_.text = host + ":" + std::to_string(port);
  if (ac_) drop("the master moved");
  next_attempt_ms_ = 0;
  failures_ = 0;
}

void RedisConnection::connect_now() {
  char msg[256];
  if (addr_.host.empty()) {  // Sentinel has not named the master yet
    next_attempt_ms_ = now() + 100;
    return;
  }
  redisAsyncContext *ac = redisAsyncConnect(addr_.host.c_str(), addr_.port);
  if (!ac || ac->err) {
    std::snprintf(msg, sizeof msg, "%s", ac ? ac->errstr : "out of memory");
    if (ac) redisAsyncFree(ac);
    lost(msg);
    return;
  }
  ac->data = this;
  if (!Watch::attach(api_, host_, ac, role_ == Role::PubSub ? 256 : 1)) {
    redisAsyncFree(ac);
    lost("cannot watch the socket");
    return;
  }
  redisEnableKeepAlive(&ac->c);
  redisAsyncSetConnectCallback(ac, &RedisConnection::on_connect);
  redisAsyncSetDisconnectCallback(ac, &RedisConnection::on_disconnect);
  ac_ = ac;
  state_ = State::Connecting;
  connect_deadline_ms_ = now() + settings_.connect_timeout_ms;
  drop_reason_ = nullptr;
  handshake();
  events_.on_open(*this);
}

void RedisConnection::handshake() {
  auto check = [this](const char *what) {
    return [this, what](redisReply *r) {
      if (!r || r->type != REDIS_REPLY_ERROR) return;
      char msg[320];
      std::snprintf(msg, sizeof msg, "%s %s failed: %.*s", name_.c_str(), what,
                    static_cast<int>(r->len > 200 ? 200 : r->len), r->str);
      api_->log(host_, GYRE_LOG_ERROR, gyre_str{msg, std::strlen(msg)});
      drop(what);
    };
  };
  if (!addr_.password.empty()) {
    std::vector<const char *> argv{"AUTH"};
    std::vector<size_t> lens{4};
    if (!addr_.user.empty()) {
      argv.push_back(addr_.user.data());
      lens.push_back(addr_.user.size());
    }
    argv.push_back(addr_.password.data());
    lens.push_back(addr_.password.size());
    send(static_cast<int>(argv.size()), argv.data(), lens.data(), check("AUTH"));
  }
  if (role_ == Role::Command && addr_.db != 0) {
    std::string db = std::to_string(addr_.db);
    const char *argv[] = {"SELECT", db.c_str()};
    size_t lens[] = {6, db.size()};
    send(2, argv, lens, check("SELECT"));
  }
  if (!addr_.sentinels.empty()) {
    // A demoted master may still look healthy for a while (spec §7.2).
    const char *argv[] = {"ROLE"};
    size_t lens[] = {4};
    send(1, argv, lens, [this](redisReply *r) {
      if (!r) return;
      bool master = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                    r->element[0]->type == REDIS_REPLY_STRING &&
                    std::string_view(r->element[0]->str, r->element[0]->len) == "master";
      if (!master) drop("not a master (ROLE)");
    });
  }
  if (!settings_.client_name.empty()) {
    const char *argv[] = {"CLIENT", "SETNAME", settings_.client_name.c_str()};
    size_t lens[] = {6, 7, settings_.client_name.size()};
    send(3, argv, lens, check("CLIENT SETNAME"));
  }
}

bool RedisConnection::send(int argc, const char **argv, const size_t *lens, ReplyFn fn) {
  if (!ac_ || state_ == State::Down) return false;
  pending_.push_back(Pending{std::move(fn), now() + settings_.io_timeout_ms});
  if (redisAsyncCommandArgv(ac_, &RedisConnection::on_reply, nullptr, argc, argv, lens) !=
      REDIS_OK) {
    pending_.pop_back();  // hiredis never calls back for a refused command
    return false;
  }
  return true;
}

bool RedisConnection::subscribe(const std::vector<std::string> &channels, bool unsubscribe) {
  if (!ac_ || state_ == State::Down || channels.empty()) return false;
  std::vector<const char *> argv;
  std::vector<size_t> lens;
  argv.reserve(channels.size() + 1);
  lens.reserve(channels.size() + 1);
  argv.push_back(unsubscribe ? "UNSUBSCRIBE" : "SUBSCRIBE");
  lens.push_back(unsubscribe ? 11 : 9);
  for (const auto &c : channels) {
    argv.push_back(c.data());
    lens.push_back(c.size());
  }
  if (redisAsyncCommandArgv(ac_, &RedisConnection::on_pubsub_reply, this,
                            static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK)
    return false;
  int64_t deadline = now() + settings_.io_timeout_ms;
  for (size_t i = 0; i < channels.size(); ++i) confirmations_.push_back(deadline);
  return true;
}

void RedisConnection::on_reply(redisAsyncContext *ac, void *reply, void *) {
  auto *self = static_cast<RedisConnection *>(ac->data);
  if (!self || self->pending_.empty()) return;
  ReplyFn fn = std::move(self->pending_.front().fn);
  self->pending_.pop_front();
  if (fn) fn(static_cast<redisReply *>(reply));
}

void RedisConnection::on_pubsub_reply(redisAsyncContext *ac, void *reply, void *) {
  auto *self = static_cast<RedisConnection *>(ac->data);
  auto *r = static_cast<redisReply *>(reply);
  // nullptr arrives once per subscribed channel when the context goes away;
  // the disconnect is handled once, in on_disconnect / drop.
  if (!self || !r || self->destroying_) return;
  if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
      r->element[0]->type == REDIS_REPLY_STRING) {
    std::string_view kind(r->element[0]->str, r->element[0]->len);
    if ((kind == "subscribe" || kind == "unsubscribe") && !self->confirmations_.empty())
      self->confirmations_.pop_front();
  }
  self->events_.on_pubsub(*self, r);
}

void RedisConnection::on_connect(const redisAsyncContext *ac, int status) {
  auto *self = static_cast<RedisConnection *>(ac->data);
  if (!self || self->ac_ != ac) return;
  if (status != REDIS_OK) {
    // hiredis frees the context after this returns (no disconnect
    // callback); pending callbacks then run with nullptr.
    char msg[256];
    std::snprintf(msg, sizeof msg, "%s", ac->errstr);
    self->ac_ = nullptr;
    self->lost(msg);
    return;
  }
  self->state_ = State::Up;
  if (self->failures_ > 0) {
    char msg[200];
    std::snprintf(msg, sizeof msg, "%s connected to %s", self->name_.c_str(),
                  self->addr_.text.c_str());
    self->api_->log(self->host_, GYRE_LOG_INFO, gyre_str{msg, std::strlen(msg)});
  }
  self->failures_ = 0;
}

void RedisConnection::on_disconnect(const redisAsyncContext *ac, int status) {
  auto *self = static_cast<RedisConnection *>(ac->data);
  if (!self || self->ac_ != ac) return;  // we dropped it ourselves: handled
  self->ac_ = nullptr;
  self->lost(status == REDIS_OK ? "connection closed" : ac->errstr);
}

void RedisConnection::drop(const char *why) {
  if (!ac_) return;
  redisAsyncContext *ac = ac_;
  ac_ = nullptr;
  drop_reason_ = why;
  lost(why);
  // Inside a hiredis callback this is deferred until the callback returns.
  redisAsyncFree(ac);
}

void RedisConnection::lost(const char *why) {
  bool was_up = state_ == State::Up;
  state_ = State::Down;
  confirmations_.clear();
  ++failures_;
  // First retry soon (a restarted server is back quickly), then back off
  // to 2 s with jitter so many nodes do not reconnect in lockstep.
  int64_t delay = was_up ? 50 : std::min<int64_t>(2000, 100LL << std::min(failures_ - 1, 5));
  static thread_local std::minstd_rand rng{std::random_device{}()};
  delay += static_cast<int64_t>(rng() % static_cast<uint64_t>(delay / 4 + 1));
  next_attempt_ms_ = now() + delay;
  // One line per outage, not one per attempt.
  if (failures_ == 1 || failures_ % 50 == 0) {
    char msg[320];
    std::snprintf(msg, sizeof msg, "%s to %s lost: %s (retrying)", name_.c_str(),
                  addr_.text.c_str(), why ? why : "unknown error");
    api_->log(host_, GYRE_LOG_WARN, gyre_str{msg, std::strlen(msg)});
  }
  if (!destroying_) events_.on_down(*this);
}

void RedisConnection::tick(int64_t now_ms) {
  if (destroying_) return;
  if (state_ == State::Down) {
    if (!ac_ && now_ms >= next_attempt_ms_) connect_now();
    return;
  }
  if (state_ == State::Connecting && now_ms > connect_deadline_ms_) return drop("connect timeout");
  if (!pending_.empty() && now_ms > pending_.front().deadline_ms) return drop("reply timeout");
  if (!confirmations_.empty() && now_ms > confirmations_.front())
    return drop("subscription reply timeout");
}

}  // namespace gyre::redis
