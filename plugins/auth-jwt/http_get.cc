#include "http_get.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace gyre::jwt {

namespace {

using Clock = std::chrono::steady_clock;

struct Url {
  bool tls = false;
  std::string host, port, path;
};

bool parse_url(const std::string &url, Url &out) {
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return false;
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  out.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.find('@') != std::string::npos) return false;  // no credentials in URLs
  size_t colon = authority.rfind(':');
  bool bracketed = !authority.empty() && authority[0] == '[';
  if (colon != std::string::npos && (!bracketed || authority.find(']') < colon)) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  } else {
    out.host = authority;
    out.port = out.tls ? "443" : "80";
  }
  if (bracketed && out.host.size() >= 2) out.host = out.host.substr(1, out.host.size() - 2);
  return !out.host.empty() && !out.port.empty();
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

int connect_to(const Url &u, Clock::time_point deadline, std::string &error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *res = nullptr;
  int rc = getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &res);
  if (rc != 0) {
    error = std::string("cannot resolve ") + u.host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    int soerr = errno;
    if (soerr == EINPROGRESS && wait_fd(fd, POLLOUT, deadline)) {
      socklen_t len = sizeof soerr;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
      if (soerr == 0) break;
    }
    error = std::string("cannot connect to ") + u.host + ":" + u.port + ": " +
            (soerr ? strerror(soerr) : "timed out");
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

// Plain or TLS I/O on a non-blocking socket, each call bounded by the deadline.
class Channel {
 public:
  Channel(int fd, SSL *ssl, Clock::time_point deadline) : fd_(fd), ssl_(ssl), deadline_(deadline) {}
  bool write_all(const std::string &data) {
    size_t off = 0;
    while (off < data.size()) {
      int n = ssl_
                  ? SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off))
                  : static_cast<int>(send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL));
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (!wait_for(n)) return false;
    }
    return true;
  }
  // Appends what arrives; false at the end of the stream or on error.
  bool read_some(std::string &out) {
    char buf[8192];
    for (;;) {
      int n =
          ssl_ ? SSL_read(ssl_, buf, sizeof buf) : static_cast<int>(recv(fd_, buf, sizeof buf, 0));
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        return true;
      }
      if (n == 0 && !ssl_) return false;
      if (!wait_for(n)) return false;
    }
  }
  bool handshake() {
    for (;;) {
      int n = SSL_connect(ssl_);
      if (n == 1) return true;
      if (!wait_for(n)) return false;
    }
  }

 private:
  // After a call that made no progress: wait for the socket, or give up.
  bool wait_for(int rc) {
    short ev = POLLIN;
    if (ssl_) {
      int e = SSL_get_error(ssl_, rc);
      if (e == SSL_ERROR_WANT_WRITE)
        ev = POLLOUT;
      else if (e != SSL_ERROR_WANT_READ)
        return false;
    } else {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
      ev = POLLIN | POLLOUT;
    }
    return wait_fd(fd_, ev, deadline_);
  }
  int fd_;
  SSL *ssl_;
  Clock::time_point deadline_;
};

// Decodes a chunked body into at most max bytes; false when it is
// malformed, incomplete or too large. Sizes are hex digits only (no sign,
// no overflow): a hostile endpoint must not make it loop or grow.
bool dechunk(const std::string &in, std::string &out, size_t max) {
  size_t pos = 0;
  for (;;) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    size_t len = 0, digits = 0;
    for (size_t i = pos; i < eol; ++i, ++digits) {
      char c = in[i];
      int v = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (v < 0) break;
      if (len > (max >> 4)) return false;  // beyond max anyway
      len = len * 16 + static_cast<size_t>(v);
    }
    if (digits == 0) return false;
    // What follows the digits up to the line end is an extension (;name).
    if (pos + digits < eol && in[pos + digits] != ';') return false;
    if (len == 0) return true;
    size_t data = eol + 2;
    if (len > in.size() - data || in.size() - data - len < 2 || out.size() + len > max)
      return false;
    out.append(in, data, len);
    pos = data + len + 2;
  }
}

// A head and as much body as its Content-Length says: no need to wait for
// the server to close.
bool complete(const std::string &in) {
  size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  std::string lower;
  for (size_t i = 0; i < head_end; ++i)
    lower += static_cast<char>(tolower(static_cast<unsigned char>(in[i])));
  size_t cl = lower.find("\r\ncontent-length:");
  if (cl == std::string::npos) return false;
  size_t len = std::strtoul(lower.c_str() + cl + 17, nullptr, 10);
  return in.size() >= head_end + 4 + len;
}

struct SslCtxFree {
  void operator()(SSL_CTX *c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL *s) const { SSL_free(s); }
};

}  // namespace

HttpResult http_get(const std::string &url, int64_t timeout_ms, size_t max_body) {
  HttpResult r;
  Url u;
  if (!parse_url(url, u)) {
    r.error = "not an http(s) URL";
    return r;
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int fd = connect_to(u, deadline, r.error);
  if (fd < 0) return r;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx;
  std::unique_ptr<SSL, SslFree> ssl;
  if (u.tls) {
    ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (ctx) {
      SSL_CTX_set_default_verify_paths(ctx.get());
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
      ssl.reset(SSL_new(ctx.get()));
    }
    // An IP literal is checked against the certificate's IP addresses (and
    // sent no SNI); a name against its DNS names.
    in6_addr probe;
    bool ip = inet_pton(AF_INET, u.host.c_str(), &probe) == 1 ||
              inet_pton(AF_INET6, u.host.c_str(), &probe) == 1;
    bool named = ssl && SSL_set_fd(ssl.get(), fd) == 1 &&
                 (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), u.host.c_str()) == 1
                     : SSL_set_tlsext_host_name(ssl.get(), u.host.c_str()) == 1 &&
                           SSL_set1_host(ssl.get(), u.host.c_str()) == 1);
    if (!named) {
      r.error = "TLS setup failed";
      close(fd);
      return r;
    }
  }
  Channel ch(fd, ssl.get(), deadline);
  if (u.tls && !ch.handshake()) {
    long v = SSL_get_verify_result(ssl.get());
    r.error = v != X509_V_OK ? std::string("TLS: ") + X509_verify_cert_error_string(v)
                             : "TLS handshake failed or timed out";
    close(fd);
    return r;
  }
  std::string req = "GET " + u.path + " HTTP/1.1\r\nHost: " + u.host +
                    "\r\nAccept: application/json\r\nUser-Agent: gyre-auth-jwt\r\n"
                    "Connection: close\r\n\r\n";
  std::string in;
  bool sent = ch.write_all(req);
  while (sent && in.size() <= max_body + 16384 && !complete(in) && ch.read_some(in)) {
  }
  if (ssl) SSL_shutdown(ssl.get());
  close(fd);
  if (!sent) {
    r.error = "cannot send the request";
    return r;
  }
  size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos || in.compare(0, 5, "HTTP/") != 0) {
    r.error = in.empty() ? "no answer (timed out or closed)" : "not an HTTP answer";
    return r;
  }
  std::string head = in.substr(0, head_end);
  size_t sp = head.find(' ');
  r.status = sp == std::string::npos ? 0 : std::atoi(head.c_str() + sp + 1);
  std::string body = in.substr(head_end + 4);
  std::string lower;
  for (char c : head) lower += static_cast<char>(tolower(static_cast<unsigned char>(c)));
  if (lower.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    std::string plain;
    if (!dechunk(body, plain, max_body)) {
      r.status = 0;
      r.error = "malformed, truncated or oversized chunked body";
      return r;
    }
    body = std::move(plain);
  }
  if (body.size() > max_body) {
    r.status = 0;
    r.error = "body too large";
    return r;
  }
  r.body = std::move(body);
  return r;
}

}  // namespace gyre::jwt
