#include "bench_util.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace gyre::bench {

namespace {

const char kUsage[] =
    "usage: gyre-engine-bench [options]\n"
    "  Drives an engine plugin through the plugin ABI and reports ops/s and CPU per phase\n"
    "  (table on stderr, JSON on stdout). Exit 1 on failed ops or lost/misordered deliveries.\n"
    "  --plugin PATH        the engine plugin (default: the built engine-redis)\n"
    "  --address ADDR       engine.redis.address (default redis://127.0.0.1:6379)\n"
    "  --port PORT          shortcut for --address redis://127.0.0.1:PORT\n"
    "  --prefix P           engine.redis.prefix (default gyrebench<pid>)\n"
    "  --set KEY=VALUE      any other setting of the plugin (repeatable)\n"
    "  --redis-pid PID      redis-server's PID (default: the owner of the port)\n"
    "  --redis-version S    a label for the JSON\n"
    "  --window W           operations in flight (default 1000)\n"
    "  --scale F            multiplies every --n-* (default 1)\n"
    "  --n-rt N             PUBLISH at W=1, subscribed channels (default 40000)\n"
    "  --n-nosub N          PUBLISH at W to channels nobody subscribes (default 3000000; 0 skips)\n"
    "  --n-publish N        PUBLISH at W, subscribed channels (default 3000000)\n"
    "  --n-rt-history N     publish with history at W=1 (default 20000; 0 skips)\n"
    "  --n-history N        publish with history (100 items, 300 s) at W (default 300000)\n"
    "  --n-subscribe M      channels subscribed, then unsubscribed (default 500000)\n"
    "  --n-presence N       presence_add of distinct clients (default 500000)\n"
    "  --n-read N           history reads, limit 10 (default 150000)\n"
    "  --pub-channels C     channels of the PUBLISH phases (default 8)\n"
    "  --hist-channels C    channels of the history phases (default 16)\n"
    "  --presence-channels C  (default 4)\n"
    "  --payload BYTES      pad publication data to this size (default: ~25 bytes)\n"
    "  --drain-ms MS        wait this long after the last completion for deliveries (5000)\n"
    "  --phase-timeout S    give up on a phase after S seconds (300)\n"
    "  -v, --verbose        the plugin's info and debug lines too\n";

bool to_u64(std::string_view s, uint64_t &out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

int port_of(const std::string &address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return 6379;
  std::string_view rest(address);
  rest.remove_prefix(colon + 1);
  rest = rest.substr(0, rest.find('/'));
  uint64_t port = 0;
  return to_u64(rest, port) && port < 65536 ? static_cast<int>(port) : 6379;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      size_t c = line.find(':');
      return c == std::string::npos ? line : line.substr(c + 2);
    }
  return "unknown";
}

void json_str(std::string &out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string num(double v, int digits = 1) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

int parse_options(int argc, char **argv, Options &opt) {
  constexpr int kCounts = 8;
  uint64_t *counts[kCounts] = {&opt.n_rt,      &opt.n_nosub,     &opt.n_publish,  &opt.n_rt_history,
                               &opt.n_history, &opt.n_subscribe, &opt.n_presence, &opt.n_read};
  const char *count_flags[kCounts] = {"--n-rt",         "--n-nosub",   "--n-publish",
                                      "--n-rt-history", "--n-history", "--n-subscribe",
                                      "--n-presence",   "--n-read"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string v;
    if (size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (a != "-h" && a != "--help" && a != "-v" && a != "--verbose") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "engine-bench: %s needs a value\n%s", a.c_str(), kUsage);
        return 2;
      }
      v = argv[++i];
    }
    uint64_t u = 0;
    bool is_num = to_u64(v, u);
    auto bad = [&] {
      std::fprintf(stderr, "engine-bench: bad value for %s: \"%s\"\n", a.c_str(), v.c_str());
      return 2;
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "-v" || a == "--verbose") {
      opt.verbose = true;
    } else if (a == "--plugin") {
      opt.plugin = v;
    } else if (a == "--address") {
      opt.address = v;
    } else if (a == "--port") {
      if (!is_num || u == 0 || u > 65535) return bad();
      opt.address = "redis://127.0.0.1:" + v;
    } else if (a == "--prefix") {
      opt.prefix = v;
    } else if (a == "--set") {
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0) return bad();
      opt.settings[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (a == "--redis-pid") {
      if (!is_num) return bad();
      opt.redis_pid = static_cast<int>(u);
    } else if (a == "--redis-version") {
      opt.redis_version = v;
    } else if (a == "--window") {
      if (!is_num || u == 0) return bad();
      opt.window = u;
    } else if (a == "--scale") {
      char *end = nullptr;
      opt.scale = std::strtod(v.c_str(), &end);
      if (!end || *end || !(opt.scale > 0)) return bad();
    } else if (a == "--pub-channels" || a == "--hist-channels" || a == "--presence-channels") {
      if (!is_num || u == 0 || u > 1000000) return bad();
      (a == "--pub-channels"    ? opt.pub_channels
       : a == "--hist-channels" ? opt.hist_channels
                                : opt.presence_channels) = u;
    } else if (a == "--payload") {
      if (!is_num || u > (1u << 20)) return bad();
      opt.payload_bytes = u;
    } else if (a == "--drain-ms" || a == "--phase-timeout") {
      if (!is_num) return bad();
      (a == "--drain-ms" ? opt.drain_ms : opt.phase_timeout_s) = static_cast<int64_t>(u);
    } else {
      bool found = false;
      for (int k = 0; k < kCounts; ++k)
        if (a == count_flags[k]) {
          if (!is_num) return bad();
          *counts[k] = u;
          found = true;
        }
      if (!found) {
        std::fprintf(stderr, "engine-bench: unknown option %s\n%s", a.c_str(), kUsage);
        return 2;
      }
    }
  }
  // --scale applies to every count, given or default; at least one op each
  // (W=1 history stays 0 when asked).
  for (int k = 0; k < kCounts; ++k) {
    if (*counts[k] == 0) continue;
    *counts[k] = std::max<uint64_t>(
        1, static_cast<uint64_t>(std::llround(static_cast<double>(*counts[k]) * opt.scale)));
  }
  if (opt.prefix.empty()) opt.prefix = "gyrebench" + std::to_string(getpid());
  if (!opt.redis_pid) opt.redis_pid = find_listener_pid(port_of(opt.address));
  return -1;
}

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

CpuSample sample_cpu(int redis_pid) {
  CpuSample s;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  s.self_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  if (redis_pid <= 0) return s;
  std::ifstream in("/proc/" + std::to_string(redis_pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return s;
  // After "pid (comm)": field 3 (state) onwards; utime and stime are 14, 15.
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int f = 3; f <= 15 && rest >> field; ++f) {
    if (f == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (f == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  s.redis_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  s.redis_ok = true;
  return s;
}

int find_listener_pid(int port) {
  // The listening socket's inode from /proc/net/tcp{,6}, then the process
  // holding it among /proc/*/fd.
  std::string inode;
  char want[8];
  std::snprintf(want, sizeof want, ":%04X", port);
  for (const char *file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    while (inode.empty() && std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, st, queues, timer, retr, uid, timeout, ino;
      f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> ino;
      if (st == "0A" && local.size() > 5 && local.compare(local.size() - 5, 5, want) == 0)
        inode = ino;
    }
  }
  if (inode.empty()) return 0;
  const std::string target = "socket:[" + inode + "]";
  DIR *proc = opendir("/proc");
  if (!proc) return 0;
  int found = 0;
  while (dirent *e = readdir(proc)) {
    if (found) break;
    uint64_t pid = 0;
    if (!to_u64(e->d_name, pid)) continue;
    std::string fd_dir = std::string("/proc/") + e->d_name + "/fd";
    DIR *fds = opendir(fd_dir.c_str());
    if (!fds) continue;
    while (dirent *fe = readdir(fds)) {
      char link[128];
      ssize_t n = readlink((fd_dir + "/" + fe->d_name).c_str(), link, sizeof link - 1);
      if (n > 0 && std::string_view(link, static_cast<size_t>(n)) == target) {
        found = static_cast<int>(pid);
        break;
      }
    }
    closedir(fds);
  }
  closedir(proc);
  return found;
}

void print_table(const Options &opt, const std::vector<PhaseReport> &phases, const Totals &t) {
  std::fprintf(stderr, "\n%s against %s (redis pid %d), %ld CPUs, %s\n", t.plugin.c_str(),
               opt.address.c_str(), opt.redis_pid, sysconf(_SC_NPROCESSORS_ONLN),
               cpu_model().c_str());
  std::fprintf(stderr, "%-20s %9s %5s %7s %10s %8s %7s %8s %7s  %s\n", "phase", "ops", "W",
               "seconds", "ops/s", "bench%", "us/op", "redis%", "us/op", "deliveries");
  for (const auto &p : phases) {
    if (p.n == 0) continue;  // skipped (its --n-* was 0)
    double n = static_cast<double>(p.n);
    double wall = p.wall_seconds > 0 ? p.wall_seconds : 1e-9;
    std::string deliveries =
        p.expected_deliveries
            ? std::to_string(p.delivered) + "/" + std::to_string(p.expected_deliveries) +
                  (p.misordered ? " misordered " + std::to_string(p.misordered) : "")
            : "-";
    std::fprintf(stderr, "%-20s %9llu %5llu %7.2f %10.0f %8.1f %7.2f %8s %7s  %s\n", p.name.c_str(),
                 static_cast<unsigned long long>(p.n), static_cast<unsigned long long>(p.window),
                 p.seconds, p.seconds > 0 ? n / p.seconds : 0.0, 100.0 * p.bench_cpu_s / wall,
                 1e6 * p.bench_cpu_s / n,
                 p.redis_ok ? num(100.0 * p.redis_cpu_s / wall).c_str() : "n/a",
                 p.redis_ok ? num(1e6 * p.redis_cpu_s / n, 2).c_str() : "n/a", deliveries.c_str());
    if (p.errors)
      std::fprintf(stderr, "  %llu errors, first: %s\n", static_cast<unsigned long long>(p.errors),
                   p.first_error.c_str());
  }
  std::fprintf(stderr,
               "CPU %% is of one core over the phase's wall time (deliveries included); us/op = "
               "CPU time / ops.\n");
  if (t.unexpected || t.resyncs || t.log_warnings || t.log_errors)
    std::fprintf(
        stderr, "unexpected deliveries %llu, resyncs %llu, plugin warnings %llu, errors %llu\n",
        static_cast<unsigned long long>(t.unexpected), static_cast<unsigned long long>(t.resyncs),
        static_cast<unsigned long long>(t.log_warnings),
        static_cast<unsigned long long>(t.log_errors));
}

void print_json(const Options &opt, const std::vector<PhaseReport> &phases, const Totals &t) {
  std::string o = "{\"tool\":\"gyre-engine-bench\",\"plugin\":";
  json_str(o, t.plugin);
  o += ",\"machine\":{\"nproc\":" + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + ",\"cpu\":";
  json_str(o, cpu_model());
  o += ",\"redis_version\":";
  json_str(o, opt.redis_version);
  o += "},\"config\":{\"address\":";
  json_str(o, opt.address);
  o += ",\"redis_pid\":" + std::to_string(opt.redis_pid) +
       ",\"window\":" + std::to_string(opt.window) + ",\"scale\":" + num(opt.scale, 3) +
       ",\"pub_channels\":" + std::to_string(opt.pub_channels) +
       ",\"hist_channels\":" + std::to_string(opt.hist_channels) +
       ",\"presence_channels\":" + std::to_string(opt.presence_channels) +
       ",\"payload_bytes\":" + std::to_string(opt.payload_bytes) + "},\"phases\":[";
  bool ok = t.log_errors == 0;
  for (size_t i = 0; i < phases.size(); ++i) {
    const PhaseReport &p = phases[i];
    double n = static_cast<double>(p.n);
    double wall = p.wall_seconds > 0 ? p.wall_seconds : 1e-9;
    uint64_t lost = p.expected_deliveries > p.delivered ? p.expected_deliveries - p.delivered : 0;
    ok = ok && p.errors == 0 && lost == 0 && p.misordered == 0;
    if (i) o += ',';
    o += "{\"name\":";
    json_str(o, p.name);
    o += ",\"ops\":" + std::to_string(p.n) + ",\"window\":" + std::to_string(p.window) +
         ",\"seconds\":" + num(p.seconds, 4) + ",\"wall_seconds\":" + num(p.wall_seconds, 4) +
         ",\"ops_per_s\":" + num(p.seconds > 0 ? n / p.seconds : 0.0) +
         ",\"errors\":" + std::to_string(p.errors) +
         ",\"bench_cpu_pct\":" + num(100.0 * p.bench_cpu_s / wall) +
         ",\"bench_us_per_op\":" + num(1e6 * p.bench_cpu_s / n, 3) +
         ",\"redis_cpu_pct\":" + (p.redis_ok ? num(100.0 * p.redis_cpu_s / wall) : "null") +
         ",\"redis_us_per_op\":" + (p.redis_ok ? num(1e6 * p.redis_cpu_s / n, 3) : "null") +
         ",\"expected_deliveries\":" + std::to_string(p.expected_deliveries) +
         ",\"delivered\":" + std::to_string(p.delivered) + ",\"lost\":" + std::to_string(lost) +
         ",\"misordered\":" + std::to_string(p.misordered);
    if (!p.first_error.empty()) {
      o += ",\"first_error\":";
      json_str(o, p.first_error);
    }
    o += '}';
  }
  o += "],\"unexpected_deliveries\":" + std::to_string(t.unexpected) +
       ",\"resyncs\":" + std::to_string(t.resyncs) +
       ",\"plugin_warnings\":" + std::to_string(t.log_warnings) +
       ",\"plugin_errors\":" + std::to_string(t.log_errors) + ",\"ok\":" + (ok ? "true" : "false") +
       "}\n";
  std::fputs(o.c_str(), stdout);
}

}  // namespace gyre::bench
