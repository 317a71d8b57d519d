// An association mapping (sync/association_pass.h) against two in-memory
// sides (fake_side.h) and a real state store: local rows that link a group
// and a person become links of a many-to-many relationship in Dataverse.
#include "sync/association_pass.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "tests/sync/engine_fixture.h"

namespace crmsync::sync {
namespace {

using testing::FakeSide;
using Links = std::set<std::pair<std::string, std::string>>;

Value T(const char* s) {
  return Value::Text(s);
}

constexpr const char* kRelationship = "listcontact_association";

constexpr const char* kPeople =
    R"({"name": "people", "local": {"table": "person", "key": "no", "filter": {"type": "person"}},
    "remote": {"entity_set": "contacts", "key": "contactid"}, "direction": "to_remote",
    "fields": [{"local": "name", "remote": "lastname"}]})";
constexpr const char* kGroups = R"({"name": "groups", "local": {"table": "grp", "key": "no"},
    "remote": {"entity_set": "lists", "key": "listid"}, "direction": "to_remote",
    "fields": [{"local": "name", "remote": "listname"}]})";
constexpr const char* kMembers =
    R"({"name": "members", "local": {"table": "grp_member", "key": ["group_no", "person_no"]},
    "remote": {"entity_set": "lists", "key": "listid"},
    "association": {"relationship": "listcontact_association",
                    "parent": {"local": "group_no", "lookup": "groups"},
                    "member": {"local": "person_no", "lookup": "people"}},
    "direction": "to_remote", "depends_on": ["groups", "people"]})";

class AssociationPassTest : public testing::EngineFixture {
 protected:
  void SetUp() override {
    UseMappings({{"people.json", kPeople}, {"groups.json", kGroups}, {"members.json", kMembers}});
  }
  void AddPerson(const char* no, const char* type = "person") {
    local_.Put("person", no, {{"no", T(no)}, {"name", T(no)}, {"type", T(type)}});
  }
  void AddMember(const char* group, const char* person) {
    local_.Put("grp_member", "[\"" + std::string(group) + "\",\"" + person + "\"]",
               {{"group_no", T(group)}, {"person_no", T(person)}});
  }
  std::string RemoteId(const std::string& mapping, const std::string& key) {
    const std::string id = RemoteIdOf(mapping, key);
    EXPECT_FALSE(id.empty()) << mapping << " " << key << " is not coupled";
    return id;
  }
  // The links as Dataverse holds them, by local numbers.
  Links LinksByNumber() {
    std::map<std::string, std::string> number;
    for (const auto& [key, row] : local_.Rows("grp")) number[RemoteId("groups", key)] = key;
    for (const auto& [key, row] : local_.Rows("person")) {
      auto c = store_->CouplingByLocal("people", key);
      if (c.ok() && c->has_value()) number[(*c)->remote_id] = key;
    }
    Links out;
    for (const auto& [list, contact] : remote_.Links(kRelationship)) out.emplace(number[list], number[contact]);
    return out;
  }
};

TEST_F(AssociationPassTest, RowsLinkTheirCoupledRecordsADeletedRowUnlinksAndAnIdlePassSendsNothing) {
  local_.Put("grp", "G1", {{"no", T("G1")}, {"name", T("Buyers")}});
  AddPerson("P1");
  AddPerson("P2");
  AddMember("G1", "P1");
  AddMember("G1", "P2");
  const RunReport first = Sync();
  EXPECT_TRUE(Of(first, "members").status.ok()) << Of(first, "members").status.ToString();
  EXPECT_EQ(Of(first, "members").counts.inserted, 2);
  EXPECT_EQ(LinksByNumber(), (Links{{"G1", "P1"}, {"G1", "P2"}}));
  const std::string link = RemoteId("members", R"(["G1","P1"])");
  EXPECT_EQ(link, AssociationPass::LinkId(RemoteId("groups", "G1"), RemoteId("people", "P1")));

  local_.Erase("grp_member", R"(["G1","P1"])");
  const RunReport second = Sync();
  EXPECT_EQ(Of(second, "members").counts.deleted, 1);
  EXPECT_EQ(LinksByNumber(), (Links{{"G1", "P2"}}));
  EXPECT_FALSE(store_->CouplingByLocal("members", R"(["G1","P1"])")->has_value());

  remote_.ResetCounters();
  Sync();
  EXPECT_EQ(remote_.writes(), 0);
}

TEST_F(AssociationPassTest, ALinkWaitsForItsMemberAndIsWrittenOnceTheMemberIsCoupled) {
  local_.Put("grp", "G1", {{"no", T("G1")}, {"name", T("Buyers")}});
  AddPerson("P1");
  AddMember("G1", "P1");
  // The group is in Dataverse; the person's create is cut short (the pass stops for it).
  ASSERT_TRUE(Engine(set_, *store_, local_, local_, remote_, clock_).Run({"groups"}).ok());
  remote_.FailWrites(1, Status(StatusCode::kUnavailable, "503 from Dataverse"));
  const RunReport first = Sync();
  EXPECT_FALSE(Of(first, "people").status.ok());
  EXPECT_EQ(Of(first, "members").counts.waiting, 1) << Of(first, "members").status.ToString();
  EXPECT_TRUE(remote_.Links(kRelationship).empty());
  auto waiting = store_->Waiting("members");
  ASSERT_TRUE(waiting.ok());
  ASSERT_EQ(waiting->size(), 1u);
  EXPECT_NE(waiting->front().reason.find("not coupled in mapping 'people' yet"), std::string::npos)
      << waiting->front().reason;

  const RunReport second = Sync();
  EXPECT_EQ(Of(second, "members").counts.inserted, 1) << Of(second, "members").status.ToString();
  EXPECT_EQ(LinksByNumber(), (Links{{"G1", "P1"}}));
  EXPECT_TRUE(store_->Waiting("members")->empty());
}

TEST_F(AssociationPassTest, AMemberItsMappingNeverCouplesIsSkippedNotKeptWaiting) {
  local_.Put("grp", "G1", {{"no", T("G1")}, {"name", T("Buyers")}});
  AddPerson("P1");
  AddPerson("C1", "company");  // not a record of mapping people (local.filter)
  AddMember("G1", "P1");
  AddMember("G1", "C1");
  const RunReport r = Sync();
  EXPECT_EQ(Of(r, "members").counts.inserted, 1);
  EXPECT_EQ(Of(r, "members").counts.skipped, 1);
  EXPECT_EQ(Of(r, "members").counts.waiting, 0);
  EXPECT_TRUE(store_->Waiting("members")->empty());
  EXPECT_EQ(LinksByNumber(), (Links{{"G1", "P1"}}));
}

// A crash (or a lost answer) after the links went through and before the
// commit: the page is read again and linked again, which is a success.
TEST_F(AssociationPassTest, LinksWhoseAnswerWasLostAreWrittenAgainWithoutHarm) {
  local_.Put("grp", "G1", {{"no", T("G1")}, {"name", T("Buyers")}});
  AddPerson("P1");
  Sync();
  AddMember("G1", "P1");
  remote_.LoseNextAnswer(Status(StatusCode::kUnavailable, "connection reset after the request was sent"));
  const RunReport lost = Sync();
  EXPECT_FALSE(Of(lost, "members").status.ok());
  EXPECT_EQ(remote_.Links(kRelationship).size(), 1u) << "the write went through";
  EXPECT_FALSE(store_->CouplingByLocal("members", R"(["G1","P1"])")->has_value());
  const RunReport again = Sync();
  EXPECT_TRUE(Of(again, "members").status.ok()) << Of(again, "members").status.ToString();
  EXPECT_EQ(LinksByNumber(), (Links{{"G1", "P1"}}));
  EXPECT_TRUE(store_->CouplingByLocal("members", R"(["G1","P1"])")->has_value());
}

// The journal no longer reaches back to the cursor: every row is read again,
// and a link whose row went meanwhile is removed (nothing is linked twice).
TEST_F(AssociationPassTest, AFullReadUnlinksTheLinksWhoseRowsAreGone) {
  local_.Put("grp", "G1", {{"no", T("G1")}, {"name", T("Buyers")}});
  AddPerson("P1");
  AddPerson("P2");
  AddMember("G1", "P1");
  AddMember("G1", "P2");
  Sync();
  local_.Erase("grp_member", R"(["G1","P2"])");
  local_.ExpireCursors();
  remote_.ResetCounters();
  const RunReport r = Sync();
  EXPECT_EQ(Of(r, "members").counts.deleted, 1) << Of(r, "members").status.ToString();
  EXPECT_EQ(Of(r, "members").counts.inserted, 0);
  EXPECT_EQ(Of(r, "members").counts.unchanged, 1);
  EXPECT_EQ(LinksByNumber(), (Links{{"G1", "P1"}}));
}

TEST_F(AssociationPassTest, APlanListsTheLinksAndWritesNothing) {
  local_.Put("grp", "G1", {{"no", T("G1")}, {"name", T("Buyers")}});
  AddPerson("P1");
  Sync();
  AddMember("G1", "P1");
  remote_.ResetCounters();
  EngineOptions dry;
  dry.dry_run = true;
  const RunReport plan = Sync(dry);
  ASSERT_EQ(Of(plan, "members").plan.size(), 1u);
  EXPECT_EQ(Of(plan, "members").plan[0].action, "create");
  EXPECT_EQ(Of(plan, "members").plan[0].local_key, R"(["G1","P1"])");
  EXPECT_EQ(remote_.writes(), 0);
  EXPECT_TRUE(remote_.Links(kRelationship).empty());
  EXPECT_FALSE(store_->CouplingByLocal("members", R"(["G1","P1"])")->has_value());
}

TEST(AssociationLinkIdTest, ALinkIdNamesBothRecordsParentFirstAndOnlyAWellFormedOneParses) {
  const std::string id = AssociationPass::LinkId("a", "b");
  EXPECT_EQ(AssociationPass::ParseLinkId(id), (std::pair<std::string, std::string>{"a", "b"}));
  EXPECT_FALSE(AssociationPass::ParseLinkId("a").has_value());
  EXPECT_FALSE(AssociationPass::ParseLinkId(R"(["a"])").has_value());
  EXPECT_FALSE(AssociationPass::ParseLinkId(R"(["a",1])").has_value());
}

}  // namespace
}  // namespace crmsync::sync
