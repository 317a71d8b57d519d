// Logging setup. The product logs through spdlog's default logger; this file
// only decides where and how: always stderr (journald captures it), as plain
// text or as one JSON object per line. Secrets never reach a log line: code
// logs Status messages and record keys, never credentials or tokens.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace crmsync {

enum class LogFormat { kText, kJson };

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, off
  LogFormat format = LogFormat::kText;
};

// Validates `options` and installs the default logger. Safe to call again
// (for example on SIGHUP); the last call wins.
Status ConfigureLogging(const LogOptions& options);

Result<LogFormat> ParseLogFormat(std::string_view text);

// Formats one JSON log line (exposed for tests): {"time":...,"level":...,"msg":...}
std::string FormatJsonLogLine(std::string_view time, std::string_view level, std::string_view message);

}  // namespace crmsync
