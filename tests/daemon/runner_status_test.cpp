#include "daemon/runner_status.h"

#include <gtest/gtest.h>

namespace crmsync::daemon {
namespace {

using std::chrono::seconds;

const WallTime kT0 = WallTime(seconds(1'800'000'000));

TEST(RunnerStatusTest, PassesAddUpByOutcomeAndRecordsByCount) {
  RunnerStatus status;
  status.SetMappings({{"accounts", 30}, {"contacts", 5}});
  status.PassStarted("accounts", kT0);
  EXPECT_TRUE(status.Snapshot().mappings[0].running);
  state::JobCounts counts;
  counts.inserted = 3;
  counts.failed = 1;
  status.PassEnded("accounts", kT0 + seconds(2), counts, Status::Ok(), "records_failed");
  status.PassStarted("accounts", kT0 + seconds(30));
  status.PassEnded("accounts", kT0 + seconds(31), counts, Status(StatusCode::kUnavailable, "503"), "unavailable");
  status.SetNextPass("accounts", kT0 + seconds(40), 1);

  const RunnerSnapshot s = status.Snapshot();
  ASSERT_EQ(s.mappings.size(), 2u);
  const MappingRunStatus& a = s.mappings[0];
  EXPECT_EQ(a.mapping, "accounts");
  EXPECT_EQ(a.interval_s, 30);
  EXPECT_FALSE(a.running);
  EXPECT_EQ(a.last_start, kT0 + seconds(30));
  EXPECT_EQ(a.last_end, kT0 + seconds(31));
  EXPECT_EQ(a.last_success, kT0 + seconds(2)) << "the last pass that ran through";
  EXPECT_EQ(a.last_code, StatusCode::kUnavailable);
  EXPECT_EQ(a.last_message, "503");
  EXPECT_EQ(a.passes_by_outcome.at("records_failed"), 1);
  EXPECT_EQ(a.passes_by_outcome.at("unavailable"), 1);
  EXPECT_EQ(a.records_total.inserted, 6);
  EXPECT_EQ(a.records_total.failed, 2);
  EXPECT_EQ(a.next_pass, kT0 + seconds(40));
  EXPECT_EQ(a.consecutive_failures, 1);
  EXPECT_EQ(s.mappings[1].interval_s, 5);
}

TEST(RunnerStatusTest, AReloadKeepsTheHistoryOfMappingsThatStay) {
  RunnerStatus status;
  status.SetMappings({{"accounts", 30}, {"contacts", 30}});
  status.PassEnded("accounts", kT0, {}, Status::Ok(), "ok");
  status.SetMappings({{"accounts", 60}, {"orders", 30}});
  const RunnerSnapshot s = status.Snapshot();
  ASSERT_EQ(s.mappings.size(), 2u);
  EXPECT_EQ(s.mappings[0].passes_by_outcome.at("ok"), 1);
  EXPECT_EQ(s.mappings[0].interval_s, 60);
  EXPECT_EQ(s.mappings[1].mapping, "orders");
  EXPECT_TRUE(s.mappings[1].passes_by_outcome.empty());
  // A pass of a mapping a reload removed ends quietly.
  status.PassEnded("contacts", kT0, {}, Status::Ok(), "ok");
  EXPECT_EQ(status.Snapshot().mappings.size(), 2u);
}

TEST(RunnerStatusTest, ReasonSaysWhyNotReadyOrNotHealthyHealthFirst) {
  RunnerStatus status;
  status.SetReady(false, "Dataverse: connection refused");
  EXPECT_EQ(status.Snapshot().reason, "Dataverse: connection refused");
  status.SetHealthy(false, "a pass has made no progress");
  EXPECT_EQ(status.Snapshot().reason, "a pass has made no progress");
  status.SetHealthy(true, "");
  status.SetReady(true, "");
  const RunnerSnapshot s = status.Snapshot();
  EXPECT_TRUE(s.ready);
  EXPECT_TRUE(s.healthy);
  EXPECT_EQ(s.reason, "");
}

}  // namespace
}  // namespace crmsync::daemon
