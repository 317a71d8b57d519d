// Sales cycles in the local store: how a stage gives an opportunity its
// probability, moving an opportunity through its stages, closing it with a
// reason, and the defaults a new opportunity takes.
#include <gtest/gtest.h>

#include "crm/sales_cycle.h"
#include "crm/setup.h"
#include "crm/store.h"
#include "tests/crm/crm_test_util.h"
#include "tests/crm/store_fixture.h"

namespace crmsync::crm {
namespace {

using testing::QueryRows;
using testing::T;

Value I(std::int64_t i) {
  return Value::Integer(i);
}

TEST(ProbabilityTest, FollowsTheCyclesCalculation) {
  EXPECT_EQ(Probability("multiply", 50, 40), 20);
  EXPECT_EQ(Probability("add", 50, 40), 45);
  EXPECT_EQ(Probability("add", 50, 45), 48);  // 47.5 rounds half away from zero
  EXPECT_EQ(Probability("chances_of_success", 50, 40), 50);
  EXPECT_EQ(Probability("completed", 50, 40), 40);
  EXPECT_EQ(Probability("multiply", 100, 100), 100);
}

class SalesCycleTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(store_->Add(Table::kSalesperson, {{"code", T("JR")}, {"name", T("Jo Roberts")}}).ok());
    company_ =
        *store_->Add(Table::kContact, {{"type", T("company")}, {"name", T("Contoso")}, {"salesperson_code", T("JR")}});
    person_ = *store_->Add(Table::kContact, {{"type", T("person")},
                                             {"name", T("Ann")},
                                             {"company_no", T(company_.c_str())},
                                             {"salesperson_code", Value()}});
    ASSERT_TRUE(store_->Add(Table::kSalesCycle, {{"code", T("STD")}, {"description", T("Standard")}}).ok());
    for (auto [stage, completed, chances] : {std::tuple{1, 10, 20}, std::tuple{2, 50, 40}, std::tuple{3, 90, 80}}) {
      auto r = store_->Add(Table::kSalesCycleStage, {{"sales_cycle_code", T("STD")},
                                                     {"description", T("Stage")},
                                                     {"completed_pct", I(completed)},
                                                     {"chances_of_success_pct", I(chances)}});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(*r, "[\"STD\"," + std::to_string(stage) + "]") << "stages are numbered last + 1";
    }
    ASSERT_TRUE(store_
                    ->Add(Table::kCloseOpportunityCode,
                          {{"code", T("PRICE")}, {"description", T("Best price")}, {"type", T("won")}})
                    .ok());
    ASSERT_TRUE(store_
                    ->Add(Table::kCloseOpportunityCode,
                          {{"code", T("LATE")}, {"description", T("Too late")}, {"type", T("lost")}})
                    .ok());
  }
  Status InTx(const std::function<Status(SqliteDb&)>& body) { return store_->InTransaction(body); }
  Record Get(const std::string& no) { return *store_->Get(Table::kOpportunity, no); }

  std::string company_;
  std::string person_;
};

TEST_F(SalesCycleTest, ANewOpportunityTakesItsContactsSalespersonAndTheDefaultCycle) {
  ASSERT_TRUE(WriteSetup(store_->db(), "default_sales_cycle_code", "STD").ok());
  auto no = store_->Add(Table::kOpportunity, {{"description", T("Deal")}, {"contact_no", T(company_.c_str())}});
  ASSERT_TRUE(no.ok()) << no.status().ToString();
  Record row = Get(*no);
  EXPECT_EQ(row.at("salesperson_code"), T("JR"));
  EXPECT_EQ(row.at("sales_cycle_code"), T("STD"));
  EXPECT_EQ(row.at("current_stage"), I(1));
  EXPECT_EQ(row.at("completed_pct"), I(10));
  EXPECT_EQ(row.at("probability"), I(2));  // 20% x 10%
  // A person without a salesperson of its own: its company's.
  auto from_person =
      store_->Add(Table::kOpportunity, {{"description", T("Deal 2")}, {"contact_no", T(person_.c_str())}});
  ASSERT_TRUE(from_person.ok());
  EXPECT_EQ(Get(*from_person).at("salesperson_code"), T("JR"));
  EXPECT_EQ(WriteSetup(store_->db(), "default_sales_cycle_code", "NOPE").message(),
            "setup default_sales_cycle_code: 'NOPE' is not a sales cycle");
  // A stage the cycle does not have is refused, naming the field.
  auto bad = store_->Add(Table::kOpportunity,
                         {{"description", T("D")}, {"contact_no", T(company_.c_str())}, {"current_stage", I(7)}});
  EXPECT_EQ(bad.status().message(), "current_stage: sales cycle 'STD' has no stage 7");
}

TEST_F(SalesCycleTest, UpdateStageMovesTheOpportunityAndCloseRecordsTheReason) {
  auto no = *store_->Add(Table::kOpportunity, {{"description", T("Deal")}, {"contact_no", T(company_.c_str())}});
  EXPECT_EQ(InTx([&](SqliteDb& db) { return SetOpportunityStage(db, no, 2); }).message(),
            "stage: opportunity 'OP000001' has no sales_cycle_code; give it one (--sales-cycle-code) first");
  ASSERT_TRUE(store_->Update(Table::kOpportunity, no, {{"sales_cycle_code", T("STD")}}).ok());
  EXPECT_EQ(InTx([&](SqliteDb& db) { return SetOpportunityStage(db, no, 4); }).message(),
            "stage: sales cycle 'STD' has no stage 4");
  ASSERT_TRUE(InTx([&](SqliteDb& db) { return SetOpportunityStage(db, no, 2); }).ok());
  Record row = Get(no);
  EXPECT_EQ(row.at("current_stage"), I(2));
  EXPECT_EQ(row.at("completed_pct"), I(50));
  EXPECT_EQ(row.at("probability"), I(20));
  EXPECT_EQ(row.at("status"), T("in_progress"));

  ASSERT_TRUE(store_->Update(Table::kSalesCycle, "STD", {{"probability_calculation", T("add")}}).ok());
  ASSERT_TRUE(InTx([&](SqliteDb& db) { return SetOpportunityStage(db, no, 3); }).ok());
  EXPECT_EQ(Get(no).at("probability"), I(85));

  EXPECT_EQ(InTx([&](SqliteDb& db) { return CloseOpportunity(db, no, true, "LATE"); }).message(),
            "reason: close opportunity code 'LATE' is for lost opportunities, not won ones");
  EXPECT_EQ(InTx([&](SqliteDb& db) { return CloseOpportunity(db, no, true, "NOPE"); }).message(),
            "reason: close opportunity code 'NOPE' does not exist");
  EXPECT_EQ(Get(no).at("status"), T("in_progress")) << "nothing written";
  ASSERT_TRUE(InTx([&](SqliteDb& db) { return CloseOpportunity(db, no, true, "PRICE", "2026-05-04"); }).ok());
  row = Get(no);
  EXPECT_EQ(row.at("status"), T("won"));
  EXPECT_EQ(row.at("close_opportunity_code"), T("PRICE"));
  EXPECT_EQ(row.at("date_closed"), T("2026-05-04"));
  EXPECT_EQ(row.at("probability"), I(100));
  EXPECT_EQ(row.at("completed_pct"), I(100));
  EXPECT_EQ(InTx([&](SqliteDb& db) { return SetOpportunityStage(db, no, 1); }).message(),
            "stage: opportunity 'OP000001' is already won");
  EXPECT_EQ(InTx([&](SqliteDb& db) { return CloseOpportunity(db, no, false, "LATE"); }).message(),
            "status: opportunity 'OP000001' is already won");
  EXPECT_EQ(InTx([&](SqliteDb& db) { return SetOpportunityStage(db, "OP000099", 1); }).code(), StatusCode::kNotFound);
}

TEST_F(SalesCycleTest, CampaignDatesAreCheckedAndDeletingACycleKeepsItsOpportunities) {
  auto bad_date = store_->Add(Table::kCampaign, {{"description", T("Spring")}, {"starting_date", T("2026-02-30")}});
  EXPECT_EQ(bad_date.status().message(), "starting_date '2026-02-30' is not a date (YYYY-MM-DD)");
  auto reversed =
      store_->Add(Table::kCampaign,
                  {{"description", T("Spring")}, {"starting_date", T("2026-04-01")}, {"ending_date", T("2026-03-01")}});
  EXPECT_EQ(reversed.status().message(), "ending_date '2026-03-01' is before starting_date '2026-04-01'");
  auto campaign = store_->Add(Table::kCampaign, {{"description", T("Spring")}, {"starting_date", T("2026-04-01")}});
  ASSERT_TRUE(campaign.ok()) << campaign.status().ToString();
  EXPECT_EQ(*campaign, "CP000001");
  EXPECT_EQ(store_->Update(Table::kCampaign, *campaign, {{"ending_date", T("2026-03-31")}}).status().message(),
            "ending_date '2026-03-31' is before starting_date '2026-04-01'");

  auto no = *store_->Add(Table::kOpportunity, {{"description", T("Deal")},
                                               {"contact_no", T(company_.c_str())},
                                               {"sales_cycle_code", T("STD")},
                                               {"campaign_no", T("CP000001")}});
  EXPECT_EQ(store_
                ->Add(Table::kOpportunity,
                      {{"description", T("D")}, {"contact_no", T(company_.c_str())}, {"campaign_no", T("CP000009")}})
                .status()
                .message(),
            "campaign_no: campaign 'CP000009' does not exist");
  ASSERT_TRUE(store_->Delete(Table::kSalesCycle, "STD").ok());
  ASSERT_TRUE(store_->Delete(Table::kCampaign, "CP000001").ok());
  EXPECT_EQ(QueryRows(store_->db(), "SELECT no, sales_cycle_code IS NULL, campaign_no IS NULL FROM opportunity"),
            no + "|1|1\n");
  EXPECT_EQ(QueryRows(store_->db(), "SELECT count(*) FROM sales_cycle_stage"), "0\n");
}

}  // namespace
}  // namespace crmsync::crm
