#include "state/sqlite_state_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>

#include "common/sqlite.h"
#include "state/audit_chain.h"
#include "state/instance_lock.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace crmsync::state {
namespace internal {
// The migration steps as compiled in (state/migrations_sql.cpp), to build a store of an older schema.
extern const char kStateMigration0001[];
extern const char kStateMigration0002[];
extern const char kStateMigration0003[];
}  // namespace internal
namespace {

using testing_support::FakeClock;
using testing_support::TempDir;

Value T(const char* s) {
  return Value::Text(s);
}

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/state.db";
    auto opened = SqliteStateStore::Open(path_, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  // Runs SQL against the file as another program (sqlite3) would.
  void Tamper(const std::string& sql) {
    auto db = SqliteDb::Open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec(sql).ok()) << sql;
  }
  void AppendAudit(int n) {
    for (int i = 0; i < n; ++i) {
      AuditEntry e;
      e.run_id = "run-1";
      e.mapping = "contacts";
      e.mapping_version = "abc";
      e.action = "update";
      e.side = "remote";
      e.local_key = "CT00000" + std::to_string(i);
      e.remote_id = "id-" + std::to_string(i);
      e.fields = R"({"phone":{"old":"1","new":"2"}})";
      e.outcome = "ok";
      ASSERT_TRUE(store_->AppendAudit(e).ok());
    }
  }

  TempDir dir_;
  FakeClock clock_;
  std::string path_;
  std::unique_ptr<SqliteStateStore> store_;
};

TEST_F(StateStoreTest, CouplingsAreFoundFromEitherSideWithTheirBases) {
  Coupling c{.mapping = "contacts",
             .local_key = "CT000001",
             .remote_id = "72bf4d48-34cb-ed11-b596-0022481d68cd",
             .base_local = {{"first_name", T("Ann")}, {"blocked", Value::Integer(1)}},
             .base_remote = {{"firstname", T("Ann")}, {"revenue", *Value::Decimal("950.5")}},
             .local_version = "17",
             .remote_version = "W/\"1001\"",
             .status = Coupling::Status::kActive,
             .local_seen = 0,
             .remote_seen = 3};
  ASSERT_TRUE(store_->PutCoupling(c).ok());
  auto by_local = store_->CouplingByLocal("contacts", "CT000001");
  ASSERT_TRUE(by_local.ok() && by_local->has_value());
  EXPECT_EQ((*by_local)->remote_id, c.remote_id);
  EXPECT_EQ((*by_local)->base_local, c.base_local);
  EXPECT_EQ((*by_local)->base_remote, c.base_remote);
  EXPECT_EQ((*by_local)->remote_version, c.remote_version);
  EXPECT_EQ((*by_local)->remote_seen, 3);
  auto by_remote = store_->CouplingByRemote("contacts", c.remote_id);
  ASSERT_TRUE(by_remote.ok() && by_remote->has_value());
  EXPECT_EQ((*by_remote)->local_key, "CT000001");
  EXPECT_FALSE(store_->CouplingByLocal("accounts", "CT000001")->has_value()) << "couplings are per mapping";
  EXPECT_EQ(*store_->CountCouplings("contacts"), 1);

  // Coupling the same remote record to another key replaces the old coupling.
  c.local_key = "CT000002";
  ASSERT_TRUE(store_->PutCoupling(c).ok());
  EXPECT_EQ(*store_->CountCouplings("contacts"), 1);
  EXPECT_EQ((*store_->CouplingByRemote("contacts", c.remote_id))->local_key, "CT000002");
  ASSERT_TRUE(store_->DeleteCoupling("contacts", "CT000002").ok());
  EXPECT_EQ(*store_->CountCouplings("contacts"), 0);
}

// A page's lookups in one query each: only the keys asked for, of that
// mapping, by either side's key, also keys a JSON array or SQL must escape.
TEST_F(StateStoreTest, APagesCouplingsAndIntentsAreFoundInOneCallEach) {
  const std::string odd = R"(CT"7\' OR 1=1 --)";
  for (const std::string& key : {std::string("CT1"), std::string("CT2"), odd}) {
    ASSERT_TRUE(store_
                    ->PutCoupling({.mapping = "contacts",
                                   .local_key = key,
                                   .remote_id = "id-" + key,
                                   .base_local = {{"first_name", Value::Text("Ann " + key)}},
                                   .local_version = "v-" + key})
                    .ok());
  }
  ASSERT_TRUE(store_->PutCoupling({.mapping = "accounts", .local_key = "CT3", .remote_id = "id-CT3"}).ok());

  auto heads = store_->CouplingHeadsBy("contacts", Side::kLocal, {"CT1", odd, "CT3", "CT9"});
  ASSERT_TRUE(heads.ok()) << heads.status().ToString();
  ASSERT_EQ(heads->size(), 2u) << "CT3 is another mapping's, CT9 nobody's";
  EXPECT_EQ(heads->at("CT1").remote_id, "id-CT1");
  EXPECT_EQ(heads->at(odd).local_version, "v-" + odd);

  auto by_remote = store_->CouplingsBy("contacts", Side::kRemote, {"id-CT2", "id-" + odd, "id-CT3"});
  ASSERT_TRUE(by_remote.ok()) << by_remote.status().ToString();
  ASSERT_EQ(by_remote->size(), 2u);
  EXPECT_EQ(by_remote->at("id-CT2").local_key, "CT2");
  EXPECT_EQ(by_remote->at("id-" + odd).base_local, (Record{{"first_name", Value::Text("Ann " + odd)}}));
  EXPECT_TRUE(store_->CouplingsBy("contacts", Side::kLocal, {})->empty());

  ASSERT_TRUE(store_
                  ->PutIntents({{.mapping = "contacts", .local_key = "CT4", .remote_id = "g4"},
                                {.mapping = "contacts", .local_key = odd, .remote_id = "g-odd"}})
                  .ok());
  auto intents = store_->IntentsBy("contacts", Side::kLocal, {"CT4", odd, "CT1"});
  ASSERT_TRUE(intents.ok()) << intents.status().ToString();
  ASSERT_EQ(intents->size(), 2u);
  EXPECT_EQ(intents->at(odd).remote_id, "g-odd");
  auto by_id = store_->IntentsBy("contacts", Side::kRemote, {"g4"});
  ASSERT_TRUE(by_id.ok());
  ASSERT_EQ(by_id->size(), 1u);
  EXPECT_EQ(by_id->at("g4").local_key, "CT4");
}

TEST_F(StateStoreTest, UnseenCouplingsAreThoseAFullReadDidNotMark) {
  for (int i = 1; i <= 5; ++i) {
    Coupling c{.mapping = "m", .local_key = "K" + std::to_string(i), .remote_id = "R" + std::to_string(i)};
    c.remote_seen = i % 2 == 0 ? 7 : 2;
    ASSERT_TRUE(store_->PutCoupling(c).ok());
  }
  auto unseen = store_->UnseenCouplings("m", Side::kRemote, 7, "", 2);
  ASSERT_TRUE(unseen.ok());
  ASSERT_EQ(unseen->size(), 2u);
  EXPECT_EQ((*unseen)[0].local_key, "K1");
  EXPECT_EQ((*unseen)[1].local_key, "K3");
  auto rest = store_->UnseenCouplings("m", Side::kRemote, 7, "K3", 10);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].local_key, "K5");
  EXPECT_EQ(store_->UnseenCouplings("m", Side::kLocal, 1, "", 10)->size(), 5u);
  auto e1 = store_->NextEpoch();
  auto e2 = store_->NextEpoch();
  ASSERT_TRUE(e1.ok() && e2.ok());
  EXPECT_LT(*e1, *e2);
}

TEST_F(StateStoreTest, ATransactionCommitsEverythingOrNothing) {
  {
    auto tx = store_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(store_->PutCoupling({.mapping = "m", .local_key = "A", .remote_id = "1"}).ok());
    ASSERT_TRUE(store_->SetCursor("m", Side::kLocal, {"42", 0}).ok());
    AppendAudit(1);
    EXPECT_TRUE(store_->CouplingByLocal("m", "A")->has_value()) << "a transaction sees its own writes";
    // Dropped without Commit(): rolled back.
  }
  EXPECT_FALSE(store_->CouplingByLocal("m", "A")->has_value());
  EXPECT_EQ(store_->Cursor("m", Side::kLocal)->cursor, "");
  EXPECT_EQ(store_->VerifyAudit()->rows, 0);
  {
    auto tx = store_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(store_->PutCoupling({.mapping = "m", .local_key = "A", .remote_id = "1"}).ok());
    ASSERT_TRUE(store_->SetCursor("m", Side::kLocal, {"42", 5}).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_TRUE(store_->CouplingByLocal("m", "A")->has_value());
  EXPECT_EQ(store_->Cursor("m", Side::kLocal)->cursor, "42");
  EXPECT_EQ(store_->Cursor("m", Side::kLocal)->full_epoch, 5);
  EXPECT_EQ(store_->Cursor("m", Side::kRemote)->cursor, "") << "cursors are per side";
}

TEST_F(StateStoreTest, IntentsAreFoundByEitherKey) {
  ASSERT_TRUE(
      store_->PutIntent({.mapping = "m", .local_key = "CT1", .remote_id = "g1", .base_local = {{"a", T("x")}}}).ok());
  auto by_remote = store_->IntentByRemote("m", "g1");
  ASSERT_TRUE(by_remote.ok() && by_remote->has_value());
  EXPECT_EQ((*by_remote)->local_key, "CT1");
  EXPECT_EQ((*by_remote)->base_local, (Record{{"a", T("x")}}));
  EXPECT_EQ(store_->Intents("m")->size(), 1u);
  ASSERT_TRUE(store_->DeleteIntent("m", "CT1").ok());
  EXPECT_FALSE(store_->IntentByLocal("m", "CT1")->has_value());
}

// Intents are stored a page to a row (migration 4). Each case is checked in
// this store and in one opened afresh on the file, which knows only the rows.
class IntentPageTest : public StateStoreTest {
 protected:
  void Reopen() {
    store_.reset();
    auto opened = SqliteStateStore::Open(path_, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  std::map<std::string, std::string> RemoteIds(const std::string& mapping) {
    std::map<std::string, std::string> out;
    auto intents = store_->Intents(mapping);
    EXPECT_TRUE(intents.ok()) << intents.status().ToString();
    if (intents.ok()) {
      for (const auto& i : *intents) out[i.local_key] = i.remote_id;
    }
    return out;
  }
  std::int64_t PageRows() {
    auto db = SqliteDb::Open(path_);
    EXPECT_TRUE(db.ok());
    auto st = db->Prepare("SELECT count(*) FROM intent_page");
    EXPECT_TRUE(st.ok());
    auto row = st->Step();
    EXPECT_TRUE(row.ok() && *row);
    return st->ColumnInt(0);
  }
  static Intent I(const std::string& key, const std::string& id) {
    return {.mapping = "contacts", .local_key = key, .remote_id = id, .base_local = {{"surname", Value::Text(key)}}};
  }
};

TEST_F(IntentPageTest, APartlyDeletedPageKeepsTheRestAndTheLastDeleteRemovesIt) {
  ASSERT_TRUE(store_->PutIntents({I("CT1", "g1"), I("CT2", "g2"), I("CT3", "g3")}).ok());
  ASSERT_TRUE(store_->PutIntents({I("CT4", "g4")}).ok());
  EXPECT_EQ(PageRows(), 2);
  ASSERT_TRUE(store_->DeleteIntents("contacts", {"CT2", "CT4"}).ok());
  EXPECT_EQ(PageRows(), 1) << "CT4's page is empty and gone";
  const std::map<std::string, std::string> left{{"CT1", "g1"}, {"CT3", "g3"}};
  EXPECT_EQ(RemoteIds("contacts"), left);
  Reopen();
  EXPECT_EQ(RemoteIds("contacts"), left) << "CT2 was taken out of its page's row, not only out of memory";
  auto by_remote = store_->IntentsBy("contacts", Side::kRemote, {"g2", "g3"});
  ASSERT_TRUE(by_remote.ok());
  ASSERT_EQ(by_remote->size(), 1u);
  EXPECT_EQ(by_remote->at("g3").base_local, (Record{{"surname", Value::Text("CT3")}}));
  ASSERT_TRUE(store_->DeleteIntents("contacts", {"CT1", "CT3"}).ok());
  EXPECT_EQ(PageRows(), 0);
  EXPECT_TRUE(RemoteIds("contacts").empty());
}

TEST_F(IntentPageTest, AnIntentPutAgainReplacesTheOneInItsOldPageWhichNeverComesBack) {
  ASSERT_TRUE(store_->PutIntents({I("CT1", "g1"), I("CT2", "g2")}).ok());
  Intent again = I("CT2", "g2");
  again.base_local = {{"surname", Value::Text("changed")}};
  ASSERT_TRUE(store_->PutIntents({again}).ok());
  auto found = store_->IntentByLocal("contacts", "CT2");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->base_local, again.base_local);
  EXPECT_EQ(store_->Intents("contacts")->size(), 2u);
  // Its new page settled: the old page's copy must not stand in for it.
  ASSERT_TRUE(store_->DeleteIntents("contacts", {"CT2"}).ok());
  EXPECT_FALSE(store_->IntentByLocal("contacts", "CT2")->has_value());
  Reopen();
  EXPECT_FALSE(store_->IntentByLocal("contacts", "CT2")->has_value());
  EXPECT_EQ(RemoteIds("contacts"), (std::map<std::string, std::string>{{"CT1", "g1"}}));
}

TEST_F(IntentPageTest, IntentsOfARolledBackTransactionAreForgotten) {
  ASSERT_TRUE(store_->PutIntents({I("CT1", "g1")}).ok());
  {
    auto tx = store_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(store_->PutIntents({I("CT2", "g2")}).ok());
    ASSERT_TRUE(store_->DeleteIntents("contacts", {"CT1"}).ok());
    EXPECT_EQ(RemoteIds("contacts"), (std::map<std::string, std::string>{{"CT2", "g2"}}));
    // Dropped without Commit(): rolled back.
  }
  EXPECT_EQ(RemoteIds("contacts"), (std::map<std::string, std::string>{{"CT1", "g1"}}));
  EXPECT_TRUE(store_->IntentByRemote("contacts", "g1")->has_value());
  EXPECT_FALSE(store_->IntentByRemote("contacts", "g2")->has_value());
}

TEST_F(IntentPageTest, APageRowThatIsNotWhatCrmsyncWroteIsReportedAsCorrupt) {
  ASSERT_TRUE(store_->PutIntents({I("CT1", "g1")}).ok());
  Tamper("UPDATE intent_page SET intents = '[{\"local_key\": 7}]'");
  Reopen();
  auto intents = store_->Intents("contacts");
  ASSERT_FALSE(intents.ok());
  EXPECT_EQ(intents.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(intents.status().message().find("intent page 1 of contacts, intent 1"), std::string::npos)
      << intents.status().message();
}

// A store of schema v3 holds its intents a row each; migration 4 moves them into pages.
TEST(IntentMigrationTest, IntentsOfAnOlderStoreAreFoundAfterTheMigration) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  {
    auto db = SqliteDb::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec(internal::kStateMigration0001).ok());
    ASSERT_TRUE(db->Exec(internal::kStateMigration0002).ok());
    ASSERT_TRUE(db->Exec(internal::kStateMigration0003).ok());
    ASSERT_TRUE(db->Exec("PRAGMA user_version = 3").ok());
    ASSERT_TRUE(db->Exec("INSERT INTO intent (mapping, local_key, remote_id, base_local, created_at, base_remote) "
                         "VALUES ('contacts', 'CT2', 'g2', '{\"surname\":\"Ng\"}', '2026-01-02T00:00:00.000Z', "
                         "'{\"lastname\":\"Ng\"}'), ('contacts', 'CT1', 'g1', '{}', '2026-01-01T00:00:00.000Z', '{}')")
                    .ok());
  }
  FakeClock clock;
  auto store = SqliteStateStore::Open(path, clock);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto intents = (*store)->Intents("contacts");
  ASSERT_TRUE(intents.ok()) << intents.status().ToString();
  ASSERT_EQ(intents->size(), 2u);
  EXPECT_EQ((*intents)[0].local_key, "CT1") << "in the order they were made";
  EXPECT_EQ((*intents)[1].remote_id, "g2");
  EXPECT_EQ((*intents)[1].created_at, "2026-01-02T00:00:00.000Z");
  EXPECT_EQ((*intents)[1].base_local, (Record{{"surname", Value::Text("Ng")}}));
  EXPECT_EQ((*intents)[1].base_remote, (Record{{"lastname", Value::Text("Ng")}}));
  ASSERT_TRUE((*store)->DeleteIntents("contacts", {"CT1", "CT2"}).ok());
  EXPECT_TRUE((*store)->Intents("contacts")->empty());
}

TEST_F(StateStoreTest, OneOpenConflictPerRecordUntilResolved) {
  Conflict c{.mapping = "contacts", .local_key = "CT1", .remote_id = "g1"};
  c.fields.push_back({"phone", T("1"), T("2"), T("3")});
  auto id = store_->UpsertConflict(c);
  ASSERT_TRUE(id.ok());
  c.fields[0].remote = T("4");
  auto again = store_->UpsertConflict(c);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *id) << "a record changed again while in conflict updates its open conflict";
  auto open = store_->OpenConflicts("");
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].fields[0].remote, T("4"));
  EXPECT_EQ((*open)[0].fields[0].base, T("1"));
  ASSERT_TRUE(store_->RequestResolution(*id, Side::kLocal).ok());
  EXPECT_TRUE((*store_->ConflictById(*id))->resolve_requested);
  ASSERT_TRUE(store_->ResolveConflict(*id, Side::kLocal).ok());
  EXPECT_TRUE(store_->OpenConflicts("")->empty());
  EXPECT_EQ((*store_->ConflictById(*id))->resolution, "local");
  EXPECT_EQ(store_->ResolveConflict(*id, Side::kRemote).code(), StatusCode::kNotFound);
  EXPECT_NE(*store_->UpsertConflict(c), *id) << "after resolution a new conflict gets a new id";
}

TEST_F(StateStoreTest, FailuresCountAttemptsAndAreRetriedWhenTransientOrAsked) {
  Failure f{.mapping = "contacts",
            .source = Side::kLocal,
            .record_key = "CT1",
            .local_key = "CT1",
            .code = "invalid_argument",
            .remote_code = "0x80044331",
            .http_status = 400,
            .message = "too long"};
  ASSERT_TRUE(store_->RecordFailure(f).ok());
  ASSERT_TRUE(store_->RecordFailure(f).ok());
  auto all = store_->Failures("");
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].attempts, 2);
  EXPECT_EQ((*all)[0].remote_code, "0x80044331");
  EXPECT_TRUE(store_->FailuresToRetry("contacts")->empty()) << "a permanent failure waits for `errors retry`";
  Failure t = f;
  t.record_key = "CT2";
  t.transient = true;
  ASSERT_TRUE(store_->RecordFailure(t).ok());
  EXPECT_EQ(store_->FailuresToRetry("contacts")->size(), 1u);
  EXPECT_EQ(*store_->RequestRetry((*all)[0].id), 1);
  EXPECT_EQ(store_->FailuresToRetry("contacts")->size(), 2u);
  EXPECT_EQ(store_->RequestRetry(999).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->ClearFailure("contacts", Side::kLocal, "CT1").ok());
  EXPECT_EQ(store_->Failures("contacts")->size(), 1u);
}

TEST_F(StateStoreTest, WaitingRecordsAndPendingDeletes) {
  ASSERT_TRUE(store_->Park({"contacts", Side::kLocal, "CT5", "waiting for parent CT1", ""}).ok());
  ASSERT_TRUE(store_->Park({"contacts", Side::kLocal, "CT5", "waiting for parent CT2", ""}).ok());
  auto waiting = store_->Waiting("contacts");
  ASSERT_EQ(waiting->size(), 1u);
  EXPECT_EQ((*waiting)[0].reason, "waiting for parent CT2");
  ASSERT_TRUE(store_->Unpark("contacts", Side::kLocal, "CT5").ok());
  EXPECT_TRUE(store_->Waiting("")->empty());

  ASSERT_TRUE(store_->AddPendingDelete({"contacts", "CT7", "g7", Side::kRemote, "W/\"5\"", ""}).ok());
  auto pending = store_->PendingDeletes("contacts");
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].target, Side::kRemote);
  EXPECT_EQ((*pending)[0].expected_version, "W/\"5\"");
  ASSERT_TRUE(store_->RemovePendingDelete("contacts", "CT7").ok());
  EXPECT_TRUE(store_->PendingDeletes("")->empty());
}

TEST_F(StateStoreTest, JobRunsKeepTheirCounts) {
  JobRun run{.run_id = "r1", .mapping = "contacts", .command = "sync"};
  auto id = store_->StartJob(run);
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(store_->LastSuccess("contacts")->has_value()) << "an unfinished run is not a success";
  run.id = *id;
  run.outcome = "ok";
  run.counts.inserted = 3;
  run.counts.conflicts = 1;
  ASSERT_TRUE(store_->FinishJob(run).ok());
  auto runs = store_->JobRuns("", "", 10);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].counts.inserted, 3);
  EXPECT_EQ((*runs)[0].counts.conflicts, 1);
  EXPECT_FALSE((*runs)[0].finished_at.empty());
  EXPECT_TRUE(store_->LastSuccess("contacts")->has_value());
}

TEST_F(StateStoreTest, TheAuditChainVerifiesAndStreams) {
  AppendAudit(5);
  auto v = store_->VerifyAudit();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->rows, 5);
  std::vector<AuditEntry> seen;
  ASSERT_TRUE(store_
                  ->ForEachAudit({},
                                 [&](const AuditEntry& e) {
                                   seen.push_back(e);
                                   return true;
                                 })
                  .ok());
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].prev_hash, kAuditGenesisHash);
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i].prev_hash, seen[i - 1].hash);
  EXPECT_EQ(seen[2].hash, AuditRowHash(seen[2]));
}

TEST_F(StateStoreTest, EditingARowIsFoundAtThatRow) {
  AppendAudit(5);
  Tamper("UPDATE audit_log SET fields = '{\"phone\":{\"old\":\"1\",\"new\":\"9\"}}' WHERE seq = 3");
  auto v = store_->VerifyAudit();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 3);
  EXPECT_NE(v->problem.find("altered"), std::string::npos) << v->problem;
}

TEST_F(StateStoreTest, DeletingARowIsFoundAtThatRow) {
  AppendAudit(5);
  Tamper("DELETE FROM audit_log WHERE seq = 2");
  auto v = store_->VerifyAudit();
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 2);
  EXPECT_NE(v->problem.find("missing"), std::string::npos) << v->problem;
}

TEST_F(StateStoreTest, DeletingTheLastRowIsFound) {
  AppendAudit(5);
  Tamper("DELETE FROM audit_log WHERE seq = 5");
  auto v = store_->VerifyAudit();
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 5);
}

TEST_F(StateStoreTest, ReorderingRowsIsFoundAtTheFirstMovedRow) {
  AppendAudit(5);
  // Swap the content of rows 2 and 4, keeping their sequence numbers.
  Tamper(
      "UPDATE audit_log SET local_key = CASE seq WHEN 2 THEN (SELECT local_key FROM audit_log WHERE seq = 4) "
      "ELSE (SELECT local_key FROM audit_log WHERE seq = 2) END, "
      "remote_id = CASE seq WHEN 2 THEN (SELECT remote_id FROM audit_log WHERE seq = 4) "
      "ELSE (SELECT remote_id FROM audit_log WHERE seq = 2) END, "
      "hash = CASE seq WHEN 2 THEN (SELECT hash FROM audit_log WHERE seq = 4) "
      "ELSE (SELECT hash FROM audit_log WHERE seq = 2) END, "
      "prev_hash = CASE seq WHEN 2 THEN (SELECT prev_hash FROM audit_log WHERE seq = 4) "
      "ELSE (SELECT prev_hash FROM audit_log WHERE seq = 2) END WHERE seq IN (2, 4)");
  auto v = store_->VerifyAudit();
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 2);
}

TEST_F(StateStoreTest, ANewerSchemaOrAForeignFileIsRefused) {
  Tamper("PRAGMA user_version = 99");
  store_.reset();
  auto newer = SqliteStateStore::Open(path_, clock_);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("newer"), std::string::npos);
  auto db = SqliteDb::Open(dir_.path() + "/other.db");
  ASSERT_TRUE(db->Exec("CREATE TABLE t (x)").ok());
  auto foreign = SqliteStateStore::Open(dir_.path() + "/other.db", clock_);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("not a state store"), std::string::npos);
  EXPECT_EQ(SqliteStateStore::Open(dir_.path() + "/missing.db", clock_, false).status().code(), StatusCode::kNotFound);
}

TEST_F(StateStoreTest, ASecondInstanceIsToldWhoHoldsTheStore) {
  auto first = InstanceLock::Acquire(path_);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = InstanceLock::Acquire(path_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kBusy);
  EXPECT_NE(second.status().message().find("process " + std::to_string(::getpid())), std::string::npos)
      << second.status().message();
  { auto released = std::move(first).value(); }
  EXPECT_TRUE(InstanceLock::Acquire(path_).ok()) << "released when the holder goes away";
}

}  // namespace
}  // namespace crmsync::state
