#include "http_client.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cstring>

#include "loop.h"
#include "tls_client.h"

namespace gyre {

struct HttpClient::Call {
  Pool *pool = nullptr;
  Conn *conn = nullptr;  // while in flight
  std::string path;
  HttpHeaders headers;
  std::string body;
  HttpCallback cb;
  evhttp_request *req = nullptr;
  event *timer = nullptr;
  HttpClient *client = nullptr;
};

struct HttpClient::Conn {
  evhttp_connection *ec = nullptr;
  std::unique_ptr<Call> call;  // in flight
};

struct HttpClient::Pool {
  std::string connect_host;  // the URL's host, to resolve and to check the certificate against
  int port = 80;
  std::shared_ptr<const TlsClient> tls;  // https only
  std::string host;                      // for the Host header
  std::vector<std::unique_ptr<Conn>> conns;
  std::deque<std::unique_ptr<Call>> queue;
  int64_t last_used_ms = 0;
  bool idle() const {
    if (!queue.empty()) return false;
    for (const auto &c : conns)
      if (c->call) return false;
    return true;
  }
};

HttpClient::HttpClient(Loop &loop) : loop_(loop) {
  deferred_ev_ = event_new(loop_.base(), -1, 0, &HttpClient::later, this);
  sweep_ev_ = evtimer_new(loop_.base(), &HttpClient::on_sweep, this);
}

// Endpoints change at run time (the store, a config reload, a rotated
// certificate): a pool nobody used for a while goes with its keep-alive
// connections and its TLS context. A pool still configured is simply made
// again. Runs from its own timer, so no pool is on the call stack.
void HttpClient::on_sweep(int, short, void *arg) {
  auto *self = static_cast<HttpClient *>(arg);
  int64_t now = self->loop_.now_ms();
  for (auto it = self->pools_.begin(); it != self->pools_.end();) {
    Pool &pool = *it->second;
    if (pool.idle() && now - pool.last_used_ms >= kIdlePoolMs) {
      for (auto &conn : pool.conns) evhttp_connection_free(conn->ec);
      it = self->pools_.erase(it);
    } else {
      ++it;
    }
  }
  if (!self->pools_.empty()) self->arm_sweep();
}

void HttpClient::arm_sweep() {
  if (evtimer_pending(sweep_ev_, nullptr)) return;
  timeval tv{kIdlePoolMs / 1000, 0};
  evtimer_add(sweep_ev_, &tv);
}

HttpClient::~HttpClient() {
  for (auto &[key, pool] : pools_) {
    for (auto &call : pool->queue)
      if (call->timer) event_free(call->timer);
    pool->queue.clear();
    for (auto &conn : pool->conns) {
      if (conn->call) {
        if (conn->call->req) evhttp_cancel_request(conn->call->req);
        if (conn->call->timer) event_free(conn->call->timer);
        conn->call.reset();
      }
      evhttp_connection_free(conn->ec);
    }
  }
  pools_.clear();
  if (deferred_ev_) event_free(deferred_ev_);
  if (sweep_ev_) event_free(sweep_ev_);
  if (dns_) evdns_base_free(dns_, 0);
}

void HttpClient::defer(HttpCallback cb, BackendResponse res) {
  deferred_.emplace_back(std::move(cb), std::move(res));
  event_active(deferred_ev_, 0, 0);
}

void HttpClient::later(int, short, void *arg) {
  auto *self = static_cast<HttpClient *>(arg);
  auto ready = std::move(self->deferred_);
  self->deferred_.clear();
  for (auto &[cb, res] : ready) cb(std::move(res));
}

void HttpClient::post(const HttpUrl &url, const HttpHeaders &headers, std::string body,
                      int64_t timeout_ms, HttpCallback cb) {
  std::shared_ptr<const TlsClient> tls;
  if (url.https) {
    if (!url.tls && !default_tls_) {
      std::string err;
      default_tls_ = TlsClient::make(TlsOptions{}, err);
      if (!default_tls_) {
        defer(std::move(cb), BackendResponse{0, {}, "TLS: " + err});
        return;
      }
    }
    tls = url.tls ? url.tls : default_tls_;
  }
  std::string key = (tls ? "https://" : "http://") + url.host + ":" + std::to_string(url.port);
  if (tls) key += "#" + tls->id();
  auto &slot = pools_[key];
  if (!slot) {
    slot = std::make_unique<Pool>();
    slot->connect_host = url.host;
    slot->port = url.port;
    slot->tls = tls;
    bool v6 = url.host.find(':') != std::string::npos;
    slot->host = v6 ? "[" + url.host + "]" : url.host;
    if (url.port != (tls ? 443 : 80)) slot->host += ":" + std::to_string(url.port);
  }
  Pool &pool = *slot;
  pool.last_used_ms = loop_.now_ms();
  arm_sweep();
  auto call = std::make_unique<Call>();
  call->pool = &pool;
  call->client = this;
  call->path = url.path;
  call->headers = headers;
  call->body = std::move(body);
  call->cb = std::move(cb);
  call->timer = evtimer_new(loop_.base(), &HttpClient::on_timeout, call.get());
  timeval tv{static_cast<time_t>(timeout_ms / 1000),
             static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
  evtimer_add(call->timer, &tv);

  for (auto &conn : pool.conns)
    if (!conn->call) return start(pool, *conn, std::move(call));
  if (pool.conns.size() < kMaxConnections) {
    if (evhttp_connection *ec = connect(pool)) {
      auto conn = std::make_unique<Conn>();
      conn->ec = ec;
      Conn &c = *conn;
      pool.conns.push_back(std::move(conn));
      return start(pool, c, std::move(call));
    }
  }
  if (pool.queue.size() < kMaxQueued) {
    pool.queue.push_back(std::move(call));
    return;
  }
  event_free(call->timer);
  defer(std::move(call->cb), BackendResponse{0, {}, "overloaded: too many requests waiting"});
}

evhttp_connection *HttpClient::connect(Pool &pool) {
  evdns_base *dns = nullptr;
  if (!is_ip_literal(pool.connect_host)) {
    if (!dns_) {
      dns_ = evdns_base_new(loop_.base(), EVDNS_BASE_INITIALIZE_NAMESERVERS);
      if (dns_) evdns_base_load_hosts(dns_, nullptr);
    }
    dns = dns_;
  }
  auto port = static_cast<uint16_t>(pool.port);
  evhttp_connection *ec = nullptr;
  if (!pool.tls) {
    ec = evhttp_connection_base_new(loop_.base(), dns, pool.connect_host.c_str(), port);
  } else {
    SSL *ssl = pool.tls->new_ssl(pool.connect_host);
    if (!ssl) return nullptr;
    // The bufferevent owns the SSL and the socket from here. evhttp resets
    // it (SSL_clear, a fresh handshake) when it reconnects a closed
    // keep-alive connection.
    bufferevent *bev =
        bufferevent_openssl_socket_new(loop_.base(), -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) return nullptr;  // with BEV_OPT_CLOSE_ON_FREE it freed the SSL already
    // Many backends close without a close_notify; the response is framed
    // by its length anyway. (OpenSSL 3 reports that as an error unless the
    // context has SSL_OP_IGNORE_UNEXPECTED_EOF, which TlsClient sets.)
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    ec = evhttp_connection_base_bufferevent_new(loop_.base(), dns, bev, pool.connect_host.c_str(),
                                                port);
    if (!ec) bufferevent_free(bev);
  }
  if (ec) {
    evhttp_connection_set_max_body_size(ec, kMaxBodyBytes);
    evhttp_connection_set_max_headers_size(ec, 64 * 1024);
  }
  return ec;
}

void HttpClient::start(Pool &pool, Conn &conn, std::unique_ptr<Call> call) {
  if (pool.tls) {
    // The bufferevent keeps the first few OpenSSL errors until someone
    // takes them, across reconnects: a backend that closed this idle
    // connection left some. Only this request's failure may be reported.
    bufferevent *bev = evhttp_connection_get_bufferevent(conn.ec);
    while (bufferevent_get_openssl_error(bev)) {
    }
  }
  Call *c = call.get();
  evhttp_request *req = evhttp_request_new(&HttpClient::on_response, c);
  if (!req) {
    finish(c, BackendResponse{0, {}, "out of memory"});
    return;
  }
  evkeyvalq *out = evhttp_request_get_output_headers(req);
  for (const auto &[k, v] : c->headers) {
    // The framing headers are ours; a forwarded header never replaces them.
    if (strcasecmp(k.c_str(), "host") == 0 || strcasecmp(k.c_str(), "content-length") == 0 ||
        strcasecmp(k.c_str(), "content-type") == 0 || strcasecmp(k.c_str(), "connection") == 0 ||
        strcasecmp(k.c_str(), "transfer-encoding") == 0)
      continue;
    evhttp_add_header(out, k.c_str(), v.c_str());
  }
  evhttp_add_header(out, "Host", c->pool->host.c_str());
  evhttp_add_header(out, "Content-Type", "application/json");
  evbuffer_add(evhttp_request_get_output_buffer(req), c->body.data(), c->body.size());
  c->conn = &conn;
  c->req = req;
  conn.call = std::move(call);
  if (evhttp_make_request(conn.ec, req, EVHTTP_REQ_POST, c->path.c_str()) != 0) {
    // libevent has freed the request.
    c->req = nullptr;
    std::unique_ptr<Call> failed = std::move(conn.call);
    failed.release();
    finish(c, BackendResponse{0, {}, "cannot send the request"});
    return;
  }
  if (pool.tls) {
    // The TLS bufferevent writes the head and the body as separate
    // records: with Nagle on, the second waits for the backend's delayed
    // ACK of the first, 40 ms a call. Go's client sets it on every socket.
    // The socket exists now (a reconnect makes a new one), so set it per request.
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(conn.ec));
    int one = 1;
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

void HttpClient::on_response(evhttp_request *req, void *arg) {
  auto *c = static_cast<Call *>(arg);
  HttpClient *self = c->client;
  Conn *conn = c->conn;
  Pool *pool = c->pool;
  BackendResponse res;
  int code = req ? evhttp_request_get_response_code(req) : 0;
  if (code == 0) {
    res.error = "connection refused, reset or closed";
    if (pool->tls) {
      // The handshake's own reason (bad certificate, not TLS at all) says
      // more; drain them all so none is left for the next failure.
      bufferevent *bev = evhttp_connection_get_bufferevent(conn->ec);
      std::vector<unsigned long> codes;  // the bufferevent hands out the newest first
      while (unsigned long e = bufferevent_get_openssl_error(bev)) codes.insert(codes.begin(), e);
      std::string why = tls_failure_text(bufferevent_openssl_get_ssl(bev), codes);
      if (!why.empty()) res.error = "TLS: " + why;
    }
  } else {
    res.status = code;
    evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    res.body.resize(n);
    if (n) evbuffer_copyout(in, res.body.data(), n);
  }
  c->req = nullptr;  // libevent frees it after this returns
  conn->call.release();
  c->conn = nullptr;
  self->finish(c, std::move(res));
  self->next(*pool);
}

void HttpClient::on_timeout(int, short, void *arg) {
  auto *c = static_cast<Call *>(arg);
  HttpClient *self = c->client;
  Pool *pool = c->pool;
  if (!c->conn) {  // still queued
    for (auto it = pool->queue.begin(); it != pool->queue.end(); ++it) {
      if (it->get() != c) continue;
      it->release();
      pool->queue.erase(it);
      break;
    }
    self->finish(c, BackendResponse{0, {}, "timeout"});
    return;
  }
  Conn *conn = c->conn;
  // The callback is not run; the connection is reset for the next request.
  if (c->req) evhttp_cancel_request(c->req);
  c->req = nullptr;
  conn->call.release();
  c->conn = nullptr;
  self->finish(c, BackendResponse{0, {}, "timeout"});
  self->next(*pool);
}

void HttpClient::finish(Call *c, BackendResponse res) {
  std::unique_ptr<Call> owned(c);
  if (c->timer) event_free(c->timer);
  c->timer = nullptr;
  HttpCallback cb = std::move(c->cb);
  owned.reset();
  if (cb) cb(std::move(res));
}

void HttpClient::next(Pool &pool) {
  while (!pool.queue.empty()) {
    Conn *idle = nullptr;
    for (auto &conn : pool.conns)
      if (!conn->call) idle = conn.get();
    if (!idle) return;
    std::unique_ptr<Call> call = std::move(pool.queue.front());
    pool.queue.pop_front();
    start(pool, *idle, std::move(call));
  }
}

}  // namespace gyre
