// The fault suite (ctest -L faults): the real crmsync binary against the
// dataverse-emulator binary with faults injected on the Dataverse side - 429
// storms on each of the three service-protection limits, 500 and 503,
// connections dropped before and after the server applied the write,
// truncated JSON, stalls past the deadline, a token that expires mid-pass,
// an expired delta token - and in the local store - a database locked by
// another writer, a full disk, a mapped table altered under the running
// daemon, the wall clock jumping back and forth.
//
// Every scenario has one shape: a first pass couples the sample data; edits
// on both sides follow (MakeEdits: a person and a company created locally,
// a local phone edit, a job title edited and a contact created in
// Dataverse); the fault; a pass that may fail with its documented exit code;
// the fault cleared; passes until crmsync says all is well; then
// ExpectConverged: both sides hold exactly the expected records, each once,
// every edit arrived, the error queue is empty and an idle pass writes
// nothing. Each test also asserts where the reason showed: `errors list`,
// `status`, `log`, the JSON report or the log on stderr.
//
// Faults on writes match every POST or PATCH under the Web API path, so they
// hit single requests and $batch alike, and never the token endpoint.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "common/sqlite.h"
#include "daemon/cli.h"
#include "tests/daemon/crmsync_emulator_test.h"
#include "tests/support/background_process.h"

namespace crmsync::daemon {
namespace {

using nlohmann::json;
using testing::WaitUntil;

// How long a test waits for the daemon's passes: minutes under AddressSanitizer, seconds otherwise
// (WaitUntil returns as soon as the condition holds).
constexpr auto kDaemonPatience = std::chrono::seconds(180);
using testing_support::BackgroundProcess;
using testing_support::ProcessResult;
using namespace std::chrono_literals;

constexpr const char* kApiPath = "/api/data/v9.2/";
constexpr const char* kFaketimeLibrary = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

// A text attribute or column as one string: "" for null or missing.
std::string Text(const json& record, const std::string& name) {
  const auto it = record.find(name);
  return it == record.end() || !it->is_string() ? "" : it->get<std::string>();
}
std::string Text(const Record& row, const std::string& name) {
  const auto it = row.find(name);
  return it == row.end() || it->second.is_null() ? "" : it->second.ToDisplayString();
}

class FaultSuiteTest : public testing::CrmsyncEmulatorTest {
 protected:
  void SetUp() override {
    StartEmulatorAndInit();
    if (HasFatalFailure()) return;
    SeedDataverse();
    SyncJson(0);  // everything coupled: the faults meet a steady state
  }
  void TearDown() override {
    daemon_.reset();
    CrmsyncEmulatorTest::TearDown();
  }

  // Replaces the value of a top-level or nested config key (its first occurrence) in crmsync.json.
  void SetConfig(const std::string& key, const std::string& value) {
    std::string text = dir_.ReadFile("demo/crmsync.json");
    const std::string changed =
        std::regex_replace(text, std::regex("\"" + key + "\":\\s*[^,\\n}]+"), "\"" + key + "\": " + value,
                           std::regex_constants::format_first_only);
    ASSERT_NE(changed, text) << "no " << key << " in the config init wrote:\n" << text;
    std::ofstream(config_, std::ios::trunc) << changed;
  }
  // dataverse.timeout_s: one request with its retries; short, so a storm outlasts it.
  void ShortDataverseDeadline() { SetConfig("timeout_s", "3"); }

  // A fault rule for the next `count` requests matching `match`.
  void Fault(const json& match, json rule, int count) {
    rule["match"] = match;
    rule["count"] = count;
    Admin("POST", "/_admin/faults", rule);
  }
  // Every write: creates and $batch (POST), updates (PATCH); not the token endpoint.
  void FaultOnWrites(const json& rule, int count) {
    Fault({{"method", "POST"}, {"path_prefix", kApiPath}}, rule, count);
    Fault({{"method", "PATCH"}, {"path_prefix", kApiPath}}, rule, count);
  }
  void ClearFaults() { Admin("DELETE", "/_admin/faults"); }
  // Reads as crmsync's own application user until Dataverse throttles them,
  // so crmsync's pass starts with the service-protection window full,
  // however fast it runs.
  void FillThrottleWindow() {
    emulator::testing::TestClient as_crmsync(emulator_->base_url());
    as_crmsync.set_token(emulator::testing::TestClient::FetchToken(emulator_->base_url(), "t", testing::kClient,
                                                                   testing_support::kTestClientSecret));
    ASSERT_FALSE(as_crmsync.token().empty());
    for (int i = 0; i < 1000; ++i) {
      if (as_crmsync.Api("GET", "accounts?$top=1").status == 429) return;
    }
    FAIL() << "1000 reads and no 429";
  }
  std::int64_t Served(const std::string& status) {
    return Admin("GET", "/_admin/counters")["by_status"].value(status, std::int64_t{0});
  }

  // Edits on both sides, as another local program and a Dynamics user would make them.
  void MakeEdits() {
    Sql("INSERT INTO contact (no, type, first_name, surname, email) "
        "VALUES ('EXT101', 'person', 'Eve', 'Stone', 'eve@example.com')");
    Sql("INSERT INTO contact (no, type, name) VALUES ('EXT102', 'company', 'Northwind Traders')");
    Sql("UPDATE contact SET phone = '+44 113 555 0199' WHERE email = 'ann.lee@contoso.example'");
    const json ben = FindBy("contacts", "emailaddress1", "ben.okafor@contoso.example");
    ASSERT_TRUE(ben.is_object()) << Dump("contacts").dump();
    Admin("PATCH", "/_admin/records/contacts(" + ben["contactid"].get<std::string>() + ")", {{"jobtitle", "CTO"}});
    Seed("contacts",
         json::array({{{"firstname", "Fay"}, {"lastname", "Green"}, {"emailaddress1", "fay@example.com"}}}));
  }

  // Passes until one succeeds (a pass may leave work for the next, as a
  // record waiting for a parent does); at most three.
  json SyncUntilOk() {
    json report;
    for (int pass = 0; pass < 3; ++pass) {
      auto sync = Crmsync({"sync", "--json"});
      report = sync.out.empty() ? json() : json::parse(sync.out);
      if (sync.exit_code == 0) return report;
    }
    ADD_FAILURE() << "no pass succeeded after the fault was cleared: " << report.dump() << "\n" << ErrorsList().dump();
    return report;
  }

  json ErrorsList() {
    auto list = Crmsync({"errors", "list", "--json"});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    return json::parse(list.out);
  }
  json StatusJson() {
    auto status = Crmsync({"status", "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.err;
    return json::parse(status.out);
  }
  static const json& StatusOf(const json& status, const std::string& mapping) {
    for (const auto& m : status["mappings"]) {
      if (m["mapping"] == mapping) return m;
    }
    static const json* const kNone = new json();
    return *kNone;
  }
  // The failure of `mapping` whose message mentions `text`, or null.
  static json FailureAbout(const json& errors, const std::string& mapping, const std::string& text) {
    for (const auto& f : errors) {
      if (f["mapping"] == mapping && Text(f, "message").find(text) != std::string::npos) return f;
    }
    return nullptr;
  }

  // Both sides hold exactly the sample data, the Dataverse-only records and
  // MakeEdits' records, each once, with every edit; nothing is left failing;
  // an idle pass writes nothing (R4).
  void ExpectConverged() {
    const std::multiset<std::string> persons = {"Ann Lee <ann.lee@contoso.example>",
                                                "Ben Okafor <ben.okafor@contoso.example>",
                                                "Clara Weber <>",
                                                "Dana White <dana@fabrikam.example>",
                                                "Eve Stone <eve@example.com>",
                                                "Fay Green <fay@example.com>"};
    const std::multiset<std::string> companies = {"Contoso Ltd", "Fabrikam GmbH", "Fabrikam Inc", "Northwind Traders"};
    std::multiset<std::string> local_persons, local_companies, remote_contacts, remote_accounts;
    std::map<std::string, Record> local_by_email;
    for (const auto& r : LocalRows(crm::Table::kContact)) {
      if (Text(r, "type") == "person") {
        local_persons.insert(Text(r, "first_name") + " " + Text(r, "surname") + " <" + Text(r, "email") + ">");
        local_by_email[Text(r, "email")] = r;
      } else {
        local_companies.insert(Text(r, "name"));
      }
    }
    std::map<std::string, json> remote_by_email;
    for (const auto& c : Dump("contacts")) {
      remote_contacts.insert(Text(c, "firstname") + " " + Text(c, "lastname") + " <" + Text(c, "emailaddress1") + ">");
      remote_by_email[Text(c, "emailaddress1")] = c;
    }
    for (const auto& a : Dump("accounts")) remote_accounts.insert(Text(a, "name"));
    EXPECT_EQ(local_persons, persons) << "local persons: one each, none lost";
    EXPECT_EQ(remote_contacts, persons) << "Dataverse contacts: one each, none lost";
    EXPECT_EQ(local_companies, companies) << "local companies: one each, none lost";
    EXPECT_EQ(remote_accounts, companies) << "Dataverse accounts: one each, none lost";
    EXPECT_EQ(Text(remote_by_email["ann.lee@contoso.example"], "telephone1"), "+44 113 555 0199")
        << "the local edit reached Dataverse";
    EXPECT_EQ(Text(local_by_email["ben.okafor@contoso.example"], "job_title"), "CTO")
        << "the Dataverse edit reached the local store";
    const json errors = ErrorsList();
    EXPECT_TRUE(errors.empty()) << errors.dump();
    Admin("POST", "/_admin/counters/reset");
    SyncJson(0);
    EXPECT_EQ(WriteRequests(), 0) << "an idle pass after the fault writes nothing";
  }

  // `crmsync run` in the background, logging to run.log; Dataverse changes arrive with a 1 s interval.
  void StartDaemon(std::vector<std::string> env = {}, const std::string& binary = CRMSYNC_BINARY) {
    SetConfig("interval_s", "1");
    SetConfig("status_listen", "null");
    env.emplace_back("CREDENTIALS_DIRECTORY=");
    daemon_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{binary, "--config", config_, "run", "--stop-timeout", "20"}, env,
        dir_.path() + "/run.log");
  }
  int StopDaemon() {
    daemon_->Signal(SIGTERM);
    return daemon_->WaitExit(kDaemonPatience).value_or(-1);
  }
  // Every mapping's last pass was a success that began after `since` (a job run id).
  bool AllPassedSince(std::int64_t since) {
    const json status = StatusJson();
    for (const auto& m : status["mappings"]) {
      const json& run = m["last_run"];
      if (run.is_null() || run["outcome"] != "ok" || run["id"].get<std::int64_t>() <= since) return false;
    }
    return true;
  }
  std::int64_t LastJobRunId() {
    std::int64_t last = 0;
    const json status = StatusJson();
    for (const auto& m : status["mappings"]) {
      if (!m["last_run"].is_null()) last = std::max(last, m["last_run"]["id"].get<std::int64_t>());
    }
    return last;
  }

  std::unique_ptr<BackgroundProcess> daemon_;
};

// --- Dataverse: service protection limits (429 with Retry-After) ------------

// The emulator's own request-count limit, scaled down to 20 requests in
// 6 s (long enough that crmsync, also under AddressSanitizer, starts inside it) and
// filled by crmsync's own application user just before the pass: the pass
// meets 0x80072322 with the Retry-After Dataverse computes (and again when
// its own requests fill the window), and the transport rides it out.
TEST_F(FaultSuiteTest, A429StormOnTheRequestLimitIsWaitedOut) {
  MakeEdits();
  Admin("PATCH", "/_admin/settings", {{"limits", {{"requests", 20}, {"request_window_s", 6}}}});
  Admin("POST", "/_admin/counters/reset");
  FillThrottleWindow();
  auto sync = Crmsync({"sync", "--json"});
  EXPECT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  EXPECT_GT(Served("429"), 0) << "the limit was reached";
  EXPECT_NE(sync.err.find("0x80072322"), std::string::npos) << "the throttling is logged:\n" << sync.err;
  Admin("PATCH", "/_admin/settings", {{"limits", {{"requests", 6000}, {"request_window_s", 300}}}});
  ExpectConverged();
}

// The execution-time limit: 300 ms of server time in 6 s, filled by
// crmsync's own application user with reads of 100 ms each just before the
// pass; Dataverse answers 0x80072321 until they leave the window, and
// crmsync waits and halves its batches.
TEST_F(FaultSuiteTest, A429StormOnTheExecutionTimeLimitIsWaitedOut) {
  MakeEdits();
  Admin("PATCH", "/_admin/settings",
        {{"exec_ms", 100}, {"limits", {{"execution_ms", 300}, {"execution_window_s", 6}}}});
  Admin("POST", "/_admin/counters/reset");
  FillThrottleWindow();
  Admin("PATCH", "/_admin/settings", {{"exec_ms", 0}});
  auto sync = Crmsync({"sync", "--json"});
  EXPECT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  EXPECT_GT(Served("429"), 0) << "the limit was reached";
  EXPECT_NE(sync.err.find("0x80072321"), std::string::npos) << "the throttling is logged:\n" << sync.err;
  Admin("PATCH", "/_admin/settings", {{"limits", {{"execution_ms", 1200000}, {"execution_window_s", 300}}}});
  ExpectConverged();
}

// The concurrency limit, as a storm that outlasts the request deadline:
// every write answers 429 0x80072326 with Retry-After 1. The pass stops
// with the records parked as transient, naming the code; the next pass
// after the storm writes them once.
TEST_F(FaultSuiteTest, A429StormOnTheConcurrencyLimitOutlastingTheDeadlineParksTheWrites) {
  ShortDataverseDeadline();
  MakeEdits();
  FaultOnWrites({{"action", "status"},
                 {"status", 429},
                 {"retry_after", 1},
                 {"code", "0x80072326"},
                 {"message", "Number of concurrent requests exceeded the limit of 52."}},
                100000);
  const json stopped = SyncJson(kExitRecordsFailed);  // Dataverse answered: throttled is not unreachable
  EXPECT_EQ(MappingOf(stopped, "contacts")["status"], "throttled") << stopped.dump();
  EXPECT_NE(Text(MappingOf(stopped, "contacts"), "message").find("concurrent requests"), std::string::npos)
      << stopped.dump();
  const json errors = ErrorsList();
  const json eve = FailureAbout(errors, "contacts", "concurrent requests");
  ASSERT_TRUE(eve.is_object()) << errors.dump();
  EXPECT_EQ(eve["code"], "throttled");
  EXPECT_EQ(eve["dataverse_code"], "0x80072326");
  EXPECT_EQ(eve["http_status"], 429);
  EXPECT_EQ(eve["transient"], true);
  ClearFaults();
  SyncUntilOk();
  ExpectConverged();
}

// --- Dataverse: server errors ------------------------------------------------

// A generic SQL error (500 0x80044150) on every write, longer than the
// deadline: retried, then parked as transient with the code; no duplicate
// once it clears.
TEST_F(FaultSuiteTest, A500OnEveryWriteOutlastingTheDeadlineIsRetriedLater) {
  ShortDataverseDeadline();
  MakeEdits();
  FaultOnWrites({{"action", "status"}, {"status", 500}, {"code", "0x80044150"}, {"message", "Generic SQL error."}},
                100000);
  SyncJson(kExitUnreachable);
  const json errors = ErrorsList();
  const json failed = FailureAbout(errors, "contacts", "Generic SQL error");
  ASSERT_TRUE(failed.is_object()) << errors.dump();
  EXPECT_EQ(failed["http_status"], 500);
  EXPECT_EQ(failed["dataverse_code"], "0x80044150");
  ClearFaults();
  SyncUntilOk();
  ExpectConverged();
}

// Dataverse unavailable (503) for every read of contacts: that mapping's
// pass stops with its cursors unmoved; status says why; the next pass
// catches up.
TEST_F(FaultSuiteTest, A503OnEveryReadStopsTheMappingWithItsCursorUnmoved) {
  ShortDataverseDeadline();
  MakeEdits();
  Fault({{"method", "GET"}, {"entity_set", "contacts"}},
        {{"action", "status"}, {"status", 503}, {"message", "The service is temporarily unavailable. Please retry."}},
        100000);
  const json stopped = SyncJson(kExitUnreachable);
  EXPECT_EQ(MappingOf(stopped, "contacts")["status"], "unavailable") << stopped.dump();
  const json status = StatusJson();
  const json& contacts = StatusOf(status, "contacts");
  EXPECT_EQ(contacts["last_run"]["outcome"], "failed") << contacts.dump();
  EXPECT_NE(Text(contacts["last_run"], "message").find("temporarily unavailable"), std::string::npos)
      << contacts.dump();
  EXPECT_GT(contacts["pending_local_changes"].get<int>(), 0) << "the local cursor did not move past the edits";
  ClearFaults();
  SyncUntilOk();
  ExpectConverged();
}

// --- Dataverse: lost connections and broken answers --------------------------

// Every write's connection is closed before the server runs it: the creates
// crmsync recorded as intents never happened; the next pass makes them once.
TEST_F(FaultSuiteTest, ConnectionsDroppedBeforeTheWriteWasAppliedLoseNothing) {
  ShortDataverseDeadline();
  MakeEdits();
  FaultOnWrites({{"action", "drop"}}, 100000);
  SyncJson(kExitUnreachable);
  EXPECT_TRUE(FindBy("contacts", "emailaddress1", "eve@example.com").is_null()) << "no write was applied";
  const json errors = ErrorsList();
  const json lost = FailureAbout(errors, "contacts", "request to");
  ASSERT_TRUE(lost.is_object()) << "the lost connection is on the record: " << errors.dump();
  EXPECT_EQ(lost["code"], "unavailable");
  EXPECT_EQ(lost["transient"], true);
  ClearFaults();
  SyncUntilOk();
  ExpectConverged();
}

// Every write is applied and then its connection closed: the answer is lost,
// the transport resends, Dataverse meets its own create (412, the GUID
// crmsync chose) and its own update (412, the ETag moved). Nothing is
// created twice; the next pass settles what the last one could not.
TEST_F(FaultSuiteTest, ConnectionsDroppedAfterTheWriteWasAppliedCreateNothingTwice) {
  ShortDataverseDeadline();
  MakeEdits();
  FaultOnWrites({{"action", "drop_after"}}, 100000);
  SyncJson(kExitUnreachable);
  EXPECT_TRUE(FindBy("contacts", "emailaddress1", "eve@example.com").is_object()) << "the create was applied";
  const json errors = ErrorsList();
  const json lost = FailureAbout(errors, "contacts", "request to");
  ASSERT_TRUE(lost.is_object()) << "the lost answers are on the record: " << errors.dump();
  EXPECT_EQ(lost["transient"], true);
  ClearFaults();
  SyncUntilOk();
  ExpectConverged();
}

// Dataverse gives no answer at all, as when it is down or unreachable:
// every connection under the Web API is closed before an answer. The first
// call waits out its own deadline; every later call of the pass waits at
// most dataverse.unanswered_timeout_s and says why, so a pass over fourteen
// mappings ends in about one deadline instead of fourteen. Nothing is lost;
// once Dataverse answers, everything goes through once.
TEST_F(FaultSuiteTest, DataverseGivingNoAnswerAtAllCutsEveryLaterWaitShort) {
  SetConfig("timeout_s", "4");
  SetConfig("unanswered_timeout_s", "1");
  MakeEdits();
  Fault({{"path_prefix", kApiPath}}, {{"action", "drop"}}, 100000);
  const json stopped = SyncJson(kExitUnreachable);
  // The mappings that met Dataverse, in order: the first waited its whole
  // deadline, each one after it at most the second given.
  std::vector<std::string> met;
  for (const auto& m : stopped["mappings"]) {
    if (m["status"] != "unavailable") continue;
    const bool cut_short =
        Text(m, "message").find("had given no answer before this call, so it waited at most 1 s") != std::string::npos;
    EXPECT_EQ(cut_short, !met.empty()) << m.dump();
    met.push_back(m["mapping"].get<std::string>());
  }
  EXPECT_GE(met.size(), 10u) << "the mappings that read Dataverse: " << stopped.dump();
  EXPECT_TRUE(FindBy("contacts", "emailaddress1", "eve@example.com").is_null()) << "no write was applied";
  ClearFaults();
  SyncUntilOk();
  ExpectConverged();
}

// Truncated JSON on every read of contacts: the mapping stops naming the
// broken answer; the others go on; the next pass reads it whole.
TEST_F(FaultSuiteTest, TruncatedJsonOnReadsStopsTheMappingAndIsReadAgain) {
  ShortDataverseDeadline();
  MakeEdits();
  Fault({{"method", "GET"}, {"entity_set", "contacts"}}, {{"action", "truncate"}}, 100000);
  const json stopped = SyncJson(kExitUnreachable);
  const json& contacts = MappingOf(stopped, "contacts");
  EXPECT_NE(contacts["status"], "ok") << stopped.dump();
  EXPECT_NE(Text(contacts, "message").find("contacts"), std::string::npos) << contacts.dump();
  EXPECT_EQ(MappingOf(stopped, "accounts")["status"], "ok") << "a broken answer stops only its mapping";
  ClearFaults();
  SyncUntilOk();
  ExpectConverged();
}

// Every write stalls for 5 s, past the 3 s deadline, and is applied meanwhile:
// crmsync gives up with a timeout and later finds its own creates by GUID.
TEST_F(FaultSuiteTest, AStallPastTheDeadlineTimesOutAndTheAppliedWriteIsFoundAgain) {
  ShortDataverseDeadline();
  MakeEdits();
  FaultOnWrites({{"action", "stall"}, {"stall_ms", 5000}}, 100000);
  const json stopped = SyncJson(kExitUnreachable);
  EXPECT_EQ(MappingOf(stopped, "contacts")["status"], "timeout") << stopped.dump();
  const json errors = ErrorsList();
  const json timed_out = FailureAbout(errors, "contacts", "deadline");
  ASSERT_TRUE(timed_out.is_object()) << errors.dump();
  EXPECT_EQ(timed_out["code"], "timeout");
  ClearFaults();
  SyncUntilOk();
  ExpectConverged();
}

// --- Dataverse: authentication and change tracking --------------------------

// Every token is revoked while a slowed-down pass is under way: the next
// request gets a 401, crmsync fetches a new token once and goes on.
TEST_F(FaultSuiteTest, ATokenThatExpiresMidPassIsRenewedAndThePassGoesOn) {
  MakeEdits();
  Admin("PATCH", "/_admin/settings", {{"latency_ms", 60}});
  Admin("POST", "/_admin/counters/reset");
  auto pass = std::async(std::launch::async, [this] { return Crmsync({"sync", "--json"}); });
  ASSERT_TRUE(WaitUntil([&] { return Admin("GET", "/_admin/counters")["total"].get<int>() >= 6; }, 20s));
  Admin("POST", "/_admin/tokens/expire");
  ASSERT_EQ(pass.wait_for(0s), std::future_status::timeout) << "the pass ended before its token expired";
  const ProcessResult sync = pass.get();
  EXPECT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  EXPECT_GE(Served("401"), 1) << "a request met the expired token";
  EXPECT_GE(Admin("GET", "/_admin/counters")["by_entity_set"].value("token", 0), 2) << "a new token was fetched";
  EXPECT_NE(sync.err.find("new token"), std::string::npos) << "the renewal is logged:\n" << sync.err;
  Admin("PATCH", "/_admin/settings", {{"latency_ms", 0}});
  ExpectConverged();
}

// Tokens live 2 s while a slowed-down pass takes longer: crmsync renews
// each before it runs out, so no request is refused for an expired token.
TEST_F(FaultSuiteTest, ATokenLifetimeShorterThanThePassIsRenewedBeforeItEnds) {
  MakeEdits();
  Admin("PATCH", "/_admin/settings", {{"token_lifetime_s", 2}, {"latency_ms", 300}});
  Admin("POST", "/_admin/counters/reset");
  const auto started = std::chrono::steady_clock::now();
  SyncJson(0);
  ASSERT_GT(std::chrono::steady_clock::now() - started, 2s) << "the pass outlived a token";
  EXPECT_GE(Admin("GET", "/_admin/counters")["by_entity_set"].value("token", 0), 2) << "renewed";
  EXPECT_EQ(Served("401"), 0) << "renewed before it expired";
  Admin("PATCH", "/_admin/settings", {{"token_lifetime_s", 3599}, {"latency_ms", 0}});
  ExpectConverged();
}

// The token endpoint is down (503 from Microsoft Entra) for the whole pass:
// nothing can be read or written; the pass exits 4 naming the endpoint's
// error; once it answers again, everything goes through once. (Each mapping
// waits out the request deadline on its own, hence 1 s here.)
TEST_F(FaultSuiteTest, ATokenEndpointOutageExitsFourAndLosesNothing) {
  SetConfig("timeout_s", "1");
  MakeEdits();
  Fault({{"entity_set", "token"}}, {{"action", "status"}, {"status", 503}}, 100000);
  auto sync = Crmsync({"sync", "--json"});
  EXPECT_EQ(sync.exit_code, kExitUnreachable) << sync.out << sync.err;
  EXPECT_NE(sync.err.find("AADSTS"), std::string::npos) << "Entra's error is named:\n" << sync.err;
  EXPECT_TRUE(FindBy("contacts", "emailaddress1", "eve@example.com").is_null());
  ClearFaults();
  SyncUntilOk();
  ExpectConverged();
}

// Dataverse no longer accepts the delta tokens: every mapping reads in full
// and reconciles by key; only the new records are created.
TEST_F(FaultSuiteTest, AnExpiredDeltaTokenReconcilesByKeyWithoutDuplicates) {
  MakeEdits();
  Admin("POST", "/_admin/change-tracking/expire");
  auto sync = Crmsync({"sync", "--json"});
  EXPECT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  EXPECT_NE(sync.err.find("cursor is no longer accepted"), std::string::npos) << sync.err;
  EXPECT_NE(sync.err.find("reconciling by key"), std::string::npos) << sync.err;
  const json report = json::parse(sync.out);
  EXPECT_EQ(MappingOf(report, "contacts")["counts"]["inserted"], 2) << "Eve in Dataverse, Fay locally";
  EXPECT_EQ(MappingOf(report, "accounts")["counts"]["inserted"], 1) << "Northwind only";
  ExpectConverged();
}

// --- the local store ----------------------------------------------------------

// Another program holds a write transaction on crm.db for the whole pass:
// crmsync waits its busy timeout, then stops that mapping saying the store
// is locked; nothing is lost once the writer lets go.
TEST_F(FaultSuiteTest, ALocalStoreLockedByAnotherWriterIsRetriedOnceReleased) {
  MakeEdits();
  auto holder = SqliteDb::Open(Dir() + "/crm.db", {.create = false});
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();
  ASSERT_TRUE(holder->Exec("BEGIN IMMEDIATE").ok());
  auto sync = Crmsync({"sync", "--json"});
  EXPECT_EQ(sync.exit_code, kExitRecordsFailed) << sync.out << sync.err;
  EXPECT_NE(sync.err.find("locked"), std::string::npos) << sync.err;
  const json report = json::parse(sync.out);
  EXPECT_EQ(MappingOf(report, "contacts")["status"], "busy") << report.dump();
  ASSERT_TRUE(holder->Exec("ROLLBACK").ok());
  SyncUntilOk();
  ExpectConverged();
}

// The file system is full (a file size limit on the crmsync process, as
// `ulimit -f` sets it; SIGXFSZ ignored as a full disk sends none): the pass
// fails saying so, nothing half-done is kept; with space again it catches up.
TEST_F(FaultSuiteTest, ADiskFullDuringAPassLosesNothing) {
  MakeEdits();
  // 64 KiB: the stores are larger already, so nothing they write beyond it fits.
  const std::string script = "trap '' XFSZ; ulimit -f 128; exec \"$0\" \"$@\"";
  auto full = testing_support::RunProcess(
      {"/bin/sh", "-c", script, CRMSYNC_BINARY, "--config", config_, "sync", "--json"}, "", {"CREDENTIALS_DIRECTORY="});
  EXPECT_NE(full.exit_code, 0) << full.out << full.err;
  EXPECT_EQ(full.signal, 0) << "crmsync did not crash";
  EXPECT_TRUE(std::regex_search(full.err, std::regex("disk is full|disk I/O error"))) << full.err;
  EXPECT_TRUE(FindBy("accounts", "name", "Northwind Traders").is_object() ||
              FindBy("contacts", "emailaddress1", "eve@example.com").is_object() ||
              !LocalContactNo("fay@example.com").empty())
      << "the disk filled mid-pass, after writes had gone out: " << full.err;
  SyncUntilOk();
  ExpectConverged();
}

// A mapped column is renamed under the running daemon: its passes fail
// naming the table and column; once it is renamed back, every change made
// meanwhile arrives.
TEST_F(FaultSuiteTest, AMappedColumnRenamedUnderTheRunningDaemonIsReportedAndNothingIsLost) {
  StartDaemon();
  const std::int64_t before = LastJobRunId();
  ASSERT_TRUE(WaitUntil([&] { return AllPassedSince(before); }, kDaemonPatience)) << daemon_->Log();
  Sql("ALTER TABLE contact RENAME COLUMN job_title TO title");
  MakeEdits();
  ASSERT_TRUE(WaitUntil(
      [&] {
        const json status = StatusJson();
        const json& contacts = StatusOf(status, "contacts");
        return contacts.is_object() && contacts["last_run"].is_object() &&
               Text(contacts["last_run"], "message").find("job_title") != std::string::npos;
      },
      kDaemonPatience))
      << StatusJson().dump() << daemon_->Log();
  const json status = StatusJson();
  const std::string message = Text(StatusOf(status, "contacts")["last_run"], "message");
  EXPECT_NE(message.find("the local table 'contact' has no column 'job_title'"), std::string::npos) << message;
  EXPECT_TRUE(daemon_->Running()) << "the daemon carries on";
  Sql("ALTER TABLE contact RENAME COLUMN title TO job_title");
  const std::int64_t restored = LastJobRunId();
  EXPECT_TRUE(WaitUntil([&] { return AllPassedSince(restored); }, kDaemonPatience))
      << StatusJson().dump() << daemon_->Log();
  EXPECT_EQ(StopDaemon(), 0) << daemon_->Log();
  ExpectConverged();
}

// The wall clock jumps two days back and then four days forward under the
// running daemon (libfaketime, on crmsync built with the system allocator;
// the monotonic clock keeps going, as under an NTP step): change detection
// never compares times (R5), so every edit made at either time arrives, and
// the job runs carry the times the clock said.
TEST_F(FaultSuiteTest, TheClockJumpingBackAndForthUnderTheRunningDaemonLosesNothing) {
  ASSERT_TRUE(std::filesystem::exists(kFaketimeLibrary)) << "install faketime (scripts/install-deps.sh)";
  const std::string clock_file = dir_.WriteFile("faketime", "+0\n");
  std::string asan = std::getenv("ASAN_OPTIONS") != nullptr ? std::getenv("ASAN_OPTIONS") : "";
  StartDaemon({std::string("LD_PRELOAD=") + kFaketimeLibrary, "FAKETIME_TIMESTAMP_FILE=" + clock_file,
               "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1",
               // libfaketime comes before the sanitizer runtime in a sanitized build.
               "ASAN_OPTIONS=" + asan + (asan.empty() ? "" : ":") + "verify_asan_link_order=0"},
              // libfaketime cannot start a program linked with jemalloc (tests/daemon/CMakeLists.txt).
              CRMSYNC_SYSTEM_MALLOC_BINARY);
  std::int64_t since = LastJobRunId();
  ASSERT_TRUE(WaitUntil([&] { return AllPassedSince(since); }, kDaemonPatience)) << daemon_->Log();

  dir_.WriteFile("faketime", "-2d\n");
  since = LastJobRunId();
  ASSERT_TRUE(WaitUntil([&] { return AllPassedSince(since); }, kDaemonPatience)) << daemon_->Log();
  MakeEdits();
  ASSERT_TRUE(
      WaitUntil([&] { return FindBy("contacts", "emailaddress1", "eve@example.com").is_object(); }, kDaemonPatience))
      << daemon_->Log();

  dir_.WriteFile("faketime", "+2d\n");
  since = LastJobRunId();
  ASSERT_TRUE(WaitUntil([&] { return AllPassedSince(since); }, kDaemonPatience)) << daemon_->Log();
  Sql("UPDATE contact SET mobile = '+44 7700 900123' WHERE email = 'eve@example.com'");
  EXPECT_TRUE(WaitUntil(
      [&] { return Text(FindBy("contacts", "emailaddress1", "eve@example.com"), "mobilephone") == "+44 7700 900123"; },
      kDaemonPatience))
      << daemon_->Log();
  since = LastJobRunId();
  ASSERT_TRUE(WaitUntil([&] { return AllPassedSince(since); }, kDaemonPatience)) << daemon_->Log();
  EXPECT_EQ(StopDaemon(), 0) << daemon_->Log();

  // The job runs say when the clock said they ran: some two days back, some two ahead.
  auto log = Crmsync({"log", "--json", "--limit", "1000"});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  std::set<std::string> days;
  std::istringstream lines(log.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) days.insert(json::parse(line)["started_at"].get<std::string>().substr(0, 10));
  }
  EXPECT_GE(days.size(), 3u) << "runs on today's date and two days either side: " << log.out;
  ExpectConverged();
}

}  // namespace
}  // namespace crmsync::daemon
