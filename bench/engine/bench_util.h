// gyre-engine-bench's plumbing: options, CPU sampling (this process and
// redis-server), the report table (stderr) and JSON (stdout).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gyre::bench {

struct Options {
  std::string plugin;
  std::string address = "redis://127.0.0.1:6379";
  std::string prefix;                           // default: gyrebench<pid>, so runs never share keys
  std::map<std::string, std::string> settings;  // --set key=value
  int redis_pid = 0;                            // 0: the owner of the address's port
  std::string redis_version;                    // a label for the JSON
  uint64_t window = 1000;
  double scale = 1.0;
  uint64_t n_rt = 40000;
  uint64_t n_nosub = 3000000;
  uint64_t n_publish = 3000000;
  uint64_t n_rt_history = 20000;
  uint64_t n_history = 300000;
  uint64_t n_subscribe = 500000;
  uint64_t n_presence = 500000;
  uint64_t n_read = 150000;
  size_t pub_channels = 8;
  size_t hist_channels = 16;
  size_t presence_channels = 4;
  size_t payload_bytes = 0;  // 0: {"bench":true,"i":N} as it is (~25 bytes)
  int64_t drain_ms = 5000;
  int64_t phase_timeout_s = 300;
  bool verbose = false;
};

// -1: go on; otherwise the exit status (0 after --help, 2 bad usage).
int parse_options(int argc, char **argv, Options &opt);

int64_t now_us();  // steady clock

struct CpuSample {
  double self_s = 0;  // user + sys of this process
  double redis_s = 0;
  bool redis_ok = false;
};
CpuSample sample_cpu(int redis_pid);
// The process listening on 127.0.0.1:port (or any address), 0 if none found.
int find_listener_pid(int port);

struct PhaseReport {
  std::string name;
  uint64_t n = 0;
  uint64_t window = 0;
  double seconds = 0;       // first issue to last completion
  double wall_seconds = 0;  // including the wait for deliveries
  uint64_t errors = 0;
  std::string first_error;
  double bench_cpu_s = 0;
  double redis_cpu_s = 0;
  bool redis_ok = false;
  uint64_t expected_deliveries = 0;
  uint64_t delivered = 0;
  uint64_t misordered = 0;
};

struct Totals {
  std::string plugin;
  uint64_t unexpected = 0;
  uint64_t resyncs = 0;
  uint64_t log_warnings = 0;
  uint64_t log_errors = 0;
};

void print_table(const Options &opt, const std::vector<PhaseReport> &phases, const Totals &t);
void print_json(const Options &opt, const std::vector<PhaseReport> &phases, const Totals &t);

}  // namespace gyre::bench
