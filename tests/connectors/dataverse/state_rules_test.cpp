// The state rules (opportunities, activities, campaigns) as plans of steps,
// string in and string out.
#include "connectors/dataverse/state_rules.h"

#include <gtest/gtest.h>

#include <tuple>
#include <utility>

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

Record State(int state, int status) {
  return {{"statecode", Value::Integer(state)}, {"statuscode", Value::Integer(status)}};
}

TEST(StateRulesTest, ACompletedActivityIsCreatedOpenThenClosedByAStatePatch) {
  for (const auto& [set, state, status] :
       {std::tuple{"phonecalls", 1, 2}, std::tuple{"emails", 1, 2}, std::tuple{"letters", 1, 4},
        std::tuple{"appointments", 1, 3}, std::tuple{"campaigns", 0, 2}}) {
    SCOPED_TRACE(set);
    Record fields = State(state, status);
    fields["subject"] = Value::Text("Call back");
    auto plan = PlanWrite(set, Opportunity(WriteOp::Kind::kCreate, fields));
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_EQ(Kinds(*plan), (std::vector<Kind>{Kind::kCreate, Kind::kUpdate}));
    EXPECT_EQ((*plan)[0].fields, (Record{{"subject", Value::Text("Call back")}})) << "never statecode on create";
    EXPECT_EQ((*plan)[1].fields, State(state, status));
  }
}

TEST(StateRulesTest, ANewActivityInItsCreateStateIsJustThePost) {
  for (const auto& [set, state, status] :
       {std::tuple{"phonecalls", 0, 1}, std::tuple{"appointments", 3, 5}, std::tuple{"campaigns", 0, 0}}) {
    SCOPED_TRACE(set);
    Record fields = State(state, status);
    fields["subject"] = Value::Text("s");
    auto plan = PlanWrite(set, Opportunity(WriteOp::Kind::kCreate, fields));
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_EQ(Kinds(*plan), (std::vector<Kind>{Kind::kCreate}));
    EXPECT_EQ((*plan)[0].fields, (Record{{"subject", Value::Text("s")}}));
  }
  // An open appointment other than Scheduled/Busy needs the PATCH; an upsert always does.
  auto free = PlanWrite("appointments", Opportunity(WriteOp::Kind::kCreate, State(0, 1)));
  ASSERT_TRUE(free.ok());
  EXPECT_EQ(Kinds(*free), (std::vector<Kind>{Kind::kCreate, Kind::kUpdate}));
  auto upsert = PlanWrite("phonecalls", Opportunity(WriteOp::Kind::kUpsert, State(0, 1)));
  ASSERT_TRUE(upsert.ok());
  EXPECT_EQ(Kinds(*upsert), (std::vector<Kind>{Kind::kUpsert, Kind::kUpdate}));
}

TEST(StateRulesTest, AnActivityIsEditedBeforeItClosesAndReopenedBeforeItIsEdited) {
  Record closing = State(1, 2);
  closing["subject"] = Value::Text("X");
  auto close = PlanWrite("phonecalls", Opportunity(WriteOp::Kind::kUpdate, closing, "W/\"7\""));
  ASSERT_TRUE(close.ok());
  ASSERT_EQ(Kinds(*close), (std::vector<Kind>{Kind::kUpdate, Kind::kUpdate}));
  EXPECT_EQ((*close)[0].fields, (Record{{"subject", Value::Text("X")}}));
  EXPECT_EQ((*close)[1].fields, State(1, 2));

  Record reopening = State(0, 1);
  reopening["subject"] = Value::Text("X");
  auto reopen = PlanWrite("letters", Opportunity(WriteOp::Kind::kUpdate, reopening));
  ASSERT_TRUE(reopen.ok());
  ASSERT_EQ(Kinds(*reopen), (std::vector<Kind>{Kind::kUpdate, Kind::kUpdate}));
  EXPECT_EQ((*reopen)[0].fields, State(0, 1));
  EXPECT_EQ((*reopen)[1].fields, (Record{{"subject", Value::Text("X")}}));

  // The state alone implies its first status reason; the status alone its state.
  auto only_state = PlanWrite("emails", Opportunity(WriteOp::Kind::kUpdate, {{"statecode", Value::Integer(2)}}));
  ASSERT_TRUE(only_state.ok());
  ASSERT_EQ(Kinds(*only_state), (std::vector<Kind>{Kind::kUpdate}));
  EXPECT_EQ((*only_state)[0].fields, State(2, 5));
  auto only_status = PlanWrite("emails", Opportunity(WriteOp::Kind::kUpdate, {{"statuscode", Value::Integer(4)}}));
  ASSERT_TRUE(only_status.ok());
  EXPECT_EQ((*only_status)[0].fields, State(1, 4));

  // Without state fields an activity is one plain request.
  auto plain = PlanWrite("phonecalls", Opportunity(WriteOp::Kind::kCreate, {{"subject", Value::Text("X")}}));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(Kinds(*plain), (std::vector<Kind>{Kind::kCreate}));
}

TEST(StateRulesTest, ActivityStatusReasonsOfAnotherStateAreRefused) {
  for (const auto& [set, fields] :
       {std::pair{"phonecalls", State(1, 3)}, std::pair{"letters", State(0, 4)}, std::pair{"emails", State(1, 8)},
        std::pair{"appointments", State(3, 3)}, std::pair{"campaigns", State(1, 2)},
        std::pair{"phonecalls", Record{{"statecode", Value::Integer(3)}}},
        std::pair{"appointments", Record{{"statuscode", Value::Integer(7)}}},
        std::pair{"letters", Record{{"statecode", Value::Text("completed")}}}}) {
    SCOPED_TRACE(set);
    auto plan = PlanWrite(set, Opportunity(WriteOp::Kind::kCreate, fields));
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace crmsync::dataverse
