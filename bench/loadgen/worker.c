/* gyre-loadgen worker: a share of the subscriber connections, one epoll loop.
 *
 * Worker `id` owns the connections i = id, id + W, id + 2W, ... (W workers),
 * so the members of a channel (i % channels) spread over every worker.
 * Each connection: TCP connect from 127.0.0.(2 + i % 253) (many source
 * addresses, so ephemeral ports never run out), HTTP upgrade with a fixed
 * key, then one text frame with connect + subscribe, then it only reads.
 *
 * Sequence accounting, per connection: the publisher stores the last
 * sequence it wrote for a channel in shared memory *before* writing the
 * request. When a subscribe reply arrives we read that value (`base`): any
 * later sequence was published after the server had the subscription, so it
 * must arrive; earlier ones may or may not. A jump past the next expected
 * sequence counts as lost, a repeat (or a step back) as a duplicate, and at
 * the end whatever was sent but never arrived counts as lost too. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum state { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_WS, ST_SUBSCRIBED };

struct conn {
  int fd;
  uint32_t gen; /* bumped on every close, tags epoll events */
  uint32_t idx; /* global connection index */
  uint32_t chan;
  uint8_t state;
  uint8_t pong;      /* v2: the connect reply asked for pongs */
  uint8_t dropped;   /* the server dropped it; accounting resumes on resubscribe */
  uint8_t connected; /* v2/v1 connect reply seen */
  uint32_t base;     /* sent[chan] when the subscribe reply arrived */
  uint32_t expect;   /* next sequence expected */
  uint64_t t_start;  /* when the current attempt began */
  uint64_t retry_at;
  char *rbuf; /* bytes of an incomplete frame / HTTP head */
  uint32_t rlen;
  char *wbuf; /* bytes the socket did not take yet */
  uint32_t wlen;
  char *frag; /* fragmented message being assembled */
  uint32_t flen;
};

struct worker {
  const struct config *cfg;
  struct shared *sh;
  struct wstats *ws;
  uint32_t *sent;
  int ep;
  struct conn *c;
  uint32_t n;
  /* FIFO of slots waiting to be (re)opened, ordered by retry_at. */
  uint32_t *q;
  uint32_t qhead, qlen;
  uint64_t handshaking;
  char *scratch; /* one read buffer for every connection of this worker */
  size_t scap;
  uint32_t churn_cursor;
  uint64_t churn_done;
  struct sockaddr_in server;
  uint64_t now;
};

static const char kWsKey[] = "dGhlIHNhbXBsZSBub25jZQ==";
/* base64(sha1(key + GUID)) for the key above (RFC 6455 section 1.3). */
static const char kWsAccept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
static const uint8_t kMask[4] = {0x5a, 0xc3, 0x17, 0x9e};

#define BUMP(p, v) __atomic_store_n((p), *(p) + (v), __ATOMIC_RELAXED)
#define SETV(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

void keep_first_error(char *buf, size_t len, const char *fmt, va_list ap) {
  if (buf[0]) return;
  vsnprintf(buf, len, fmt, ap);
  /* keep it one line, JSON-safe enough for the report */
  for (char *p = buf; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\') *p = ' ';
}

void note_error(struct wstats *ws, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  keep_first_error(ws->first_error, sizeof ws->first_error, fmt, ap);
  va_end(ap);
}

/* A masked client frame into out (room for len + 14). */
static size_t ws_frame(char *out, int op, const char *payload, size_t len) {
  size_t h = 0;
  out[h++] = (char)(0x80 | op);
  if (len < 126) {
    out[h++] = (char)(0x80 | len);
  } else {
    out[h++] = (char)(0x80 | 126);
    out[h++] = (char)(len >> 8);
    out[h++] = (char)(len & 0xff);
  }
  memcpy(out + h, kMask, 4);
  h += 4;
  for (size_t i = 0; i < len; i++) out[h + i] = (char)(payload[i] ^ kMask[i & 3]);
  return h + len;
}

static void set_events(struct worker *w, struct conn *c, uint32_t ev) {
  struct epoll_event e = {.events = ev, .data.u64 = (uint64_t)c->gen << 32 | (uint32_t)(c - w->c)};
  epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Writes now if possible, keeps the rest for EPOLLOUT. */
static void conn_send(struct worker *w, struct conn *c, const char *buf, size_t len) {
  if (c->wlen == 0) {
    ssize_t r = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (r == (ssize_t)len) return;
    if (r < 0) {
      if (errno != EAGAIN) return; /* the read side will see the error */
      r = 0;
    }
    buf += r;
    len -= (size_t)r;
    set_events(w, c, EPOLLIN | EPOLLOUT);
  }
  c->wbuf = realloc(c->wbuf, c->wlen + len);
  memcpy(c->wbuf + c->wlen, buf, len);
  c->wlen += (uint32_t)len;
}

static void send_ws(struct worker *w, struct conn *c, int op, const char *p, size_t len) {
  char buf[512];
  if (len > sizeof buf - 14) return; /* only small control/command frames */
  conn_send(w, c, buf, ws_frame(buf, op, p, len));
}

static void queue_push(struct worker *w, uint32_t slot, uint64_t at) {
  w->c[slot].retry_at = at;
  w->c[slot].state = ST_IDLE;
  w->q[(w->qhead + w->qlen) % w->n] = slot;
  w->qlen++;
}

/* Closes the socket; `retry` puts the slot back in the open queue. */
static void conn_close(struct worker *w, struct conn *c, int retry) {
  if (c->state == ST_IDLE) return;
  if (c->state == ST_SUBSCRIBED) {
    BUMP(&w->ws->subscribed, -1);
  } else {
    w->handshaking--;
  }
  close(c->fd);
  c->fd = -1;
  c->gen++;
  free(c->rbuf), c->rbuf = NULL, c->rlen = 0;
  free(c->wbuf), c->wbuf = NULL, c->wlen = 0;
  free(c->frag), c->frag = NULL, c->flen = 0;
  c->state = ST_IDLE;
  c->connected = 0;
  if (retry && LOAD(&w->sh->phase) < PH_FINISH)
    queue_push(w, (uint32_t)(c - w->c), w->now + 100000000ull);
}

/* A close we did not ask for. Publications are missed until it is back. */
static void conn_dropped(struct worker *w, struct conn *c, const char *why, int code) {
  if (c->state == ST_SUBSCRIBED) c->dropped = 1;
  if (c->state == ST_SUBSCRIBED || c->state == ST_WS) {
    BUMP(&w->ws->server_closes, 1);
    if (code) SETV(&w->ws->last_code, (uint64_t)code);
    note_error(w->ws, "connection %u (channel %u) dropped: %s", c->idx, c->chan, why);
  } else {
    BUMP(&w->ws->connect_errors, 1);
    note_error(w->ws, "connection %u: connect failed: %s", c->idx, why);
  }
  conn_close(w, c, 1);
}

static void conn_open(struct worker *w, struct conn *c) {
  c->t_start = w->now;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    BUMP(&w->ws->connect_errors, 1);
    note_error(w->ws, "socket(): %s", strerror(errno));
    queue_push(w, (uint32_t)(c - w->c), w->now + 100000000ull);
    return;
  }
  int one = 1;
  /* The port is chosen at connect() time, per (src, dst) pair. */
  setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in src = {.sin_family = AF_INET};
  src.sin_addr.s_addr = htonl(0x7f000000u | (2 + c->idx % 253));
  c->state = ST_CONNECTING;
  w->handshaking++;
  if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) {
    conn_dropped(w, c, strerror(errno), 0);
    return;
  }
  struct epoll_event e = {.events = EPOLLOUT,
                          .data.u64 = (uint64_t)c->gen << 32 | (uint32_t)(c - w->c)};
  epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &e);
  if (connect(c->fd, (struct sockaddr *)&w->server, sizeof w->server) < 0 && errno != EINPROGRESS)
    conn_dropped(w, c, strerror(errno), 0);
}

/* connect and subscribe as one command text, as the SDKs send them. */
static int connect_text(struct worker *w, struct conn *c, char *out, size_t size) {
  if (w->cfg->proto == PROTO_V2)
    return snprintf(out, size,
                    "{\"connect\":{\"name\":\"bench\"},\"id\":1}\n"
                    "{\"subscribe\":{\"channel\":\"%s%u\"},\"id\":2}",
                    w->cfg->channel_prefix, c->chan);
  return snprintf(out, size,
                  "{\"id\":1}\n{\"id\":2,\"method\":1,\"params\":{\"channel\":\"%s%u\"}}",
                  w->cfg->channel_prefix, c->chan);
}

/* After the 101: connect and subscribe in one frame. */
static void send_connect(struct worker *w, struct conn *c) {
  char cmd[400];
  int n = connect_text(w, c, cmd, sizeof cmd);
  send_ws(w, c, 0x1, cmd, (size_t)n);
}

/* TCP is up: send the upgrade request (or the http_stream POST). */
static void conn_connected(struct worker *w, struct conn *c) {
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err) {
    conn_dropped(w, c, strerror(err), 0);
    return;
  }
  char req[1024];
  int n;
  if (w->cfg->transport == TR_HTTP_STREAM) {
    /* The commands go in the body; the answer is the stream. */
    char body[400];
    int bn = connect_text(w, c, body, sizeof body);
    n = snprintf(req, sizeof req,
                 "POST /connection/http_stream HTTP/1.1\r\nHost: %s:%d\r\n"
                 "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%.*s",
                 w->cfg->host, w->cfg->port, bn, bn, body);
  } else {
    n = snprintf(
        req, sizeof req,
        "GET /connection/websocket HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
        w->cfg->host, w->cfg->port, kWsKey);
  }
  c->state = ST_HANDSHAKE;
  set_events(w, c, EPOLLIN);
  conn_send(w, c, req, (size_t)n);
}

static int find_u64(const char *p, size_t len, const char *key, uint64_t *out) {
  const char *k = memmem(p, len, key, strlen(key));
  if (!k) return 0;
  const char *e = p + len;
  k += strlen(key);
  if (k >= e || *k < '0' || *k > '9') return 0;
  uint64_t v = 0;
  while (k < e && *k >= '0' && *k <= '9') v = v * 10 + (uint64_t)(*k++ - '0');
  *out = v;
  return 1;
}

static void on_publication(struct worker *w, struct conn *c, const char *p, size_t len) {
  uint64_t seq = 0, ts = 0, ch = 0;
  if (!find_u64(p, len, "\"bseq\":", &seq) || !find_u64(p, len, "\"bts\":", &ts)) {
    BUMP(&w->ws->protocol_errors, 1);
    note_error(w->ws, "unparsable publication: %.*s", (int)(len > 160 ? 160 : len), p);
    return;
  }
  struct wstats *ws = w->ws;
  BUMP(&ws->delivered, 1);
  uint64_t us = w->now > ts ? (w->now - ts) / 1000 : 0;
  ws->hist[hist_bucket(us)]++;
  if (us > ws->max_latency_us) SETV(&ws->max_latency_us, us);
  SETV(&ws->last_delivery_ns, w->now);
  if (find_u64(p, len, "\"bch\":", &ch) && ch != c->chan) {
    BUMP(&ws->misrouted, 1);
    note_error(ws, "connection %u on channel %u got a publication for channel %lu", c->idx, c->chan,
               (unsigned long)ch);
    return;
  }
  if (c->state != ST_SUBSCRIBED) return; /* before the reply: cannot be judged */
  if (seq < c->expect) {
    if (seq > c->base) BUMP(&ws->dupes, 1); /* at or below base: sent before we subscribed */
    return;
  }
  if (seq > c->expect) BUMP(&ws->lost, seq - c->expect);
  c->expect = (uint32_t)seq + 1;
}

static void on_subscribed(struct worker *w, struct conn *c) {
  uint32_t base = LOAD(&w->sent[c->chan]);
  if (c->dropped && base + 1 > c->expect) BUMP(&w->ws->missed_while_down, base + 1 - c->expect);
  c->dropped = 0;
  c->base = base;
  c->expect = base + 1;
  c->state = ST_SUBSCRIBED;
  w->handshaking--;
  BUMP(&w->ws->subscribed, 1);
  BUMP(&w->ws->subscribes, 1);
}

/* One JSON document from a text frame. Our payload keys are unique enough
 * that substring tests classify every message the two protocols send. */
static void on_line(struct worker *w, struct conn *c, const char *p, size_t len) {
  if (memmem(p, len, "\"bseq\":", 7)) {
    on_publication(w, c, p, len);
    return;
  }
  if (len == 2 && p[0] == '{' && p[1] == '}') { /* v2 server ping */
    BUMP(&w->ws->pings, 1);
    /* http_stream pongs would go through /emulation: runs stay shorter than
     * ping_interval + pong_timeout instead. */
    if (c->pong && w->cfg->transport == TR_WEBSOCKET) send_ws(w, c, 0x1, "{}", 2);
    return;
  }
  uint64_t id = 0;
  if (find_u64(p, len, "\"id\":", &id)) {
    if (memmem(p, len, "\"error\"", 7)) {
      BUMP(&w->ws->protocol_errors, 1);
      note_error(w->ws, "connection %u: error reply: %.*s", c->idx, (int)(len > 160 ? 160 : len),
                 p);
      conn_close(w, c, 1);
      return;
    }
    if (id == 1 && c->state == ST_WS && !c->connected) {
      c->connected = 1;
      c->pong = memmem(p, len, "\"pong\":true", 11) != NULL;
      return;
    }
    if (id == 2 && c->state == ST_WS && c->connected) {
      on_subscribed(w, c);
      return;
    }
  }
  BUMP(&w->ws->protocol_errors, 1);
  note_error(w->ws, "connection %u: unexpected message: %.*s", c->idx, (int)(len > 160 ? 160 : len),
             p);
}

static void on_text(struct worker *w, struct conn *c, const char *p, size_t len) {
  const char *end = p + len;
  while (p < end && c->state >= ST_WS) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    if (le > p) on_line(w, c, p, (size_t)(le - p));
    p = le + 1;
  }
}

/* Parses complete frames; returns bytes consumed (the rest is partial). */
static size_t parse_frames(struct worker *w, struct conn *c, const char *buf, size_t len) {
  size_t off = 0;
  while (len - off >= 2 && c->state >= ST_WS) {
    const uint8_t *h = (const uint8_t *)buf + off;
    int fin = h[0] & 0x80, op = h[0] & 0x0f;
    uint64_t plen = h[1] & 0x7f;
    size_t hl = 2;
    if (h[1] & 0x80) {
      conn_dropped(w, c, "server sent a masked frame", 0);
      return len;
    }
    if (plen == 126) {
      if (len - off < 4) break;
      plen = (uint64_t)h[2] << 8 | h[3];
      hl = 4;
    } else if (plen == 127) {
      if (len - off < 10) break;
      plen = 0;
      for (int i = 2; i < 10; i++) plen = plen << 8 | h[i];
      hl = 10;
    }
    if (len - off < hl + plen) break;
    const char *pl = buf + off + hl;
    off += hl + plen;
    switch (op) {
      case 0x1:
      case 0x2:
        if (fin) {
          on_text(w, c, pl, plen);
        } else {
          c->frag = realloc(c->frag, plen);
          memcpy(c->frag, pl, plen);
          c->flen = (uint32_t)plen;
        }
        break;
      case 0x0:
        c->frag = realloc(c->frag, c->flen + plen);
        memcpy(c->frag + c->flen, pl, plen);
        c->flen += (uint32_t)plen;
        if (fin) {
          char *m = c->frag;
          uint32_t ml = c->flen;
          c->frag = NULL, c->flen = 0;
          on_text(w, c, m, ml);
          free(m);
        }
        break;
      case 0x8: {
        int code = plen >= 2 ? ((uint8_t)pl[0] << 8 | (uint8_t)pl[1]) : 0;
        char why[160];
        snprintf(why, sizeof why, "close frame %d '%.*s'", code, plen > 2 ? (int)(plen - 2) : 0,
                 pl + 2);
        send_ws(w, c, 0x8, pl, plen >= 2 ? 2 : 0);
        conn_dropped(w, c, why, code);
        return len;
      }
      case 0x9: /* v1 keep-alive: native ping, answer with the same payload */
        BUMP(&w->ws->pings, 1);
        send_ws(w, c, 0xA, pl, plen);
        break;
      case 0xA: break;
      default: conn_dropped(w, c, "unknown opcode", 0); return len;
    }
  }
  return off;
}

/* http_stream: complete chunks ("<hex>\r\n<lines>\r\n"); returns bytes
 * consumed. The last chunk (size 0) is the end of the stream. */
static size_t parse_chunks(struct worker *w, struct conn *c, const char *buf, size_t len) {
  size_t off = 0;
  while (c->state >= ST_WS) {
    const char *eol = memmem(buf + off, len - off, "\r\n", 2);
    if (!eol) break;
    char *hex_end;
    unsigned long size = strtoul(buf + off, &hex_end, 16);
    if (hex_end != eol) {
      conn_dropped(w, c, "bad chunk size", 0);
      return len;
    }
    size_t start = (size_t)(eol - buf) + 2;
    if (len - start < size + 2) break;
    if (size == 0) {
      conn_dropped(w, c, "end of stream", 0);
      return len;
    }
    on_text(w, c, buf + start, size);
    off = start + size + 2;
  }
  return off;
}

/* The HTTP response to the upgrade; returns bytes consumed, 0 if partial. */
static size_t parse_upgrade(struct worker *w, struct conn *c, const char *buf, size_t len) {
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  if (!end) {
    if (len > 8192) conn_dropped(w, c, "oversized upgrade response", 0);
    return 0;
  }
  size_t hl = (size_t)(end - buf) + 4;
  if (w->cfg->transport == TR_HTTP_STREAM) {
    if (len < 12 || memcmp(buf + 9, "200", 3) != 0 || !memmem(buf, hl, "chunked", 7)) {
      conn_dropped(w, c, "http_stream refused", 0);
      return len;
    }
    c->state = ST_WS; /* the commands went with the request */
    return hl;
  }
  if (len < 12 || memcmp(buf + 9, "101", 3) != 0 ||
      !memmem(buf, hl, kWsAccept, sizeof kWsAccept - 1)) {
    const char *eol = memchr(buf, '\r', hl);
    char why[128];
    snprintf(why, sizeof why, "upgrade refused: %.*s", (int)(eol ? eol - buf : 40), buf);
    conn_dropped(w, c, why, 0);
    return len;
  }
  c->state = ST_WS;
  send_connect(w, c);
  return hl;
}

/* One recv() and everything complete in it; returns what recv() returned. */
static ssize_t on_readable(struct worker *w, struct conn *c) {
  if (w->scap - c->rlen < 65536) { /* a frame bigger than the buffer: grow it */
    w->scap = (c->rlen + 65536) * 2;
    w->scratch = realloc(w->scratch, w->scap);
  }
  if (c->rlen) memcpy(w->scratch, c->rbuf, c->rlen);
  ssize_t r = recv(c->fd, w->scratch + c->rlen, w->scap - c->rlen, 0);
  if (r == 0) {
    conn_dropped(w, c, "EOF without close frame", 0);
    return 0;
  }
  if (r < 0) {
    if (errno != EAGAIN && errno != EINTR) conn_dropped(w, c, strerror(errno), 0);
    return -1;
  }
  size_t len = c->rlen + (size_t)r, off = 0;
  uint32_t gen = c->gen;
  if (c->state == ST_HANDSHAKE) {
    off = parse_upgrade(w, c, w->scratch, len);
    if (c->gen != gen) return r;
    if (off == 0) goto keep;
  }
  if (w->cfg->transport == TR_HTTP_STREAM)
    off += parse_chunks(w, c, w->scratch + off, len - off);
  else
    off += parse_frames(w, c, w->scratch + off, len - off);
  if (c->gen != gen) return r; /* closed meanwhile */
keep:
  c->rlen = (uint32_t)(len - off);
  if (c->rlen) {
    c->rbuf = realloc(c->rbuf, c->rlen);
    memcpy(c->rbuf, w->scratch + off, c->rlen);
  } else {
    free(c->rbuf), c->rbuf = NULL;
  }
  return r;
}

static void on_writable(struct worker *w, struct conn *c) {
  if (c->state == ST_CONNECTING) {
    conn_connected(w, c);
    return;
  }
  ssize_t r = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL);
  if (r < 0) {
    if (errno != EAGAIN) conn_dropped(w, c, strerror(errno), 0);
    return;
  }
  memmove(c->wbuf, c->wbuf + r, c->wlen - (size_t)r);
  c->wlen -= (uint32_t)r;
  if (c->wlen == 0) set_events(w, c, EPOLLIN);
}

/* Churn: close a subscribed connection (politely) and open it again. */
static void churn_one(struct worker *w) {
  for (uint32_t tries = 0; tries < w->n; tries++) {
    struct conn *c = &w->c[w->churn_cursor];
    w->churn_cursor = (w->churn_cursor + 1) % w->n;
    if (c->state != ST_SUBSCRIBED) continue;
    /* Read what is pending first: close() with unread data sends a reset
     * instead of letting our close frame and FIN through. */
    uint32_t gen = c->gen;
    while (on_readable(w, c) > 0 && c->gen == gen && c->state == ST_SUBSCRIBED) {
    }
    if (c->gen != gen || c->state != ST_SUBSCRIBED) continue;
    send_ws(w, c, 0x8, "\x03\xe8", 2); /* 1000 normal closure */
    conn_close(w, c, 0);
    BUMP(&w->ws->reconnects, 1);
    conn_open(w, c);
    return;
  }
}

static void finish(struct worker *w) {
  for (uint32_t i = 0; i < w->n; i++) {
    struct conn *c = &w->c[i];
    uint32_t s = LOAD(&w->sent[c->chan]);
    if (c->state == ST_SUBSCRIBED && s + 1 > c->expect) BUMP(&w->ws->lost, s + 1 - c->expect);
    if (c->state != ST_SUBSCRIBED && c->dropped && s + 1 > c->expect)
      BUMP(&w->ws->missed_while_down, s + 1 - c->expect);
  }
  STORE(&w->ws->done, 1);
}

void worker_main(const struct config *cfg, struct shared *sh, uint32_t id) {
  struct worker W = {.cfg = cfg, .sh = sh, .ws = &sh->w[id], .sent = shared_sent(sh)};
  struct worker *w = &W;
  w->server.sin_family = AF_INET;
  w->server.sin_port = htons((uint16_t)cfg->port);
  inet_pton(AF_INET, cfg->host, &w->server.sin_addr);
  w->n = cfg->conns / cfg->workers + (id < cfg->conns % cfg->workers);
  w->c = calloc(w->n ? w->n : 1, sizeof *w->c);
  w->q = calloc(w->n ? w->n : 1, sizeof *w->q);
  w->scap = 256 * 1024;
  w->scratch = malloc(w->scap);
  w->ep = epoll_create1(EPOLL_CLOEXEC);
  w->now = now_ns();
  for (uint32_t k = 0; k < w->n; k++) {
    struct conn *c = &w->c[k];
    c->fd = -1;
    c->idx = id + k * cfg->workers;
    c->chan = c->idx % cfg->channels;
    c->expect = 1;
    queue_push(w, k, 0);
  }
  double churn_rate = cfg->reconnect_rate / cfg->workers;
  uint64_t last_scan = w->now, finished = 0;
  struct epoll_event ev[1024];
  for (;;) {
    w->now = now_ns();
    uint32_t phase = LOAD(&sh->phase);
    if (phase >= PH_EXIT) break;
    if (phase == PH_FINISH && !finished) {
      finish(w);
      finished = 1;
    }
    /* open queued slots, a bounded number of handshakes at a time */
    while (w->qlen && w->handshaking < cfg->connect_concurrency && phase < PH_FINISH) {
      struct conn *c = &w->c[w->q[w->qhead]];
      if (c->retry_at > w->now) break;
      w->qhead = (w->qhead + 1) % w->n;
      w->qlen--;
      conn_open(w, c);
    }
    if (phase == PH_RUN && churn_rate > 0) {
      uint64_t due = (uint64_t)((double)(w->now - LOAD(&sh->run_start_ns)) / 1e9 * churn_rate);
      while (w->churn_done < due) {
        churn_one(w);
        w->churn_done++;
      }
    }
    /* give up on attempts stuck for 30 s (checked once a second) */
    if (w->now - last_scan > 1000000000ull) {
      last_scan = w->now;
      for (uint32_t k = 0; k < w->n; k++) {
        struct conn *c = &w->c[k];
        if (c->state != ST_IDLE && c->state != ST_SUBSCRIBED &&
            w->now - c->t_start > 30000000000ull)
          conn_dropped(w, c, "no subscribe reply within 30 s", 0);
      }
    }
    SETV(&w->ws->handshakes_active, w->handshaking);
    int n = epoll_wait(w->ep, ev, 1024, 1);
    w->now = now_ns();
    for (int i = 0; i < n; i++) {
      struct conn *c = &w->c[(uint32_t)ev[i].data.u64];
      if (c->gen != (uint32_t)(ev[i].data.u64 >> 32) || c->state == ST_IDLE) continue;
      uint32_t gen = c->gen;
      if (ev[i].events & EPOLLOUT) on_writable(w, c);
      if (c->gen == gen && (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        if (c->state == ST_CONNECTING)
          conn_connected(w, c);
        else
          on_readable(w, c);
      }
    }
  }
  /* Exit without closing sockets one by one: the kernel does it faster,
   * and the server's reaction to mass disconnect is not measured. */
  _exit(0);
}
