#include "status/metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "common/sqlite.h"
#include "tests/status/prometheus_text_check.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace crmsync::status {
namespace {

using testing::ParseExposition;

MetricsSnapshot Sample() {
  MetricsSnapshot s;
  MappingMetrics a;
  a.mapping = "accounts";
  a.passes = {{"ok", 7}, {"failed", 1}};
  a.records.inserted = 12;
  a.records.modified = 3;
  a.records.failed = 2;
  a.records.conflicts = 1;
  a.last_success_unix = 1764620000;
  a.lag_seconds = 12.5;
  a.pending_local_changes = 4;
  a.failures = 2;
  a.conflicts = 1;
  a.waiting_for_parent = 0;
  MappingMetrics c;
  c.mapping = "contacts";  // never succeeded: no last success, lag or pending local changes
  c.passes = {{"failed", 2}};
  c.waiting_for_parent = 5;
  s.mappings = {a, c};
  s.requests = 1234;
  s.throttled = 17;
  s.retries = 20;
  s.token_expiry_unix = 1764623600;
  s.ready = true;
  return s;
}

std::string Render(const MetricsSnapshot& s) {
  return RenderPrometheus(
      s, ProcessStats{.resident_memory_bytes = 50331648, .open_fds = 12, .sqlite_memory_bytes = 4194304});
}

TEST(MetricsTest, EscapesLabelValuesAndHelpAsTheFormatSays) {
  EXPECT_EQ(EscapeLabelValue(R"(a"b\c)"
                             "\nd"),
            R"(a\"b\\c\nd)");
  EXPECT_EQ(EscapeLabelValue("plain-name_1 é"), "plain-name_1 é");
  // HELP escapes backslash and newline, but a double quote stays.
  EXPECT_EQ(EscapeHelp("say \"x\\y\"\nz"), R"(say "x\\y"\nz)");
}

TEST(MetricsTest, FormatsValuesExactlyAndReadably) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(1234567), "1234567");
  EXPECT_EQ(FormatSampleValue(-3), "-3");
  EXPECT_EQ(FormatSampleValue(12.5), "12.5");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(1e300), "1e+300");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(MetricsTest, RendersEveryMetricWithHelpTypeAndItsSamples) {
  const std::string text = Render(Sample());
  const auto parsed = ParseExposition(text);
  ASSERT_TRUE(parsed.errors.empty()) << ::testing::PrintToString(parsed.errors) << "\n" << text;

  const std::map<std::string, std::string> expected_types = {
      {"crmsync_ready", "gauge"},
      {"crmsync_passes_total", "counter"},
      {"crmsync_records_total", "counter"},
      {"crmsync_last_success_timestamp_seconds", "gauge"},
      {"crmsync_lag_seconds", "gauge"},
      {"crmsync_pending_local_changes", "gauge"},
      {"crmsync_failed_records", "gauge"},
      {"crmsync_open_conflicts", "gauge"},
      {"crmsync_waiting_for_parent", "gauge"},
      {"crmsync_dataverse_requests_total", "counter"},
      {"crmsync_dataverse_throttled_total", "counter"},
      {"crmsync_dataverse_retries_total", "counter"},
      {"crmsync_token_expiry_timestamp_seconds", "gauge"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_open_fds", "gauge"},
      {"crmsync_sqlite_memory_bytes", "gauge"},
  };
  EXPECT_EQ(parsed.types, expected_types);
  for (const auto& [name, type] : expected_types) {
    EXPECT_FALSE(parsed.help.count(name) == 0 || parsed.help.at(name).empty()) << name;
    EXPECT_TRUE(name.rfind("crmsync_", 0) == 0 || name.rfind("process_", 0) == 0) << name;
  }

  auto value = [&](const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    const auto* s = parsed.Find(name, labels);
    EXPECT_NE(s, nullptr) << name << " " << ::testing::PrintToString(labels);
    return s ? s->value : -1;
  };
  EXPECT_EQ(value("crmsync_ready"), 1);
  EXPECT_EQ(value("crmsync_passes_total", {{"mapping", "accounts"}, {"outcome", "ok"}}), 7);
  EXPECT_EQ(value("crmsync_passes_total", {{"mapping", "accounts"}, {"outcome", "failed"}}), 1);
  EXPECT_EQ(value("crmsync_passes_total", {{"mapping", "contacts"}, {"outcome", "failed"}}), 2);
  EXPECT_EQ(value("crmsync_records_total", {{"mapping", "accounts"}, {"outcome", "inserted"}}), 12);
  EXPECT_EQ(value("crmsync_records_total", {{"mapping", "accounts"}, {"outcome", "modified"}}), 3);
  EXPECT_EQ(value("crmsync_records_total", {{"mapping", "accounts"}, {"outcome", "conflicts"}}), 1);
  EXPECT_EQ(value("crmsync_records_total", {{"mapping", "contacts"}, {"outcome", "unchanged"}}), 0);
  for (const char* outcome : {"inserted", "modified", "deleted", "unchanged", "skipped", "failed", "coupled",
                              "uncoupled", "conflicts", "waiting"}) {
    EXPECT_NE(parsed.Find("crmsync_records_total", {{"mapping", "accounts"}, {"outcome", outcome}}), nullptr)
        << outcome;
  }
  EXPECT_EQ(value("crmsync_last_success_timestamp_seconds", {{"mapping", "accounts"}}), 1764620000);
  EXPECT_EQ(value("crmsync_lag_seconds", {{"mapping", "accounts"}}), 12.5);
  EXPECT_EQ(value("crmsync_pending_local_changes", {{"mapping", "accounts"}}), 4);
  EXPECT_EQ(value("crmsync_failed_records", {{"mapping", "accounts"}}), 2);
  EXPECT_EQ(value("crmsync_open_conflicts", {{"mapping", "accounts"}}), 1);
  EXPECT_EQ(value("crmsync_waiting_for_parent", {{"mapping", "contacts"}}), 5);
  EXPECT_EQ(value("crmsync_dataverse_requests_total"), 1234);
  EXPECT_EQ(value("crmsync_dataverse_throttled_total"), 17);
  EXPECT_EQ(value("crmsync_dataverse_retries_total"), 20);
  EXPECT_EQ(value("crmsync_token_expiry_timestamp_seconds"), 1764623600);
  EXPECT_EQ(value("process_resident_memory_bytes"), 50331648);
  EXPECT_EQ(value("process_open_fds"), 12);
  EXPECT_EQ(value("crmsync_sqlite_memory_bytes"), 4194304);
  // What is not known is left out rather than reported as zero.
  EXPECT_EQ(parsed.Find("crmsync_last_success_timestamp_seconds", {{"mapping", "contacts"}}), nullptr);
  EXPECT_EQ(parsed.Find("crmsync_lag_seconds", {{"mapping", "contacts"}}), nullptr);
  EXPECT_EQ(parsed.Find("crmsync_pending_local_changes", {{"mapping", "contacts"}}), nullptr);
}

TEST(MetricsTest, UnknownValuesAndNoMappingsStillParse) {
  MetricsSnapshot s;  // not ready, no token, no mappings
  const std::string text = RenderPrometheus(s, std::nullopt);
  const auto parsed = ParseExposition(text);
  ASSERT_TRUE(parsed.errors.empty()) << ::testing::PrintToString(parsed.errors) << "\n" << text;
  EXPECT_EQ(parsed.Find("crmsync_ready")->value, 0);
  EXPECT_EQ(parsed.Find("crmsync_token_expiry_timestamp_seconds"), nullptr);
  EXPECT_EQ(parsed.types.count("process_open_fds"), 0u);
}

TEST(MetricsTest, MappingNamesAreEscapedInLabels) {
  MetricsSnapshot s;
  MappingMetrics m;
  m.mapping = "odd \"name\" with \\ and\nnewline";
  m.passes = {{"ok", 1}};
  s.mappings = {m};
  const std::string text = RenderPrometheus(s, std::nullopt);
  EXPECT_NE(text.find(R"(crmsync_passes_total{mapping="odd \"name\" with \\ and\nnewline",outcome="ok"} 1)"),
            std::string::npos)
      << text;
  const auto parsed = ParseExposition(text);
  ASSERT_TRUE(parsed.errors.empty()) << ::testing::PrintToString(parsed.errors);
  EXPECT_NE(parsed.Find("crmsync_passes_total", {{"mapping", m.mapping}, {"outcome", "ok"}}), nullptr);
}

TEST(MetricsTest, TheBuiltInCheckCatchesWhatPrometheusWouldRefuse) {
  // The check must be able to fail, or the tests above prove nothing.
  EXPECT_FALSE(ParseExposition("# TYPE x_total counter\nx_total{a=\"1\"} 1\nx_total{a=\"1\"} 2\n").errors.empty());
  EXPECT_FALSE(ParseExposition("# TYPE x counter\nx 1\n").errors.empty());
  EXPECT_FALSE(ParseExposition("x 1\n").errors.empty());
  EXPECT_FALSE(ParseExposition("# TYPE x gauge\nx{a=\"b\\q\"} 1\n").errors.empty());
  EXPECT_FALSE(ParseExposition("# TYPE x gauge\nx{a=\"b} 1\n").errors.empty());
  EXPECT_FALSE(ParseExposition("# TYPE x gauge\nx one\n").errors.empty());
  EXPECT_FALSE(ParseExposition("# TYPE 1x gauge\n").errors.empty());
  EXPECT_FALSE(ParseExposition("# TYPE x gauge\nx 1").errors.empty());
  EXPECT_FALSE(ParseExposition("# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx 2\n").errors.empty());
  EXPECT_TRUE(ParseExposition("# HELP x a \\\\ b\n# TYPE x gauge\nx{a=\"\\\"\"} NaN\n").errors.empty());
}

TEST(MetricsTest, LagIsTheTimeSinceTheLastSuccessAtScrapeTime) {
  MetricsSnapshot s = Sample();  // accounts last succeeded at 1764620000, contacts never
  s.mappings[1].lag_seconds = 99;
  SetLagFromLastSuccess(s, std::chrono::system_clock::time_point(std::chrono::milliseconds(1764620042500LL)));
  EXPECT_EQ(s.mappings[0].lag_seconds, 42.5);
  EXPECT_EQ(s.mappings[1].lag_seconds, std::nullopt);
  // A clock behind the last success (stepped back) is no lag, not a negative one.
  SetLagFromLastSuccess(s, std::chrono::system_clock::time_point(std::chrono::seconds(1764619000)));
  EXPECT_EQ(s.mappings[0].lag_seconds, 0);
}

TEST(MetricsTest, ReadsThisProcessFiguresFromProc) {
  auto before = ReadProcessStats();
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_GT(before->resident_memory_bytes, 1 << 20);
  const int extra[3] = {open("/dev/null", O_RDONLY | O_CLOEXEC), open("/dev/null", O_RDONLY | O_CLOEXEC),
                        open("/dev/null", O_RDONLY | O_CLOEXEC)};
  auto after = ReadProcessStats();
  for (int fd : extra) close(fd);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->open_fds, before->open_fds + 3);
  // The real rendering carries them.
  const auto parsed = ParseExposition(RenderPrometheus(MetricsSnapshot{}));
  ASSERT_NE(parsed.Find("process_open_fds"), nullptr);
  EXPECT_GT(parsed.Find("process_resident_memory_bytes")->value, 0);
  // SQLite's share, read from SQLite: an open database holds some.
  auto db = SqliteDb::Open(":memory:");
  ASSERT_TRUE(db.ok());
  const auto with_db = ParseExposition(RenderPrometheus(MetricsSnapshot{}));
  ASSERT_NE(with_db.Find("crmsync_sqlite_memory_bytes"), nullptr);
  EXPECT_GT(with_db.Find("crmsync_sqlite_memory_bytes")->value, 0);
}

TEST(MetricsTest, ProcessStatsNameTheFileThatCannotBeRead) {
  auto stats = ReadProcessStats("/nonexistent/proc");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kIo);
  EXPECT_NE(stats.status().message().find("/nonexistent/proc/statm"), std::string::npos);
}

std::string FindPromtool() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const auto end = dirs.find(':', start);
    const std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/promtool";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

TEST(MetricsTest, PromtoolAcceptsTheRendering) {
  const std::string promtool = FindPromtool();
  if (promtool.empty()) {
    GTEST_SKIP() << "promtool not found on PATH (Debian package prometheus; scripts/install-deps.sh installs it); "
                    "the built-in format check above still ran";
  }
  MetricsSnapshot s = Sample();
  s.mappings[0].mapping = "with \"quotes\" \\ and\nnewline";
  for (const auto& text : {Render(s), RenderPrometheus(MetricsSnapshot{}, std::nullopt)}) {
    // `check metrics` reads stdin and also lints names, types and units.
    const auto result = testing_support::RunProcess({promtool, "check", "metrics"}, text);
    EXPECT_EQ(result.exit_code, 0) << "promtool: " << result.out << result.err << "\n" << text;
    EXPECT_EQ(result.out + result.err, "") << text;
  }
  // And it is promtool that judges: a counter without _total is refused.
  const auto bad = testing_support::RunProcess({promtool, "check", "metrics"},
                                               "# HELP x_count n\n# TYPE x_count counter\nx_count 1\n");
  EXPECT_NE(bad.exit_code, 0) << bad.out << bad.err;
}

}  // namespace
}  // namespace crmsync::status
