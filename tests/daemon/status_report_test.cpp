#include "daemon/status_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crm/store.h"
#include "daemon/default_mappings.h"
#include "state/sqlite_state_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace crmsync::daemon {
namespace {

using nlohmann::json;

class StatusReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = state::SqliteStateStore::Open(dir_.path() + "/state.db", clock_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    std::vector<mapping::MappingSource> sources;
    for (const auto& [name, text] : DefaultMappingFiles()) sources.push_back({std::string(name), std::string(text)});
    mappings_ = mapping::ParseMappingSet(sources);
    ASSERT_TRUE(mappings_.ok());
  }

  Result<json> Build(local::LocalConnector* journal = nullptr, std::optional<int> pid = std::nullopt) {
    return BuildStatusDocument({.store = *store_,
                                .mappings = mappings_.set,
                                .journal = journal,
                                .state_database = dir_.path() + "/state.db",
                                .daemon_pid = pid,
                                .clock = clock_});
  }

  static const json& Mapping(const json& doc, const std::string& name) {
    for (const auto& m : doc["mappings"]) {
      if (m["mapping"] == name) return m;
    }
    static const json kNone;
    ADD_FAILURE() << "no mapping " << name << " in " << doc.dump();
    return kNone;
  }

  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  std::unique_ptr<state::SqliteStateStore> store_;
  mapping::MappingSetLoad mappings_;
};

TEST_F(StatusReportTest, AFreshStoreShowsEveryMappingNeverRun) {
  auto doc = Build();
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ((*doc)["daemon"], json({{"running", false}, {"pid", nullptr}}));
  EXPECT_EQ((*doc)["state_database"], dir_.path() + "/state.db");
  ASSERT_EQ((*doc)["mappings"].size(), mappings_.set.mappings().size());
  const json& accounts = Mapping(*doc, "accounts");
  EXPECT_TRUE(accounts["last_run"].is_null());
  EXPECT_TRUE(accounts["last_success_at"].is_null());
  EXPECT_TRUE(accounts["pending_local_changes"].is_null());  // no journal given
  EXPECT_EQ(accounts["coupled"], 0);
  EXPECT_EQ(accounts["failed"], 0);
  EXPECT_EQ(accounts["conflicts"], 0);
  EXPECT_EQ(accounts["waiting_for_parent"], 0);
  EXPECT_EQ(accounts["deletes_held"], 0);
  for (const char* key : {"mapping", "version", "last_run", "last_success_at", "coupled", "pending_local_changes",
                          "failed", "conflicts", "waiting_for_parent", "deletes_held", "cursors"}) {
    EXPECT_TRUE(accounts.contains(key)) << key;
  }
}

TEST_F(StatusReportTest, ShowsRunsQueuesAndTheDaemonAndFeedsTheMetrics) {
  state::JobRun run{.run_id = "r1", .mapping = "accounts", .command = "run"};
  auto id = store_->StartJob(run);
  ASSERT_TRUE(id.ok());
  run.id = *id;
  run.finished_at = "2026-12-01T20:00:00Z";
  run.outcome = "ok";
  run.counts.inserted = 3;
  ASSERT_TRUE(store_->FinishJob(run).ok());
  ASSERT_TRUE(store_
                  ->RecordFailure({.mapping = "contacts",
                                   .source = state::Side::kLocal,
                                   .record_key = "CT1",
                                   .local_key = "CT1",
                                   .code = "invalid_argument",
                                   .message = "too long"})
                  .ok());
  ASSERT_TRUE(store_->Park({"contacts", state::Side::kLocal, "CT5", "waiting for parent CT1", ""}).ok());
  ASSERT_TRUE(store_->Park({"contacts", state::Side::kLocal, "CT6", "waiting for parent CT1", ""}).ok());

  auto crm = crm::Store::Open(dir_.path() + "/crm.db", true);
  ASSERT_TRUE(crm.ok()) << crm.status().message();
  auto journal = local::LocalConnector::Open(dir_.path() + "/crm.db");
  ASSERT_TRUE(journal.ok()) << journal.status().message();

  auto doc = Build(journal->get(), 4242);
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ((*doc)["daemon"], json({{"running", true}, {"pid", 4242}}));
  const json& accounts = Mapping(*doc, "accounts");
  EXPECT_EQ(accounts["last_run"]["outcome"], "ok");
  EXPECT_EQ(accounts["last_run"]["counts"]["inserted"], 3);
  EXPECT_EQ(accounts["last_success_at"], "2026-12-01T20:00:00Z");
  EXPECT_TRUE(accounts["pending_local_changes"].is_number_integer()) << accounts.dump();
  const json& contacts = Mapping(*doc, "contacts");
  EXPECT_EQ(contacts["failed"], 1);
  EXPECT_EQ(contacts["waiting_for_parent"], 2);

  status::MetricsSnapshot metrics;
  metrics.mappings.push_back({.mapping = "accounts", .passes = {{"ok", 5}}});
  ApplyStatusToMetrics(*doc, metrics);
  ASSERT_EQ(metrics.mappings.size(), mappings_.set.mappings().size());
  const auto& a = metrics.mappings[0];
  EXPECT_EQ(a.mapping, "accounts");
  EXPECT_EQ(a.passes.at("ok"), 5);             // the run loop's counters stay
  EXPECT_EQ(a.last_success_unix, 1796155200);  // 2026-12-01T20:00:00Z
  EXPECT_EQ(a.pending_local_changes, accounts["pending_local_changes"].get<std::int64_t>());
  for (const auto& m : metrics.mappings) {
    if (m.mapping != "contacts") continue;
    EXPECT_EQ(m.failures, 1);
    EXPECT_EQ(m.waiting_for_parent, 2);
    EXPECT_EQ(m.pending_local_changes, Mapping(*doc, "contacts")["pending_local_changes"].get<std::int64_t>());
    EXPECT_FALSE(m.last_success_unix.has_value());
  }
}

}  // namespace
}  // namespace crmsync::daemon
