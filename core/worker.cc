#include "worker.h"

#include <pthread.h>
#include <signal.h>

#include "client.h"
#include "log.h"
#include "node.h"
#include "registry.h"
#include "websocket.h"

namespace gyre {

namespace {
// An HTTP peer with this many unread response bytes is not read further
// until they drain (pipelined requests must not queue answers forever).
constexpr size_t kHttpReadLimit = 256 * 1024;
// How long a position check waits before it calls a subscription that is
// behind its stream's top lost: a publication published before the top
// was read can reach this node after the read (it travels another way).
constexpr int64_t kPositionRecheckMs = 1000;
}  // namespace

Worker::Worker(Node &node, size_t index, Loop *shared_loop)
    : node_(node),
      index_(index),
      own_loop_(shared_loop ? nullptr : std::make_unique<Loop>()),
      loop_(shared_loop ? shared_loop : own_loop_.get()),
      ws_pool_(WebSocketSession::callbacks(),
               static_cast<uint64_t>(node.config().ws_message_size_limit)),
      pool_(loop_->base()) {
  pool_.set_shared_count(&node.connection_count());
  http_handler_ = [this](HttpRequest &req, HttpResponder resp) {
    node_.route(*this, req, std::move(resp));
  };
  defer_ev_ = event_new(
      loop_->base(), -1, 0,
      [](evutil_socket_t, short, void *arg) {
        auto *self = static_cast<Worker *>(arg);
        std::vector<std::function<void()>> work;
        work.swap(self->deferred_);
        for (auto &fn : work) fn();
      },
      this);
  housekeeping_timer_.init(*loop_, [this] { housekeeping(); });
  housekeeping_timer_.start_ms(1000, true);
  last_presence_refresh_ms_ = loop_->mono_ms();
}

Worker::~Worker() {
  if (thread_.joinable()) stop_and_join();
  housekeeping_timer_.stop();
  pool_.close_all_now();
  http_client_.reset();
  if (defer_ev_) event_free(defer_ev_);
}

HttpClient &Worker::http_client() {
  if (!http_client_) http_client_ = std::make_unique<HttpClient>(*loop_);
  return *http_client_;
}

void Worker::start() {
  if (is_home() || thread_.joinable()) return;
  // Signals belong to the node's loop: the worker thread blocks them all.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  thread_ = std::thread([this, config = node_.config_ref()] {
    Node::use_config_on_this_thread(config);
    loop_->run();
  });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void Worker::stop_and_join() {
  if (is_home()) {
    pool_.close_all_now();
    return;
  }
  if (!thread_.joinable()) return;
  bool posted = loop_->post([this] {
    pool_.close_all_now();
    housekeeping_timer_.stop();
    loop_->stop();
  });
  if (!posted) loop_->stop();
  thread_.join();
}

void Worker::adopt(int fd) {
  Connection *c = pool_.add(fd);
  c->set_read_limit(kHttpReadLimit);
  c->set_handler(std::make_unique<HttpSession>(*loop_, *c, node_.http_limits(), http_handler_));
}

void Worker::defer(std::function<void()> fn) {
  deferred_.push_back(std::move(fn));
  if (!event_pending(defer_ev_, EV_TIMEOUT, nullptr)) event_active(defer_ev_, EV_TIMEOUT, 0);
}

bool Worker::client_connected(Client &c) {
  return node_.registry().add(&c, node_.config().user_connection_limit);
}

void Worker::client_closed(Client &c) {
  node_.registry().remove(&c);
  expiring_.erase(&c);
}

void Worker::track_expiry(Client &c) {
  if (c.has_expiry())
    expiring_.insert(&c);
  else
    expiring_.erase(&c);
}

void Worker::channel_used(const std::string &channel, bool first, std::function<void(bool)> cb) {
  auto it = joining_.find(channel);
  if (!first) {
    if (it == joining_.end()) return cb(true);
    it->second.waiters.push_back(std::move(cb));
    return;
  }
  // A first subscriber asks even while an earlier request is in flight: the
  // Hub emptied meanwhile, and the node may have dropped this worker's
  // route. Answers come back in order; the last one settles every waiter.
  Joining &j = joining_[channel];
  ++j.in_flight;
  j.waiters.push_back(std::move(cb));
  auto answer = [this, channel](bool ok) {
    auto found = joining_.find(channel);
    if (found == joining_.end() || --found->second.in_flight > 0) return;
    auto waiters = std::move(found->second.waiters);
    joining_.erase(found);
    for (auto &w : waiters) w(ok);
  };
  if (is_home()) return node_.channel_used(channel, *this, answer);
  node_.loop().post([this, channel, answer] {
    node_.channel_used(channel, *this,
                       [this, answer](bool ok) { loop_->post([answer, ok] { answer(ok); }); });
  });
}

void Worker::channel_unused(const std::string &channel) {
  if (is_home()) return node_.channel_unused(channel, *this);
  node_.loop().post([this, channel] { node_.channel_unused(channel, *this); });
}

void Worker::disconnect_all(const Disconnect &d) {
  for (Client *c : node_.registry().clients_on(*this)) c->disconnect(d);
}

std::vector<Worker::StreamTop> Worker::walk_positions(const std::vector<StreamTop> &tops,
                                                      bool final) {
  std::unordered_map<std::string_view, const StreamTop *, StringHash> by_channel;
  for (const auto &t : tops) by_channel.emplace(t.channel, &t);
  std::unordered_set<const StreamTop *> behind;
  // check_position defers whatever it does to the client: the Hub is not
  // changed during the walk.
  hub_.for_each_subscriber([&](Client &c, const ClientSubscription &sub) {
    if (!sub.positioned || !sub.subscribed || sub.insufficient) return;
    auto it = by_channel.find(sub.channel);
    if (it == by_channel.end()) return;
    const StreamTop &t = *it->second;
    if (c.check_position(t.channel, t.offset, t.epoch, final)) behind.insert(&t);
  });
  std::vector<StreamTop> out;
  for (const StreamTop *t : behind) out.push_back(*t);
  return out;
}

void Worker::check_positions(const std::vector<StreamTop> &tops) {
  std::vector<StreamTop> behind = walk_positions(tops, false);
  if (!behind.empty())
    rechecks_.push_back(Recheck{loop_->mono_ms() + kPositionRecheckMs, std::move(behind)});
}

std::vector<std::string> Worker::positioned_channels() const {
  std::vector<std::string> out;
  // for_each_subscriber visits one channel's subscribers together.
  hub_.for_each_subscriber([&](Client &, const ClientSubscription &sub) {
    if (sub.positioned && (out.empty() || out.back() != sub.channel)) out.push_back(sub.channel);
  });
  return out;
}

void Worker::housekeeping() {
  if (!rechecks_.empty()) {
    int64_t mono_now = loop_->mono_ms();
    std::vector<Recheck> due;
    for (auto it = rechecks_.begin(); it != rechecks_.end();) {
      if (it->due_ms <= mono_now) {
        due.push_back(std::move(*it));
        it = rechecks_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto &r : due) walk_positions(r.tops, true);
  }
  int64_t now = loop_->now_ms();
  // A check may disconnect its client (which leaves expiring_) or end a
  // subscription: walk a copy.
  std::vector<Client *> expiring(expiring_.begin(), expiring_.end());
  for (Client *c : expiring) {
    if (!expiring_.count(c)) continue;
    c->check_expiry(now);
    if (expiring_.count(c) && !c->has_expiry()) expiring_.erase(c);
  }
  const Config &cfg = node_.config();
  int64_t mono = loop_->mono_ms();
  if (cfg.presence_update_interval_ms > 0 &&
      mono - last_presence_refresh_ms_ >= cfg.presence_update_interval_ms) {
    last_presence_refresh_ms_ = mono;
    uint32_t ttl = static_cast<uint32_t>(cfg.presence_ttl_ms / 1000);
    hub_.for_each_subscriber(
        [&](Client &c, const ClientSubscription &sub) { c.refresh_presence(sub, ttl); });
  }
}

}  // namespace gyre
