// The opportunity state rules as plans of steps, string in and string out.
#include "connectors/dataverse/state_rules.h"

#include <gtest/gtest.h>

namespace crmsync::dataverse {
namespace {

using connectors::WriteOp;
using Kind = WriteStep::Kind;

constexpr char kId[] = "b3828ac8-917a-e511-80d2-00155d2a68d2";

WriteOp Opportunity(WriteOp::Kind kind, Record fields, std::string expected_version = "") {
  WriteOp op;
  op.kind = kind;
  op.key = kId;
  op.fields = std::move(fields);
  op.expected_version = std::move(expected_version);
  return op;
}

std::vector<Kind> Kinds(const std::vector<WriteStep>& steps) {
  std::vector<Kind> out;
  for (const auto& s : steps) out.push_back(s.kind);
  return out;
}

TEST(StateRulesTest, OtherTablesAndOpportunitiesWithoutStateAreOneStep) {
  auto account = PlanWrite("accounts", Opportunity(WriteOp::Kind::kUpdate, {{"statecode", Value::Integer(1)}}));
  ASSERT_TRUE(account.ok());
  ASSERT_EQ(Kinds(*account), (std::vector<Kind>{Kind::kUpdate}));
  EXPECT_EQ(account->front().fields.at("statecode"), Value::Integer(1)) << "a plain SetState PATCH";
  auto plain = PlanWrite("opportunities", Opportunity(WriteOp::Kind::kUpdate, {{"name", Value::Text("X")}}));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(Kinds(*plain), (std::vector<Kind>{Kind::kUpdate}));
}

TEST(StateRulesTest, ClosingPatchesTheFieldsThenCallsTheAction) {
  auto won = PlanWrite("opportunities", Opportunity(WriteOp::Kind::kUpdate,
                                                    {{"statecode", Value::Integer(1)}, {"name", Value::Text("X")}}));
  ASSERT_TRUE(won.ok()) << won.status().ToString();
  ASSERT_EQ(Kinds(*won), (std::vector<Kind>{Kind::kUpdate, Kind::kAction}));
  EXPECT_EQ((*won)[0].fields, (Record{{"name", Value::Text("X")}}));
  EXPECT_EQ((*won)[1].action, "WinOpportunity");
  EXPECT_EQ((*won)[1].body, R"js({"OpportunityClose":{"opportunityid@odata.bind":"/opportunities()js" +
                                std::string(kId) + R"js()","subject":"Opportunity won"},"Status":3})js");

  auto lost = PlanWrite("opportunities", Opportunity(WriteOp::Kind::kUpdate, {{"statuscode", Value::Integer(5)}}));
  ASSERT_TRUE(lost.ok());
  ASSERT_EQ(Kinds(*lost), (std::vector<Kind>{Kind::kAction}));
  EXPECT_EQ((*lost)[0].action, "LoseOpportunity");
  EXPECT_NE((*lost)[0].body.find(R"("Status":5)"), std::string::npos);

  // With an expected version and nothing else, an empty PATCH checks it first (R3).
  auto checked =
      PlanWrite("opportunities", Opportunity(WriteOp::Kind::kUpdate, {{"statecode", Value::Integer(2)}}, "W/\"7\""));
  ASSERT_TRUE(checked.ok());
  ASSERT_EQ(Kinds(*checked), (std::vector<Kind>{Kind::kUpdate, Kind::kAction}));
  EXPECT_TRUE((*checked)[0].fields.empty());
  EXPECT_NE((*checked)[1].body.find(R"("Status":4)"), std::string::npos) << "statecode 2 defaults to Canceled";
}

TEST(StateRulesTest, ReopeningComesFirstAndCreatesNeverCarryState) {
  auto reopen = PlanWrite("opportunities", Opportunity(WriteOp::Kind::kUpdate,
                                                       {{"statecode", Value::Integer(0)}, {"name", Value::Text("X")}}));
  ASSERT_TRUE(reopen.ok());
  ASSERT_EQ(Kinds(*reopen), (std::vector<Kind>{Kind::kUpdate, Kind::kUpdate}));
  EXPECT_EQ((*reopen)[0].fields, (Record{{"statecode", Value::Integer(0)}, {"statuscode", Value::Integer(1)}}));
  EXPECT_EQ((*reopen)[1].fields, (Record{{"name", Value::Text("X")}}));

  auto create =
      PlanWrite("opportunities",
                Opportunity(WriteOp::Kind::kCreate, {{"statuscode", Value::Integer(3)}, {"name", Value::Text("X")}}));
  ASSERT_TRUE(create.ok());
  ASSERT_EQ(Kinds(*create), (std::vector<Kind>{Kind::kCreate, Kind::kAction}));
  EXPECT_EQ((*create)[0].fields, (Record{{"name", Value::Text("X")}}));

  auto open = PlanWrite("opportunities", Opportunity(WriteOp::Kind::kCreate,
                                                     {{"statecode", Value::Integer(0)}, {"name", Value::Text("X")}}));
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(Kinds(*open), (std::vector<Kind>{Kind::kCreate})) << "open with the default status is just the POST";
}

TEST(StateRulesTest, StatesDataverseDoesNotHaveAreRefused) {
  for (const Record& fields : {Record{{"statecode", Value::Integer(1)}, {"statuscode", Value::Integer(4)}},
                               Record{{"statecode", Value::Integer(7)}}, Record{{"statuscode", Value::Integer(9)}},
                               Record{{"statecode", Value::Text("won")}}, Record{{"statecode", Value::Null()}}}) {
    auto plan = PlanWrite("opportunities", Opportunity(WriteOp::Kind::kUpdate, fields));
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace crmsync::dataverse
