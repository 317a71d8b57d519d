// Logging setup. The product logs through spdlog's default logger; this file
// only decides where and how: always stderr (journald captures it), as plain
// text or as one JSON object per line. Secrets never reach a log line: code
// logs Status messages and record keys, never credentials or tokens.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "common/result.h"

namespace crmsync {

enum class LogFormat { kText, kJson };

// The log levels, most verbose first: the one list that the config, the
// command line and ConfigureLogging accept (spdlog's names).
inline constexpr std::array<std::string_view, 6> kLogLevels = {"trace", "debug", "info", "warn", "error", "off"};
// The names of LogFormat as the config and the command line write them.
inline constexpr std::array<std::string_view, 2> kLogFormats = {"text", "json"};

struct LogOptions {
  std::string level = "info";  // one of kLogLevels
  LogFormat format = LogFormat::kText;
};

// Validates `options` and installs the default logger. Safe to call again
// (for example on SIGHUP); the last call wins.
Status ConfigureLogging(const LogOptions& options);

Result<LogFormat> ParseLogFormat(std::string_view text);

// Formats one JSON log line (exposed for tests): {"time":...,"level":...,"msg":...}
std::string FormatJsonLogLine(std::string_view time, std::string_view level, std::string_view message);

}  // namespace crmsync
