#include "cluster.h"

#include <charconv>
#include <cstring>

namespace gyre::redis {

namespace {

constexpr int kMaxRedirects = 5;  // per attempt; a retry starts again
constexpr int64_t kRetryDelayMs = 50;
constexpr int64_t kRefreshEveryMs = 5000;
constexpr int64_t kMinRefreshGapMs = 200;

bool to_int(std::string_view s, int &out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 :6381" (an empty host means the
// node that answered).
bool parse_redirect(std::string_view err, int &slot, std::string &host, int &port) {
  size_t sp1 = err.find(' ');
  if (sp1 == std::string_view::npos) return false;
  size_t sp2 = err.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return false;
  if (!to_int(err.substr(sp1 + 1, sp2 - sp1 - 1), slot) || slot < 0 ||
      slot >= ClusterRouter::kSlots)
    return false;
  std::string_view addr = err.substr(sp2 + 1);
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos || !to_int(addr.substr(colon + 1), port) || port <= 0 ||
      port > 65535)
    return false;
  host.assign(addr.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return true;
}

}  // namespace

ClusterRouter::ClusterRouter(const gyre_host_api *api, gyre_host *host, const RedisAddress &seed,
                             const RedisSettings &settings, std::string name)
    : api_(api),
      host_(host),
      seed_(seed),
      settings_(settings),
      name_(std::move(name)),
      slots_(kSlots, -1) {}

ClusterRouter::~ClusterRouter() {
  destroying_ = true;
  std::deque<std::shared_ptr<Request>> waiting;
  waiting.swap(retry_);
  for (auto &req : waiting) {
    ReplyFn fn = std::move(req->fn);
    if (fn) fn(nullptr);
  }
  nodes_.clear();  // pending callbacks run with nullptr
}

void ClusterRouter::start() {
  for (const auto &[h, p] : seed_.cluster_nodes) node_index(h, p);
  refresh_due_ms_ = 0;
}

int ClusterRouter::node_index(const std::string &host, int port) {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i]->host == host && nodes_[i]->port == port) return static_cast<int>(i);
  auto n = std::make_unique<Node>();
  n->host = host;
  n->port = port;
  RedisAddress a = seed_;
  a.host = host;
  a.port = port;
  a.db = 0;
  a.cluster_nodes.clear();
  a.text = host + ":" + std::to_string(port);
  n->conn =
      std::make_unique<RedisConnection>(api_, host_, a, settings_, RedisConnection::Role::Command,
                                        name_ + " commands " + a.text, *this);
  n->conn->start();
  nodes_.push_back(std::move(n));
  return static_cast<int>(nodes_.size() - 1);
}

ClusterRouter::Node *ClusterRouter::route(int slot) const {
  if (slot >= 0 && slot < kSlots && slots_[static_cast<size_t>(slot)] >= 0)
    return nodes_[static_cast<size_t>(slots_[static_cast<size_t>(slot)])].get();
  // Unknown owner (map not loaded yet): any live node answers with MOVED.
  for (const auto &n : nodes_)
    if (n->conn->accepting()) return n.get();
  return nullptr;
}

bool ClusterRouter::accepting(int slot) const {
  const Node *n = route(slot);
  return n && n->conn->accepting();
}

bool ClusterRouter::send(int slot, int argc, const char **argv, const size_t *lens, ReplyFn fn) {
  Node *n = route(slot);
  if (!n || !n->conn->accepting()) {
    refresh_due_ms_ = 0;  // the owner may have changed: ask soon
    return false;
  }
  auto req = std::make_shared<Request>();
  req->argv.reserve(static_cast<size_t>(argc));
  for (int i = 0; i < argc; ++i) req->argv.emplace_back(argv[i], lens[i]);
  req->fn = std::move(fn);
  req->slot = slot;
  req->give_up_ms = api_->now_ms(host_) + settings_.io_timeout_ms;
  return dispatch(req, *n, false);
}

bool ClusterRouter::dispatch(const std::shared_ptr<Request> &req, Node &node, bool asking) {
  if (asking) {
    const char *a[] = {"ASKING"};
    size_t l[] = {6};
    if (!node.conn->send(1, a, l, [](redisReply *) {})) return false;
  }
  std::vector<const char *> argv;
  std::vector<size_t> lens;
  argv.reserve(req->argv.size());
  lens.reserve(req->argv.size());
  for (const auto &s : req->argv) {
    argv.push_back(s.data());
    lens.push_back(s.size());
  }
  Node *np = &node;  // nodes live as long as the router
  return node.conn->send(static_cast<int>(argv.size()), argv.data(), lens.data(),
                         [this, req, np](redisReply *r) { replied(req, *np, r); });
}

void ClusterRouter::replied(const std::shared_ptr<Request> &req, const Node &node, redisReply *r) {
  if (r && r->type == REDIS_REPLY_ERROR && !destroying_) {
    std::string_view err(r->str, r->len);
    bool moved = err.starts_with("MOVED ");
    bool ask = err.starts_with("ASK ");
    if ((moved || ask) && req->redirects < kMaxRedirects) {
      int slot = 0, port = 0;
      std::string host;
      if (parse_redirect(err, slot, host, port)) {
        ++req->redirects;
        if (host.empty()) host = node.host;
        int target = node_index(host, port);
        if (moved) {
          slots_[static_cast<size_t>(slot)] = static_cast<int16_t>(target);
          refresh_due_ms_ = 0;  // more slots moved with it, most likely
        }
        if (dispatch(req, *nodes_[static_cast<size_t>(target)], ask)) return;
        r = nullptr;  // the target is down: fail as unavailable
      }
    } else if ((err.starts_with("TRYAGAIN") || err.starts_with("CLUSTERDOWN")) &&
               api_->now_ms(host_) + kRetryDelayMs < req->give_up_ms) {
      req->redirects = 0;
      req->due_ms = api_->now_ms(host_) + kRetryDelayMs;
      retry_.push_back(req);
      refresh_due_ms_ = 0;
      return;
    }
  }
  ReplyFn fn = std::move(req->fn);
  if (fn) fn(r);
}

void ClusterRouter::tick(int64_t now_ms) {
  for (size_t i = 0; i < nodes_.size(); ++i) nodes_[i]->conn->tick(now_ms);
  while (!retry_.empty() && retry_.front()->due_ms <= now_ms) {
    std::shared_ptr<Request> req = std::move(retry_.front());
    retry_.pop_front();
    Node *n = route(req->slot);
    if (n && dispatch(req, *n, false)) continue;
    ReplyFn fn = std::move(req->fn);
    if (fn) fn(nullptr);
  }
  if (now_ms - last_refresh_ms_ >= kRefreshEveryMs) refresh_due_ms_ = 0;
  if (!refreshing_ && refresh_due_ms_ <= now_ms && now_ms - last_refresh_ms_ >= kMinRefreshGapMs)
    refresh_slots(now_ms);
}

void ClusterRouter::on_down(RedisConnection &) {
  if (!destroying_) refresh_due_ms_ = 0;  // a failover may be under way
}

void ClusterRouter::refresh_slots(int64_t now_ms) {
  Node *asked = nullptr;
  // Prefer a node that is up; start from a different one each time so a
  // node with a stale view does not answer forever.
  size_t n = nodes_.size();
  for (size_t i = 0; i < n && !asked; ++i) {
    Node *c = nodes_[(static_cast<size_t>(now_ms / kMinRefreshGapMs) + i) % n].get();
    if (c->conn->state() == RedisConnection::State::Up) asked = c;
  }
  if (!asked) return;  // retried on a later tick
  const char *argv[] = {"CLUSTER", "SLOTS"};
  size_t lens[] = {7, 5};
  last_refresh_ms_ = now_ms;
  refresh_due_ms_ = now_ms + kRefreshEveryMs;
  refreshing_ = asked->conn->send(2, argv, lens, [this, asked](redisReply *r) {
    refreshing_ = false;
    if (destroying_ || !r) return;
    if (r->type == REDIS_REPLY_ERROR) {
      char msg[300];
      std::snprintf(msg, sizeof msg, "%s: CLUSTER SLOTS failed: %.*s (is it a cluster?)",
                    name_.c_str(), static_cast<int>(r->len > 200 ? 200 : r->len), r->str);
      api_->log(host_, GYRE_LOG_ERROR, gyre_str{msg, std::strlen(msg)});
      return;
    }
    apply_slots(r, *asked);
  });
}

// [[start, end, [host, port, id...], replica...], ...]
void ClusterRouter::apply_slots(const redisReply *r, const Node &asked) {
  if (r->type != REDIS_REPLY_ARRAY) return;
  std::vector<int16_t> next(kSlots, -1);
  std::vector<bool> master(nodes_.size() + r->elements, false);
  size_t covered = 0;
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply *e = r->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
        e->element[0]->type != REDIS_REPLY_INTEGER || e->element[1]->type != REDIS_REPLY_INTEGER ||
        e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2)
      continue;
    const redisReply *m = e->element[2];
    if (m->element[0]->type != REDIS_REPLY_STRING || m->element[1]->type != REDIS_REPLY_INTEGER)
      continue;
    long long from = e->element[0]->integer, to = e->element[1]->integer;
    if (from < 0 || to >= kSlots || from > to) continue;
    std::string host(m->element[0]->str, m->element[0]->len);
    if (host.empty() || host == "?") host = asked.host;
    int port = static_cast<int>(m->element[1]->integer);
    if (port <= 0 || port > 65535) continue;
    int idx = node_index(host, port);
    if (static_cast<size_t>(idx) >= master.size()) master.resize(static_cast<size_t>(idx) + 1);
    master[static_cast<size_t>(idx)] = true;
    for (long long s = from; s <= to; ++s) next[static_cast<size_t>(s)] = static_cast<int16_t>(idx);
    covered += static_cast<size_t>(to - from + 1);
  }
  size_t masters = 0;
  for (bool b : master) masters += b;
  if (masters != masters_ || (covered < kSlots && masters_ == 0)) {
    char msg[200];
    std::snprintf(msg, sizeof msg, "%s: %zu masters, %zu of %d slots covered", name_.c_str(),
                  masters, covered, kSlots);
    api_->log(host_, covered < kSlots ? GYRE_LOG_WARN : GYRE_LOG_INFO,
              gyre_str{msg, std::strlen(msg)});
  }
  masters_ = masters;
  slots_.swap(next);
}

bool ClusterRouter::other_node(const std::string &host, int port, std::string &out_host,
                               int &out_port) const {
  for (const auto &n : nodes_) {
    if ((n->host == host && n->port == port) || n->conn->state() != RedisConnection::State::Up)
      continue;
    out_host = n->host;
    out_port = n->port;
    return true;
  }
  return false;
}

}  // namespace gyre::redis
