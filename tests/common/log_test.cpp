#include "common/log.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace crmsync
