// `crmsync run` as systemd would run it: the real binary with a notify
// socket of the test's own (tests/support/fake_service_manager.h) and the
// watchdog on, against the dataverse-emulator binary, with the sample data
// of `crmsync init --sample-data` and a 1 s interval. Local changes are made
// with the sqlite3 program, Dataverse changes through the emulator's admin
// API, as a Dynamics user would. Every wait polls for its condition with a
// deadline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/daemon/crmsync_emulator_test.h"
#include "tests/emulator/test_client.h"
#include "tests/support/background_process.h"
#include "tests/support/fake_service_manager.h"
#include "tests/support/subprocess.h"

namespace crmsync::daemon {
namespace {

using emulator::testing::TestClient;
using nlohmann::json;
using testing::WaitUntil;
using testing_support::BackgroundProcess;
using testing_support::FakeServiceManager;
using testing_support::RunProcess;
using namespace std::chrono_literals;

// A loopback port nobody listens on now (the kernel's choice for a bound, closed socket).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

class RunCommandTest : public testing::CrmsyncEmulatorTest {
 protected:
  void StartEmulator(const std::vector<std::string>& extra = {}) {
    StartEmulatorAndInit(extra);
    if (HasFatalFailure()) return;
    // Dataverse changes arrive with the interval: 1 s keeps the test short.
    std::string text = dir_.ReadFile("demo/crmsync.json");
    const std::string once = std::regex_replace(text, std::regex(R"("interval_s":\s*30)"), R"("interval_s": 1)");
    ASSERT_NE(once, text) << "no interval_s in the config init wrote:\n" << text;
    // The status endpoint on a port of this test's own (tests run in parallel).
    status_port_ = FreePort();
    const std::string listen =
        std::regex_replace(once, std::regex(R"("status_listen":\s*"[^"]*")"),
                           "\"status_listen\": \"127.0.0.1:" + std::to_string(status_port_) + "\"");
    ASSERT_NE(listen, once) << "no status_listen in the config init wrote:\n" << once;
    std::ofstream(config_) << listen;
  }
  void TearDown() override {
    daemon_.reset();
    CrmsyncEmulatorTest::TearDown();
  }

  // `crmsync run` with the watchdog on (a ping every 0.5 s expected).
  void StartDaemon() {
    daemon_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{CRMSYNC_BINARY, "--config", config_, "run", "--stop-timeout", "20"},
        std::vector<std::string>{manager_.EnvEntry(), "WATCHDOG_USEC=1000000", "CREDENTIALS_DIRECTORY="},
        dir_.path() + "/run.log", true);
  }
  // Stops the daemon with `signo` and returns its exit code (-1: did not exit in time).
  int StopDaemon(int signo = SIGTERM) {
    daemon_->Signal(signo);
    return daemon_->WaitExit(30s).value_or(-1);
  }
  // The first passes are done when the daemon says it is idle.
  void WaitForIdle() {
    ASSERT_TRUE(manager_.WaitFor("READY=1", 30s)) << manager_.Transcript() << daemon_->Log();
    ASSERT_TRUE(manager_.WaitFor("STATUS=Idle", 60s)) << manager_.Transcript() << daemon_->Log();
  }

  bool LogHas(const std::string& text) { return daemon_->Log().find(text) != std::string::npos; }
  bool StatusSaid(const std::string& text) {
    for (const auto& l : manager_.lines()) {
      if (l.rfind("STATUS=", 0) == 0 && l.find(text) != std::string::npos) return true;
    }
    return false;
  }

  FakeServiceManager manager_{dir_.path()};
  std::unique_ptr<BackgroundProcess> daemon_;
  int status_port_ = 0;
};

TEST_F(RunCommandTest, TheStatusEndpointServesHealthReadinessStatusAndMetrics) {
  StartEmulator();
  StartDaemon();
  WaitForIdle();
  TestClient status("http://127.0.0.1:" + std::to_string(status_port_));
  auto healthz = status.Send("GET", "/healthz");
  EXPECT_EQ(healthz.status, 200) << healthz.error << daemon_->Log();
  auto readyz = status.Send("GET", "/readyz");
  EXPECT_EQ(readyz.status, 200) << readyz.body;
  auto doc = status.Send("GET", "/status");
  ASSERT_EQ(doc.status, 200) << doc.body;
  const json parsed = json::parse(doc.body);
  EXPECT_EQ(parsed["daemon"]["pid"], daemon_->pid()) << doc.body;
  EXPECT_FALSE(parsed["mappings"].empty());
  auto metrics = status.Send("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  // The first passes ran: their outcomes, records and requests are counted.
  EXPECT_NE(metrics.body.find("crmsync_passes_total{mapping=\"accounts\",outcome=\"ok\"}"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("crmsync_records_total{mapping=\"accounts\",outcome=\"inserted\"}"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("crmsync_ready 1"), std::string::npos) << metrics.body;
  EXPECT_EQ(metrics.body.find("crmsync_dataverse_requests_total 0\n"), std::string::npos)
      << "the passes' requests are counted\n"
      << metrics.body;
  if (std::filesystem::exists("/usr/bin/promtool")) {
    auto check = RunProcess({"/usr/bin/promtool", "check", "metrics"}, metrics.body);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  }
  EXPECT_EQ(StopDaemon(), 0);
  EXPECT_NE(status.Send("GET", "/healthz").status, 200) << "the endpoint stops with the daemon";
}

// Started with umask 000, crmsync still creates nothing other users can
// read: init's folder, config, secret, mappings and stores; the daemon's lock
// file and SQLite's -wal/-shm files while it runs; an audit export.
TEST_F(RunCommandTest, FilesItCreatesAreNotReadableByOthersEvenUnderUmaskZero) {
  struct UmaskGuard {
    mode_t old = ::umask(0);
    ~UmaskGuard() { ::umask(old); }
  } permissive;
  StartEmulator();
  StartDaemon();
  WaitForIdle();
  const std::string exported = Dir() + "/audit.jsonl";
  auto audit =
      RunProcess({CRMSYNC_BINARY, "--config", config_, "audit", "export", "--format", "jsonl", "--output", exported},
                 "", {"CREDENTIALS_DIRECTORY="});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;

  std::set<std::string> seen;
  std::vector<std::string> readable;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(Dir())) {
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0) continue;  // gone since it was listed (the daemon runs on)
    seen.insert(std::filesystem::relative(entry.path(), Dir()).string());
    if ((st.st_mode & S_IRWXO) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      readable.push_back(entry.path().string() + " " + mode);
    }
  }
  // (crmsync.json was rewritten by the test, but truncating a file keeps its mode: init's.)
  EXPECT_TRUE(readable.empty()) << ::testing::PrintToString(readable);
  for (const char* expected : {"crm.db", "state.db", "state.db-wal", "state.db-shm", "state.db.lock", "client-secret",
                               "mappings.d", "mappings.d/contacts.json", "audit.jsonl"}) {
    EXPECT_TRUE(seen.count(expected)) << expected << " was not created; seen: " << ::testing::PrintToString(seen);
  }
  EXPECT_EQ(StopDaemon(), 0) << daemon_->Log();
}

TEST_F(RunCommandTest, TellsSystemdReadyWatchdogAndStopping) {
  StartEmulator();
  StartDaemon();
  WaitForIdle();
  EXPECT_TRUE(manager_.WaitFor("WATCHDOG=1", 10s)) << manager_.Transcript();
  // The instance lock is held for the daemon's lifetime.
  auto second = RunProcess({CRMSYNC_BINARY, "--config", config_, "sync"}, "", {"CREDENTIALS_DIRECTORY="});
  EXPECT_EQ(second.exit_code, 5) << second.err;
  EXPECT_NE(second.err.find(std::to_string(daemon_->pid())), std::string::npos) << second.err;
  EXPECT_EQ(StopDaemon(), 0) << daemon_->Log();
  EXPECT_EQ(manager_.Count("STOPPING=1"), 1) << manager_.Transcript();
  EXPECT_EQ(manager_.Count("READY=1"), 1) << manager_.Transcript();
}

TEST_F(RunCommandTest, LocalAndDataverseChangesArriveWithinSeconds) {
  StartEmulator();
  StartDaemon();
  WaitForIdle();
  // Local -> Dataverse, written by another program.
  Sql("INSERT INTO contact (no, type, name, phone) VALUES ('EXT001', 'company', 'Northwind Traders', '+1 555 0101')");
  json account;
  ASSERT_TRUE(WaitUntil(
      [&] {
        account = FindBy("accounts", "name", "Northwind Traders");
        return account.is_object();
      },
      10s))
      << daemon_->Log();
  EXPECT_EQ(account["telephone1"], "+1 555 0101");
  // Dataverse -> local, edited as a Dynamics user would.
  Admin("PATCH", "/_admin/records/accounts(" + account["accountid"].get<std::string>() + ")",
        {{"telephone1", "+1 555 0199"}});
  EXPECT_TRUE(WaitUntil([&] { return Sql("SELECT phone FROM contact WHERE no = 'EXT001'") == "+1 555 0199"; }, 10s))
      << daemon_->Log();
  EXPECT_EQ(StopDaemon(SIGINT), 0) << daemon_->Log();
}

TEST_F(RunCommandTest, SigtermDuringAPassExitsZeroAndTheNextStartLosesNothing) {
  // Slow enough that the first pass is caught in the middle.
  StartEmulator({"--latency-ms", "30", "--exec-ms", "5"});
  constexpr int kPersons = 800;
  Sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(kPersons) +
      ") INSERT INTO contact (no, type, first_name, surname, email) SELECT printf('BULK%04d', i), 'person', 'Bulk', "
      "printf('Person %d', i), printf('bulk%d@example.com', i) FROM n");
  const auto bulk_in_dataverse = [&] {
    std::set<std::string> emails;
    int records = 0;
    for (const auto& c : Dump("contacts")) {
      if (!c.contains("emailaddress1") || !c["emailaddress1"].is_string()) continue;
      const std::string email = c["emailaddress1"].get<std::string>();
      if (email.rfind("bulk", 0) != 0) continue;
      ++records;
      emails.insert(email);
    }
    return std::make_pair(records, static_cast<int>(emails.size()));
  };
  StartDaemon();
  ASSERT_TRUE(manager_.WaitFor("READY=1", 30s)) << daemon_->Log();
  int at_stop = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        at_stop = bulk_in_dataverse().first;
        return at_stop > 0;
      },
      60s))
      << daemon_->Log();
  ASSERT_LT(at_stop, kPersons) << "the pass ended before it could be interrupted";
  EXPECT_EQ(StopDaemon(), 0) << daemon_->Log();
  EXPECT_EQ(manager_.Count("STOPPING=1"), 1);
  const int after_stop = bulk_in_dataverse().first;
  EXPECT_LT(after_stop, kPersons) << "stopping did not interrupt the pass";

  StartDaemon();
  std::pair<int, int> seen;
  EXPECT_TRUE(WaitUntil(
      [&] {
        seen = bulk_in_dataverse();
        return seen.first >= kPersons;
      },
      120s))
      << seen.first << " of " << kPersons << "\n"
      << daemon_->Log();
  EXPECT_EQ(seen.first, kPersons) << "no duplicates in Dataverse";
  EXPECT_EQ(seen.second, kPersons) << "every person arrived";
  EXPECT_EQ(Sql("SELECT count(*) FROM contact WHERE email LIKE 'bulk%'"), std::to_string(kPersons))
      << "no duplicates locally";
  EXPECT_EQ(StopDaemon(), 0) << daemon_->Log();
}

TEST_F(RunCommandTest, SighupWithABrokenMappingKeepsTheOldOnes) {
  StartEmulator();
  StartDaemon();
  WaitForIdle();
  dir_.WriteFile("demo/mappings.d/zz_broken.json", "{\n  \"name\": \"broken\",\n  \"directon\": \"to_remote\"\n}\n");
  daemon_->Signal(SIGHUP);
  // FILE:LINE: PATH: message, for each problem.
  EXPECT_TRUE(daemon_->WaitForLog("zz_broken.json:3: directon: unknown key 'directon'", 10s)) << daemon_->Log();
  EXPECT_TRUE(daemon_->WaitForLog("reload rejected", 10s)) << daemon_->Log();
  EXPECT_TRUE(daemon_->Running());
  EXPECT_TRUE(WaitUntil([&] { return StatusSaid("last reload rejected"); }, 10s)) << manager_.Transcript();
  // Still syncing on the old mappings.
  Sql("INSERT INTO contact (no, type, name) VALUES ('EXT002', 'company', 'Litware Inc')");
  EXPECT_TRUE(WaitUntil([&] { return FindBy("accounts", "name", "Litware Inc").is_object(); }, 10s)) << daemon_->Log();
  // A fixed mapping folder is taken at the next SIGHUP.
  std::filesystem::remove(Dir() + "/mappings.d/zz_broken.json");
  daemon_->Signal(SIGHUP);
  EXPECT_TRUE(daemon_->WaitForLog("reload applied", 10s)) << daemon_->Log();
  EXPECT_EQ(StopDaemon(), 0) << daemon_->Log();
}

TEST_F(RunCommandTest, WaitsOutADataverseOutageAndThenCatchesUp) {
  StartEmulator();
  // Every request fails with 503 until the faults are cleared.
  Admin("POST", "/_admin/faults",
        {{"match", json::object()}, {"action", "status"}, {"status", 503}, {"count", 100000}});
  StartDaemon();
  ASSERT_TRUE(manager_.WaitFor("READY=1", 30s)) << daemon_->Log();
  EXPECT_TRUE(StatusSaid("Waiting for Dataverse")) << manager_.Transcript();
  Sql("INSERT INTO contact (no, type, name) VALUES ('EXT003', 'company', 'Adventure Works')");
  Admin("DELETE", "/_admin/faults");
  EXPECT_TRUE(WaitUntil([&] { return FindBy("accounts", "name", "Adventure Works").is_object(); }, 30s))
      << daemon_->Log();
  EXPECT_TRUE(manager_.WaitFor("STATUS=Idle", 30s)) << manager_.Transcript();
  EXPECT_EQ(StopDaemon(), 0) << daemon_->Log();
}

TEST_F(RunCommandTest, HelpExplainsSignalsAndSystemd) {
  auto help = RunProcess({CRMSYNC_BINARY, "run", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* words :
       {"SIGTERM", "SIGHUP", "READY=1", "WATCHDOG=1", "STOPPING=1", "interval_s", "--stop-timeout"}) {
    EXPECT_NE(help.out.find(words), std::string::npos) << words << " missing from:\n" << help.out;
  }
}

}  // namespace
}  // namespace crmsync::daemon
