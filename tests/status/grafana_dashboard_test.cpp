// contrib/grafana/crmsync-dashboard.json may only name metrics that
// RenderPrometheus writes: a renamed metric must not leave a dashboard panel
// silently empty.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "status/metrics.h"
#include "tests/status/prometheus_text_check.h"

namespace crmsync::status {
namespace {

// Every PromQL text of the dashboard: panel targets and template variable queries.
void CollectQueries(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if ((key == "expr" || key == "query") && value.is_string()) out.push_back(value.get<std::string>());
      CollectQueries(value, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) CollectQueries(v, out);
  }
}

TEST(GrafanaDashboardTest, NamesOnlyMetricsTheDaemonRenders) {
  std::ifstream in(std::string(CRMSYNC_SOURCE_DIR) + "/contrib/grafana/crmsync-dashboard.json");
  ASSERT_TRUE(in) << "contrib/grafana/crmsync-dashboard.json missing";
  std::stringstream text;
  text << in.rdbuf();
  const auto dashboard = nlohmann::json::parse(text.str(), nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded()) << "the dashboard is not JSON";

  std::vector<std::string> queries;
  CollectQueries(dashboard, queries);
  ASSERT_GE(queries.size(), 10u);

  // A snapshot with everything known, so that every family has samples.
  MetricsSnapshot s;
  MappingMetrics m;
  m.mapping = "accounts";
  m.passes = {{"ok", 1}};
  m.last_success_unix = 1;
  m.lag_seconds = 1;
  m.pending_local_changes = 1;
  s.mappings = {m};
  s.token_expiry_unix = 1;
  const auto rendered = testing::ParseExposition(
      RenderPrometheus(s, ProcessStats{.resident_memory_bytes = 1, .open_fds = 1, .sqlite_memory_bytes = 1}));
  ASSERT_TRUE(rendered.errors.empty());

  const std::regex metric_name(R"((crmsync_|process_)[a-zA-Z0-9_:]*)");
  std::set<std::string> named;
  for (const auto& q : queries) {
    for (auto it = std::sregex_iterator(q.begin(), q.end(), metric_name); it != std::sregex_iterator(); ++it) {
      named.insert(it->str());
    }
  }
  for (const auto& name : named) {
    EXPECT_EQ(rendered.types.count(name), 1u) << "the dashboard names " << name << ", which /metrics does not have";
  }
  // What the dashboard is for: passes, records by outcome, lag, queue depths, 429s.
  for (const char* needed : {"crmsync_passes_total", "crmsync_records_total", "crmsync_lag_seconds",
                             "crmsync_pending_local_changes", "crmsync_failed_records", "crmsync_open_conflicts",
                             "crmsync_waiting_for_parent", "crmsync_dataverse_throttled_total"}) {
    EXPECT_EQ(named.count(needed), 1u) << "the dashboard does not show " << needed;
  }
}

}  // namespace
}  // namespace crmsync::status
