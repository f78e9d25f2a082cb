/* gyre-loadgen: shared definitions between the parent (orchestrator and HTTP
 * publisher) and the worker processes (WebSocket subscribers).
 *
 * Processes talk through one MAP_SHARED anonymous mapping created before
 * fork(): the parent writes the phase and the per-channel "last sequence
 * sent" counters, each worker writes only its own stats block. Every shared
 * field is a naturally aligned 32/64-bit word accessed with __atomic builtins,
 * so no locks are needed. */
#ifndef GYRE_LOADGEN_COMMON_H
#define GYRE_LOADGEN_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MAX_WORKERS 64
#define ERRMSG_LEN 240

/* Protocol spoken to the server. */
enum proto { PROTO_V2 = 2, PROTO_V1 = 1 };
/* How subscribers connect: WebSocket, or the SDK's http_stream emulation
 * (POST with connect + subscribe as the body, replies as chunked lines). */
enum transport { TR_WEBSOCKET = 0, TR_HTTP_STREAM = 1 };

/* Phases, written by the parent, polled by workers once per loop turn. */
enum phase {
  PH_CONNECT = 1, /* open every connection, connect + subscribe */
  PH_RUN,         /* publishing; churn workers reconnect at their rate */
  PH_DRAIN,       /* publishing over, no more churn: wait for deliveries */
  PH_FINISH,      /* compute tail losses, publish final stats, set done */
  PH_EXIT         /* close everything and exit */
};

/* Latency histogram: log-linear over microseconds. Values below 16 µs get
 * one bucket each; above, every power of two is split into 16 sub-buckets
 * (about 6% resolution), up to 2^40 µs. */
#define HIST_SUB 16
#define HIST_BUCKETS (HIST_SUB + 37 * HIST_SUB)

static inline int hist_bucket(uint64_t us) {
  if (us < HIST_SUB) return (int)us;
  int k = 63 - __builtin_clzll(us); /* k >= 4 */
  int sub = (int)((us >> (k - 4)) & (HIST_SUB - 1));
  int b = HIST_SUB + (k - 4) * HIST_SUB + sub;
  return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

/* Middle of a bucket, in µs. */
static inline double hist_value(int b) {
  if (b < HIST_SUB) return b;
  int k = (b - HIST_SUB) / HIST_SUB + 4;
  int sub = (b - HIST_SUB) % HIST_SUB;
  double lo = (double)((uint64_t)(HIST_SUB + sub) << (k - 4));
  double width = (double)(1ull << (k - 4));
  return lo + width / 2;
}

/* What one worker reports. Only that worker writes it. */
struct wstats {
  uint64_t subscribed;        /* connections currently subscribed */
  uint64_t subscribes;        /* successful subscribes in total (incl. reconnects) */
  uint64_t handshakes_active; /* connections between socket() and subscribe reply */
  uint64_t delivered;         /* publications received */
  uint64_t lost;              /* gaps on a live subscription + tail at the end */
  uint64_t dupes;             /* sequence seen again (or out of order) */
  uint64_t missed_while_down; /* publications sent while a dropped connection was away */
  uint64_t misrouted;         /* publication for another channel */
  uint64_t reconnects;        /* planned (churn) reconnects started */
  uint64_t server_closes;     /* close frame / EOF / reset we did not ask for */
  uint64_t connect_errors;    /* TCP connect or handshake failures (retried) */
  uint64_t protocol_errors;   /* error replies, unexpected pushes, bad frames */
  uint64_t pings;             /* app-level (v2) or WebSocket (v1) pings answered */
  uint64_t last_delivery_ns;  /* CLOCK_MONOTONIC of the latest delivery */
  uint64_t max_latency_us;
  uint64_t done;      /* set once the PH_FINISH accounting is complete */
  uint64_t last_code; /* last close code seen from the server */
  char first_error[ERRMSG_LEN];
  uint64_t hist[HIST_BUCKETS];
};

struct shared {
  uint32_t phase;
  uint32_t nworkers;
  uint64_t run_start_ns;
  struct wstats w[MAX_WORKERS];
  /* followed by uint32_t sent[nchannels]: the highest sequence number whose
   * publish request has been (or is being) written for each channel. */
};

static inline uint32_t *shared_sent(struct shared *s) { return (uint32_t *)(s + 1); }

/* Everything the scenario needs, fixed before fork. */
struct config {
  const char *scenario;
  enum proto proto;
  enum transport transport;
  char host[64];
  int port;
  char api_key[128];
  int server_pid;
  uint32_t conns;        /* subscriber connections */
  uint32_t channels;     /* connection i subscribes to channel i % channels */
  double rate;           /* publishes per second (0 = none) */
  double duration;       /* seconds of publishing */
  double reconnect_rate; /* planned reconnects per second (churn) */
  uint32_t workers;
  uint32_t publishers;          /* HTTP connections; channel c goes through c % publishers */
  uint32_t payload;             /* bytes of publication data JSON */
  uint32_t connect_concurrency; /* handshakes in flight per worker */
  double settle;                /* seconds to wait after connecting before reading RSS */
  double connect_timeout;
  double drain_timeout;
  int check; /* exit non-zero on any loss, dupe or error */
  int quiet;
  const char *channel_prefix;
};

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)

/* worker.c */
void worker_main(const struct config *cfg, struct shared *sh, uint32_t id);
/* Fixed-size error note in the shared stats: keeps only the first. */
void note_error(struct wstats *ws, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Formats into buf (len bytes) unless it already holds an error: only the
 * first one is kept, on one line and safe to embed in the JSON report. */
void keep_first_error(char *buf, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* publisher.c: the HTTP publishing side, run in the parent. */
struct publisher;
struct publisher *publisher_open(const struct config *cfg, struct shared *sh);
/* Writes every publish due by `now` at cfg->rate from `start`. */
void publisher_step(struct publisher *p, uint64_t start, uint64_t now);
/* Reads responses; returns when nothing more is ready or timeout_ms elapses. */
void publisher_poll(struct publisher *p, int timeout_ms);
uint64_t publisher_sent(const struct publisher *p);
uint64_t publisher_acked(const struct publisher *p);
uint64_t publisher_errors(const struct publisher *p);
uint64_t publisher_backlog_max(const struct publisher *p); /* most publishes overdue at once */
uint64_t publisher_inflight(const struct publisher *p);
const char *publisher_first_error(const struct publisher *p);
void publisher_close(struct publisher *p);

/* proc.c: reading the server from /proc. */
struct proc_sample {
  uint64_t cpu_ticks; /* utime + stime */
  uint64_t rss_kb;    /* VmRSS */
  uint64_t threads;
};
int proc_sample(int pid, struct proc_sample *out);
int proc_find_listener(int port); /* pid owning a LISTEN socket on port, or -1 */
int free_port(void);              /* a TCP port free on 127.0.0.1 a moment ago */
void raise_nofile(void);          /* RLIMIT_NOFILE soft = hard */

#endif
