/* gyre-syscall-floor: what the kernel charges a sender for one small message
 * over loopback TCP on this machine, measured without any server code.
 *
 * It answers "how low can CPU per delivery go here?" for docs/performance.md.
 * The parent is the measured side (the "server"); one forked peer process is
 * the other end (the "subscribers" / the HTTP publisher / the connecting
 * clients). They talk through one MAP_SHARED anonymous mapping.
 *
 * Cases (per message of --size bytes, TCP_NODELAY, non-blocking sockets,
 * --conns connections; "round-robin" means one message per socket per round):
 *   0   syscall entry + exit (getppid): the cost of crossing into the kernel
 *   a   one write() per message, round-robin; the peer blocks in epoll_wait
 *       when it has nothing to read, as the load generator does (broadcast)
 *   a2  as a, the peer never sleeps (epoll_wait with timeout 0 in a loop)
 *   a3  as a, sendmsg() (what Gyre calls) instead of write()
 *   b   --group writes (one per socket) to a peer asleep in epoll_wait for
 *       --gap-us; then wait until it has drained and is asleep again (groups)
 *   b1  as b, one write per wakeup (an HTTP reply to a waiting publisher)
 *   c   --coalesce messages in one writev() per socket, round-robin (what
 *       batching gives)
 *   d   io_uring: one IORING_OP_SEND per socket, --uring-batch SQEs per
 *       io_uring_enter, round-robin, peer as in a (needs liburing)
 *   d2  as d, registered (fixed) files
 *   d3  as d, the peer never sleeps (compare with a2)
 *   d4  b's --group sends as SQEs in one io_uring_enter per wakeup
 *   e1  epoll_wait + recv of one HTTP publish request (~270 bytes) per socket,
 *       --accept-batch sockets already readable (a busy server)
 *   e2  the same, one request per wakeup (the server asleep in epoll_wait)
 *   e3  accept4 + epoll_ctl(ADD) of connections already in the accept queue
 *
 * Every case runs --repeat times (the passes interleave, so drifts of this
 * shared VM hit every case alike); the table shows the median and range.
 * The measured side is pinned to CPU 0 and the peer to CPU 1 (--pin): where
 * the woken process runs changes the sender's cost of a wakeup by several µs
 * on a VM (a cross-CPU wakeup is an interrupt through the hypervisor), so
 * leaving it to the scheduler makes the figures wander from run to run.
 *
 * CPU is CLOCK_THREAD_CPUTIME_ID (the scheduler's sum_exec_runtime, the same
 * clock /proc/<pid>/stat utime + stime is scaled from) read around the
 * measured loop only; the cost of reading that clock is measured first and
 * subtracted once per reading. With CONFIG_IRQ_TIME_ACCOUNTING off, softirq
 * work done in the sender's context (on loopback: the receiver's TCP input
 * path) is charged to the sender, as it is to the server in the benchmark.
 *
 * Output: a table on stderr, one JSON object on stdout. Every loop is bounded
 * by --seconds per case and a count cap; the whole run by an alarm. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef GYRE_HAVE_LIBURING
#include <liburing.h>
#endif

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_COALESCE 64
#define MAX_ROUNDS 100000  /* rounds over all sockets, per case */
#define MAX_GROUPS 2000000 /* wakeup groups, per case */
#define MAX_OPS 20000000LL /* single operations, per case */
#define WAIT_TIMEOUT_NS 10000000000LL

/* ---- options ---------------------------------------------------------- */

static struct {
  int conns;        /* sender -> peer connections (cases a-d) */
  int size;         /* bytes per message */
  double seconds;   /* measuring time per case */
  int group;        /* writes per wakeup in case b */
  int coalesce;     /* messages per writev in case c */
  int uring_batch;  /* SQEs per io_uring_enter in case d */
  int accept_batch; /* connections / readable sockets per round in case e */
  int gap_us;       /* case b/e2: how long the sleeper stays asleep before the next send */
  int warmup;       /* messages per connection before measuring (spends TCP's quick-ACK credit) */
  int repeat;       /* passes over the cases; the table shows medians */
  int pin;          /* 0: no pinning; 1 (split): parent CPU 0, peer CPU 1; 2 (same): both CPU 0 */
  const char *only; /* comma-separated case ids, or NULL for all */
} opt = {10000, 150, 1.5, 10, 10, 256, 1000, 300, 32, 3, 1, NULL};

/* ---- shared state ------------------------------------------------------ */

enum cmd {
  CMD_IDLE,
  CMD_RECV_SPIN,     /* drain the N sockets, epoll_wait(timeout 0) in a loop */
  CMD_RECV_BLOCK,    /* drain the N sockets, blocking in epoll_wait */
  CMD_E_CONNECT,     /* open accept_batch connections to e_port, then ack */
  CMD_E_WRITE_ROUND, /* one request on every client socket, when the server has read the last */
  CMD_E_WRITE_ONE,   /* one request at a time, each when the server is asleep */
  CMD_E_CLOSE,       /* reset and close the client sockets */
  CMD_EXIT
};

struct shared {
  atomic_int cmd;
  atomic_int cmd_seq;            /* bumped by the parent for every command */
  atomic_int ack_seq;            /* the peer has taken command cmd_seq */
  atomic_int accepted;           /* setup: connections the peer accepted */
  atomic_int asleep;             /* the peer is (about to be) in a blocking epoll_wait */
  atomic_int srv_asleep;         /* e2: the parent is (about to be) in epoll_wait */
  atomic_int e_port;             /* e: the parent's second listener */
  atomic_int failed;             /* the peer hit an error (message in errmsg) */
  atomic_llong rx_bytes;         /* bytes the peer read from the N sockets */
  atomic_llong peer_loop_cpu_ns; /* peer thread CPU of its last loop command */
  atomic_llong e_tx;             /* e: requests the peer wrote (published per round) */
  atomic_llong e_rx;             /* e: requests the parent read */
  char errmsg[256];
};

static struct shared *sh;
static pid_t peer_pid;

/* ---- small helpers ----------------------------------------------------- */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "gyre-syscall-floor: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (peer_pid > 0) kill(peer_pid, SIGKILL);
  exit(2);
}

static void peer_fail(const char *what) {
  snprintf(sh->errmsg, sizeof sh->errmsg, "peer: %s: %s", what, strerror(errno));
  atomic_store(&sh->failed, 1);
  _exit(2);
}

static int64_t clock_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
static int64_t thread_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }
static int64_t process_ns(void) { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }

static int64_t rusage_thread_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
         ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void spin_until(int64_t t) {
  while (mono_ns() < t) {
  }
}

static void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
}

static void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static int listen_loopback(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* inherited by accepted sockets */
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4096) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

/* A blocking connect from 127.0.0.(2 + i % 253) (no ephemeral port shortage),
 * then non-blocking, TCP_NODELAY. */
static int connect_loopback(int port, int i) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = 0};
  src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(i % 253));
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
      connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  set_nodelay(fd);
  set_nonblock(fd);
  return fd;
}

/* Close with an RST: no TIME_WAIT left behind between rounds. */
static void close_reset(int fd) {
  struct linger l = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

/* An HTTP publish as the load generator sends it (~300 bytes). */
static char request[512];
static int request_len;

static void make_request(void) {
  char body[256];
  int n = snprintf(body, sizeof body,
                   "{\"channel\":\"bench-1\",\"data\":{\"bseq\":1,\"bts\":1,\"bch\":1,\"pad\":\"");
  while (n < 150) body[n++] = 'x';
  n += snprintf(body + n, sizeof body - (size_t)n, "\"}}");
  request_len = snprintf(request, sizeof request,
                         "POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: bench\r\n"
                         "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                         n, body);
}

/* ---- the peer ---------------------------------------------------------- */

static int cmd_changed(int seen) {
  return atomic_load_explicit(&sh->cmd_seq, memory_order_acquire) != seen;
}

static void ack(int seq) { atomic_store(&sh->ack_seq, seq); }

static char rbuf[65536];

/* Drain the N sockets until the command changes; returns thread CPU used. */
static int64_t peer_recv(int ep, int block, int seen) {
  struct epoll_event evs[256];
  int64_t c0 = thread_ns();
  while (!cmd_changed(seen)) {
    if (block) atomic_store(&sh->asleep, 1);
    int n = epoll_wait(ep, evs, 256, block ? 100 : 0);
    if (block) atomic_store(&sh->asleep, 0);
    if (n < 0 && errno != EINTR) peer_fail("epoll_wait");
    long long got = 0;
    for (int i = 0; i < n; i++) {
      ssize_t r = read(evs[i].data.fd, rbuf, sizeof rbuf);
      if (r > 0)
        got += r;
      else if (r == 0) {
        errno = ECONNRESET;
        peer_fail("sender closed a connection");
      }
    }
    if (got) atomic_fetch_add(&sh->rx_bytes, got);
  }
  return thread_ns() - c0;
}

static void peer_main(int lfd) {
  static int cfd[65536];
  int ncli = 0;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (opt.pin) pin_to(opt.pin == 1 ? 1 : 0);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) peer_fail("epoll_create1");
  for (int i = 0; i < opt.conns; i++) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) {
        i--;
        continue;
      }
      peer_fail("accept4");
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) peer_fail("epoll_ctl");
    atomic_store(&sh->accepted, i + 1);
  }
  close(lfd);
  int seen = 0;
  for (;;) {
    int seq = atomic_load_explicit(&sh->cmd_seq, memory_order_acquire);
    if (seq == seen) {
      usleep(200);
      continue;
    }
    seen = seq;
    int cmd = atomic_load(&sh->cmd);
    switch (cmd) {
      case CMD_IDLE: ack(seq); break;
      case CMD_EXIT: ack(seq); _exit(0);
      case CMD_RECV_SPIN:
      case CMD_RECV_BLOCK:
        ack(seq);
        atomic_store(&sh->peer_loop_cpu_ns, peer_recv(ep, cmd == CMD_RECV_BLOCK, seen));
        break;
      case CMD_E_CONNECT: {
        int port = atomic_load(&sh->e_port);
        for (ncli = 0; ncli < opt.accept_batch; ncli++) {
          cfd[ncli] = connect_loopback(port, ncli);
          if (cfd[ncli] < 0) peer_fail("connect (case e)");
        }
        ack(seq);
        break;
      }
      case CMD_E_CLOSE:
        for (int i = 0; i < ncli; i++) close_reset(cfd[i]);
        ncli = 0;
        ack(seq);
        break;
      case CMD_E_WRITE_ROUND: {
        ack(seq);
        int64_t c0 = thread_ns();
        while (!cmd_changed(seen)) {
          long long tx = atomic_load(&sh->e_tx);
          if (atomic_load(&sh->e_rx) < tx) continue; /* the server is still reading */
          for (int i = 0; i < ncli; i++)
            if (write(cfd[i], request, (size_t)request_len) != request_len) peer_fail("write (e1)");
          atomic_store(&sh->e_tx, tx + ncli);
        }
        atomic_store(&sh->peer_loop_cpu_ns, thread_ns() - c0);
        break;
      }
      case CMD_E_WRITE_ONE: {
        ack(seq);
        int64_t c0 = thread_ns();
        long long tx = atomic_load(&sh->e_tx);
        while (!cmd_changed(seen)) {
          if (atomic_load(&sh->e_rx) < tx || !atomic_load(&sh->srv_asleep)) continue;
          spin_until(mono_ns() + (int64_t)opt.gap_us * 1000);
          if (write(cfd[tx % ncli], request, (size_t)request_len) != request_len)
            peer_fail("write (e2)");
          atomic_store(&sh->e_tx, ++tx);
        }
        atomic_store(&sh->peer_loop_cpu_ns, thread_ns() - c0);
        break;
      }
      default: errno = EINVAL; peer_fail("unknown command");
    }
  }
}

/* ---- the measured side ------------------------------------------------- */

static void check_peer(void) {
  if (atomic_load(&sh->failed)) die("%s", sh->errmsg);
  int st;
  if (waitpid(peer_pid, &st, WNOHANG) == peer_pid) {
    peer_pid = 0;
    die("peer exited (status %d)", st);
  }
}

static void set_cmd(int cmd) {
  int seq = atomic_load(&sh->cmd_seq) + 1;
  atomic_store(&sh->cmd, cmd);
  atomic_store_explicit(&sh->cmd_seq, seq, memory_order_release);
  int64_t deadline = mono_ns() + 60000000000LL;
  while (atomic_load(&sh->ack_seq) != seq) {
    if (mono_ns() > deadline) die("peer did not take command %d within 60 s", cmd);
    check_peer();
    usleep(20);
  }
}

struct result {
  const char *id;
  char desc[120];
  long long ops;      /* messages sent / requests read / connections accepted */
  long long syscalls; /* syscalls (or io_uring_enter calls) on the measured side */
  long long blocked;  /* EAGAIN or short writes (should stay 0) */
  double cpu_ns;      /* measured-side thread CPU, clock reads subtracted */
  double rusage_ns;   /* getrusage(RUSAGE_THREAD) over the same loop, -1 when not comparable */
  double peer_ns;     /* the peer's thread CPU during the case */
  double wall_s;
  long long segs0, segs;   /* TCP segments sent on this host (Tcp OutSegs) during the case */
  long long dacks0, dacks; /* delayed-ACK timer expiries (TcpExt DelayedACKs) */
  int64_t proc0, thr0;     /* process and main-thread CPU when the case started */
  double helper_ns;        /* CPU of the process's other threads (io_uring workers) */
  int64_t ksoft0;          /* ksoftirqd CPU when the case started */
  double ksoft_ns;         /* softirq work deferred to ksoftirqd (charged to nobody's process) */
  const char *skipped;     /* reason, or NULL */
};

#define MAX_RESULTS 256
static struct result results[MAX_RESULTS];
static int nresults;
static int64_t clock_cost_ns; /* one CLOCK_THREAD_CPUTIME_ID read */
static int *sfd;              /* sender ends, cases a-d */
static long long tx_total;    /* bytes written on sfd[] so far */
static char msg[4096];
static struct iovec iov[MAX_COALESCE];

/* One field of /proc/net/snmp ("Tcp:") or /proc/net/netstat ("TcpExt:"):
 * a header line of names followed by a line of values. System-wide, so the
 * figures are only clean on an otherwise quiet machine. */
static long long net_counter(const char *file, const char *prefix, const char *name) {
  FILE *f = fopen(file, "r");
  if (!f) return -1;
  static char names[8192], values[8192];
  long long v = -1;
  size_t plen = strlen(prefix);
  while (v < 0 && fgets(names, sizeof names, f) && fgets(values, sizeof values, f)) {
    if (strncmp(names, prefix, plen) != 0 || strncmp(values, prefix, plen) != 0) continue;
    char *sn, *sv;
    char *n = strtok_r(names + plen, " \n", &sn);
    char *x = strtok_r(values + plen, " \n", &sv);
    for (; n && x; n = strtok_r(NULL, " \n", &sn), x = strtok_r(NULL, " \n", &sv))
      if (strcmp(n, name) == 0) {
        v = atoll(x);
        break;
      }
  }
  fclose(f);
  return v;
}

/* ksoftirqd/N threads: softirq work (on loopback, the receive path) that
 * the kernel defers to them is charged to neither process. */
static int ksoftirqd_pids[64];
static int nksoftirqd;

static void find_ksoftirqd(void) {
  DIR *d = opendir("/proc");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) && nksoftirqd < 64) {
    int pid = atoi(e->d_name);
    if (pid <= 0) continue;
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (fgets(comm, sizeof comm, f) && !strncmp(comm, "ksoftirqd/", 10))
      ksoftirqd_pids[nksoftirqd++] = pid;
    fclose(f);
  }
  closedir(d);
}

/* Sum of their time on CPU (ns), from /proc/<pid>/schedstat. */
static int64_t ksoftirqd_ns(void) {
  int64_t sum = 0;
  for (int i = 0; i < nksoftirqd; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", ksoftirqd_pids[i]);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    long long v = 0;
    if (fscanf(f, "%lld", &v) == 1) sum += v;
    fclose(f);
  }
  return sum;
}

static long long out_segs(void) { return net_counter("/proc/net/snmp", "Tcp:", "OutSegs"); }
static long long delayed_acks(void) {
  return net_counter("/proc/net/netstat", "TcpExt:", "DelayedACKs");
}

/* Closes a case's counters. Work the kernel did for us on other threads of
 * this process (io_uring's io-wq workers) is added to the measured CPU: the
 * benchmark's /proc figure counts every thread of the server too. */
static void finish(struct result *r) {
  r->segs = out_segs() - r->segs0;
  r->dacks = delayed_acks() - r->dacks0;
  r->helper_ns = (double)((process_ns() - r->proc0) - (thread_ns() - r->thr0));
  if (r->helper_ns < 0) r->helper_ns = 0;
  r->cpu_ns += r->helper_ns;
  r->ksoft_ns = (double)(ksoftirqd_ns() - r->ksoft0);
}

static int wanted(const char *id) {
  if (!opt.only) return 1;
  size_t n = strlen(id);
  for (const char *p = opt.only; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && strncmp(p, id, n) == 0) return 1;
    if (!e) break;
    p = e + 1;
  }
  return 0;
}

/* Set while a case runs unmeasured for WARM_IN_NS first: the first case
 * after a pause (the peer idle, the vCPUs halted) measured slower than the
 * same case run again, so every case is run briefly and thrown away first. */
#define WARM_IN_NS 300000000LL
static int warming;

static struct result *new_result(const char *id, const char *fmt, ...) {
  if (nresults == MAX_RESULTS) die("too many results");
  struct result *r = &results[nresults++];
  memset(r, 0, sizeof *r);
  r->id = id;
  r->rusage_ns = -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->desc, sizeof r->desc, fmt, ap);
  va_end(ap);
  if (!warming) fprintf(stderr, "  running %s: %s\n", id, r->desc);
  r->segs0 = out_segs();
  r->dacks0 = delayed_acks();
  r->proc0 = process_ns();
  r->thr0 = thread_ns();
  r->ksoft0 = ksoftirqd_ns();
  return r;
}

static int64_t budget_ns(void) { return warming ? WARM_IN_NS : (int64_t)(opt.seconds * 1e9); }

/* Wait (unmeasured) until the peer has read every byte written so far. */
static void wait_drained(void) {
  int64_t deadline = mono_ns() + WAIT_TIMEOUT_NS;
  while (atomic_load(&sh->rx_bytes) < tx_total) {
    if (mono_ns() > deadline)
      die("peer did not drain within 10 s (%lld of %lld bytes)",
          (long long)atomic_load(&sh->rx_bytes), tx_total);
    check_peer();
  }
}

/* The end of a send case: its figures, then the peer drains everything
 * sent before the peer's CPU is read. */
static void finish_send_case(struct result *r, int64_t ru0, int64_t w0, double cpu,
                             long long bytes) {
  r->rusage_ns = (double)(rusage_thread_ns() - ru0);
  r->wall_s = (double)(mono_ns() - w0) / 1e9;
  r->cpu_ns = cpu;
  r->ops = bytes / opt.size;
  tx_total += bytes;
  wait_drained();
  set_cmd(CMD_IDLE);
  r->peer_ns = (double)atomic_load(&sh->peer_loop_cpu_ns);
  finish(r);
}

/* Spend every connection's quick-ACK credit (up to 16 segments acked at
 * once after the handshake, or after an idle period longer than the RTO), so
 * the cases see connections that receive regularly, as in the benchmark. */
static void warm_up(void) {
  if (opt.warmup <= 0) return;
  fprintf(stderr, "  warm-up: %d messages per connection\n", opt.warmup);
  set_cmd(CMD_RECV_BLOCK);
  for (int w = 0; w < opt.warmup; w++) {
    for (int i = 0; i < opt.conns; i++) {
      ssize_t n = write(sfd[i], msg, (size_t)opt.size);
      if (n > 0) tx_total += n;
    }
    wait_drained();
  }
  set_cmd(CMD_IDLE);
}

static void calibrate(void) {
  const int n = 200000;
  int64_t t0 = thread_ns();
  for (int i = 0; i < n; i++) (void)thread_ns();
  clock_cost_ns = (thread_ns() - t0) / (n + 1);
}

static void case_syscall(void) {
  struct result *r = new_result("0", "syscall entry + exit (getppid)");
  const long long n = 2000000;
  int64_t w0 = mono_ns(), t0 = thread_ns();
  for (long long i = 0; i < n; i++) (void)syscall(SYS_getppid);
  r->cpu_ns = (double)(thread_ns() - t0 - clock_cost_ns);
  r->wall_s = (double)(mono_ns() - w0) / 1e9;
  r->ops = r->syscalls = n;
  finish(r);
}

/* a, a2, a3, c: rounds over all N sockets, `co` messages per syscall:
 * write() when co is 1 (writev() otherwise), or sendmsg() with `use_sendmsg`
 * (what Gyre calls: it skips the VFS layer that write() and writev() cross). */
static void case_write_rounds(struct result *r, int peer_cmd, int co, int use_sendmsg) {
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)co};
  set_cmd(peer_cmd);
  long long bytes = 0;
  int64_t w0 = mono_ns(), ru0 = rusage_thread_ns();
  double cpu = 0;
  for (int round = 0; round < MAX_ROUNDS && mono_ns() - w0 < budget_ns(); round++) {
    int64_t t0 = thread_ns();
    for (int i = 0; i < opt.conns; i++) {
      ssize_t n = use_sendmsg ? sendmsg(sfd[i], &mh, MSG_NOSIGNAL)
                  : co == 1   ? write(sfd[i], msg, (size_t)opt.size)
                              : writev(sfd[i], iov, co);
      if (n > 0) bytes += n;
      if (n != (ssize_t)opt.size * co) r->blocked++;
    }
    cpu += (double)(thread_ns() - t0 - clock_cost_ns);
    r->syscalls += opt.conns;
  }
  finish_send_case(r, ru0, w0, cpu, bytes);
}

#ifdef GYRE_HAVE_LIBURING
/* The group's sends as SQEs, one io_uring_enter, then their completions. */
static long long uring_group(struct io_uring *ring, struct result *r, int *idx, int group,
                             int nsock) {
  long long b = 0;
  for (int j = 0; j < group; j++) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) die("io_uring: ring smaller than --group");
    io_uring_prep_send(sqe, sfd[*idx], msg, (size_t)opt.size, 0);
    if (++*idx == nsock) *idx = 0;
  }
  io_uring_submit(ring);
  r->syscalls++;
  for (int done = 0, guard = 0; done < group && guard < 1000000; guard++) {
    struct io_uring_cqe *cqe;
    if (io_uring_wait_cqe(ring, &cqe) != 0) continue;
    if (cqe->res > 0) b += cqe->res;
    if (cqe->res != opt.size) r->blocked++;
    io_uring_cqe_seen(ring, cqe);
    done++;
  }
  return b;
}
#endif

/* b, b1 (and d4 with `ring`): `group` sends to a peer asleep in epoll_wait,
 * then let it drain and fall asleep again (plus gap_us) before the next. */
static void case_wakeups(struct result *r, int group, int gap_us, int nsock, void *ring) {
  set_cmd(CMD_RECV_BLOCK);
  long long bytes = 0;
  int idx = 0;
  int64_t w0 = mono_ns();
  double cpu = 0;
  for (long long g = 0; g < MAX_GROUPS && mono_ns() - w0 < budget_ns(); g++) {
    int64_t deadline = mono_ns() + WAIT_TIMEOUT_NS;
    while (atomic_load(&sh->rx_bytes) < tx_total || !atomic_load(&sh->asleep)) {
      if (mono_ns() > deadline) die("case %s: the peer did not drain and sleep within 10 s", r->id);
      check_peer();
    }
    spin_until(mono_ns() + (int64_t)gap_us * 1000);
    int64_t t0 = thread_ns();
    long long b = 0;
#ifdef GYRE_HAVE_LIBURING
    if (ring) b = uring_group(ring, r, &idx, group, nsock);
#endif
    for (int j = 0; !ring && j < group; j++) {
      ssize_t n = write(sfd[idx], msg, (size_t)opt.size);
      if (n > 0) b += n;
      if (n != opt.size) r->blocked++;
      if (++idx == nsock) idx = 0;
      r->syscalls++;
    }
    cpu += (double)(thread_ns() - t0 - clock_cost_ns);
    bytes += b;
    tx_total += b;
  }
  r->wall_s = (double)(mono_ns() - w0) / 1e9;
  r->cpu_ns = cpu;
  r->ops = bytes / opt.size;
  wait_drained();
  set_cmd(CMD_IDLE);
  r->peer_ns = (double)atomic_load(&sh->peer_loop_cpu_ns);
  finish(r);
}

#ifdef GYRE_HAVE_LIBURING
static int uring_reap(struct io_uring *ring, struct result *r, long long *bytes) {
  struct io_uring_cqe *cqes[512];
  int total = 0;
  for (;;) {
    unsigned n = io_uring_peek_batch_cqe(ring, cqes, 512);
    if (n == 0) break;
    for (unsigned i = 0; i < n; i++) {
      int res = cqes[i]->res;
      if (res > 0) *bytes += res;
      if (res != opt.size) r->blocked++;
    }
    io_uring_cq_advance(ring, n);
    total += (int)n;
  }
  return total;
}

/* d, d2: one IORING_OP_SEND per socket, uring_batch per io_uring_enter. */
static void case_uring(struct result *r, int fixed, int peer_cmd) {
  struct io_uring ring;
  int err = io_uring_queue_init((unsigned)opt.uring_batch, &ring, 0);
  if (err < 0) {
    r->skipped = "io_uring_queue_init failed";
    fprintf(stderr, "  io_uring_queue_init: %s\n", strerror(-err));
    return;
  }
  if (fixed && (err = io_uring_register_files(&ring, sfd, (unsigned)opt.conns)) < 0) {
    r->skipped = "io_uring_register_files failed";
    fprintf(stderr, "  io_uring_register_files: %s\n", strerror(-err));
    io_uring_queue_exit(&ring);
    return;
  }
  set_cmd(peer_cmd);
  long long bytes = 0, inflight = 0;
  int64_t w0 = mono_ns(), ru0 = rusage_thread_ns();
  double cpu = 0;
  for (int round = 0; round < MAX_ROUNDS && mono_ns() - w0 < budget_ns(); round++) {
    int64_t t0 = thread_ns();
    for (int i = 0; i < opt.conns; i++) {
      struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
      if (!sqe) {
        io_uring_submit(&ring);
        r->syscalls++;
        inflight -= uring_reap(&ring, r, &bytes);
        sqe = io_uring_get_sqe(&ring);
        if (!sqe) die("io_uring: no SQE after submit");
      }
      io_uring_prep_send(sqe, fixed ? i : sfd[i], msg, (size_t)opt.size, 0);
      if (fixed) io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
      inflight++;
    }
    io_uring_submit(&ring);
    r->syscalls++;
    inflight -= uring_reap(&ring, r, &bytes);
    for (int guard = 0; inflight > 0 && guard < 1000000; guard++) {
      struct io_uring_cqe *cqe;
      if (io_uring_wait_cqe(&ring, &cqe) == 0) inflight -= uring_reap(&ring, r, &bytes);
    }
    cpu += (double)(thread_ns() - t0 - clock_cost_ns);
  }
  finish_send_case(r, ru0, w0, cpu, bytes);
  io_uring_queue_exit(&ring);
}
#endif

/* e1-e3: the parent is the server on a second listener. */
static int accept_round(int lfd, int ep, int *fds, struct result *r) {
  int got = 0;
  for (long long tries = 0; got < opt.accept_batch && tries < 100000000LL; tries++) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (r) r->syscalls++;
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die("accept4: %s", strerror(errno));
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl: %s", strerror(errno));
    if (r) r->syscalls++;
    fds[got++] = fd;
  }
  if (got < opt.accept_batch) die("accepted only %d of %d connections", got, opt.accept_batch);
  return got;
}

/* Read (unmeasured) whatever the peer wrote beyond what was counted. */
static void drain_requests(int ep, long long *rx) {
  struct epoll_event evs[64];
  int64_t deadline = mono_ns() + WAIT_TIMEOUT_NS;
  while (atomic_load(&sh->e_tx) > *rx) {
    if (mono_ns() > deadline) die("case e: requests left unread");
    int k = epoll_wait(ep, evs, 64, 100);
    for (int i = 0; i < k; i++) {
      ssize_t got = recv(evs[i].data.fd, rbuf, sizeof rbuf, 0);
      if (got > 0) *rx += got / request_len;
    }
  }
  atomic_store(&sh->e_rx, *rx);
}

static void close_round(int *fds, int n) {
  set_cmd(CMD_E_CLOSE);
  for (int i = 0; i < n; i++) close(fds[i]);
}

static void cases_server(void) {
  int port;
  int lfd = listen_loopback(&port);
  if (lfd < 0) die("listen: %s", strerror(errno));
  set_nonblock(lfd);
  atomic_store(&sh->e_port, port);
  int *fds = calloc((size_t)opt.accept_batch, sizeof *fds);
  struct epoll_event evs[64];

  if (wanted("e3")) {
    struct result *r =
        new_result("e3", "accept4 + epoll_ctl(ADD), %d connections queued", opt.accept_batch);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int64_t w0 = mono_ns();
    double cpu = 0;
    for (int round = 0; round < 10000 && mono_ns() - w0 < budget_ns(); round++) {
      set_cmd(CMD_E_CONNECT);
      int64_t t0 = thread_ns();
      int n = accept_round(lfd, ep, fds, r);
      cpu += (double)(thread_ns() - t0 - clock_cost_ns);
      r->ops += n;
      close_round(fds, n);
    }
    r->wall_s = (double)(mono_ns() - w0) / 1e9;
    r->cpu_ns = cpu;
    finish(r);
    close(ep);
  }

  if (wanted("e1") || wanted("e2")) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    set_cmd(CMD_E_CONNECT);
    int n = accept_round(lfd, ep, fds, NULL);
    long long rx = 0;
    atomic_store(&sh->e_tx, 0);
    atomic_store(&sh->e_rx, 0);

    if (wanted("e1")) {
      struct result *r = new_result(
          "e1", "epoll_wait + recv of a %d-byte HTTP request, %d sockets readable", request_len, n);
      set_cmd(CMD_E_WRITE_ROUND);
      int64_t w0 = mono_ns();
      double cpu = 0;
      for (int round = 0; round < MAX_ROUNDS && mono_ns() - w0 < budget_ns(); round++) {
        long long target = rx + n;
        int64_t deadline = mono_ns() + WAIT_TIMEOUT_NS;
        while (atomic_load(&sh->e_tx) < target) {
          if (mono_ns() > deadline) die("e1: the peer did not write its round");
          check_peer();
        }
        int64_t t0 = thread_ns();
        long long bytes = 0;
        for (long long guard = 0; bytes < (long long)n * request_len && guard < 10000000; guard++) {
          int k = epoll_wait(ep, evs, 64, 0);
          r->syscalls++;
          for (int i = 0; i < k; i++) {
            ssize_t got = recv(evs[i].data.fd, rbuf, sizeof rbuf, 0);
            r->syscalls++;
            if (got > 0) bytes += got;
          }
        }
        cpu += (double)(thread_ns() - t0 - clock_cost_ns);
        if (bytes != (long long)n * request_len)
          die("e1: read %lld bytes, expected %lld", bytes, (long long)n * request_len);
        rx = target;
        r->ops += n;
        atomic_store(&sh->e_rx, rx);
      }
      r->wall_s = (double)(mono_ns() - w0) / 1e9;
      r->cpu_ns = cpu;
      set_cmd(CMD_IDLE);
      r->peer_ns = (double)atomic_load(&sh->peer_loop_cpu_ns);
      finish(r);
      drain_requests(ep, &rx); /* the round the peer may have written after the last one */
    }

    if (wanted("e2")) {
      struct result *r =
          new_result("e2", "epoll_wait (asleep) + recv of a %d-byte HTTP request, one per wakeup",
                     request_len);
      atomic_store(&sh->srv_asleep, 0);
      set_cmd(CMD_E_WRITE_ONE);
      int64_t w0 = mono_ns(), t0 = thread_ns();
      long long bytes = 0, start = rx;
      for (long long it = 0; it < MAX_OPS && mono_ns() - w0 < budget_ns(); it++) {
        atomic_store(&sh->srv_asleep, 1);
        int k = epoll_wait(ep, evs, 64, 100);
        atomic_store(&sh->srv_asleep, 0);
        r->syscalls++;
        for (int i = 0; i < k; i++) {
          ssize_t got = recv(evs[i].data.fd, rbuf, sizeof rbuf, 0);
          r->syscalls++;
          if (got > 0) bytes += got;
        }
        rx = start + bytes / request_len;
        atomic_store(&sh->e_rx, rx);
      }
      /* The loop includes the stores above and mono_ns() per turn: a few ns. */
      r->cpu_ns = (double)(thread_ns() - t0 - clock_cost_ns);
      r->wall_s = (double)(mono_ns() - w0) / 1e9;
      r->ops = rx - start;
      set_cmd(CMD_IDLE);
      r->peer_ns = (double)atomic_load(&sh->peer_loop_cpu_ns);
      finish(r);
      drain_requests(ep, &rx); /* a request may still be in flight */
    }
    close_round(fds, n);
    close(ep);
  }
  free(fds);
  close(lfd);
}

/* ---- output ------------------------------------------------------------ */

static double per(double ns, long long n) { return n > 0 ? ns / 1000.0 / (double)n : 0; }

typedef double (*metric_fn)(const struct result *);
static double m_op(const struct result *r) { return per(r->cpu_ns, r->ops); }
static double m_sys(const struct result *r) { return per(r->cpu_ns, r->syscalls); }
static double m_peer(const struct result *r) { return per(r->peer_ns, r->ops); }
static double m_segs(const struct result *r) {
  return r->ops ? (double)r->segs / (double)r->ops : 0;
}
static double m_ops(const struct result *r) { return (double)r->ops; }
static double m_ksoft(const struct result *r) { return per(r->ksoft_ns, r->ops); }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median (and range) of a metric over the runs of case `id`. */
static double median_of(const char *id, metric_fn f, double *lo, double *hi) {
  double v[MAX_RESULTS];
  int n = 0;
  for (int i = 0; i < nresults; i++)
    if (!strcmp(results[i].id, id) && !results[i].skipped) v[n++] = f(&results[i]);
  if (!n) return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  if (lo) *lo = v[0];
  if (hi) *hi = v[n - 1];
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Index of the first result of each case id, in order of first appearance. */
static int first_of_ids(int *first) {
  int n = 0;
  for (int i = 0; i < nresults; i++) {
    int seen = 0;
    for (int k = 0; k < n && !seen; k++) seen = !strcmp(results[first[k]].id, results[i].id);
    if (!seen) first[n++] = i;
  }
  return n;
}

static void print_table(void) {
  int first[MAX_RESULTS];
  int nids = first_of_ids(first);
  fprintf(stderr, "\nMedian of %d run(s) per case; µs of the measured side's thread CPU\n",
          opt.repeat);
  /* µ is two bytes: one more column in the format for each header holding it. */
  fprintf(stderr, "%-3s %-66s %9s %10s %16s %12s %12s %13s %8s %7s\n", "id", "case", "ops/run",
          "µs/op", "(min-max)", "µs/syscall", "peer µs/op", "ksoftirqd µs", "segs/op", "blocked");
  for (int k = 0; k < nids; k++) {
    struct result *r = &results[first[k]];
    if (r->skipped) {
      fprintf(stderr, "%-3s %-66s skipped: %s\n", r->id, r->desc, r->skipped);
      continue;
    }
    double lo = 0, hi = 0;
    double op = median_of(r->id, m_op, &lo, &hi);
    double peer = median_of(r->id, m_peer, NULL, NULL);
    char range[40], peers[32] = "-";
    snprintf(range, sizeof range, "(%.3f-%.3f)", lo, hi);
    if (peer > 0) snprintf(peers, sizeof peers, "%.3f", peer);
    long long blocked = 0;
    for (int i = 0; i < nresults; i++)
      if (!strcmp(results[i].id, r->id)) blocked += results[i].blocked;
    fprintf(stderr, "%-3s %-66s %9.0f %9.3f %16s %11.3f %11s %12.3f %8.2f %7lld\n", r->id, r->desc,
            median_of(r->id, m_ops, NULL, NULL), op, range, median_of(r->id, m_sys, NULL, NULL),
            peers, median_of(r->id, m_ksoft, NULL, NULL), median_of(r->id, m_segs, NULL, NULL),
            blocked);
  }
  fprintf(stderr,
          "µs/op: per message (a-d), per request (e1, e2), per connection (e3); peer: the other "
          "process;\nksoftirqd: softirq work deferred to ksoftirqd (charged to neither process); "
          "segs/op: TCP segments sent on the host per op\n");
}

static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    putchar(*s);
  }
  putchar('"');
}

static void print_json(void) {
  struct utsname u;
  uname(&u);
  printf("{\"tool\":\"gyre-syscall-floor\",\"kernel\":");
  json_str(u.release);
  printf(",\"cpus\":%ld,\"liburing\":%s,", sysconf(_SC_NPROCESSORS_ONLN),
#ifdef GYRE_HAVE_LIBURING
         "true"
#else
         "false"
#endif
  );
  printf(
      "\"params\":{\"conns\":%d,\"size\":%d,\"seconds\":%.2f,\"group\":%d,\"coalesce\":%d,"
      "\"uring_batch\":%d,\"accept_batch\":%d,\"gap_us\":%d,\"warmup\":%d,\"repeat\":%d,"
      "\"pin\":\"%s\",\"request_size\":%d},",
      opt.conns, opt.size, opt.seconds, opt.group, opt.coalesce, opt.uring_batch, opt.accept_batch,
      opt.gap_us, opt.warmup, opt.repeat,
      opt.pin == 1   ? "split"
      : opt.pin == 2 ? "same"
                     : "none",
      request_len);
  printf("\"clock_read_ns\":%lld,\"cases\":[", (long long)clock_cost_ns);
  int first[MAX_RESULTS];
  int nids = first_of_ids(first);
  for (int k = 0; k < nids; k++) {
    struct result *f = &results[first[k]];
    printf("%s{\"id\":", k ? "," : "");
    json_str(f->id);
    printf(",\"desc\":");
    json_str(f->desc);
    if (f->skipped) {
      printf(",\"skipped\":");
      json_str(f->skipped);
      printf("}");
      continue;
    }
    double lo = 0, hi = 0, op = median_of(f->id, m_op, &lo, &hi);
    printf(
        ",\"cpu_us_per_op\":%.4f,\"cpu_us_per_op_min\":%.4f,\"cpu_us_per_op_max\":%.4f,"
        "\"cpu_us_per_syscall\":%.4f,\"peer_cpu_us_per_op\":%.4f,\"ksoftirqd_us_per_op\":%.4f,"
        "\"tcp_segs_per_op\":%.3f,\"runs\":[",
        op, lo, hi, median_of(f->id, m_sys, NULL, NULL), median_of(f->id, m_peer, NULL, NULL),
        median_of(f->id, m_ksoft, NULL, NULL), median_of(f->id, m_segs, NULL, NULL));
    int nr = 0;
    for (int i = 0; i < nresults; i++) {
      struct result *r = &results[i];
      if (strcmp(r->id, f->id)) continue;
      printf(
          "%s{\"ops\":%lld,\"syscalls\":%lld,\"blocked\":%lld,\"wall_s\":%.3f,"
          "\"cpu_us_per_op\":%.4f,\"cpu_us_per_syscall\":%.4f",
          nr++ ? "," : "", r->ops, r->syscalls, r->blocked, r->wall_s, m_op(r), m_sys(r));
      if (r->rusage_ns >= 0) printf(",\"rusage_us_per_op\":%.4f", per(r->rusage_ns, r->ops));
      if (r->peer_ns > 0) printf(",\"peer_cpu_us_per_op\":%.4f", m_peer(r));
      printf(",\"helper_threads_us_per_op\":%.4f,\"ksoftirqd_us_per_op\":%.4f",
             per(r->helper_ns, r->ops), per(r->ksoft_ns, r->ops));
      printf(",\"tcp_out_segs\":%lld,\"delayed_acks\":%lld}", r->segs, r->dacks);
    }
    printf("]}");
  }
  printf("]}\n");
}

/* Runs a case unmeasured for WARM_IN_NS, drops that result, then measures. */
#define RUN(call)       \
  do {                  \
    int n0_ = nresults; \
    warming = 1;        \
    call;               \
    warming = 0;        \
    nresults = n0_;     \
    call;               \
  } while (0)

/* One pass over every wanted case. */
#ifdef GYRE_HAVE_LIBURING
static void case_uring_groups(void) {
  struct io_uring ring;
  struct result *r = new_result("d4", "io_uring: b's %d sends in one io_uring_enter", opt.group);
  int err = io_uring_queue_init((unsigned)opt.group, &ring, 0);
  if (err < 0) {
    r->skipped = "io_uring_queue_init failed";
    return;
  }
  case_wakeups(r, opt.group, opt.gap_us, opt.conns, &ring);
  io_uring_queue_exit(&ring);
}
#endif

static void run_cases(void) {
  if (wanted("0")) case_syscall();
  /* a, c, d: the peer blocks in epoll_wait when it has nothing to read, as
   * the load generator's workers do; a2, d3: it never sleeps. */
  if (wanted("a"))
    RUN(case_write_rounds(
        new_result("a", "write() per message, %d sockets round-robin, peer epoll-blocking",
                   opt.conns),
        CMD_RECV_BLOCK, 1, 0));
  if (wanted("a2"))
    RUN(case_write_rounds(
        new_result("a2", "as a, peer spinning (epoll_wait timeout 0, never asleep)"), CMD_RECV_SPIN,
        1, 0));
  if (wanted("a3"))
    RUN(case_write_rounds(new_result("a3", "as a, sendmsg() instead of write() (what Gyre calls)"),
                          CMD_RECV_BLOCK, 1, 1));
  /* b, b1: the peer has been asleep in epoll_wait for --gap-us (300 µs) when
   * the writes come: in the groups scenario Gyre fans a publish out to one
   * group every 200 µs, each worker of the load generator gets one every
   * 400 µs, and each connection one every 300 ms. */
  if (wanted("b"))
    RUN(case_wakeups(
        new_result("b", "%d write()s (one per socket) to a peer asleep in epoll_wait", opt.group),
        opt.group, opt.gap_us, opt.conns, NULL));
  if (wanted("b1"))
    RUN(case_wakeups(new_result("b1", "1 write() to a peer asleep in epoll_wait"), 1, opt.gap_us,
                     opt.conns, NULL));
  if (wanted("c"))
    RUN(case_write_rounds(
        new_result("c", "writev() of %d messages per socket, %d sockets, peer epoll-blocking",
                   opt.coalesce, opt.conns),
        CMD_RECV_BLOCK, opt.coalesce, 0));
#ifdef GYRE_HAVE_LIBURING
  if (wanted("d"))
    RUN(case_uring(new_result("d", "io_uring send, 1 SQE per socket, %d per io_uring_enter, as a",
                              opt.uring_batch),
                   0, CMD_RECV_BLOCK));
  if (wanted("d2")) RUN(case_uring(new_result("d2", "as d, registered files"), 1, CMD_RECV_BLOCK));
  if (wanted("d3"))
    RUN(case_uring(new_result("d3", "as d, peer spinning (compare with a2)"), 0, CMD_RECV_SPIN));
  if (wanted("d4")) RUN(case_uring_groups());
#else
  if (wanted("d") || wanted("d2") || wanted("d3") || wanted("d4"))
    new_result("d", "io_uring send")->skipped = "built without liburing";
#endif
  if (wanted("e1") || wanted("e2") || wanted("e3")) RUN(cases_server());
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f) {
  fputs(
      "usage: gyre-syscall-floor [options]\n"
      "  --conns N         receiver connections for cases a-d (10000)\n"
      "  --size B          bytes per message (150)\n"
      "  --seconds S       measuring time per case (1.5)\n"
      "  --group N         writes per wakeup in case b (10)\n"
      "  --coalesce N      messages per writev in case c (10, at most 64)\n"
      "  --uring-batch N   SQEs per io_uring_enter in case d (256)\n"
      "  --accept-batch N  connections per round in case e (1000, at most 4096)\n"
      "  --gap-us N        how long a sleeper stays asleep before the next send (300)\n"
      "  --warmup N        messages per connection before measuring (32)\n"
      "  --repeat N        passes over the cases; the table shows medians (3, at most 9)\n"
      "  --pin MODE        split (default): the measured side on CPU 0, the peer on CPU 1, as\n"
      "                    in the benchmark (the server's core busy, the load generator on the\n"
      "                    other); same: both on CPU 0 (wakeups need no cross-CPU interrupt);\n"
      "                    none: wherever the scheduler puts them (varies run to run)\n"
      "  --only LIST       run only these cases, e.g. a,b,e1 (0 a a2 a3 b b1 c d d2 d3 d4 e1 e2 "
      "e3)\n"
      "Table on stderr, JSON on stdout.\n",
      f);
}

static int int_arg(const char *v, int lo, int hi, const char *name) {
  char *end;
  long x = strtol(v, &end, 10);
  if (*end || x < lo || x > hi) {
    fprintf(stderr, "gyre-syscall-floor: %s must be in %d..%d\n", name, lo, hi);
    exit(2);
  }
  return (int)x;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!v) {
      usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--conns"))
      opt.conns = int_arg(v, 1, 60000, a);
    else if (!strcmp(a, "--size"))
      opt.size = int_arg(v, 1, (int)sizeof msg, a);
    else if (!strcmp(a, "--seconds")) {
      opt.seconds = atof(v);
      if (opt.seconds <= 0 || opt.seconds > 60) {
        fprintf(stderr, "gyre-syscall-floor: --seconds must be in (0, 60]\n");
        return 2;
      }
    } else if (!strcmp(a, "--group"))
      opt.group = int_arg(v, 1, 1000, a);
    else if (!strcmp(a, "--coalesce"))
      opt.coalesce = int_arg(v, 1, MAX_COALESCE, a);
    else if (!strcmp(a, "--uring-batch"))
      opt.uring_batch = int_arg(v, 1, 4096, a);
    else if (!strcmp(a, "--accept-batch"))
      opt.accept_batch = int_arg(v, 1, 4096, a);
    else if (!strcmp(a, "--gap-us"))
      opt.gap_us = int_arg(v, 0, 100000, a);
    else if (!strcmp(a, "--pin")) {
      if (!strcmp(v, "split"))
        opt.pin = 1;
      else if (!strcmp(v, "same"))
        opt.pin = 2;
      else if (!strcmp(v, "none"))
        opt.pin = 0;
      else {
        usage(stderr);
        return 2;
      }
    } else if (!strcmp(a, "--repeat"))
      opt.repeat = int_arg(v, 1, 9, a);
    else if (!strcmp(a, "--warmup"))
      opt.warmup = int_arg(v, 0, 10000, a);
    else if (!strcmp(a, "--only"))
      opt.only = v;
    else {
      usage(stderr);
      return 2;
    }
  }

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  if ((rlim_t)opt.conns + (rlim_t)opt.accept_batch + 32 > rl.rlim_cur)
    die("--conns + --accept-batch needs %d descriptors per process, the limit is %llu",
        opt.conns + opt.accept_batch + 32, (unsigned long long)rl.rlim_cur);
  if (opt.pin == 1 && sysconf(_SC_NPROCESSORS_ONLN) < 2) opt.pin = 0;
  signal(SIGPIPE, SIG_IGN);
  alarm((unsigned)(opt.seconds * 16 * opt.repeat + 300)); /* the whole run, whatever happens */

  memset(msg, 'x', sizeof msg);
  for (int i = 0; i < MAX_COALESCE; i++) iov[i] = (struct iovec){msg, (size_t)opt.size};
  make_request();

  sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) die("mmap: %s", strerror(errno));
  memset(sh, 0, sizeof *sh);

  int port;
  int lfd = listen_loopback(&port);
  if (lfd < 0) die("listen: %s", strerror(errno));
  fflush(NULL);
  peer_pid = fork();
  if (peer_pid < 0) die("fork: %s", strerror(errno));
  if (peer_pid == 0) peer_main(lfd);
  close(lfd);
  if (opt.pin) pin_to(0);

  fprintf(stderr, "gyre-syscall-floor: %d connections, %d-byte messages, %.1f s per case\n",
          opt.conns, opt.size, opt.seconds);
  sfd = calloc((size_t)opt.conns, sizeof *sfd);
  int64_t deadline = mono_ns() + 60000000000LL;
  for (int i = 0; i < opt.conns; i++) {
    while (i - atomic_load(&sh->accepted) > 2000) { /* stay under the accept backlog */
      if (mono_ns() > deadline) die("peer stopped accepting");
      check_peer();
    }
    sfd[i] = connect_loopback(port, i);
    if (sfd[i] < 0) die("connect %d: %s", i, strerror(errno));
  }
  while (atomic_load(&sh->accepted) < opt.conns) {
    if (mono_ns() > deadline) die("peer did not accept every connection");
    check_peer();
  }

  calibrate();
  find_ksoftirqd();
  warm_up();
  for (int rep = 0; rep < opt.repeat; rep++) {
    fprintf(stderr, "run %d of %d\n", rep + 1, opt.repeat);
    run_cases();
  }

  set_cmd(CMD_EXIT);
  int st;
  waitpid(peer_pid, &st, 0);
  peer_pid = 0;
  for (int i = 0; i < opt.conns; i++) close_reset(sfd[i]);
  free(sfd);
  print_table();
  print_json();
  return 0;
}
