#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/key_table.h"
#include "common/time_format.h"

namespace crmsync {

namespace {

std::string_view LevelName(spdlog::level::level_enum level) {
  const auto name = spdlog::level::to_string_view(level);
  return {name.data(), name.size()};
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string line = FormatJsonLogLine(FormatUtc(msg.time, true), LevelName(msg.level),
                                               std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

std::string FormatJsonLogLine(std::string_view time, std::string_view level, std::string_view message) {
  nlohmann::json j;
  j["time"] = time;
  j["level"] = level;
  j["msg"] = message;
  // Replace rather than throw on invalid UTF-8 in a message.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return InvalidArgument("log format must be 'text' or 'json', not '" + std::string(text) + "'");
}

Status ConfigureLogging(const LogOptions& options) {
  if (std::find(kLogLevels.begin(), kLogLevels.end(), options.level) == kLogLevels.end()) {
    return InvalidArgument("log level must be one of " + JoinChoices(kLogLevels) + ", not '" + options.level + "'");
  }
  auto logger = std::make_shared<spdlog::logger>("crmsync", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (options.format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(options.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return Status::Ok();
}

}  // namespace crmsync
