// CrmsyncEmulatorTest: the GoogleTest fixture of the tests that run the real
// crmsync binary (CRMSYNC_BINARY) against the real dataverse-emulator binary:
// two processes talking HTTP on 127.0.0.1, on a port the emulator picks, with
// the default mappings and the sample data `crmsync init --sample-data`
// writes. Helpers drive crmsync (Crmsync, SyncJson), the emulator's admin API
// (Admin, Seed, Dump, FindBy, WriteRequests) and the local store (Local,
// LocalRows, Sql) the way a user, a Dynamics user and another local program
// would.
//
// Each test owns its folder (TempDir) and its emulator; nothing outside
// loopback is reached. The client secret is the suite's test secret.
// Thread-safety: one test thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crm/store.h"
#include "tests/emulator/emulator_process.h"
#include "tests/emulator/test_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_secret.h"

namespace crmsync::daemon::testing {

// A GUID, as Entra client ids are: Dataverse's application user for it carries it as applicationid.
inline constexpr const char* kClient = "11111111-2222-3333-4444-555555555555";

// Polls `condition` every 50 ms until it holds or `timeout` passes; true when it held.
inline bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

class CrmsyncEmulatorTest : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  // Starts the emulator with `extra` flags and writes config, mappings and
  // the sample data into Dir() with `crmsync init --sample-data`.
  void StartEmulatorAndInit(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--port",      "0",     "--tenant",        "t",
                                     "--client-id", kClient, "--client-secret", testing_support::kTestClientSecret};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string error;
    emulator_ = emulator::testing::EmulatorProcess::Start(args, &error);
    ASSERT_NE(emulator_, nullptr) << error;
    admin_ = std::make_unique<emulator::testing::TestClient>(emulator_->base_url());
    auto init = testing_support::RunProcess(
        {CRMSYNC_BINARY, "init", "--dir", Dir(), "--url", emulator_->base_url(), "--tenant-id", "t", "--client-id",
         kClient, "--client-secret-stdin", "--sample-data"},
        std::string(testing_support::kTestClientSecret) + "\n");
    ASSERT_EQ(init.exit_code, 0) << init.err;
    config_ = Dir() + "/crmsync.json";
  }
  void TearDown() override {
    admin_.reset();
    if (emulator_) {
      EXPECT_EQ(emulator_->Terminate(), 0);
    }
  }

  std::string Dir() const { return dir_.path() + "/demo"; }

  // crmsync with this test's config; `env` entries ("NAME=value") are added to its environment.
  testing_support::ProcessResult Crmsync(const std::vector<std::string>& args, const std::string& input = "",
                                         std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {CRMSYNC_BINARY, "--config", config_};
    argv.insert(argv.end(), args.begin(), args.end());
    env.emplace_back("CREDENTIALS_DIRECTORY=");
    return testing_support::RunProcess(argv, input, env);
  }
  // `crmsync sync --json` (and `extra`), expecting `expected_exit`; the report, or null when none was printed.
  json SyncJson(int expected_exit = 0, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"sync", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto sync = Crmsync(args);
    EXPECT_EQ(sync.exit_code, expected_exit) << sync.out << sync.err;
    return sync.out.empty() ? json() : json::parse(sync.out);
  }
  static const json& MappingOf(const json& report, const std::string& name) {
    for (const auto& m : report["mappings"]) {
      if (m["mapping"] == name) return m;
    }
    static const json* const kNone = new json();
    return *kNone;
  }

  // The emulator's admin API; a failure to get a 2xx fails the test.
  json Admin(const std::string& method, const std::string& path, const json& body = nullptr) {
    auto r = admin_->Send(method, path, {{"Content-Type", "application/json"}}, body.is_null() ? "" : body.dump());
    EXPECT_TRUE(r.error.empty()) << method << " " << path << ": " << r.error;
    EXPECT_TRUE(r.status >= 200 && r.status < 300) << method << " " << path << ": " << r.status << " " << r.body;
    return r.body.empty() ? json() : r.Json();
  }
  std::vector<std::string> Seed(const std::string& set, const json& records) {
    std::vector<std::string> ids;
    const json answer = Admin("POST", "/_admin/seed", json{{"entity_set", set}, {"records", records}});
    EXPECT_TRUE(answer.contains("ids")) << answer.dump() << " for " << records.dump();
    for (const auto& id : answer["ids"]) {
      ids.push_back(id.get<std::string>());
    }
    return ids;
  }
  json Dump(const std::string& set) { return Admin("GET", "/_admin/dump/" + set)["value"]; }
  json FindBy(const std::string& set, const std::string& attribute, const std::string& value) {
    for (const auto& r : Dump(set)) {
      if (r.contains(attribute) && r[attribute].is_string() && r[attribute].get<std::string>() == value) return r;
    }
    return nullptr;
  }
  // Write requests the emulator served since the last counters reset.
  std::int64_t WriteRequests() {
    const json counters = Admin("GET", "/_admin/counters");
    std::int64_t n = 0;
    for (const char* m : {"POST", "PATCH", "PUT", "DELETE"}) n += counters["by_method"].value(m, std::int64_t{0});
    return n - counters["by_entity_set"].value("token", std::int64_t{0});  // token requests are not writes
  }
  // Dataverse data that overlaps the sample data: the salesperson Jo Roberts
  // as a user, and an account and contact that exist only in Dataverse.
  void SeedDataverse() {
    Seed("systemusers", json::array({{{"fullname", "Jo Roberts"},
                                      {"firstname", "Jo"},
                                      {"lastname", "Roberts"},
                                      {"internalemailaddress", "jo.roberts@example.com"}}}));
    const auto account = Seed("accounts", json::array({{{"name", "Fabrikam Inc"}, {"telephone1", "+1 555 0100"}}}));
    ASSERT_EQ(account.size(), 1u);
    Seed("contacts", json::array({{{"firstname", "Dana"},
                                   {"lastname", "White"},
                                   {"emailaddress1", "dana@fabrikam.example"},
                                   {"parentcustomerid_account@odata.bind", "/accounts(" + account[0] + ")"}}}));
  }

  crm::Store Local() {
    auto store = crm::Store::Open(Dir() + "/crm.db");
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return std::move(store).value();
  }
  std::vector<Record> LocalRows(crm::Table table) {
    auto store = Local();
    auto rows = store.List(table);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<Record>{};
  }
  // The local number of the contact with this e-mail, "" when there is none.
  std::string LocalContactNo(const std::string& email) {
    for (const auto& r : LocalRows(crm::Table::kContact)) {
      if (r.at("email").ToDisplayString() == email) return r.at("no").ToDisplayString();
    }
    return "";
  }
  // The sqlite3 program on the local store, as another local program would
  // write it; its output without the last newline.
  std::string Sql(const std::string& sql) {
    auto r = testing_support::RunProcess({"/usr/bin/sqlite3", "-cmd", ".timeout 10000", Dir() + "/crm.db", sql});
    EXPECT_EQ(r.exit_code, 0) << sql << ": " << r.err;
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<emulator::testing::EmulatorProcess> emulator_;
  std::unique_ptr<emulator::testing::TestClient> admin_;
  std::string config_;
};

}  // namespace crmsync::daemon::testing
