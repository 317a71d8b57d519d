#include "common/log.h"

#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace crmsync {
namespace {

TEST(LogTest, JsonLineEscapesAndParses) {
  const std::string line = FormatJsonLogLine("2026-01-01T00:00:00.000Z", "info", "quote \" and\nnewline");
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], "quote \" and\nnewline");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogTest, RejectsUnknownLevelAndFormat) {
  EXPECT_FALSE(ConfigureLogging({.level = "loud", .format = LogFormat::kText}).ok());
  EXPECT_FALSE(ParseLogFormat("xml").ok());
  EXPECT_TRUE(ConfigureLogging({.level = "debug", .format = LogFormat::kJson}).ok());
  EXPECT_TRUE(ConfigureLogging({}).ok());
}

TEST(LogTest, AcceptsExactlyTheListedLevelsWhichAreSpdlogs) {
  for (std::string_view level : kLogLevels) {
    EXPECT_TRUE(ConfigureLogging({.level = std::string(level)}).ok()) << level;
    // spdlog reads every name of the list (an unknown one reads as off).
    EXPECT_TRUE(level == "off" || spdlog::level::from_str(std::string(level)) != spdlog::level::off) << level;
  }
  EXPECT_EQ(ConfigureLogging({.level = "loud"}).message(),
            "log level must be one of trace, debug, info, warn, error or off, not 'loud'");
  for (std::string_view format : kLogFormats) EXPECT_TRUE(ParseLogFormat(format).ok()) << format;
  EXPECT_TRUE(ConfigureLogging({}).ok());
}

}  // namespace
}  // namespace crmsync
