#include "node.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "api.h"
#include "client.h"
#include "controller.h"
#include "log.h"
#include "origin.h"
#include "plugin_stream.h"
#include "store_service.h"
#include "version.h"
#include "websocket.h"

namespace gyre {

namespace {

// Random bytes from the kernel CSPRNG, fetched 4 KiB at a time: one
// getrandom() per 256 client ids instead of one per connection.
void random_bytes(unsigned char *out, size_t n) {
  static thread_local unsigned char pool[4096];
  static thread_local size_t left = 0;
  while (n > 0) {
    if (left == 0) {
      size_t got = 0;
      while (got < sizeof pool) {
        ssize_t r = getrandom(pool + got, sizeof pool - got, 0);
        if (r <= 0) throw std::runtime_error("getrandom failed");
        got += static_cast<size_t>(r);
      }
      left = sizeof pool;
    }
    size_t take = std::min(n, left);
    std::memcpy(out, pool + sizeof pool - left, take);
    std::memset(pool + sizeof pool - left, 0, take);  // never hand out twice
    left -= take;
    out += take;
    n -= take;
  }
}

std::string uuid4() {
  unsigned char b[16];
  random_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0F) | 0x40;
  b[8] = (b[8] & 0x3F) | 0x80;
  static const char hex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += hex[b[i] >> 4];
    s += hex[b[i] & 15];
  }
  return s;
}

// This thread's configuration snapshot (see Node::config()).
thread_local ConfigRef tl_config;

}  // namespace

Node::Node(Config config)
    : config_(std::make_shared<const Config>(std::move(config))),
      uid_(uuid4()),
      auth_(loop_),
      plugins_(loop_, *this) {
  tl_config = config_;  // the node loop's thread
  name_ = config_->node_name;
  if (name_.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    name_ = std::string(host) + "_" + std::to_string(config_->port);
  }
  http_limits_.max_header_size = static_cast<size_t>(config_->max_header_size);
  http_limits_.max_body_size = static_cast<size_t>(config_->api_max_request_body_size);
  int64_t n = config_->workers;
  if (n <= 0) n = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, kMaxWorkers);
  for (int64_t i = 0; i < n; ++i)
    workers_.push_back(
        std::make_unique<Worker>(*this, static_cast<size_t>(i), i == 0 ? &loop_ : nullptr));
  controller_ = std::make_unique<Controller>(*this);
}

Node::~Node() {
  if (accept_ev_) event_free(accept_ev_);
  if (sigint_ev_) event_free(sigint_ev_);
  if (sigterm_ev_) event_free(sigterm_ev_);
  if (listen_fd_ >= 0) close(listen_fd_);
  store_.reset();
  stop_workers();
  // Before the plugins' destroy: control messages it still delivers go
  // nowhere (see handle_control).
  controller_.reset();
  // The plugins' destroy comes after this: an auth op answered there must
  // not reach a client or a loop that is gone.
  auth_.close();
  workers_.clear();
  api_.reset();
}

const Config &Node::config() const { return tl_config ? *tl_config : *config_; }

ConfigRef Node::config_ref() const { return tl_config ? tl_config : config_; }

void Node::use_config_on_this_thread(ConfigRef c) { tl_config = std::move(c); }

void Node::install_config(ConfigRef next, std::function<void()> done) {
  on_every_worker([next](Worker &) { use_config_on_this_thread(next); }, std::move(done));
}

std::string Node::version() const { return std::string(kGyreVersion); }

std::string Node::new_client_id() { return uuid4(); }

bool Node::load_plugins() {
  plugins_.set_config(*config_);
  plugins_.set_transport_services(this);
  plugins_.set_node_id(uid_);
  for (const auto &load : PluginHost::plan(*config_)) {
    std::string error;
    Plugin *p = plugins_.load(load, error);
    if (p && load.engine) error = engine_unfit(*p);
    if (!p || !error.empty()) {
      LOG_ERROR("%s", error.c_str());
      return false;
    }
    if (load.engine) engine_ = std::make_unique<Engine>(*p, loop_);
    if (p->auth()) auth_.add(*p);
  }
  return engine_ != nullptr;
}

bool Node::start(const std::vector<std::string> &config_warnings) {
  started_at_ms_ = loop_.now_ms();
  bool loaded = load_plugins();
  for (const auto &w :
       unclaimed_warnings(config_warnings, plugins_.claimed_keys(), config_->file_json))
    LOG_WARN("config: %s", w.c_str());
  if (!loaded) return false;
  api_ = std::make_unique<ServerApi>(*this);

  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  struct addrinfo *res = nullptr;
  std::string port = std::to_string(config_->port);
  const char *host = config_->address.empty() ? nullptr : config_->address.c_str();
  int rc = getaddrinfo(host, port.c_str(), &hints, &res);
  if (rc != 0) {
    LOG_ERROR("cannot resolve http_server.address \"%s\": %s", config_->address.c_str(),
              gai_strerror(rc));
    return false;
  }
  // Prefer IPv6 any-address (dual stack) when no address is given.
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // Accepted sockets inherit TCP_NODELAY: one syscall per listener, not
    // per connection.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0) {
      listen_fd_ = fd;
      break;
    }
    close(fd);
  }
  freeaddrinfo(res);
  if (listen_fd_ < 0) {
    LOG_ERROR("cannot listen on %s:%lld: %s", config_->address.c_str(),
              static_cast<long long>(config_->port), strerror(errno));
    return false;
  }
  struct sockaddr_storage ss {};
  socklen_t sl = sizeof ss;
  getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&ss), &sl);
  bound_port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port
                                               : reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
  accept_ev_ = event_new(loop_.base(), listen_fd_, EV_READ | EV_PERSIST, &Node::on_accept, this);
  event_add(accept_ev_, nullptr);
  accept_pause_timer_.init(loop_, [this] {
    if (!shutting_down_) event_add(accept_ev_, nullptr);
  });

  auto on_signal = [](evutil_socket_t sig, short, void *arg) {
    auto *node = static_cast<Node *>(arg);
    LOG_INFO("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    node->shutdown();
  };
  signal(SIGPIPE, SIG_IGN);
  sigint_ev_ = evsignal_new(loop_.base(), SIGINT, on_signal, this);
  sigterm_ev_ = evsignal_new(loop_.base(), SIGTERM, on_signal, this);
  event_add(sigint_ev_, nullptr);
  event_add(sigterm_ev_, nullptr);

  controller_->start();
  if (!config_->store_path.empty()) {
    store_ = std::make_unique<StoreService>(*this, config_);
    std::string error;
    if (!store_->start(error)) {
      LOG_ERROR("%s", error.c_str());
      return false;
    }
    store_->broadcast = [this](const Store::Change &c) { controller_->send_store_change(c); };
  }
  for (auto &w : workers_) w->start();
  if (config_->api_key.empty() && !config_->api_insecure && !config_->api_disabled)
    LOG_WARN("http_api.key is empty and http_api.insecure is off: every API request gets 401");
  LOG_INFO("gyre %s node %s listening on %s:%d (engine %s), %zu workers", version().c_str(),
           name_.c_str(), config_->address.empty() ? "*" : config_->address.c_str(), bound_port_,
           engine_->name().c_str(), workers_.size());
  return true;
}

void Node::run() { loop_.run(); }

void Node::stop_workers() {
  // Other workers first: their closing clients still post to this loop.
  for (size_t i = workers_.size(); i-- > 1;) workers_[i]->stop_and_join();
  if (!workers_.empty()) workers_[0]->stop_and_join();
}

void Node::shutdown() {
  if (shutting_down()) return;
  shutting_down_ = true;
  if (accept_ev_) event_del(accept_ev_);
  bool any = registry_.num_clients() > 0;
  // Give close frames a moment to reach the peers, bounded by
  // shutdown.timeout: until every connection has closed (peers answer the
  // close at once), at most a second.
  int64_t grace = std::min<int64_t>(config_->shutdown_timeout_ms, 1000);
  shutdown_timer_.init(loop_, [this] {
    if (connection_count_.load(std::memory_order_relaxed) > 0 &&
        loop_.mono_ms() < shutdown_deadline_ms_) {
      shutdown_timer_.start_ms(kShutdownPollMs);
      return;
    }
    if (store_) store_->stop();
    stop_workers();
    loop_.stop();
  });
  // The other nodes hear of it first (they drop this node from `info` and
  // stop waiting for it in surveys); the loop ends once that is out.
  controller_->shutdown([this, any, grace] {
    shutdown_deadline_ms_ = loop_.mono_ms() + (any ? grace : 0);
    shutdown_timer_.start_ms(any ? kShutdownPollMs : 0);
  });
  on_every_worker([](Worker &w) { w.disconnect_all(disconnects::kShutdown); }, [] {});
}

void Node::on_accept(evutil_socket_t, short, void *arg) {
  static_cast<Node *>(arg)->accept_ready();
}

void Node::accept_ready() {
  for (int i = 0; i < 64; ++i) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        // The pending connection stays in the backlog and epoll would report
        // it again at once: pause accepting instead of spinning.
        int64_t now = loop_.mono_ms();
        if (now - last_emfile_log_ms_ >= 10000) {  // one line per 10 s, not per retry
          last_emfile_log_ms_ = now;
          LOG_WARN("accept: out of file descriptors (%zu connections); retrying every 100 ms",
                   connection_count_.load(std::memory_order_relaxed));
        }
        event_del(accept_ev_);
        accept_pause_timer_.start_ms(100);
      }
      return;
    }
    if (config_->connection_limit > 0 &&
        static_cast<int64_t>(connection_count_.load(std::memory_order_relaxed)) >=
            config_->connection_limit) {
      static const char k503[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      ssize_t w = write(fd, k503, sizeof k503 - 1);
      (void)w;
      close(fd);
      continue;
    }
    // Round-robin: connections spread evenly, and consecutive ones (a
    // test's two clients) land on different workers.
    Worker &w = *workers_[next_worker_];
    next_worker_ = (next_worker_ + 1) % workers_.size();
    if (w.is_home())
      w.adopt(fd);
    else
      hand_over(w, fd);
  }
}

void Node::route(Worker &worker, HttpRequest &req, HttpResponder resp) {
  const std::string &path = req.path;
  if (!config_->ws_disabled && path == config_->ws_prefix) {
    if (shutting_down()) return resp.send(HttpResponse::empty(503));
    if (req.method != "GET") return resp.send(HttpResponse::text(405, "Method Not Allowed"));
    std::string_view origin = req.header("origin");
    if (!origin.empty() && !origin_allowed(origin, req.header("host"))) {
      LOG_INFO("websocket: origin %.*s not allowed", static_cast<int>(origin.size()),
               origin.data());
      return resp.send(HttpResponse::text(403, "Forbidden"));
    }
    return WebSocketSession::upgrade(worker, req, resp);
  }
  if (config_->health_enabled && path == "/health") return resp.send(HttpResponse::json("{}"));
  if (Plugin *p = plugins_.route(path)) {
    if (shutting_down()) return resp.send(HttpResponse::empty(503));
    return serve_plugin_route(worker, *p, req, std::move(resp));
  }
  if (!config_->api_disabled && api_ && api_->handles(path)) {
    if (worker.is_home()) return api_->handle(req, std::move(resp));
    // The API runs on the node loop (engine, registry, routes); the answer
    // travels back to the worker that owns the connection.
    // Keep-alive API clients (backends) send many requests: once this one is
    // answered, the connection itself moves to the node loop.
    resp.move_when_idle([this](int fd) { hand_over(*workers_[0], fd); });
    auto moved = std::make_shared<HttpRequest>(std::move(req));
    HttpResponder back = HttpResponder::relayed(worker.loop(), std::move(resp));
    loop_.post([this, moved, back] { api_->handle(*moved, back); });
    return;
  }
  resp.send(HttpResponse::text(404, "404 page not found"));
}

bool Node::origin_allowed(std::string_view origin, std::string_view host) const {
  // allowed_origins never changes at run time: the startup config will do.
  return origin.empty() || check_origin(config_->allowed_origins, origin, host);
}

gyre_status Node::deliver_to_session(std::string_view node, std::string_view session,
                                     std::string_view data) {
  if (node != uid_) {
    // Another node's session: the commands travel there as a control
    // message, from the node loop (the engine's thread).
    if (!controller_->knows_node(node)) return GYRE_ERR_NOT_FOUND;
    bool posted = loop_.post(
        [this, n = std::string(node), s = std::string(session), d = std::string(data)]() mutable {
          if (controller_) controller_->send_emulation(std::move(n), std::move(s), std::move(d));
        });
    return posted ? GYRE_OK : GYRE_ERR_UNAVAILABLE;
  }
  Worker *w = registry_.session_worker(session);
  if (!w) return GYRE_OK;  // an unknown session is ignored, as in Centrifugo
  // Always posted, even to the caller's own worker: the commands must not
  // run inside the caller's hook (another stream of the same plugin).
  w->loop().post([this, w, s = std::string(session), d = std::string(data)] {
    if (Client *c = registry_.session_client_on(*w, s)) c->handle_frame(d);
  });
  return GYRE_OK;
}

void Node::hand_over(Worker &worker, int fd) {
  // Counted while in flight, so client.connection_limit sees it.
  connection_count_.fetch_add(1, std::memory_order_relaxed);
  bool posted = worker.loop().post([this, &worker, fd] {
    connection_count_.fetch_sub(1, std::memory_order_relaxed);
    worker.adopt(fd);
  });
  if (!posted) {
    connection_count_.fetch_sub(1, std::memory_order_relaxed);
    close(fd);
  }
}

void Node::on_every_worker(std::function<void(Worker &)> fn, std::function<void()> done) {
  auto left = std::make_shared<size_t>(workers_.size());
  auto finish_one = [left, done] {
    if (--*left == 0) done();
  };
  for (auto &w : workers_) {
    if (w->is_home()) {
      fn(*w);
      finish_one();
      continue;
    }
    Worker *wp = w.get();
    bool posted = wp->loop().post([this, wp, fn, finish_one] {
      fn(*wp);
      if (!loop_.post(finish_one)) return;
    });
    if (!posted) finish_one();
  }
}

void Node::channel_used(const std::string &channel, Worker &worker, std::function<void(bool)> cb) {
  uint64_t &mask = routes_[channel];
  bool was_empty = mask == 0;
  mask |= uint64_t{1} << worker.index();
  auto it = subscribing_.find(channel);
  if (it != subscribing_.end()) {
    it->second.push_back(std::move(cb));
    return;
  }
  if (!was_empty) return cb(true);
  subscribing_[channel].push_back(std::move(cb));
  engine_->subscribe(channel, [this, channel](const OpResult &r) {
    auto waiters = std::move(subscribing_[channel]);
    subscribing_.erase(channel);
    if (r.status != GYRE_OK)
      LOG_ERROR("engine subscribe to %s failed: %.*s", channel.c_str(),
                static_cast<int>(r.message.size()), r.message.data());
    for (auto &w : waiters) w(r.status == GYRE_OK);
  });
}

void Node::channel_unused(const std::string &channel, Worker &worker) {
  auto it = routes_.find(channel);
  if (it == routes_.end()) return;
  it->second &= ~(uint64_t{1} << worker.index());
  if (it->second) return;
  routes_.erase(it);
  engine_->unsubscribe(channel, [](const OpResult &) {});
}

void Node::publish(const PublishRequest &req, const ChannelOptions &opts, PublishCallback cb) {
  std::vector<gyre_tag> tags;
  tags.reserve(req.tags.size());
  for (const auto &[k, v] : req.tags) tags.push_back(gyre_tag{to_gstr(k), to_gstr(v)});
  gyre_publication pub{};
  pub.size = sizeof pub;
  pub.data = to_gstr(req.data);
  pub.info = req.info;
  pub.tags = tags.data();
  pub.num_tags = tags.size();
  Loop *here = Loop::current();
  pub.time_ms = (here ? *here : loop_).now_ms();
  gyre_publish_options po{};
  po.size = sizeof po;
  if (opts.history_enabled() && !req.skip_history) {
    po.history_size = static_cast<uint32_t>(opts.history_size);
    po.history_ttl_s = static_cast<uint32_t>(std::max<int64_t>(opts.history_ttl_ms / 1000, 1));
    po.history_meta_ttl_s = static_cast<uint32_t>(config().channel.meta_ttl_ms(opts) / 1000);
  }
  po.idempotency_key = to_gstr(req.idempotency_key);
  po.version = req.version;
  po.version_epoch = to_gstr(req.version_epoch);
  engine_->publish(req.channel, pub, po, [cb](const OpResult &r) {
    if (r.status != GYRE_OK || !r.publish) {
      if (r.status != GYRE_OK)
        LOG_WARN("engine publish failed: %.*s", static_cast<int>(r.message.size()),
                 r.message.data());
      return cb(&errors::kInternal, nullptr);
    }
    cb(nullptr, r.publish);
  });
}

bool Node::decode_history_request(const json::Value &params, bool ic, HistoryRequest &out) {
  auto limit = params.get("limit", ic);
  if (limit && !limit.is_null()) {
    auto v = limit.as_int64();
    if (!v || *v < INT32_MIN || *v > INT32_MAX) return false;
    out.limit = static_cast<int32_t>(*v);
  }
  auto reverse = params.get("reverse", ic);
  if (reverse && !reverse.is_null()) {
    if (!reverse.is_bool()) return false;
    out.reverse = reverse.as_bool();
  }
  auto since = params.get("since", ic);
  if (since && !since.is_null()) {
    if (!since.is_object()) return false;
    out.has_since = true;
    auto off = since.get("offset", ic);
    if (off && !off.is_null()) {
      auto v = off.as_uint64();
      if (!v) return false;
      out.since_offset = *v;
    }
    auto ep = since.get("epoch", ic);
    if (ep && !ep.is_null()) {
      if (!ep.is_string()) return false;
      out.since_epoch = ep.as_string();
    }
  }
  return true;
}

void Node::history(const std::string &channel, const ChannelOptions &opts,
                   const HistoryRequest &req, HistoryCallback cb) {
  if (req.has_since && req.reverse && req.since_offset == 0) {
    // Centrifugo's engine rejects this as a bad request.
    return cb(&errors::kBadRequest, {});
  }
  gyre_history_filter f{};
  f.size = sizeof f;
  f.has_since = req.has_since;
  f.since_offset = req.since_offset;
  f.limit = req.limit;
  f.reverse = req.reverse;
  f.history_meta_ttl_s = static_cast<uint32_t>(config().channel.meta_ttl_ms(opts) / 1000);
  std::string since_epoch = req.since_epoch;
  engine_->history(channel, f, [cb, since_epoch](const OpResult &r) {
    if (r.status != GYRE_OK || !r.top) return cb(&errors::kInternal, {});
    std::string_view epoch = to_sv(r.top->epoch);
    if (!since_epoch.empty() && since_epoch != epoch)
      return cb(&errors::kUnrecoverablePosition, {});
    std::string out;
    json::Writer w(out);
    w.begin_object().key("publications").begin_array();
    for (size_t i = 0; i < r.num_pubs; ++i) protocol::write_publication(w, *r.pubs[i]);
    w.end_array().field("epoch", epoch).field_uint("offset", r.top->offset).end_object();
    cb(nullptr, out);
  });
}

std::string Node::presence_json(const OpResult &r) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("presence").begin_object();
  for (size_t i = 0; i < r.num_infos; ++i) {
    const gyre_client_info &info = *r.infos[i];
    w.key(to_sv(info.client));
    protocol::write_client_info(w, info);
  }
  w.end_object().end_object();
  return out;
}

std::string Node::presence_stats_json(const OpResult &r) {
  std::string out;
  json::Writer w(out);
  w.begin_object().field_uint("num_clients", r.num_clients).field_uint("num_users", r.num_users);
  w.end_object();
  return out;
}

template <typename Encode, typename Deliver>
void Node::fan_out(std::string_view channel, Encode encode, Deliver deliver) {
  auto it = routes_.find(channel);
  if (it == routes_.end()) return;  // no local subscriber: nothing to encode
  std::string json = encode();
  Worker *home = nullptr;
  // Other workers first, so they work while this loop delivers its own.
  for (uint64_t mask = it->second; mask; mask &= mask - 1) {
    Worker *w = workers_[static_cast<size_t>(__builtin_ctzll(mask))].get();
    if (w->is_home()) {
      home = w;
      continue;
    }
    w->loop().post([w, ch = std::string(channel), json, deliver] {
      SharedPush push(json);
      deliver(*w, ch, push);
    });
  }
  if (home) {
    SharedPush push(std::move(json));
    deliver(*home, channel, push);
  }
}

void Node::handle_publication(std::string_view channel, const gyre_publication &pub,
                              const gyre_stream_position *position, const gyre_publication *) {
  uint64_t offset = pub.offset;
  fan_out(
      channel, [&] { return protocol::pub_push(channel, pub); },
      [offset, epoch = std::string(position ? to_sv(position->epoch) : std::string_view())](
          Worker &w, std::string_view ch, SharedPush &push) {
        w.hub().broadcast_publication(ch, push, offset, epoch);
      });
}

void Node::handle_control(std::string_view data) {
  if (controller_) controller_->handle(data);
}

void Node::handle_resync(std::string_view channel) {
  if (controller_) controller_->resync(channel);
}

void Node::handle_join(std::string_view channel, const gyre_client_info &info) {
  fan_out_join_leave(channel, info, true);
}

void Node::handle_leave(std::string_view channel, const gyre_client_info &info) {
  fan_out_join_leave(channel, info, false);
}

void Node::fan_out_join_leave(std::string_view channel, const gyre_client_info &info, bool join) {
  fan_out(
      channel, [&] { return protocol::join_push(channel, info, join); },
      [](Worker &w, std::string_view ch, SharedPush &push) {
        w.hub().broadcast_join_leave(ch, push);
      });
}

}  // namespace gyre
