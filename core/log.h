// Leveled logging to stderr, one line per event. Never log secrets.
#pragma once

#include <cstdarg>
#include <string_view>

namespace gyre {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, None = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Parses "debug", "info", "warn", "error", "none"; false when unknown.
bool parse_log_level(std::string_view name, LogLevel &out);

void log_write(LogLevel level, std::string_view prefix, std::string_view msg);
void logf(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define GYRE_LOG(level, ...)                                              \
  do {                                                                    \
    if ((level) >= ::gyre::log_level()) ::gyre::logf(level, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) GYRE_LOG(::gyre::LogLevel::Debug, __VA_ARGS__)
#define LOG_INFO(...) GYRE_LOG(::gyre::LogLevel::Info, __VA_ARGS__)
#define LOG_WARN(...) GYRE_LOG(::gyre::LogLevel::Warn, __VA_ARGS__)
#define LOG_ERROR(...) GYRE_LOG(::gyre::LogLevel::Error, __VA_ARGS__)

}  // namespace gyre
