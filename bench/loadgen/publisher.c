/* gyre-loadgen publisher: paced HTTP/1.1 POST /api/publish, run in the parent.
 *
 * A few keep-alive connections; channel c always goes through connection
 * c % publishers and requests are pipelined on it. HTTP/1.1 servers answer
 * pipelined requests in order and handle them one after another, so the
 * publications of one channel reach the server in sequence order: that is
 * what lets the workers call any gap a loss and any step back a duplicate.
 * Pipelining also means a slow server never holds our send times back: each
 * request is stamped and written when it is due (no coordinated omission),
 * up to kMaxDepth unanswered requests per connection. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

enum { kMaxDepth = 4096 };

struct pconn {
  int fd;
  char *out;
  size_t olen, ocap;
  char *in;
  size_t ilen, icap;
  uint64_t inflight;
  int want_out;
};

struct publisher {
  const struct config *cfg;
  struct shared *sh;
  uint32_t *sent;
  uint32_t *seq; /* next sequence per channel (local) */
  struct pconn *pc;
  uint32_t np;
  int ep;
  uint64_t total, issued, acked, errors, backlog_max;
  char first_error[ERRMSG_LEN];
};

__attribute__((format(printf, 2, 3))) static void perr(struct publisher *p, const char *fmt, ...) {
  p->errors++;
  va_list ap;
  va_start(ap, fmt);
  keep_first_error(p->first_error, sizeof p->first_error, fmt, ap);
  va_end(ap);
}

struct publisher *publisher_open(const struct config *cfg, struct shared *sh) {
  struct publisher *p = calloc(1, sizeof *p);
  p->cfg = cfg;
  p->sh = sh;
  p->sent = shared_sent(sh);
  p->seq = calloc(cfg->channels, sizeof *p->seq);
  p->np = cfg->publishers ? cfg->publishers : 1;
  if (p->np > cfg->channels) p->np = cfg->channels;
  p->pc = calloc(p->np, sizeof *p->pc);
  p->ep = epoll_create1(EPOLL_CLOEXEC);
  p->total = (uint64_t)(cfg->rate * cfg->duration + 0.5);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
  inet_pton(AF_INET, cfg->host, &sa.sin_addr);
  for (uint32_t i = 0; i < p->np; i++) {
    struct pconn *c = &p->pc[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
      fprintf(stderr, "loadgen: publisher cannot connect to %s:%d: %s\n", cfg->host, cfg->port,
              strerror(errno));
      return NULL;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->icap = 65536;
    c->in = malloc(c->icap + 1);
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(p->ep, EPOLL_CTL_ADD, c->fd, &e);
  }
  return p;
}

static void append(struct pconn *c, const char *s, size_t n) {
  if (c->olen + n > c->ocap) {
    c->ocap = (c->olen + n) * 2;
    c->out = realloc(c->out, c->ocap);
  }
  memcpy(c->out + c->olen, s, n);
  c->olen += n;
}

/* One request: data is exactly cfg->payload bytes of JSON when it fits. */
static void build_request(struct publisher *p, struct pconn *c, uint32_t ch, uint32_t seq,
                          uint64_t ts) {
  char data[4096], body[4400], head[512];
  int dl = snprintf(data, sizeof data, "{\"bseq\":%u,\"bts\":%llu,\"bch\":%u,\"pad\":\"", seq,
                    (unsigned long long)ts, ch);
  int pad = (int)p->cfg->payload - dl - 2;
  if (pad > (int)sizeof data - dl - 8) pad = (int)sizeof data - dl - 8;
  for (int i = 0; i < pad; i++) data[dl++] = 'x';
  data[dl++] = '"';
  data[dl++] = '}';
  int bl = snprintf(body, sizeof body, "{\"channel\":\"%s%u\",\"data\":%.*s}",
                    p->cfg->channel_prefix, ch, dl, data);
  int hl = snprintf(head, sizeof head,
                    "POST /api/publish HTTP/1.1\r\nHost: %s:%d\r\nX-API-Key: %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n",
                    p->cfg->host, p->cfg->port, p->cfg->api_key, bl);
  append(c, head, (size_t)hl);
  append(c, body, (size_t)bl);
}

static void flush(struct publisher *p, uint32_t i) {
  struct pconn *c = &p->pc[i];
  while (c->olen) {
    ssize_t r = send(c->fd, c->out, c->olen, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno != EAGAIN) perr(p, "publish write failed: %s", strerror(errno));
      break;
    }
    memmove(c->out, c->out + r, c->olen - (size_t)r);
    c->olen -= (size_t)r;
  }
  int want = c->olen > 0;
  if (want != c->want_out) {
    struct epoll_event e = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u32 = i};
    epoll_ctl(p->ep, EPOLL_CTL_MOD, c->fd, &e);
    c->want_out = want;
  }
}

void publisher_step(struct publisher *p, uint64_t start, uint64_t now) {
  uint64_t due = (uint64_t)((double)(now - start) / 1e9 * p->cfg->rate);
  if (due > p->total) due = p->total;
  uint32_t touched_lo = UINT32_MAX, touched_hi = 0;
  while (p->issued < due) {
    uint32_t ch = (uint32_t)(p->issued % p->cfg->channels);
    uint32_t ci = ch % p->np;
    struct pconn *c = &p->pc[ci];
    if (c->inflight >= kMaxDepth) break; /* the server is not answering: fall behind */
    uint32_t seq = ++p->seq[ch];
    /* Publish the sequence before the request can reach the server. */
    STORE(&p->sent[ch], seq);
    build_request(p, c, ch, seq, now);
    c->inflight++;
    p->issued++;
    if (ci < touched_lo) touched_lo = ci;
    if (ci > touched_hi) touched_hi = ci;
  }
  if (due - p->issued > p->backlog_max) p->backlog_max = due - p->issued;
  for (uint32_t i = touched_lo; i <= touched_hi && i < p->np; i++) flush(p, i);
}

/* Consumes complete responses from c->in. */
static void parse_responses(struct publisher *p, struct pconn *c) {
  size_t off = 0;
  for (;;) {
    char *b = c->in + off;
    size_t avail = c->ilen - off;
    char *eoh = memmem(b, avail, "\r\n\r\n", 4);
    if (!eoh) break;
    *eoh = 0; /* headers as a C string for strcasestr */
    size_t hl = (size_t)(eoh - b) + 4;
    int status = avail > 12 ? atoi(b + 9) : 0;
    const char *cl = strcasestr(b, "\r\ncontent-length:");
    size_t blen = cl ? strtoul(cl + 17, NULL, 10) : 0;
    *eoh = '\r';
    if (!cl && status == 200) {
      perr(p, "publish response without Content-Length (HTTP %d)", status);
      c->inflight = 0;
      c->ilen = 0;
      return;
    }
    if (avail < hl + blen) break;
    const char *body = b + hl;
    if (c->inflight) c->inflight--;
    if (status == 200 && blen >= 9 && memcmp(body, "{\"result\"", 9) == 0 &&
        !memmem(body, blen, "\"error\"", 7)) {
      p->acked++;
    } else {
      char what[200];
      snprintf(what, sizeof what, "%.*s", (int)(blen > 150 ? 150 : blen), body);
      perr(p, "publish failed: HTTP %d %s", status, what);
    }
    off += hl + blen;
  }
  memmove(c->in, c->in + off, c->ilen - off);
  c->ilen -= off;
}

void publisher_poll(struct publisher *p, int timeout_ms) {
  struct epoll_event ev[64];
  int n = epoll_wait(p->ep, ev, 64, timeout_ms);
  for (int i = 0; i < n; i++) {
    uint32_t ci = ev[i].data.u32;
    struct pconn *c = &p->pc[ci];
    if (ev[i].events & EPOLLOUT) flush(p, ci);
    if (!(ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
    if (c->icap - c->ilen < 16384) {
      c->icap *= 2;
      c->in = realloc(c->in, c->icap + 1);
    }
    ssize_t r = recv(c->fd, c->in + c->ilen, c->icap - c->ilen, 0);
    if (r <= 0) {
      if (r < 0 && errno == EAGAIN) continue;
      perr(p, "publisher connection closed by the server (%s)", r ? strerror(errno) : "EOF");
      p->errors += c->inflight;
      c->inflight = 0;
      epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
      continue;
    }
    c->ilen += (size_t)r;
    parse_responses(p, c);
  }
}

uint64_t publisher_sent(const struct publisher *p) { return p->issued; }
uint64_t publisher_acked(const struct publisher *p) { return p->acked; }
uint64_t publisher_errors(const struct publisher *p) { return p->errors; }
uint64_t publisher_backlog_max(const struct publisher *p) { return p->backlog_max; }
const char *publisher_first_error(const struct publisher *p) { return p->first_error; }

uint64_t publisher_inflight(const struct publisher *p) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < p->np; i++) n += p->pc[i].inflight;
  return n;
}

void publisher_close(struct publisher *p) {
  for (uint32_t i = 0; i < p->np; i++) close(p->pc[i].fd);
}
