// Segments in the local store: steps of criteria give exactly the expected
// members, are saved and run again by reapply, refuse bad criteria naming
// them (writing nothing), and change members row by row in the journal.
#include <gtest/gtest.h>

#include "crm/segment.h"
#include "crm/store.h"
#include "tests/crm/crm_test_util.h"
#include "tests/crm/store_fixture.h"

namespace crmsync::crm {
namespace {

using testing::QueryRows;
using testing::QueryText;
using testing::T;

class SegmentTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(store_->Add(Table::kSalesperson, {{"code", T("JR")}, {"name", T("Jo Roberts")}}).ok());
    // CT000001..CT000006
    Add({{"type", T("company")}, {"name", T("Alpha SA")}, {"city", T("Paris")}, {"country_code", T("FR")}});
    Add({{"type", T("company")}, {"name", T("Beta Ltd")}, {"city", T("Leeds")}, {"country_code", T("GB")}});
    Add({{"type", T("person")}, {"name", T("Anne Martin")}, {"company_no", T("CT000001")}});  // inherits Paris, FR
    Add({{"type", T("person")}, {"name", T("Bob Smith")}, {"company_no", T("CT000002")}, {"job_title", T("Buyer")}});
    Add({{"type", T("person")}, {"name", T("Ada Lane")}, {"city", T("Paris")}, {"salesperson_code", T("JR")}});
    Add({{"type", T("person")}, {"name", T("Carl Holm")}});  // no city
    segment_ = *store_->Add(Table::kSegment, {{"description", T("Newsletter")}});
  }
  void Add(const Record& fields) { ASSERT_TRUE(store_->Add(Table::kContact, fields).ok()); }

  std::vector<Criterion> Parse(std::initializer_list<const char*> texts) {
    std::vector<Criterion> out;
    for (const char* t : texts) {
      auto c = ParseCriterion(t);
      EXPECT_TRUE(c.ok()) << t << ": " << c.status().ToString();
      if (c.ok()) out.push_back(*c);
    }
    return out;
  }
  Result<SegmentChange> Step(SegmentAction action, std::initializer_list<const char*> texts) {
    const auto criteria = Parse(texts);
    SegmentChange change;
    Status s = store_->InTransaction([&](SqliteDb& db) -> Status {
      CRMSYNC_ASSIGN_OR_RETURN(change, ApplySegmentStep(db, segment_, action, criteria));
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return change;
  }
  std::string Members() {
    auto nos = SegmentMemberNos(store_->db(), segment_);  // held by name: *temporary in a range-for dangles
    EXPECT_TRUE(nos.ok()) << nos.status().ToString();
    std::string out;
    for (const auto& no : *nos) out += (out.empty() ? "" : " ") + no;
    return out;
  }
  Result<SegmentChange> Reapply() {
    SegmentChange change;
    Status s = store_->InTransaction([&](SqliteDb& db) -> Status {
      CRMSYNC_ASSIGN_OR_RETURN(change, ReapplySegment(db, segment_));
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return change;
  }

  std::string segment_;
};

TEST_F(SegmentTest, ParsesTheFourOperators) {
  const struct {
    const char* text;
    const char* column;
    const char* op;
    const char* value;
  } cases[] = {
      {"city=Paris", "city", "=", "Paris"},
      {"city = Paris", "city", "=", "Paris"},
      {"city!=Paris", "city", "!=", "Paris"},
      {"type in person,company", "type", "in", "person,company"},
      {"name like A%", "name", "like", "A%"},
      {"name LIKE A%", "name", "like", "A%"},
      {"city=", "city", "=", ""},
  };
  for (const auto& c : cases) {
    auto parsed = ParseCriterion(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status().ToString();
    EXPECT_EQ(parsed->column, c.column) << c.text;
    EXPECT_EQ(parsed->op, c.op) << c.text;
    EXPECT_EQ(parsed->value, c.value) << c.text;
  }
}

TEST_F(SegmentTest, RefusesBadCriteriaNamingThem) {
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"colour=red", "criterion 'colour = red': column 'colour' is not a contact column"},
      {"city~Paris", "criterion 'city~Paris': the operator after 'city' is not one of =, !=, like, in"},
      {"city > Paris", "the operator after 'city' is not one of"},
      {"=Paris", "criterion '=Paris' does not start with a contact column"},
      {"type in person,robot", "criterion 'type in person,robot': type 'robot' is not one of person, company"},
      {"type in person,", "'in' needs values separated by commas, none empty"},
      // An identifier that is not a column never reaches SQL.
      {"city\" = 1; DROP TABLE contact; --=x", "the operator after 'city' is not one of"},
      {"\"city\"=x", "does not start with a contact column"},
      {"no OR 1=1", "the operator after 'no' is not one of"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseCriterion(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(c.message), std::string::npos) << parsed.status().message();
  }
  // A criterion built by hand with a hostile column is refused the same way.
  auto hostile = Criterion{"city\" = 'x' OR \"1", "=", "x"};
  EXPECT_EQ(CheckCriterion(hostile).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QueryText(store_->db(), "SELECT count(*) FROM contact"), "6");
}

TEST_F(SegmentTest, AddRemoveAndRefineGiveExactlyTheExpectedMembers) {
  auto added = Step(SegmentAction::kAdd, {"city=Paris"});
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(Members(), "CT000001 CT000003 CT000005");
  EXPECT_EQ(added->added, 3);

  ASSERT_TRUE(Step(SegmentAction::kAdd, {"type in person,company", "name like B%"}).ok());
  EXPECT_EQ(Members(), "CT000001 CT000002 CT000003 CT000004 CT000005");

  auto removed = Step(SegmentAction::kRemove, {"type=company"});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->removed, 2);
  EXPECT_EQ(Members(), "CT000003 CT000004 CT000005");

  auto refined = Step(SegmentAction::kRefine, {"city!=Leeds"});
  ASSERT_TRUE(refined.ok());
  EXPECT_EQ(Members(), "CT000003 CT000005");
  EXPECT_EQ(refined->members, 2);

  // != includes contacts without a value; = with no value selects them.
  ASSERT_TRUE(Step(SegmentAction::kAdd, {"city="}).ok());
  EXPECT_EQ(Members(), "CT000003 CT000005 CT000006");

  // The steps were saved in order, one step number per call.
  EXPECT_EQ(QueryRows(store_->db(),
                      "SELECT step, action, column_name, operator, value FROM segment_criterion ORDER BY line_no"),
            "1|add|city|=|Paris\n"
            "2|add|type|in|person,company\n"
            "2|add|name|like|B%\n"
            "3|remove|type|=|company\n"
            "4|refine|city|!=|Leeds\n"
            "5|add|city|=|\n");
}

TEST_F(SegmentTest, ReapplyRunsTheSavedStepsAgainAfterContactsChange) {
  ASSERT_TRUE(Step(SegmentAction::kAdd, {"city=Paris"}).ok());
  ASSERT_TRUE(Step(SegmentAction::kRemove, {"salesperson_code=JR"}).ok());
  EXPECT_EQ(Members(), "CT000001 CT000003");

  // The company moves: its person follows by inheritance; Carl moves to Paris.
  ASSERT_TRUE(store_->Update(Table::kContact, "CT000001", {{"city", T("Lyon")}}).ok());
  ASSERT_TRUE(store_->Update(Table::kContact, "CT000006", {{"city", T("Paris")}}).ok());
  EXPECT_EQ(Members(), "CT000001 CT000003") << "members change only when a step runs";

  auto again = Reapply();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(Members(), "CT000006");
  EXPECT_EQ(again->added, 1);
  EXPECT_EQ(again->removed, 2);
  auto idle = Reapply();
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(idle->added + idle->removed, 0);
}

TEST_F(SegmentTest, MembershipChangesAreJournalledRowByRow) {
  const std::string before = QueryText(store_->db(), "SELECT max(seq) FROM crmsync_journal");
  ASSERT_TRUE(Step(SegmentAction::kAdd, {"type=company"}).ok());
  ASSERT_TRUE(Step(SegmentAction::kRemove, {"no=CT000002"}).ok());
  ASSERT_TRUE(Reapply().ok());  // no change
  EXPECT_EQ(
      QueryRows(store_->db(), "SELECT key, op FROM crmsync_journal WHERE table_name = 'segment_member' AND seq > " +
                                  before + " ORDER BY seq"),
      "[\"SG000001\",\"CT000001\"]|insert\n"
      "[\"SG000001\",\"CT000002\"]|insert\n"
      "[\"SG000001\",\"CT000002\"]|delete\n");
  // Deleting a contact removes its memberships, journalled too.
  ASSERT_TRUE(store_->Delete(Table::kContact, "CT000001").ok());
  EXPECT_EQ(Members(), "");
  EXPECT_EQ(QueryText(store_->db(),
                      "SELECT op FROM crmsync_journal WHERE table_name = 'segment_member' "
                      "ORDER BY seq DESC LIMIT 1"),
            "delete");
}

TEST_F(SegmentTest, AnUnknownSegmentOrABadSavedCriterionWritesNothing) {
  auto criteria = Parse({"city=Paris"});
  Status unknown = store_->InTransaction(
      [&](SqliteDb& db) { return ApplySegmentStep(db, "SG000099", SegmentAction::kAdd, criteria).status(); });
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.message(), "segment 'SG000099' does not exist");

  ASSERT_TRUE(Step(SegmentAction::kAdd, {"city=Paris"}).ok());
  // Another program saved a criterion crmsync would refuse.
  ASSERT_TRUE(
      store_->db()
          .Exec("INSERT INTO segment_criterion (segment_no, line_no, step, action, column_name, operator, value)"
                " VALUES ('SG000001', 9, 2, 'add', 'colour', '=', 'red')")
          .ok());
  ASSERT_TRUE(store_->Update(Table::kContact, "CT000005", {{"city", T("Nice")}}).ok());
  auto r = Reapply();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "segment_criterion line 9: criterion 'colour = red': column 'colour' is not a contact column");
  EXPECT_EQ(Members(), "CT000001 CT000003 CT000005") << "nothing written";
}

}  // namespace
}  // namespace crmsync::crm
