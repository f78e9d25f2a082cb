// gyre-engine-bench: the throughput of an engine plugin (engine-redis by
// default), driven through the public plugin ABI as the gyre host drives it
// (bench_host.h), so that it measures the engine (hiredis pipelining, Lua
// scripts) and not the HTTP API or the client protocol.
//
// Phases, each N operations with at most W in flight (a new one is issued
// from each completion): PUBLISH at W=1 and at W, publish with history (the
// Lua script), SUBSCRIBE of M channels then UNSUBSCRIBE, presence_add, and
// history reads. The bench subscribes to the channels it publishes to and
// counts every handle_publication: all must arrive, in order. For each phase
// it reports ops/s and the CPU of this process (getrusage) and of
// redis-server (/proc/<pid>/stat) as % of one core and µs per operation: a
// table on stderr, one JSON object on stdout. Exit status 1 on any failed
// op, lost or misordered delivery; timing never fails a run.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_host.h"
#include "bench_util.h"

#ifndef GYRE_BENCH_DEFAULT_PLUGIN
#define GYRE_BENCH_DEFAULT_PLUGIN "build/plugins/engine-redis.so"
#endif

namespace gyre::bench {
namespace {

gyre_str gs(std::string_view s) { return gyre_str{s.data(), s.size()}; }

// Delivery checks: channels "<group>.<k>"; set A carries {"i":<seq>} with
// seq growing per channel, set B offsets that grow by exactly one.
struct Deliveries : EngineEvents {
  std::vector<uint64_t> last_seq;     // set A, per channel: seq + 1 of the last one
  std::vector<uint64_t> last_offset;  // set B, per channel
  uint64_t expected = 0;              // in the current phase
  uint64_t got = 0;
  uint64_t misordered = 0;
  uint64_t unexpected = 0;
  uint64_t total = 0;
  int64_t t_last_us = 0;  // the last tracked delivery

  static bool index_of(std::string_view ch, std::string_view group, size_t &k) {
    if (!ch.starts_with(group)) return false;
    ch.remove_prefix(group.size());
    auto [p, ec] = std::from_chars(ch.data(), ch.data() + ch.size(), k);
    return ec == std::errc() && p == ch.data() + ch.size();
  }

  void on_publication(std::string_view ch, const gyre_publication &pub,
                      const gyre_stream_position *pos) override {
    ++total;
    size_t k = 0;
    if (index_of(ch, "bench.pub.", k) && k < last_seq.size()) {
      std::string_view d(pub.data.ptr ? pub.data.ptr : "", pub.data.len);
      size_t at = d.find("\"i\":");
      uint64_t seq = 0;
      if (at != std::string_view::npos)
        std::from_chars(d.data() + at + 4, d.data() + d.size(), seq);
      if (at == std::string_view::npos || seq + 1 <= last_seq[k]) ++misordered;
      last_seq[k] = seq + 1;
      ++got;
      t_last_us = now_us();
      return;
    }
    if (index_of(ch, "bench.hist.", k) && k < last_offset.size()) {
      uint64_t off = pos ? pos->offset : 0;
      if (off == 0 || off != pub.offset || (last_offset[k] && off != last_offset[k] + 1))
        ++misordered;
      last_offset[k] = off;
      ++got;
      t_last_us = now_us();
      return;
    }
    ++unexpected;
  }
};

// One phase: n ops, at most `window` in flight.
struct Phase {
  std::string name;
  uint64_t n = 0;
  uint64_t window = 1;
  std::function<gyre_status(uint64_t i, gyre_op *op)> issue;
  std::function<bool(uint64_t i, const OpResult &r)> check;  // false: count an error
  uint64_t issued = 0, completed = 0, inflight = 0, errors = 0;
  std::string first_error;
  int64_t t_completed_us = 0;
  bool pumping = false;

  void fail(uint64_t i, std::string why) {
    if (errors++ == 0) first_error = "op " + std::to_string(i) + ": " + why;
  }
  static void done(void *ctx, uint64_t i, const OpResult &r) {
    auto *p = static_cast<Phase *>(ctx);
    --p->inflight;
    ++p->completed;
    if (r.status != GYRE_OK)
      p->fail(i, "status " + std::to_string(r.status) + " " + std::string(r.message));
    else if (p->check && !p->check(i, r))
      p->fail(i, "unexpected result");
    if (p->completed == p->n) p->t_completed_us = now_us();
    p->pump();
  }
  // Issues up to the window. A hook may complete before it returns (and
  // unsubscribe always does): then done() lands here again and only counts,
  // and this loop goes on, so the stack never grows with n.
  void pump() {
    if (pumping) return;
    pumping = true;
    while (issued < n && inflight < window) {
      uint64_t i = issued++;
      ++inflight;
      gyre_op *op = BenchHost::new_op(&Phase::done, this, i);
      gyre_status st = issue(i, op);
      if (st != GYRE_OK) {
        BenchHost::release(op);
        --inflight;
        ++completed;
        fail(i, "hook refused: status " + std::to_string(st));
        if (completed == n) t_completed_us = now_us();
      }
    }
    pumping = false;
  }
};

struct Bench {
  explicit Bench(const Options &o)
      : opt(o), host(deliveries, o.verbose ? GYRE_LOG_DEBUG : GYRE_LOG_WARN) {}
  Options opt;
  Deliveries deliveries;
  BenchHost host;
  std::vector<PhaseReport> reports;
  std::vector<uint64_t> hist_count;  // publications per set-B channel
  uint64_t seq = 0;                  // set A sequence, across phases

  const gyre_engine_ops &ops() const { return host.ops(); }
  void *st() const { return host.state(); }

  // Runs p until every op completed and every expected delivery arrived
  // (or drain_ms after the last completion). Unreported when report=false.
  bool run(Phase &p, bool report = true) {
    deliveries.got = 0;
    PhaseReport r;
    r.name = p.name;
    r.n = p.n;
    r.window = p.window;
    CpuSample c0 = sample_cpu(opt.redis_pid);
    int64_t t0 = now_us();
    p.pump();
    struct Ctx {
      Phase *p;
      Deliveries *d;
      int64_t drain_us;
    } ctx{&p, &deliveries, opt.drain_ms * 1000};
    auto done = [](void *a) {
      auto *c = static_cast<Ctx *>(a);
      if (c->p->completed < c->p->n) return false;
      if (c->d->got >= c->d->expected) return true;
      return now_us() - c->p->t_completed_us > c->drain_us;
    };
    bool finished = host.run_until(
        done, &ctx, BenchHost::steady_ms() + opt.phase_timeout_s * 1000 + opt.drain_ms);
    int64_t t1 = now_us();
    CpuSample c1 = sample_cpu(opt.redis_pid);
    if (!finished) p.fail(p.completed, "phase timed out");
    if (p.completed < p.n) p.errors += p.n - p.completed;
    // The CPU figures are over first issue .. last completion or tracked
    // delivery, whichever came later: a wait for deliveries that never came
    // (the drain timeout) is idle and left out.
    int64_t t_done = p.t_completed_us ? p.t_completed_us : t1;
    int64_t t_end = std::max(t_done, deliveries.got ? deliveries.t_last_us : t_done);
    r.seconds = static_cast<double>(t_done - t0) / 1e6;
    r.wall_seconds = static_cast<double>(t_end - t0) / 1e6;
    r.errors = p.errors;
    r.first_error = p.first_error;
    r.bench_cpu_s = c1.self_s - c0.self_s;
    r.redis_ok = c0.redis_ok && c1.redis_ok;
    r.redis_cpu_s = c1.redis_s - c0.redis_s;
    r.expected_deliveries = deliveries.expected;
    r.delivered = deliveries.got;
    r.misordered = deliveries.misordered;
    deliveries.misordered = 0;
    deliveries.expected = 0;
    if (report) reports.push_back(r);
    if (!report && p.errors)
      std::fprintf(stderr, "engine-bench: %s failed: %s\n", p.name.c_str(), p.first_error.c_str());
    return p.errors == 0;
  }

  // One op at a time, not reported (setup and checks).
  bool once(const std::string &name, std::function<gyre_status(gyre_op *)> issue,
            std::function<bool(const OpResult &)> check = nullptr) {
    Phase p;
    p.name = name;
    p.n = 1;
    p.issue = [&](uint64_t, gyre_op *op) { return issue(op); };
    if (check) p.check = [&](uint64_t, const OpResult &r) { return check(r); };
    return run(p, false);
  }

  // {"bench":true,"i":<seq>}, padded with an "x" member to payload_bytes.
  std::string pub_data(uint64_t s) const {
    std::string d = "{\"bench\":true,\"i\":" + std::to_string(s);
    constexpr size_t kPadOverhead = 8;  // ,"x":"" and }
    if (d.size() + kPadOverhead + 1 <= opt.payload_bytes)
      d += ",\"x\":\"" + std::string(opt.payload_bytes - d.size() - kPadOverhead, 'x') + "\"";
    return d + "}";
  }

  gyre_status publish(std::string_view ch, const std::string &data, bool history, gyre_op *op) {
    gyre_publication pub{};
    pub.size = sizeof pub;
    pub.data = gs(data);
    gyre_publish_options o{};
    o.size = sizeof o;
    if (history) {
      o.history_size = 100;
      o.history_ttl_s = 300;
    }
    return ops().publish(st(), gs(ch), &pub, &o, op);
  }

  // Waits for the connections: the first read succeeds once Redis answers
  // (each script runs once here, so no phase pays for NOSCRIPT + EVAL).
  bool warm_up() {
    int64_t until = BenchHost::steady_ms() + 10000;
    for (;;) {
      gyre_history_filter f{};
      f.size = sizeof f;
      bool ok = once("connect",
                     [&](gyre_op *op) { return ops().history(st(), gs("bench.warm"), &f, op); });
      if (ok) break;
      if (BenchHost::steady_ms() > until) return false;
      int64_t pause = BenchHost::steady_ms() + 100;
      host.run_until([](void *a) { return BenchHost::steady_ms() > *static_cast<int64_t *>(a); },
                     &pause, pause + 1000);
    }
    std::string data = pub_data(0);
    gyre_client_info info{sizeof info, gs("u"), gs("warm"), gs(""), gs("")};
    return once("warm publish",
                [&](gyre_op *op) { return publish("bench.warm", data, true, op); }) &&
           once("warm presence",
                [&](gyre_op *op) {
                  return ops().presence_add(st(), gs("bench.warm"), &info, 60, op);
                }) &&
           once("warm subscribe",
                [&](gyre_op *op) { return ops().subscribe(st(), gs("bench.warm"), op); });
  }

  // The channels the publish phases use, subscribed before they start.
  bool subscribe_targets() {
    deliveries.last_seq.assign(opt.pub_channels, 0);
    deliveries.last_offset.assign(opt.hist_channels, 0);
    hist_count.assign(opt.hist_channels, 0);
    Phase p;
    p.name = "subscribe targets";
    p.n = opt.pub_channels + opt.hist_channels;
    p.window = opt.window;
    p.issue = [&](uint64_t i, gyre_op *op) {
      std::string ch = i < opt.pub_channels ? "bench.pub." + std::to_string(i)
                                            : "bench.hist." + std::to_string(i - opt.pub_channels);
      return ops().subscribe(st(), gs(ch), op);
    };
    return run(p, false);
  }

  // PUBLISH (no history) to the subscribed set A, or to channels nobody
  // subscribes to (as redis-benchmark's PUBLISH).
  void publish_phase(const std::string &name, uint64_t n, uint64_t window, bool subscribed) {
    Phase p;
    p.name = name;
    p.n = n;
    p.window = window;
    deliveries.expected = subscribed ? n : 0;
    std::vector<std::string> names;
    for (size_t k = 0; k < opt.pub_channels; ++k)
      names.push_back((subscribed ? "bench.pub." : "bench.nosub.") + std::to_string(k));
    std::string data;
    p.issue = [&](uint64_t i, gyre_op *op) {
      uint64_t s = seq++;
      data = pub_data(s);
      return publish(names[i % names.size()], data, false, op);
    };
    run(p);
  }

  void history_publish_phase(uint64_t n, uint64_t window) {
    Phase p;
    p.name = window == 1 ? "publish_history_w1" : "publish_history";
    p.n = n;
    p.window = window;
    deliveries.expected = n;
    std::vector<std::string> names;
    for (size_t k = 0; k < opt.hist_channels; ++k)
      names.push_back("bench.hist." + std::to_string(k));
    std::string data;
    p.issue = [&](uint64_t i, gyre_op *op) {
      size_t k = i % names.size();
      ++hist_count[k];
      data = pub_data(i);
      return publish(names[k], data, true, op);
    };
    p.check = [](uint64_t, const OpResult &r) {
      return r.publish && r.publish->position.offset > 0 && r.publish->position.epoch.len > 0 &&
             r.publish->suppressed == GYRE_SUPPRESS_NONE;
    };
    run(p);
  }

  // SUBSCRIBE M channels, then UNSUBSCRIBE them. Unsubscribe completes at
  // once and the UNSUBSCRIBE leaves later, so that phase ends with one more
  // subscribe (a fresh channel), queued after the last UNSUBSCRIBE on the
  // same connection: its confirmation comes after all of theirs.
  void subscribe_phases(uint64_t m) {
    Phase sub;
    sub.name = "subscribe";
    sub.n = m;
    sub.window = opt.window;
    std::string ch;
    sub.issue = [&](uint64_t i, gyre_op *op) {
      ch = "bench.sub." + std::to_string(i);
      return ops().subscribe(st(), gs(ch), op);
    };
    run(sub);
    Phase unsub;
    unsub.name = "unsubscribe";
    unsub.n = m + 1;
    unsub.window = opt.window;
    unsub.issue = [&](uint64_t i, gyre_op *op) {
      if (i == m) return ops().subscribe(st(), gs("bench.barrier"), op);
      ch = "bench.sub." + std::to_string(i);
      return ops().unsubscribe(st(), gs(ch), op);
    };
    run(unsub);
    reports.back().n = m;  // the barrier is not an op of its own
  }

  void presence_phase(uint64_t n) {
    const uint64_t k = std::max<uint64_t>(1, opt.presence_channels);
    std::vector<std::string> names;
    for (size_t j = 0; j < k; ++j) names.push_back("bench.presence." + std::to_string(j));
    Phase p;
    p.name = "presence_add";
    p.n = n;
    p.window = opt.window;
    std::string client, user;
    p.issue = [&](uint64_t i, gyre_op *op) {
      client = "client-" + std::to_string(i);
      user = "user-" + std::to_string(i % 1000);
      gyre_client_info info{sizeof info, gs(user), gs(client), gs("{\"name\":\"bench\"}"), gs("")};
      return ops().presence_add(st(), gs(names[i % k]), &info, 60, op);
    };
    run(p);
    // Every client must be there (a check, not timed).
    PhaseReport &r = reports.back();
    for (uint64_t j = 0; j < k; ++j) {
      uint64_t want = n / k + (j < n % k ? 1 : 0);
      uint32_t got = 0;
      bool ok = once(
          "presence_stats",
          [&](gyre_op *op) { return ops().presence_stats(st(), gs(names[j]), op); },
          [&](const OpResult &res) {
            got = res.num_clients;
            return true;
          });
      if (!ok || got != want) {
        if (r.errors++ == 0)
          r.first_error = "presence_stats of " + names[j] + ": " + std::to_string(got) +
                          " clients, expected " + std::to_string(want);
      }
    }
  }

  void history_read_phase(uint64_t n) {
    Phase p;
    p.name = "history_read";
    p.n = n;
    p.window = opt.window;
    std::vector<std::string> names;
    for (size_t k = 0; k < opt.hist_channels; ++k)
      names.push_back("bench.hist." + std::to_string(k));
    p.issue = [&](uint64_t i, gyre_op *op) {
      gyre_history_filter f{};
      f.size = sizeof f;
      f.limit = 10;
      return ops().history(st(), gs(names[i % names.size()]), &f, op);
    };
    p.check = [&](uint64_t i, const OpResult &r) {
      uint64_t stored = hist_count[i % names.size()];
      uint64_t want = std::min<uint64_t>(10, std::min<uint64_t>(100, stored));
      return r.top && r.top->offset == stored && r.num_pubs == want;
    };
    run(p);
  }

  int main() {
    std::string err;
    std::map<std::string, std::string> settings = opt.settings;
    settings.emplace("address", opt.address);
    settings.emplace("prefix", opt.prefix);
    if (!host.load(opt.plugin, settings, {"address", "prefix"}, err)) {
      std::fprintf(stderr, "engine-bench: %s\n", err.c_str());
      return 2;
    }
    if (!warm_up() || !subscribe_targets()) {
      std::fprintf(stderr, "engine-bench: the engine did not come up (address %s)\n",
                   opt.address.c_str());
      host.unload();
      return 2;
    }
    publish_phase("publish_w1", opt.n_rt, 1, true);
    if (opt.n_nosub) publish_phase("publish_nosub", opt.n_nosub, opt.window, false);
    publish_phase("publish", opt.n_publish, opt.window, true);
    if (opt.n_rt_history) history_publish_phase(opt.n_rt_history, 1);
    history_publish_phase(opt.n_history, opt.window);
    subscribe_phases(opt.n_subscribe);
    presence_phase(opt.n_presence);
    history_read_phase(opt.n_read);
    if (host.counters().in_event) err = "an event callback did not return";
    host.unload();
    Totals t;
    t.unexpected = deliveries.unexpected;
    t.resyncs = host.counters().resyncs;
    t.log_warnings = host.counters().log_warnings;
    t.log_errors = host.counters().log_errors;
    t.plugin = host.plugin_name() + " " + host.plugin_version();
    print_table(opt, reports, t);
    print_json(opt, reports, t);
    bool ok = t.log_errors == 0;
    for (const auto &r : reports)
      ok = ok && r.errors == 0 && r.misordered == 0 && r.delivered >= r.expected_deliveries;
    return ok ? 0 : 1;
  }
};

}  // namespace
}  // namespace gyre::bench

int main(int argc, char **argv) {
  gyre::bench::Options opt;
  opt.plugin = GYRE_BENCH_DEFAULT_PLUGIN;
  int rc = gyre::bench::parse_options(argc, argv, opt);
  if (rc >= 0) return rc;
  auto bench = std::make_unique<gyre::bench::Bench>(opt);
  return bench->main();
}
