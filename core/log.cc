#include "log.h"

#include <sys/time.h>

#include <cstdio>
#include <ctime>
#include <string>

namespace gyre {

namespace {
LogLevel g_level = LogLevel::Info;

const char *level_name(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "DEBUG";
    case LogLevel::Info: return "INFO";
    case LogLevel::Warn: return "WARN";
    case LogLevel::Error: return "ERROR";
    default: return "";
  }
}
}  // namespace

void set_log_level(LogLevel level) { g_level = level; }
LogLevel log_level() { return g_level; }

bool parse_log_level(std::string_view n, LogLevel &out) {
  if (n == "debug" || n == "trace")
    out = LogLevel::Debug;
  else if (n == "info")
    out = LogLevel::Info;
  else if (n == "warn")
    out = LogLevel::Warn;
  else if (n == "error" || n == "fatal")
    out = LogLevel::Error;
  else if (n == "none")
    out = LogLevel::None;
  else
    return false;
  return true;
}

void log_write(LogLevel level, std::string_view prefix, std::string_view msg) {
  if (level < g_level) return;
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char ts[32];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line;
  line.reserve(64 + msg.size());
  line += ts;
  char ms[8];
  snprintf(ms, sizeof ms, ".%03dZ ", static_cast<int>(tv.tv_usec / 1000));
  line += ms;
  line += level_name(level);
  line += ' ';
  if (!prefix.empty()) {
    line += '[';
    line += prefix;
    line += "] ";
  }
  // One event, one line: fold any newline a message may carry.
  for (char c : msg) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  fwrite(line.data(), 1, line.size(), stderr);
}

void logf(LogLevel level, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  log_write(level, {}, std::string_view(buf, n < (int)sizeof buf ? n : sizeof buf - 1));
}

}  // namespace gyre
