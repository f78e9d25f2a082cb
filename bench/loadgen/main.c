/* gyre-loadgen: WebSocket load generator for Gyre (protocol v2) and the Go
 * Centrifuge anchor (protocol v1). See bench/README.md.
 *
 * The parent forks the subscriber workers, publishes over HTTP itself, reads
 * the server's CPU and RSS from /proc at phase boundaries, and prints one
 * JSON object with the results. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static void usage(FILE *f) {
  fputs(
      "usage: gyre-loadgen --scenario idle|broadcast|groups|churn --port PORT [options]\n"
      "       gyre-loadgen --free-port\n"
      "\n"
      "  --proto v2|v1            v2: Gyre / Centrifugo (default); v1: the Go anchor\n"
      "  --transport websocket|http_stream  how subscribers connect (v2 only; http_stream:\n"
      "                           POST /connection/http_stream, no pongs, not with churn)\n"
      "  --host ADDR              server address (127.0.0.1)\n"
      "  --api-key KEY            X-API-Key for /api/publish\n"
      "  --server-pid PID         server process to read /proc from (default: owner of PORT)\n"
      "  --scale F                multiply the scenario's connections and rates (default 1)\n"
      "  --conns N                subscriber connections\n"
      "  --group-size N           connections per channel (connection i -> channel i % channels)\n"
      "  --channels N             number of channels (overrides --group-size)\n"
      "  --rate R                 publishes per second, spread round-robin over channels\n"
      "  --duration S             seconds of publishing (10)\n"
      "  --reconnect-rate R       planned reconnects per second during publishing (churn)\n"
      "  --workers N              subscriber processes (default: max(2, conns/8000))\n"
      "  --publishers N           HTTP publisher connections (4)\n"
      "  --payload B              bytes of JSON data per publication (128)\n"
      "  --connect-concurrency N  handshakes in flight per worker (256)\n"
      "  --settle S               wait after connecting before reading RSS (idle 2, else 1)\n"
      "  --connect-timeout S      give up connecting after S seconds (60)\n"
      "  --drain-timeout S        stop waiting when nothing arrives for S seconds (10)\n"
      "  --label TEXT             copied into the JSON (e.g. server name)\n"
      "  --check                  exit 1 on any loss, duplicate, error or disconnect\n"
      "  --quiet                  no progress lines on stderr\n"
      "\n"
      "Scenarios (before --scale):\n"
      "  idle       15000 connections, one channel each; RSS and CPU per connection\n"
      "  broadcast  10000 subscribers on one channel, 20 publishes/s\n"
      "  groups     15000 connections in groups of 10, 5000 publishes/s\n"
      "  churn      10000 connections in groups of 10, 1000 publishes/s, 500 reconnects/s\n",
      f);
}

static const char *arg_value(int argc, char **argv, const char *name) {
  for (int i = 1; i < argc - 1; i++)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return NULL;
}

static int has_flag(int argc, char **argv, const char *name) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

static const char *kValueFlags[] = {"--scenario",
                                    "--proto",
                                    "--transport",
                                    "--host",
                                    "--api-key",
                                    "--server-pid",
                                    "--scale",
                                    "--conns",
                                    "--group-size",
                                    "--channels",
                                    "--rate",
                                    "--duration",
                                    "--reconnect-rate",
                                    "--workers",
                                    "--publishers",
                                    "--payload",
                                    "--settle",
                                    "--connect-concurrency",
                                    "--port",
                                    "--connect-timeout",
                                    "--drain-timeout",
                                    "--label",
                                    NULL};

/* Scenario defaults, then --scale, then explicit flags. */
static int parse_config(int argc, char **argv, struct config *c, const char **label) {
  memset(c, 0, sizeof *c);
  for (int i = 1; i < argc; i++) {
    int known = 0;
    for (const char **f = kValueFlags; *f; f++)
      if (strcmp(argv[i], *f) == 0) known = 1, i++;
    if (!known && strcmp(argv[i], "--check") && strcmp(argv[i], "--quiet")) {
      fprintf(stderr, "loadgen: unknown argument %s\n", argv[i]);
      return -1;
    }
  }
  const char *v;
  c->scenario = arg_value(argc, argv, "--scenario");
  if (!c->scenario) c->scenario = "broadcast";
  double group = 1, scale = (v = arg_value(argc, argv, "--scale")) ? atof(v) : 1.0;
  int broadcast = 0;
  c->duration = 10;
  c->settle = 1;
  if (strcmp(c->scenario, "idle") == 0) {
    c->conns = 15000, group = 1, c->settle = 2;
  } else if (strcmp(c->scenario, "broadcast") == 0) {
    c->conns = 10000, broadcast = 1, c->rate = 20;
  } else if (strcmp(c->scenario, "groups") == 0) {
    c->conns = 15000, group = 10, c->rate = 5000;
  } else if (strcmp(c->scenario, "churn") == 0) {
    c->conns = 10000, group = 10, c->rate = 1000, c->reconnect_rate = 500;
  } else {
    fprintf(stderr, "loadgen: unknown scenario %s\n", c->scenario);
    return -1;
  }
  c->conns = (uint32_t)fmax(10, round(c->conns * scale));
  if (!broadcast) c->rate = c->rate > 0 ? fmax(1, c->rate * scale) : 0;
  c->reconnect_rate *= scale;
  if ((v = arg_value(argc, argv, "--conns"))) c->conns = (uint32_t)atoi(v);
  if ((v = arg_value(argc, argv, "--group-size"))) group = atof(v), broadcast = 0;
  c->channels = broadcast ? 1 : (uint32_t)fmax(1, ceil(c->conns / fmax(1, group)));
  if ((v = arg_value(argc, argv, "--channels"))) c->channels = (uint32_t)atoi(v);
  if ((v = arg_value(argc, argv, "--rate"))) c->rate = atof(v);
  if ((v = arg_value(argc, argv, "--duration"))) c->duration = atof(v);
  if ((v = arg_value(argc, argv, "--reconnect-rate"))) c->reconnect_rate = atof(v);
  if ((v = arg_value(argc, argv, "--settle"))) c->settle = atof(v);
  v = arg_value(argc, argv, "--proto");
  c->proto = v && strcmp(v, "v1") == 0 ? PROTO_V1 : PROTO_V2;
  v = arg_value(argc, argv, "--transport");
  c->transport = v && strcmp(v, "http_stream") == 0 ? TR_HTTP_STREAM : TR_WEBSOCKET;
  if (v && c->transport == TR_WEBSOCKET && strcmp(v, "websocket") != 0) {
    fprintf(stderr, "gyre-loadgen: unknown --transport %s\n", v);
    exit(2);
  }
  if (c->transport == TR_HTTP_STREAM && (c->proto != PROTO_V2 || c->reconnect_rate > 0)) {
    fprintf(stderr, "gyre-loadgen: --transport http_stream needs --proto v2 and no churn\n");
    exit(2);
  }
  snprintf(c->host, sizeof c->host, "%s", (v = arg_value(argc, argv, "--host")) ? v : "127.0.0.1");
  snprintf(c->api_key, sizeof c->api_key, "%s",
           (v = arg_value(argc, argv, "--api-key")) ? v : "bench");
  c->port = (v = arg_value(argc, argv, "--port")) ? atoi(v) : 8000;
  c->server_pid = (v = arg_value(argc, argv, "--server-pid")) ? atoi(v) : 0;
  c->workers = (uint32_t)fmax(2, ceil(c->conns / 8000.0));
  if ((v = arg_value(argc, argv, "--workers"))) c->workers = (uint32_t)atoi(v);
  if (c->workers > MAX_WORKERS) c->workers = MAX_WORKERS;
  if (c->workers < 1) c->workers = 1;
  c->publishers = (v = arg_value(argc, argv, "--publishers")) ? (uint32_t)atoi(v) : 4;
  c->payload = (v = arg_value(argc, argv, "--payload")) ? (uint32_t)atoi(v) : 128;
  c->connect_concurrency =
      (v = arg_value(argc, argv, "--connect-concurrency")) ? (uint32_t)atoi(v) : 256;
  c->connect_timeout = (v = arg_value(argc, argv, "--connect-timeout")) ? atof(v) : 60;
  c->drain_timeout = (v = arg_value(argc, argv, "--drain-timeout")) ? atof(v) : 10;
  c->check = has_flag(argc, argv, "--check");
  c->quiet = has_flag(argc, argv, "--quiet");
  c->channel_prefix = "bench-";
  *label = (v = arg_value(argc, argv, "--label")) ? v : "";
  if (c->channels < 1 || c->conns < 1 || c->port <= 0) {
    fprintf(stderr, "loadgen: need --port and at least one connection and channel\n");
    return -1;
  }
  return 0;
}

/* ---- the run ------------------------------------------------------------ */

struct run {
  struct config cfg;
  const char *label;
  struct shared *sh;
  pid_t kids[MAX_WORKERS];
  int dead;        /* a worker died */
  int tool_failed; /* could not set the scenario up (connections, publisher) */
  long hz;
  struct publisher *pub;
  /* server samples: start, all subscribed, settled, publishing start/end */
  struct proc_sample s_start, s_conn, s_settled, s_run0, s_run1;
  uint64_t t_conn0, t_conn1, t_run0, t_run1, t_drained;
  uint64_t connected, subscribes_before, expected;
  int drained;
  struct wstats t; /* the workers' totals */
  uint64_t hist[HIST_BUCKETS], n_lat;
};

static void totals(struct run *r) {
  struct wstats *t = &r->t;
  memset(t, 0, offsetof(struct wstats, hist));
  for (uint32_t i = 0; i < r->cfg.workers; i++) {
    struct wstats *w = &r->sh->w[i];
    t->subscribed += LOAD(&w->subscribed);
    t->subscribes += LOAD(&w->subscribes);
    t->handshakes_active += LOAD(&w->handshakes_active);
    t->delivered += LOAD(&w->delivered);
    t->lost += LOAD(&w->lost);
    t->dupes += LOAD(&w->dupes);
    t->missed_while_down += LOAD(&w->missed_while_down);
    t->misrouted += LOAD(&w->misrouted);
    t->reconnects += LOAD(&w->reconnects);
    t->server_closes += LOAD(&w->server_closes);
    t->connect_errors += LOAD(&w->connect_errors);
    t->protocol_errors += LOAD(&w->protocol_errors);
    t->pings += LOAD(&w->pings);
    uint64_t ld = LOAD(&w->last_delivery_ns), ml = LOAD(&w->max_latency_us);
    if (ld > t->last_delivery_ns) t->last_delivery_ns = ld;
    if (ml > t->max_latency_us) t->max_latency_us = ml;
    if (LOAD(&w->last_code)) t->last_code = LOAD(&w->last_code);
    if (!t->first_error[0] && w->first_error[0])
      memcpy(t->first_error, w->first_error, sizeof t->first_error);
  }
}

/* Notices a worker that exited early (it never should before PH_EXIT). */
static void reap(struct run *r) {
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    for (uint32_t i = 0; i < r->cfg.workers; i++)
      if (r->kids[i] == p) {
        r->kids[i] = 0;
        if (LOAD(&r->sh->phase) < PH_EXIT) {
          r->dead = 1;
          fprintf(stderr, "loadgen: worker %u exited early (status %d)\n", i, st);
        }
      }
  }
}

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }
static double secs(uint64_t a, uint64_t b) { return (double)(b - a) / 1e9; }

static void sample(struct run *r, struct proc_sample *s) {
  memset(s, 0, sizeof *s);
  if (r->cfg.server_pid > 0) proc_sample(r->cfg.server_pid, s);
}

/* Forks the workers and waits until every connection is subscribed. */
static void connect_phase(struct run *r) {
  const struct config *cfg = &r->cfg;
  sample(r, &r->s_start);
  r->t_conn0 = now_ns();
  STORE(&r->sh->phase, PH_CONNECT);
  for (uint32_t i = 0; i < cfg->workers; i++) {
    pid_t p = fork();
    if (p == 0) worker_main(cfg, r->sh, i); /* never returns */
    if (p < 0) {
      perror("fork");
      r->tool_failed = 1;
      return;
    }
    r->kids[i] = p;
  }
  uint64_t last_print = r->t_conn0;
  for (;;) {
    sleep_ms(5);
    reap(r);
    totals(r);
    uint64_t now = now_ns();
    if (r->t.subscribed >= cfg->conns || r->dead || secs(r->t_conn0, now) > cfg->connect_timeout)
      break;
    if (!cfg->quiet && now - last_print > 1000000000ull) {
      last_print = now;
      fprintf(stderr, "loadgen: %.0f s: %lu subscribed, %lu connecting, %lu connect errors\n",
              secs(r->t_conn0, now), (unsigned long)r->t.subscribed,
              (unsigned long)r->t.handshakes_active, (unsigned long)r->t.connect_errors);
    }
  }
  r->t_conn1 = now_ns();
  sample(r, &r->s_conn);
  r->connected = r->t.subscribed;
  if (r->connected < cfg->conns) {
    fprintf(stderr, "loadgen: only %lu of %u connections subscribed within %.0f s (%s)\n",
            (unsigned long)r->connected, cfg->conns, cfg->connect_timeout,
            r->t.first_error[0] ? r->t.first_error : "no error recorded");
    r->tool_failed = 1;
  }
  /* RSS is read once the server had time to settle (deferred frees, GC). */
  uint64_t t_settle = now_ns();
  while (!r->dead && secs(t_settle, now_ns()) < cfg->settle) sleep_ms(10), reap(r);
  sample(r, &r->s_settled);
  r->subscribes_before = r->t.subscribes;
}

/* Deliveries every subscriber of every channel should get by now. */
static uint64_t expected_deliveries(struct run *r) {
  const struct config *cfg = &r->cfg;
  uint32_t *sent = shared_sent(r->sh);
  uint64_t e = 0;
  for (uint32_t c = 0; c < cfg->channels; c++) {
    uint64_t subs = cfg->conns / cfg->channels + (c < cfg->conns % cfg->channels);
    e += (uint64_t)LOAD(&sent[c]) * subs;
  }
  return e;
}

/* Publishes for cfg->duration (workers churn meanwhile), then drains. */
static void publish_phase(struct run *r) {
  const struct config *cfg = &r->cfg;
  r->drained = 1;
  if (r->tool_failed || (cfg->rate <= 0 && cfg->reconnect_rate <= 0)) return;
  r->pub = publisher_open(cfg, r->sh);
  if (!r->pub) {
    r->tool_failed = 1;
    return;
  }
  struct publisher *pub = r->pub;
  sample(r, &r->s_run0);
  r->t_run0 = now_ns();
  STORE(&r->sh->run_start_ns, r->t_run0);
  STORE(&r->sh->phase, PH_RUN);
  uint64_t last_print = r->t_run0;
  while (!r->dead) {
    uint64_t now = now_ns();
    if (secs(r->t_run0, now) >= cfg->duration) break;
    publisher_step(pub, r->t_run0, now);
    publisher_poll(pub, 1);
    reap(r);
    if (!cfg->quiet && now - last_print > 1000000000ull) {
      last_print = now;
      totals(r);
      fprintf(stderr,
              "loadgen: %.0f s: published %lu (acked %lu), delivered %lu, subscribed %lu, "
              "reconnects %lu\n",
              secs(r->t_run0, now), (unsigned long)publisher_sent(pub),
              (unsigned long)publisher_acked(pub), (unsigned long)r->t.delivered,
              (unsigned long)r->t.subscribed, (unsigned long)r->t.reconnects);
    }
  }
  /* Whatever the pacing could not send in time is sent now: the offered
   * total is fixed, so runs are comparable. */
  publisher_step(pub, r->t_run0, r->t_run0 + (uint64_t)(cfg->duration * 1e9) + 1);
  r->t_run1 = now_ns();
  STORE(&r->sh->phase, PH_DRAIN);

  /* Drain: every expected delivery arrived, or nothing arrived for
   * drain_timeout, or a hard cap (a saturated server may need long). */
  double cap = fmax(60, 5 * cfg->duration);
  uint64_t last_count = 0, last_change = now_ns();
  r->drained = 0;
  while (!r->dead) {
    publisher_poll(pub, 5);
    reap(r);
    uint64_t now = now_ns();
    totals(r);
    r->expected = expected_deliveries(r);
    int idle_pub = publisher_inflight(pub) == 0;
    if (r->t.delivered != last_count) last_count = r->t.delivered, last_change = now;
    /* (what a dropped connection missed will never come) */
    if (idle_pub && cfg->reconnect_rate <= 0 &&
        r->t.delivered + r->t.missed_while_down >= r->expected) {
      r->drained = 1;
      break;
    }
    /* churn: connections come and go, so the total is not known in advance */
    if (idle_pub && cfg->reconnect_rate > 0 && r->t.handshakes_active == 0 &&
        secs(last_change, now) > 1.0) {
      r->drained = 1;
      break;
    }
    if (secs(last_change, now) > cfg->drain_timeout || secs(r->t_run1, now) > cap) break;
  }
  r->t_drained = now_ns();
  sample(r, &r->s_run1);
}

/* Workers count tail losses; then they exit. */
static void finish_phase(struct run *r) {
  const struct config *cfg = &r->cfg;
  STORE(&r->sh->phase, PH_FINISH);
  uint64_t t_fin = now_ns();
  for (;;) {
    uint32_t done = 0;
    for (uint32_t i = 0; i < cfg->workers; i++) done += LOAD(&r->sh->w[i].done) != 0;
    reap(r);
    if (done == cfg->workers || r->dead || secs(t_fin, now_ns()) > 10) break;
    sleep_ms(2);
  }
  totals(r);
  for (uint32_t i = 0; i < cfg->workers; i++)
    for (int b = 0; b < HIST_BUCKETS; b++) {
      r->hist[b] += r->sh->w[i].hist[b];
      r->n_lat += r->sh->w[i].hist[b];
    }
  STORE(&r->sh->phase, PH_EXIT);
  for (uint32_t i = 0; i < cfg->workers; i++)
    if (r->kids[i] > 0 && waitpid(r->kids[i], NULL, 0) == r->kids[i]) r->kids[i] = 0;
}

/* ---- the report ----------------------------------------------------------- */

static double pct(const struct run *r, double q) {
  double mx = (double)r->t.max_latency_us; /* bucket middles may overshoot it */
  if (!r->n_lat) return 0;
  uint64_t want = (uint64_t)ceil(q * (double)r->n_lat), acc = 0;
  for (int b = 0; b < HIST_BUCKETS; b++)
    if ((acc += r->hist[b]) >= want) return fmin(hist_value(b), mx);
  return mx;
}

/* A JSON number, or null when the value could not be measured. */
static const char *jnum(char *buf, double v, int valid, int decimals) {
  if (!valid) return "null";
  snprintf(buf, 32, "%.*f", decimals, v);
  return buf;
}

static double tv(struct timeval a) { return (double)a.tv_sec + (double)a.tv_usec / 1e6; }

/* Prints the JSON result; returns 1 when nothing went wrong. */
static int report(struct run *r, FILE *o) {
  const struct config *cfg = &r->cfg;
  const struct wstats *t = &r->t;
  struct rusage self, kids;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &kids);
  double gen_cpu = tv(self.ru_utime) + tv(self.ru_stime) + tv(kids.ru_utime) + tv(kids.ru_stime);
  double tick_us = 1e6 / (double)r->hz, n = (double)r->connected;
  int measured = cfg->server_pid > 0 && r->connected;
  double conn_s = secs(r->t_conn0, r->t_conn1);
  char b1[32], b2[32];
  uint64_t pub_errors = r->pub ? publisher_errors(r->pub) : 0;
  uint64_t faults = t->lost + t->dupes + t->misrouted + t->server_closes + t->connect_errors +
                    t->protocol_errors + pub_errors + (uint64_t)r->dead + (uint64_t)!r->drained;
  int ok = !r->tool_failed && faults == 0;

  fprintf(o,
          "{\"label\":\"%s\",\"scenario\":\"%s\",\"proto\":\"%s\",\"transport\":\"%s\","
          "\"server_pid\":%d,\n",
          r->label, cfg->scenario, cfg->proto == PROTO_V2 ? "v2" : "v1",
          cfg->transport == TR_HTTP_STREAM ? "http_stream" : "websocket", cfg->server_pid);
  fprintf(o,
          " \"params\":{\"conns\":%u,\"channels\":%u,\"rate\":%.1f,\"duration_s\":%.1f,"
          "\"reconnect_rate\":%.1f,\"workers\":%u,\"publishers\":%u,\"payload\":%u},\n",
          cfg->conns, cfg->channels, cfg->rate, cfg->duration, cfg->reconnect_rate, cfg->workers,
          cfg->publishers, cfg->payload);
  /* CPU per connection over the connect phase; "with_settle" adds what the
   * server does until RSS is read (deferred work such as GC). */
  fprintf(
      o,
      " \"connect\":{\"connected\":%lu,\"seconds\":%.3f,\"per_sec\":%.0f,"
      "\"server_cpu_us_per_conn\":%s,\"server_cpu_us_per_conn_with_settle\":%s,"
      "\"errors\":%lu},\n",
      (unsigned long)r->connected, conn_s, conn_s > 0 ? n / conn_s : 0,
      jnum(b1, (double)(r->s_conn.cpu_ticks - r->s_start.cpu_ticks) * tick_us / n, measured, 1),
      jnum(b2, (double)(r->s_settled.cpu_ticks - r->s_start.cpu_ticks) * tick_us / n, measured, 1),
      (unsigned long)t->connect_errors);
  fprintf(o,
          " \"server\":{\"rss_kb_start\":%lu,\"rss_kb_connected\":%lu,\"rss_kb_per_conn\":%s,"
          "\"rss_kb_end\":%lu,\"threads\":%lu},\n",
          (unsigned long)r->s_start.rss_kb, (unsigned long)r->s_settled.rss_kb,
          jnum(b1, ((double)r->s_settled.rss_kb - (double)r->s_start.rss_kb) / n, measured, 2),
          (unsigned long)(r->pub ? r->s_run1.rss_kb : r->s_settled.rss_kb),
          (unsigned long)r->s_settled.threads);
  if (r->pub) {
    struct publisher *pub = r->pub;
    fprintf(o,
            " \"publish\":{\"sent\":%lu,\"acked\":%lu,\"errors\":%lu,\"target_rate\":%.1f,"
            "\"achieved_rate\":%.1f,\"max_backlog\":%lu},\n",
            (unsigned long)publisher_sent(pub), (unsigned long)publisher_acked(pub),
            (unsigned long)pub_errors, cfg->rate,
            (double)publisher_sent(pub) / fmax(1e-9, secs(r->t_run0, r->t_run1)),
            (unsigned long)publisher_backlog_max(pub));
    /* delivered/s: from the first publish to the last delivery */
    double window = t->last_delivery_ns > r->t_run0 ? secs(r->t_run0, t->last_delivery_ns) : 0;
    fprintf(o,
            " \"deliveries\":{\"expected\":%lu,\"delivered\":%lu,\"lost\":%lu,\"dupes\":%lu,"
            "\"misrouted\":%lu,\"missed_while_down\":%lu,\"offered_per_sec\":%.0f,"
            "\"per_sec\":%.0f,\"drained\":%s,\"drain_s\":%.2f},\n",
            (unsigned long)(cfg->reconnect_rate > 0 ? 0 : r->expected), (unsigned long)t->delivered,
            (unsigned long)t->lost, (unsigned long)t->dupes, (unsigned long)t->misrouted,
            (unsigned long)t->missed_while_down,
            cfg->rate * (double)cfg->conns / (double)cfg->channels,
            window > 0 ? (double)t->delivered / window : 0, r->drained ? "true" : "false",
            secs(r->t_run1, r->t_drained));
    fprintf(o, " \"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f},\n",
            pct(r, 0.50) / 1e3, pct(r, 0.99) / 1e3, pct(r, 0.999) / 1e3,
            (double)t->max_latency_us / 1e3);
    double run_cpu_s = (double)(r->s_run1.cpu_ticks - r->s_run0.cpu_ticks) * tick_us / 1e6;
    fprintf(o,
            " \"run\":{\"seconds\":%.3f,\"server_cpu_s\":%.2f,\"server_cpu_us_per_delivery\":%s,"
            "\"connects_during_run\":%lu,\"reconnects\":%lu},\n",
            secs(r->t_run0, r->t_drained), run_cpu_s,
            jnum(b1, run_cpu_s * 1e6 / (double)t->delivered, measured && t->delivered, 3),
            (unsigned long)(t->subscribes - r->subscribes_before), (unsigned long)t->reconnects);
  }
  fprintf(o,
          " \"errors\":{\"server_closes\":%lu,\"last_close_code\":%lu,\"connect_errors\":%lu,"
          "\"protocol_errors\":%lu,\"publish_errors\":%lu,\"worker_died\":%d,\"first\":\"%s\","
          "\"first_publish\":\"%s\"},\n",
          (unsigned long)t->server_closes, (unsigned long)t->last_code,
          (unsigned long)t->connect_errors, (unsigned long)t->protocol_errors,
          (unsigned long)pub_errors, r->dead, t->first_error,
          r->pub ? publisher_first_error(r->pub) : "");
  fprintf(o, " \"pings_answered\":%lu,\"loadgen_cpu_s\":%.2f,\"ok\":%s}\n", (unsigned long)t->pings,
          gen_cpu, ok ? "true" : "false");
  fflush(o);
  if (!cfg->quiet && !ok)
    fprintf(stderr,
            "loadgen: problems: lost %lu dupes %lu closes %lu connect errors %lu "
            "protocol errors %lu publish errors %lu%s; first: %s %s\n",
            (unsigned long)t->lost, (unsigned long)t->dupes, (unsigned long)t->server_closes,
            (unsigned long)t->connect_errors, (unsigned long)t->protocol_errors,
            (unsigned long)pub_errors, r->drained ? "" : " (not drained)", t->first_error,
            r->pub ? publisher_first_error(r->pub) : "");
  return ok;
}

int main(int argc, char **argv) {
  if (has_flag(argc, argv, "--help") || has_flag(argc, argv, "-h")) {
    usage(stdout);
    return 0;
  }
  if (has_flag(argc, argv, "--free-port")) {
    printf("%d\n", free_port());
    return 0;
  }
  static struct run R; /* the histogram makes it big */
  struct run *r = &R;
  r->hz = sysconf(_SC_CLK_TCK);
  if (parse_config(argc, argv, &r->cfg, &r->label) < 0) {
    usage(stderr);
    return 2;
  }
  struct config *cfg = &r->cfg;
  raise_nofile(); /* inherited by the workers */
  signal(SIGPIPE, SIG_IGN);
  if (cfg->server_pid <= 0) cfg->server_pid = proc_find_listener(cfg->port);
  if (cfg->server_pid <= 0)
    fprintf(stderr, "loadgen: no server pid (not found on port %d): CPU and RSS not measured\n",
            cfg->port);
  size_t shsize = sizeof(struct shared) + (size_t)cfg->channels * sizeof(uint32_t);
  r->sh = mmap(NULL, shsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (r->sh == MAP_FAILED) return perror("mmap"), 2;
  r->sh->nworkers = cfg->workers;
  if (!cfg->quiet)
    fprintf(stderr, "loadgen: %s (%s) %u connections, %u channels, %u workers, server pid %d\n",
            cfg->scenario, cfg->proto == PROTO_V2 ? "v2" : "v1", cfg->conns, cfg->channels,
            cfg->workers, cfg->server_pid);

  connect_phase(r);
  publish_phase(r);
  finish_phase(r);
  int ok = report(r, stdout);
  if (r->pub) publisher_close(r->pub);
  if (r->tool_failed) return 2;
  return cfg->check && !ok ? 1 : 0;
}
