// The engine against two in-memory sides (fake_side.h) and a real state
// store: one test per rule of design.md section 3, each able to fail.
#include "sync/engine.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "mapping/mapping_loader.h"
#include "state/sqlite_state_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tests/sync/engine_fixture.h"

namespace crmsync::sync {
namespace {

using state::Side;
using testing::FakeSide;

Value T(const char* s) {
  return Value::Text(s);
}

constexpr const char* kId1 = "00000000-0000-0000-0000-000000000001";
constexpr const char* kId2 = "00000000-0000-0000-0000-000000000002";
constexpr const char* kId3 = "00000000-0000-0000-0000-000000000003";

std::string People(const std::string& conflict, const std::string& on_delete = "propagate",
                   const std::string& extra_field = "") {
  return R"({"name": "people", "local": {"table": "person", "key": "no"},
    "remote": {"entity_set": "contacts", "key": "contactid", "match_on": ["emailaddress1"]},
    "depends_on": ["companies"], "conflict": ")" +
         conflict + R"(", "on_delete": ")" + on_delete + R"(",
    "fields": [
      {"local": "first_name", "remote": "firstname"},
      {"local": "surname", "remote": "lastname"},
      {"local": "email", "remote": "emailaddress1"},
      {"local": "phone", "remote": "telephone1"},
      {"local": "company_no", "remote": "parentcustomerid_account", "lookup": "companies"})" +
         extra_field + "]}";
}

constexpr const char* kCompanies = R"({"name": "companies", "local": {"table": "company", "key": "no"},
    "remote": {"entity_set": "accounts", "key": "accountid", "match_on": ["name"]},
    "fields": [{"local": "name", "remote": "name"}, {"local": "city", "remote": "address1_city"}]})";

class EngineTest : public testing::EngineFixture {
 protected:
  void SetUp() override { Load("newest_wins"); }

  void Load(const std::string& conflict, const std::string& on_delete = "propagate",
            const std::string& extra_field = "") {
    UseMappings({{"companies.json", kCompanies}, {"people.json", People(conflict, on_delete, extra_field)}});
    remote_.BindAs("parentcustomerid_account", "_parentcustomerid_value");
  }

  Value L(const std::string& key, const std::string& column) {
    const auto* row = local_.Get("person", key);
    if (row == nullptr) return T("<no row>");
    auto it = row->record.find(column);
    return it == row->record.end() ? Value() : it->second;
  }
  Value R(const std::string& id, const std::string& attribute) {
    const auto* row = remote_.Get("contacts", id);
    if (row == nullptr) return T("<no record>");
    auto it = row->record.find(attribute);
    return it == row->record.end() ? Value() : it->second;
  }
  std::vector<state::AuditEntry> AuditRows() {
    std::vector<state::AuditEntry> out;
    EXPECT_TRUE(store_
                    ->ForEachAudit({},
                                   [&](const state::AuditEntry& e) {
                                     out.push_back(e);
                                     return true;
                                   })
                    .ok());
    return out;
  }
  // A local person and its Dataverse contact, synced once.
  std::string SyncedPerson() {
    local_.Put("person", "P1",
               {{"first_name", T("Ann")}, {"surname", T("Lee")}, {"email", T("ann@example.com")}, {"phone", T("100")}});
    Sync();
    const std::string id = RemoteIdOf("people", "P1");
    EXPECT_FALSE(id.empty());
    return id;
  }
};

TEST_F(EngineTest, NewRecordsFlowBothWaysAndAreCoupled) {
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"surname", T("Lee")}, {"email", T("ann@example.com")}});
  remote_.Put("contacts", kId1, {{"firstname", T("Bob")}, {"lastname", T("Ray")}, {"emailaddress1", T("bob@x.com")}});
  const RunReport r = Sync();
  EXPECT_FALSE(r.AnyProblem());
  EXPECT_EQ(Of(r, "people").counts.inserted, 2);
  ASSERT_EQ(remote_.Count("contacts"), 2u);
  ASSERT_EQ(local_.Count("person"), 2u);
  const std::string ann = RemoteIdOf("people", "P1");
  EXPECT_EQ(R(ann, "firstname"), T("Ann"));
  const std::string bob = LocalKeyOf("people", kId1);
  ASSERT_FALSE(bob.empty());
  EXPECT_EQ(L(bob, "first_name"), T("Bob"));
  EXPECT_EQ(local_.Get("person", bob)->origin_id, kId1) << "a local create carries its origin (R2)";
}

TEST_F(EngineTest, EditsOfDifferentFieldsOnBothSidesBothArrive) {
  const std::string id = SyncedPerson();
  local_.Put("person", "P1", {{"phone", T("200")}});
  remote_.Put("contacts", id, {{"lastname", T("Lee-Smith")}});
  const RunReport r = Sync();
  EXPECT_FALSE(r.AnyProblem());
  EXPECT_EQ(L("P1", "phone"), T("200"));
  EXPECT_EQ(L("P1", "surname"), T("Lee-Smith"));
  EXPECT_EQ(R(id, "telephone1"), T("200"));
  EXPECT_EQ(R(id, "lastname"), T("Lee-Smith"));
  EXPECT_EQ(Of(r, "people").counts.conflicts, 0);
}

TEST_F(EngineTest, OurOwnWritesComeBackAndCostNothing) {
  const std::string id = SyncedPerson();
  remote_.Put("contacts", id, {{"telephone1", T("300")}});
  local_.Put("person", "P1", {{"first_name", T("Anne")}});
  Sync();  // writes both ways
  local_.ResetCounters();
  remote_.ResetCounters();
  const RunReport r = Sync();  // sees only its own writes come back
  EXPECT_EQ(remote_.writes(), 0);
  EXPECT_EQ(local_.writes(), 0);
  EXPECT_EQ(Of(r, "people").counts.modified, 0);
  EXPECT_EQ(Of(r, "people").counts.inserted, 0);
  EXPECT_GE(Of(r, "people").counts.unchanged, 1);
}

TEST_F(EngineTest, BothSidesChangingAFieldToTheSameValueConvergesSilently) {
  const std::string id = SyncedPerson();
  local_.Put("person", "P1", {{"phone", T("555")}});
  remote_.Put("contacts", id, {{"telephone1", T("555")}});
  remote_.ResetCounters();
  const RunReport r = Sync();
  EXPECT_EQ(Of(r, "people").counts.conflicts, 0);
  EXPECT_EQ(remote_.writes(), 0);
  EXPECT_EQ(local_.writes(), 0);
}

struct PolicyCase {
  const char* policy;
  bool local_newer;
  const char* expected;  // the phone both sides end with; "" = parked, each keeps its own
};

class ConflictPolicyTest : public EngineTest, public ::testing::WithParamInterface<PolicyCase> {};

TEST_P(ConflictPolicyTest, TheSameFieldEditedOnBothSidesFollowsThePolicy) {
  Load(GetParam().policy);
  const std::string id = SyncedPerson();
  const auto early = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000));
  const auto late = early + std::chrono::minutes(5);
  local_.Put("person", "P1", {{"phone", T("LOCAL")}}, GetParam().local_newer ? late : early);
  remote_.Put("contacts", id, {{"telephone1", T("REMOTE")}}, GetParam().local_newer ? early : late);
  const RunReport r = Sync();
  EXPECT_EQ(Of(r, "people").counts.conflicts, 1);
  if (std::string(GetParam().expected).empty()) {
    EXPECT_EQ(L("P1", "phone"), T("LOCAL"));
    EXPECT_EQ(R(id, "telephone1"), T("REMOTE"));
    auto open = store_->OpenConflicts("people");
    ASSERT_EQ(open->size(), 1u);
    EXPECT_EQ((*open)[0].fields[0].field, "phone");
    EXPECT_EQ((*open)[0].fields[0].local, T("LOCAL"));
    EXPECT_EQ((*open)[0].fields[0].remote, T("REMOTE"));
    EXPECT_EQ((*open)[0].fields[0].base, T("100"));
    // Another pass keeps it parked, one conflict, no writes.
    remote_.ResetCounters();
    Sync();
    EXPECT_EQ(store_->OpenConflicts("people")->size(), 1u);
    EXPECT_EQ(R(id, "telephone1"), T("REMOTE"));
  } else {
    EXPECT_EQ(L("P1", "phone"), T(GetParam().expected));
    EXPECT_EQ(R(id, "telephone1"), T(GetParam().expected));
    EXPECT_TRUE(store_->OpenConflicts("people")->empty());
  }
  bool audited = false;
  for (const auto& e : AuditRows()) audited = audited || e.action == "conflict";
  EXPECT_TRUE(audited) << "every conflict is on the record (R9)";
}

INSTANTIATE_TEST_SUITE_P(Policies, ConflictPolicyTest,
                         ::testing::Values(PolicyCase{"local_wins", false, "LOCAL"},
                                           PolicyCase{"remote_wins", true, "REMOTE"},
                                           PolicyCase{"newest_wins", true, "LOCAL"},
                                           PolicyCase{"newest_wins", false, "REMOTE"}, PolicyCase{"manual", true, ""}),
                         [](const ::testing::TestParamInfo<PolicyCase>& p) {
                           return std::string(p.param.policy) +
                                  (p.param.local_newer ? "_local_newer" : "_remote_newer");
                         });

TEST_F(EngineTest, AManualConflictIsResolvedByKeepingOneSide) {
  Load("manual");
  const std::string id = SyncedPerson();
  local_.Put("person", "P1", {{"phone", T("LOCAL")}});
  remote_.Put("contacts", id, {{"telephone1", T("REMOTE")}});
  Sync();
  auto open = store_->OpenConflicts("people");
  ASSERT_EQ(open->size(), 1u);
  Engine engine(set_, *store_, local_, local_, remote_, clock_);
  ASSERT_TRUE(engine.ResolveConflict((*open)[0].id, Side::kLocal).ok());
  EXPECT_EQ(R(id, "telephone1"), T("LOCAL"));
  EXPECT_TRUE(store_->OpenConflicts("people")->empty());
  remote_.ResetCounters();
  Sync();
  EXPECT_EQ(remote_.writes(), 0) << "resolved means in step: nothing more to write";
  EXPECT_EQ(L("P1", "phone"), T("LOCAL"));
}

TEST_F(EngineTest, APreconditionFailureRereadsAndRedecides) {
  const std::string id = SyncedPerson();
  local_.Put("person", "P1", {{"phone", T("200")}});
  // Between the engine's read and its write a Dataverse user edits another field.
  remote_.BeforeWrite([&] { remote_.Put("contacts", id, {{"lastname", T("Changed")}}); });
  const RunReport r = Sync();
  EXPECT_FALSE(r.AnyProblem());
  EXPECT_EQ(R(id, "telephone1"), T("200")) << "the local edit arrives after the re-read";
  EXPECT_EQ(R(id, "lastname"), T("Changed")) << "the Dataverse edit is not overwritten (R3)";
  EXPECT_EQ(L("P1", "surname"), T("Changed")) << "and flows to the local side";
}

TEST_F(EngineTest, AChildCreatedBeforeItsParentSyncsOnceTheParentExists) {
  // The company is not yet in the local store's sync (its mapping is not run).
  local_.Put("company", "C1", {{"name", T("Contoso")}});
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"email", T("ann@example.com")}, {"company_no", T("C1")}});
  Engine only_people(set_, *store_, local_, local_, remote_, clock_);
  auto first = only_people.Run({"people"});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Of(*first, "people").counts.waiting, 1);
  EXPECT_EQ(Of(*first, "people").counts.failed, 0) << "waiting for a parent is not a failure (R6)";
  EXPECT_EQ(remote_.Count("contacts"), 0u);
  EXPECT_EQ(store_->Waiting("people")->size(), 1u);
  const RunReport r = Sync();  // companies first, then people
  EXPECT_FALSE(r.AnyProblem());
  const std::string account = RemoteIdOf("companies", "C1");
  ASSERT_FALSE(account.empty());
  const std::string contact = RemoteIdOf("people", "P1");
  ASSERT_FALSE(contact.empty());
  EXPECT_EQ(R(contact, "_parentcustomerid_value"), T(account.c_str()));
  EXPECT_TRUE(store_->Waiting("people")->empty());
}

TEST_F(EngineTest, AFirstRunAgainstOverlappingDataCouplesInsteadOfDuplicating) {
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"email", T("ann@example.com")}, {"phone", T("100")}});
  local_.Put("person", "P2", {{"first_name", T("Cid")}, {"email", T("cid@example.com")}});
  remote_.Put("contacts", kId1, {{"firstname", T("Ann")}, {"emailaddress1", T("ANN@example.com")}});
  remote_.Put("contacts", kId2, {{"firstname", T("Dee")}, {"emailaddress1", T("dee@example.com")}});
  const RunReport r = Sync();
  EXPECT_EQ(Of(r, "people").counts.coupled, 1);
  EXPECT_EQ(remote_.Count("contacts"), 3u) << "Ann is coupled, Cid created, Dee already there";
  EXPECT_EQ(local_.Count("person"), 3u);
  EXPECT_EQ(RemoteIdOf("people", "P1"), kId1);
  EXPECT_EQ(R(kId1, "telephone1"), T("100")) << "a value on one side fills the gap on the other";
}

TEST_F(EngineTest, AnAmbiguousMatchIsAFailureNamingBothRecords) {
  remote_.Put("contacts", kId1, {{"firstname", T("Ann")}, {"emailaddress1", T("ann@example.com")}});
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"email", T("ann@example.com")}});
  local_.Put("person", "P2", {{"first_name", T("Ann")}, {"email", T("ann@example.com")}});
  const RunReport r = Sync();
  EXPECT_EQ(Of(r, "people").counts.failed, 1);
  auto failures = store_->Failures("people");
  ASSERT_EQ(failures->size(), 1u);
  EXPECT_NE((*failures)[0].message.find("P1"), std::string::npos) << (*failures)[0].message;
  EXPECT_NE((*failures)[0].message.find("P2"), std::string::npos) << (*failures)[0].message;
  EXPECT_EQ(remote_.Count("contacts"), 1u) << "no guess, no duplicate";
}

TEST_F(EngineTest, DeletesPropagateBothWays) {
  const std::string id = SyncedPerson();
  remote_.Put("contacts", kId2, {{"firstname", T("Bob")}, {"emailaddress1", T("bob@x.com")}});
  Sync();
  const std::string bob = LocalKeyOf("people", kId2);
  local_.Erase("person", "P1");
  remote_.Erase("contacts", kId2);
  EngineOptions options;
  options.mass_delete_min_count = 0;
  options.mass_delete_max_share = 1.0;
  const RunReport r = Sync(options);
  EXPECT_EQ(Of(r, "people").counts.deleted, 2);
  EXPECT_EQ(remote_.Get("contacts", id), nullptr);
  EXPECT_EQ(local_.Get("person", bob), nullptr);
  EXPECT_EQ(*store_->CountCouplings("people"), 0);
}

TEST_F(EngineTest, UncoupleAndIgnoreKeepTheOtherSide) {
  Load("newest_wins", "uncouple");
  const std::string id = SyncedPerson();
  local_.Put("person", "P2", {{"first_name", T("Bo")}, {"email", T("bo@x.com")}});
  Sync();
  local_.Erase("person", "P1");
  EngineOptions options;
  options.mass_delete_min_count = 0;
  options.mass_delete_max_share = 1.0;
  const RunReport r = Sync(options);
  EXPECT_EQ(Of(r, "people").counts.uncoupled, 1);
  EXPECT_NE(remote_.Get("contacts", id), nullptr);
  EXPECT_EQ(RemoteIdOf("people", "P1"), "");
}

TEST_F(EngineTest, APassThatWouldDeleteMostCoupledRecordsStops) {
  for (int i = 0; i < 10; ++i) {
    local_.Put("person", "P" + std::to_string(i),
               {{"first_name", T("X")}, {"email", Value::Text("p" + std::to_string(i) + "@x.com")}});
  }
  Sync();
  ASSERT_EQ(remote_.Count("contacts"), 10u);
  for (int i = 0; i < 8; ++i) local_.Erase("person", "P" + std::to_string(i));
  EngineOptions options;
  options.mass_delete_min_count = 5;
  const RunReport r = Sync(options);
  EXPECT_TRUE(Of(r, "people").mass_delete_held);
  EXPECT_FALSE(Of(r, "people").status.ok());
  EXPECT_NE(Of(r, "people").status.message().find("8 of 10"), std::string::npos) << Of(r, "people").status.message();
  EXPECT_EQ(remote_.Count("contacts"), 10u) << "nothing was deleted";
  EXPECT_EQ(store_->PendingDeletes("people")->size(), 8u) << "the deletes are held, not lost";
  // Again without the override: still held. With it: applied.
  EXPECT_TRUE(Of(Sync(options), "people").mass_delete_held);
  options.allow_mass_delete = true;
  const RunReport allowed = Sync(options);
  EXPECT_FALSE(Of(allowed, "people").mass_delete_held);
  EXPECT_EQ(remote_.Count("contacts"), 2u);
}

TEST_F(EngineTest, AnExpiredCursorReconcilesByKeyWithoutCreating) {
  const std::string id = SyncedPerson();
  remote_.Put("contacts", kId2, {{"firstname", T("Bob")}, {"emailaddress1", T("bob@x.com")}});
  Sync();
  ASSERT_EQ(remote_.Count("contacts"), 2u);
  // While the cursor expires: one record changes, one is deleted.
  remote_.Put("contacts", id, {{"telephone1", T("999")}});
  remote_.Erase("contacts", kId2);
  remote_.ExpireCursors();
  local_.ResetCounters();
  remote_.ResetCounters();
  EngineOptions options;
  options.mass_delete_min_count = 0;
  options.mass_delete_max_share = 1.0;
  const RunReport r = Sync(options);
  EXPECT_FALSE(r.AnyProblem()) << Of(r, "people").status.ToString();
  EXPECT_EQ(Of(r, "people").counts.inserted, 0) << "reconciliation never re-creates";
  EXPECT_EQ(L("P1", "phone"), T("999")) << "a real difference is written";
  EXPECT_EQ(local_.Count("person"), 1u) << "the record deleted meanwhile is found and deleted";
  EXPECT_EQ(remote_.Count("contacts"), 1u);
}

TEST_F(EngineTest, ATransientFailureLeavesTheCursorWhereItWasAndTheNextPassResumes) {
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"email", T("ann@example.com")}});
  remote_.FailWrites(1, Status(StatusCode::kUnavailable, "503 after retries"));
  const RunReport first = Sync();
  EXPECT_FALSE(Of(first, "people").status.ok());
  EXPECT_EQ(remote_.Count("contacts"), 0u);
  EXPECT_EQ(store_->Cursor("people", Side::kLocal)->cursor, "") << "cursor unmoved (R7)";
  const RunReport second = Sync();
  EXPECT_TRUE(Of(second, "people").status.ok()) << Of(second, "people").status.ToString();
  EXPECT_EQ(remote_.Count("contacts"), 1u) << "created once";
  EXPECT_TRUE(store_->Failures("people")->empty());
}

// Regression: a pass stopped by a transient failure always said
// "unavailable", whatever the failure was, so `crmsync sync` exited 4
// (Dataverse unreachable) for a local store another program held locked.
// The pass's status is now its first transient failure's code, with
// Dataverse's code and HTTP status and the failure's message.
TEST_F(EngineTest, APassStoppedByATransientFailureCarriesThatFailuresCode) {
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"email", T("ann@example.com")}});
  Status throttled(StatusCode::kThrottled, "too many concurrent requests");
  remote_.FailWrites(1, throttled.set_remote_code("0x80072326").set_http_status(429));
  const Status stopped = Of(Sync(), "people").status;
  EXPECT_EQ(stopped.code(), StatusCode::kThrottled) << stopped.ToString();
  EXPECT_EQ(stopped.remote_code(), "0x80072326");
  EXPECT_EQ(stopped.http_status(), 429);
  EXPECT_NE(stopped.message().find("stopped after a transient failure"), std::string::npos) << stopped.message();
  EXPECT_NE(stopped.message().find("too many concurrent requests"), std::string::npos) << stopped.message();

  remote_.Put("contacts", kId2, {{"firstname", T("Ben")}, {"emailaddress1", T("ben@example.com")}});
  local_.FailWrites(1, Status(StatusCode::kBusy, "database is locked"));
  EXPECT_EQ(Of(Sync(), "people").status.code(), StatusCode::kBusy) << "a locked local store is busy, not unavailable";
}

// Regression (found by the fault suite): acknowledging the journal
// position, which only lets the journal be pruned, waited the whole busy
// timeout (10 s) of a local store another program held locked, once per
// mapping: a pass of the twelve default mappings took two minutes.
TEST_F(EngineTest, AcknowledgingTheJournalWaitsOnlyBrieflyForTheLocalStore) {
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"email", T("ann@example.com")}});
  Sync();
  ASSERT_FALSE(local_.acknowledge_waits.empty());
  for (const auto wait : local_.acknowledge_waits) EXPECT_LE(wait, std::chrono::seconds(1));
}

TEST_F(EngineTest, APageWrittenWhileThePageBeforeFailedCommitsInOrderAndDuplicatesNothing) {
  // Pages of 2: page 2 is decided and written while page 1's write is in
  // flight. Page 1's write fails (transient): page 2's writes are committed
  // as couplings, but the cursor stays before page 1.
  for (int i = 1; i <= 6; ++i) {
    const std::string n = std::to_string(i);
    local_.Put("person", "P" + n,
               {{"first_name", Value::Text("Ann" + n)}, {"email", Value::Text("ann" + n + "@example.com")}});
  }
  EngineOptions options;
  options.page_size = 2;
  remote_.FailWriteHolding("ann1@example.com", Status(StatusCode::kUnavailable, "503 after retries"));
  const RunReport first = Sync(options);
  EXPECT_FALSE(Of(first, "people").status.ok());
  EXPECT_EQ(remote_.Count("contacts"), 2u) << "page 2 was in flight when page 1 failed";
  EXPECT_TRUE(RemoteIdOf("people", "P1").empty());
  EXPECT_FALSE(RemoteIdOf("people", "P3").empty()) << "what page 2 wrote is on record";
  EXPECT_EQ(store_->Cursor("people", Side::kLocal)->cursor, "") << "cursor unmoved (R7)";

  const RunReport second = Sync(options);
  EXPECT_TRUE(Of(second, "people").status.ok()) << Of(second, "people").status.ToString();
  EXPECT_EQ(Of(second, "people").counts.inserted, 4) << "pages 1 and 3; page 2 is in step";
  ASSERT_EQ(remote_.Count("contacts"), 6u) << "created once each";
  std::set<std::string> ids;
  for (int i = 1; i <= 6; ++i) ids.insert(RemoteIdOf("people", "P" + std::to_string(i)));
  EXPECT_EQ(ids.size(), 6u);
  EXPECT_EQ(ids.count(""), 0u);
  remote_.ResetCounters();
  Sync(options);
  EXPECT_EQ(remote_.writes(), 0) << "nothing left to write";
}

TEST_F(EngineTest, AWriteCutShortByShutdownQuarantinesNothingAndTheNextPassWritesIt) {
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"email", T("ann@example.com")}});
  // What the Dataverse transport answers once the daemon's stop token fired.
  remote_.FailWrites(1, Status(StatusCode::kCancelled, "stopping"));
  Sync();
  EXPECT_EQ(remote_.Count("contacts"), 0u);
  EXPECT_EQ(store_->Cursor("people", Side::kLocal)->cursor, "") << "cursor unmoved (R1)";
  const auto failures = store_->Failures("people");  // named: a range-for over *temporary would dangle
  ASSERT_TRUE(failures.ok());
  for (const auto& f : *failures) EXPECT_TRUE(f.transient) << f.message << " was quarantined";
  const RunReport second = Sync();
  EXPECT_TRUE(Of(second, "people").status.ok()) << Of(second, "people").status.ToString();
  EXPECT_EQ(remote_.Count("contacts"), 1u) << "created once";
  EXPECT_TRUE(store_->Failures("people")->empty());
}

TEST_F(EngineTest, ACreateWhoseCommitWasLostIsCoupledNotRepeated) {
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"email", T("ann@example.com")}});
  // The create reaches Dataverse but the state commit never happens: the
  // intent (with its GUID) is all that survives.
  {
    auto tx = store_->Begin();
    ASSERT_TRUE(store_->PutIntent({"people", "P1", kId3, {{"first_name", T("Ann")}}, ""}).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  remote_.Put("contacts", kId3, {{"firstname", T("Ann")}, {"emailaddress1", T("ann@example.com")}});
  const RunReport r = Sync();
  EXPECT_FALSE(r.AnyProblem());
  EXPECT_EQ(remote_.Count("contacts"), 1u) << "no duplicate (R2)";
  EXPECT_EQ(RemoteIdOf("people", "P1"), kId3);
  EXPECT_TRUE(store_->Intents("people")->empty());
}

TEST_F(EngineTest, ADataverseEditAfterACreateWhoseAnswerWasLostReachesTheLocalSide) {
  // Found by the crash-safety model (sync/model): the create lands, its
  // answer is lost, and the user edits the new record in Dataverse before
  // the next pass finds it by its intent.
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"email", T("ann@example.com")}});
  remote_.LoseNextAnswer(Status(StatusCode::kUnavailable, "connection reset after the server applied it"));
  Sync();
  auto intents = store_->Intents("people");
  ASSERT_TRUE(intents.ok());
  ASSERT_EQ(intents->size(), 1u) << "the create is still in flight as far as the state store knows";
  const std::string id = intents->front().remote_id;
  ASSERT_EQ(R(id, "firstname"), T("Ann"));
  remote_.Put("contacts", id, {{"firstname", T("Anne")}, {"telephone1", T("999")}});
  const RunReport r = Sync();
  EXPECT_FALSE(r.AnyProblem()) << Of(r, "people").status.ToString();
  EXPECT_EQ(remote_.Count("contacts"), 1u) << "no duplicate (R2)";
  EXPECT_EQ(RemoteIdOf("people", "P1"), id);
  EXPECT_EQ(L("P1", "first_name"), T("Anne")) << "an edit of a written field is not taken as the base";
  EXPECT_EQ(L("P1", "phone"), T("999")) << "nor an edit of a field the create left unset";
}

TEST_F(EngineTest, AnUpdateWhoseAnswerWasLostIsNotMistakenForADataverseEdit) {
  // remote_wins would let any genuine Dataverse edit of the field win.
  Load("remote_wins");
  const std::string id = SyncedPerson();
  local_.Put("person", "P1", {{"phone", T("200")}});
  remote_.LoseNextAnswer(Status(StatusCode::kUnavailable, "connection reset after the server applied it"));
  Sync();  // the update reached Dataverse; the pass does not know it
  ASSERT_EQ(R(id, "telephone1"), T("200"));
  local_.Put("person", "P1", {{"phone", T("300")}});  // the user edits again
  const RunReport r = Sync();
  EXPECT_FALSE(r.AnyProblem()) << Of(r, "people").status.ToString();
  EXPECT_EQ(L("P1", "phone"), T("300")) << "the local edit is not overwritten by crmsync's own earlier write";
  EXPECT_EQ(R(id, "telephone1"), T("300"));
  EXPECT_EQ(Of(r, "people").counts.conflicts, 0) << "no conflict: Dataverse held only what crmsync wrote";
}

TEST_F(EngineTest, ADataverseEditAfterAnUpdateWhoseAnswerWasLostIsNotOverwritten) {
  // Found by the crash-safety model (sync/model, D3): local_wins would write
  // crmsync's own earlier value over the newer Dataverse edit if the pass
  // took that edit for a conflict.
  Load("local_wins");
  const std::string id = SyncedPerson();
  local_.Put("person", "P1", {{"phone", T("200")}});
  remote_.LoseNextAnswer(Status(StatusCode::kUnavailable, "connection reset after the server applied it"));
  Sync();  // the update reached Dataverse; the pass does not know it
  ASSERT_EQ(R(id, "telephone1"), T("200"));
  remote_.Put("contacts", id, {{"telephone1", T("300")}});  // a user edits it afterwards
  const RunReport r = Sync();
  EXPECT_FALSE(r.AnyProblem()) << Of(r, "people").status.ToString();
  EXPECT_EQ(R(id, "telephone1"), T("300")) << "the newer Dataverse edit is kept";
  EXPECT_EQ(L("P1", "phone"), T("300")) << "and reaches the local side";
  EXPECT_EQ(Of(r, "people").counts.conflicts, 0);
}

TEST_F(EngineTest, ALocalRowWhoseCouplingWasLostIsFoundByItsOrigin) {
  remote_.Put("contacts", kId1, {{"firstname", T("Bob")}});
  Sync();
  const std::string bob = LocalKeyOf("people", kId1);
  ASSERT_FALSE(bob.empty());
  // Lose the coupling as a crash between the local insert and the commit would.
  ASSERT_TRUE(store_->DeleteCoupling("people", bob).ok());
  ASSERT_TRUE(store_->SetCursor("people", Side::kRemote, {}).ok());
  const RunReport r = Sync();
  EXPECT_FALSE(r.AnyProblem());
  EXPECT_EQ(local_.Count("person"), 1u);
  EXPECT_EQ(remote_.Count("contacts"), 1u);
  EXPECT_EQ(LocalKeyOf("people", kId1), bob);
}

// D2 of the crash-safety model (sync/model): a local create lands, its
// answer is lost, and a user edits one side before the next pass. The row
// is found again by its origin; it must be coupled with the bases the
// create was made with, not as in step with whatever the sides hold then.
// The Dataverse record has no e-mail, so match_on cannot find the row.
std::string LocalCreateWithLostAnswer(FakeSide& local, FakeSide& remote, const std::function<RunReport()>& sync) {
  remote.Put("contacts", kId1, {{"firstname", T("Bob")}, {"lastname", T("Ray")}});
  local.LoseNextAnswer(Status(StatusCode::kUnavailable, "disk I/O error after the row was written"));
  sync();
  const auto rows = local.Rows("person");
  return rows.size() == 1 ? rows.begin()->first : "";
}

TEST_F(EngineTest, ALocalEditAfterALocalCreateWhoseAnswerWasLostReachesDataverse) {
  const std::string bob = LocalCreateWithLostAnswer(local_, remote_, [&] { return Sync(); });
  ASSERT_FALSE(bob.empty());
  ASSERT_TRUE(LocalKeyOf("people", kId1).empty()) << "the pass did not learn of its create";
  local_.Put("person", bob, {{"phone", T("555")}});
  const RunReport r = Sync();
  EXPECT_FALSE(r.AnyProblem()) << Of(r, "people").status.ToString();
  EXPECT_EQ(local_.Count("person"), 1u) << "no duplicate (R2)";
  EXPECT_EQ(LocalKeyOf("people", kId1), bob);
  EXPECT_EQ(R(kId1, "telephone1"), T("555")) << "the local edit is not taken as the base";
  EXPECT_TRUE(store_->LocalCreateIntents("people")->empty());
}

TEST_F(EngineTest, ADataverseEditAfterALocalCreateWhoseAnswerWasLostReachesTheLocalSide) {
  const std::string bob = LocalCreateWithLostAnswer(local_, remote_, [&] { return Sync(); });
  ASSERT_FALSE(bob.empty());
  remote_.Put("contacts", kId1, {{"firstname", T("Bobby")}});
  const RunReport r = Sync();
  EXPECT_FALSE(r.AnyProblem()) << Of(r, "people").status.ToString();
  EXPECT_EQ(local_.Count("person"), 1u) << "no duplicate (R2)";
  EXPECT_EQ(LocalKeyOf("people", kId1), bob);
  EXPECT_EQ(L(bob, "first_name"), T("Bobby")) << "the Dataverse edit is not taken as the base";
  EXPECT_EQ(R(kId1, "firstname"), T("Bobby"));
}

TEST_F(EngineTest, ARecordAFullReadDidNotShowIsNotTakenForDeleted) {
  // Found by the crash test with pages of 200: a Dataverse record changed
  // while a full read spanning passes ran was left out of the rest of that
  // read, taken for deleted, and its local row deleted.
  const std::string id = SyncedPerson();
  remote_.Put("contacts", id, {{"telephone1", T("777")}});
  remote_.HideFromFullReads(id);
  EngineOptions full;
  full.full = true;
  const RunReport r = Sync(full);
  EXPECT_FALSE(r.AnyProblem()) << Of(r, "people").status.ToString();
  EXPECT_EQ(Of(r, "people").counts.deleted, 0);
  ASSERT_NE(local_.Get("person", "P1"), nullptr) << "the local row was deleted";
  EXPECT_EQ(RemoteIdOf("people", "P1"), id) << "still coupled";
  EXPECT_EQ(L("P1", "phone"), T("777")) << "and the change it missed is read by key";
}

TEST_F(EngineTest, ADeleteOnOneSideLosesToAnEditOnTheOther) {
  const std::string id = SyncedPerson();
  local_.Erase("person", "P1");
  remote_.Put("contacts", id, {{"telephone1", T("999")}});
  EngineOptions options;
  options.mass_delete_min_count = 0;
  options.mass_delete_max_share = 1.0;
  const RunReport r = Sync(options);
  EXPECT_NE(remote_.Get("contacts", id), nullptr) << "the edited record is not deleted (R1)";
  ASSERT_EQ(local_.Count("person"), 1u) << "and it comes back where it was deleted";
  const std::string back = LocalKeyOf("people", id);
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(L(back, "phone"), T("999"));
  EXPECT_EQ(Of(r, "people").counts.deleted, 0);
  EXPECT_EQ(Of(r, "people").counts.conflicts, 1);
}

TEST_F(EngineTest, CoupleByMatchCouplesWithoutWriting) {
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"email", T("ann@example.com")}});
  local_.Put("person", "P2", {{"first_name", T("Bo")}, {"email", T("bo@example.com")}});
  remote_.Put("contacts", kId1, {{"firstname", T("Ann")}, {"emailaddress1", T("Ann@Example.com")}});
  Engine engine(set_, *store_, local_, local_, remote_, clock_);
  auto report = engine.CoupleByMatch("people");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->counts.coupled, 1);
  EXPECT_EQ(RemoteIdOf("people", "P1"), kId1);
  EXPECT_EQ(RemoteIdOf("people", "P2"), "") << "no match: nothing is created by couple --match";
  EXPECT_EQ(remote_.writes(), 0);
  EXPECT_EQ(local_.writes(), 0);
  ASSERT_TRUE(engine.Uncouple("people", "P1").ok());
  EXPECT_EQ(RemoteIdOf("people", "P1"), "");
  EXPECT_EQ(engine.Uncouple("people", "P1").code(), StatusCode::kNotFound);
  ASSERT_TRUE(engine.Couple("people", "P1", kId1).ok());
  EXPECT_EQ(RemoteIdOf("people", "P1"), kId1);
  EXPECT_EQ(engine.Couple("people", "P2", kId1).code(), StatusCode::kAlreadyExists) << "one record, one coupling";
}

TEST_F(EngineTest, AChangedMappingReadsDataverseAgainWithItsNewFields) {
  const std::string id = SyncedPerson();
  remote_.Put("contacts", id, {{"jobtitle", T("CFO")}});  // not mapped yet
  Sync();
  EXPECT_EQ(L("P1", "job_title"), Value());
  // The admin maps the job title: the cursor was made for the old columns.
  Load("newest_wins", "propagate", R"(, {"local": "job_title", "remote": "jobtitle"})");
  const RunReport r = Sync();
  EXPECT_FALSE(r.AnyProblem());
  EXPECT_EQ(L("P1", "job_title"), T("CFO")) << "the new field is read for records that did not change since";
  EXPECT_EQ(Of(r, "people").counts.inserted, 0) << "reconciled, not created again";
  EXPECT_EQ(remote_.Count("contacts"), 1u);
}

TEST_F(EngineTest, ADryRunWritesNothingAndPlansWhatSyncThenDoes) {
  const std::string id = SyncedPerson();
  local_.Put("person", "P1", {{"phone", T("777")}});
  remote_.Put("contacts", kId2, {{"firstname", T("Bob")}, {"emailaddress1", T("bob@x.com")}});
  const int audit_before = static_cast<int>(AuditRows().size());
  EngineOptions plan;
  plan.dry_run = true;
  local_.ResetCounters();
  remote_.ResetCounters();
  const RunReport planned = Sync(plan);
  EXPECT_EQ(remote_.writes(), 0);
  EXPECT_EQ(local_.writes(), 0);
  EXPECT_EQ(static_cast<int>(AuditRows().size()), audit_before) << "no state written";
  const auto& writes = Of(planned, "people").plan;
  ASSERT_EQ(writes.size(), 2u);
  Sync();
  std::vector<std::string> done;
  for (const auto& e : AuditRows()) {
    if (e.seq > audit_before && (e.action == "create" || e.action == "update")) done.push_back(e.action + " " + e.side);
  }
  std::vector<std::string> expected;
  for (const auto& w : writes) expected.push_back(w.action + " " + std::string(state::SideName(w.side)));
  std::sort(done.begin(), done.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(done, expected);
  EXPECT_EQ(R(id, "telephone1"), T("777"));
}

TEST_F(EngineTest, SensitiveFieldsAreHashedInTheAuditLog) {
  auto load = mapping::ParseMappingSet({{"companies.json", kCompanies}, {"people.json", R"({"name": "people",
    "local": {"table": "person", "key": "no"}, "remote": {"entity_set": "contacts", "key": "contactid"},
    "fields": [{"local": "first_name", "remote": "firstname"},
               {"local": "phone", "remote": "telephone1", "sensitive": true}]})"}});
  ASSERT_TRUE(load.ok());
  set_ = std::move(load.set);
  local_.Put("person", "P1", {{"first_name", T("Ann")}, {"phone", T("SECRET-555")}});
  Sync();
  bool saw = false;
  for (const auto& e : AuditRows()) {
    EXPECT_EQ(e.fields.find("SECRET-555"), std::string::npos) << e.fields;
    saw = saw || e.fields.find("sha256:") != std::string::npos;
  }
  EXPECT_TRUE(saw);
  auto verified = store_->VerifyAudit();
  EXPECT_TRUE(verified->ok) << verified->problem;
}

TEST(EnginePartsTest, AnOrderAndItsLinesAreWrittenAsOneGroup) {
  testing_support::TempDir dir;
  testing_support::FakeClock clock;
  auto load = mapping::ParseMappingSet(
      {{"orders.json", R"({"name": "orders", "local": {"table": "sales_order", "key": "no"},
         "remote": {"entity_set": "salesorders", "key": "salesorderid"},
         "fields": [{"local": "no", "remote": "name", "direction": "to_remote"},
                    {"local": "reference", "remote": "description"}]})"},
       {"lines.json", R"({"name": "lines", "local": {"table": "sales_order_line", "key": ["order_no", "line_no"]},
         "remote": {"entity_set": "salesorderdetails", "key": "salesorderdetailid"}, "depends_on": ["orders"],
         "fields": [{"local": "order_no", "remote": "salesorderid", "lookup": "orders"},
                    {"local": "line_no", "remote": "lineitemnumber"},
                    {"local": "description", "remote": "productdescription"}]})"}});
  ASSERT_TRUE(load.ok()) << load.diagnostics.front().ToString();
  auto store = state::SqliteStateStore::Open(dir.path() + "/state.db", clock);
  ASSERT_TRUE(store.ok());
  FakeSide local(FakeSide::Style::kLocal);
  FakeSide remote(FakeSide::Style::kRemote);
  remote.BindAs("salesorderid", "_salesorderid_value");
  local.Put("sales_order", "SO1", {{"no", T("SO1")}, {"reference", T("PO-7")}});
  local.Put("sales_order_line", R"(["SO1",10000])",
            {{"order_no", T("SO1")}, {"line_no", Value::Integer(10000)}, {"description", T("Consulting")}});
  local.Put("sales_order_line", R"(["SO1",20000])",
            {{"order_no", T("SO1")}, {"line_no", Value::Integer(20000)}, {"description", T("Travel")}});
  Engine engine(load.set, **store, local, local, remote, clock);
  auto report = engine.Run({});
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->AnyProblem());
  // One Write call: the order first, then its lines, all in one group.
  ASSERT_GE(remote.calls.size(), 1u);
  const auto& call = remote.calls.front();
  ASSERT_EQ(call.size(), 3u);
  EXPECT_EQ(call[0].entity.empty() ? "salesorders" : call[0].entity, "salesorders");
  EXPECT_FALSE(call[0].group.empty());
  for (const auto& op : call) EXPECT_EQ(op.group, call[0].group);
  EXPECT_EQ(call[1].entity, "salesorderdetails");
  EXPECT_EQ(call[1].fields.at("salesorderid@odata.bind"), Value::Text("/salesorders(" + call[0].key + ")"));
  EXPECT_EQ(remote.Count("salesorderdetails"), 2u);
  EXPECT_EQ(report->mappings.back().counts.inserted, 2) << "lines count under their own mapping";
  // The lines' own pass found them in step: no second write.
  EXPECT_EQ(remote.calls.size(), 1u);

  auto again = engine.Run({});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(remote.calls.size(), 1u) << "nothing more to write";
}

}  // namespace
}  // namespace crmsync::sync
