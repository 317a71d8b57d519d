// run_latency_bench: how long a change takes to reach the other side while
// `crmsync run` runs. A benchmark, not a test: it prints a table and the
// command that reproduces it.
//
//   run_latency_bench [--changes 100] [--interval-s 1] [--latency-ms 0] [--log FILE]
//
// Starts a dataverse-emulator process and `crmsync init --sample-data` in a
// temporary folder, then `crmsync run` (with a notify socket, so it waits
// for READY=1 and the first idle STATUS=), couples one company, and then,
// one change at a time, each waiting for its arrival:
//   local -> Dataverse: the company's phone updated through a separate
//     SQLite connection (as another local program writes), until the
//     account's telephone1 shows it in the emulator;
//   Dataverse -> local: the account's telephone1 edited through the
//     emulator's admin API (as a Dynamics user would), until the local row
//     shows it.
// The clock starts when the write returned and stops when a poll (every
// 5 ms) sees the value. Local changes are noticed by the journal check
// (every 250 ms); Dataverse changes only at the next interval, so that
// direction's latency is about half the interval plus a pass.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/sqlite.h"
#include "tests/bench/bench_process.h"
#include "tests/emulator/emulator_process.h"
#include "tests/emulator/test_client.h"
#include "tests/support/background_process.h"
#include "tests/support/fake_service_manager.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace crmsync::bench {
namespace {

using emulator::testing::EmulatorProcess;
using emulator::testing::TestClient;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kClient = "11111111-2222-3333-4444-555555555555";

struct Options {
  int changes = 100;
  int interval_s = 1;
  int latency_ms = 0;
  std::string log;
};

// Thrown to main, so the emulator and the daemon are stopped on the way.
struct Failure {
  std::string what;
};

[[noreturn]] void Fail(const std::string& what) {
  throw Failure{what};
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(index, v.size() - 1)];
}

class Bench {
 public:
  explicit Bench(Options options) : options_(std::move(options)) {}

  void Run(int argc, char** argv) {
    Setup();
    const std::string no = "LAT001";
    Exec("INSERT INTO contact (no, type, name, phone) VALUES ('" + no + "', 'company', 'Latency Ltd', 'start')");
    std::string account_id;
    if (!PollUntil([&] { return !(account_id = AccountIdByName("Latency Ltd")).empty(); }, 30s)) {
      Fail("the company never reached Dataverse\n" + daemon_->Log());
    }
    std::vector<double> to_remote;
    std::vector<double> to_local;
    std::string lost;  // the change that did not arrive, which ends the run
    for (int i = 0; i < options_.changes; ++i) {
      const std::string value = "L" + std::to_string(i);
      Exec("UPDATE contact SET phone = '" + value + "' WHERE no = '" + no + "'");
      const auto start = Clock::now();
      if (!PollUntil([&] { return RemotePhone(account_id) == value; }, 60s)) {
        lost = "local change " + value + " did not reach Dataverse within 60 s (Dataverse: " + RemotePhone(account_id) +
               ")";
        break;
      }
      to_remote.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    for (int i = 0; i < options_.changes && lost.empty(); ++i) {
      const std::string value = "R" + std::to_string(i);
      Admin("PATCH", "/_admin/records/accounts(" + account_id + ")", {{"telephone1", value}});
      const auto start = Clock::now();
      if (!PollUntil([&] { return LocalPhone(no) == value; }, 60s)) {
        lost = "Dataverse change " + value + " did not reach the local store within 60 s (local: " + LocalPhone(no) +
               ", Dataverse: " + RemotePhone(account_id) + ")";
        break;
      }
      to_local.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    daemon_->Signal(SIGTERM);
    const int exit_code = daemon_->WaitExit(60s).value_or(-1);
    KeepLog();

    std::printf("crmsync run: change latency, %d changes each way, interval_s %d, emulator latency %d ms\n",
                options_.changes, options_.interval_s, options_.latency_ms);
    std::printf("%-22s %8s %8s %8s %8s %8s\n", "direction", "p50 ms", "p95 ms", "max ms", "min ms", "changes");
    for (const auto& [name, v] :
         {std::pair{"local -> Dataverse", &to_remote}, std::pair{"Dataverse -> local", &to_local}}) {
      std::printf("%-22s %8.0f %8.0f %8.0f %8.0f %8zu\n", name, Percentile(*v, 0.5), Percentile(*v, 0.95),
                  Percentile(*v, 1.0), Percentile(*v, 0.0), v->size());
    }
    std::printf("daemon exit code after SIGTERM: %d; load average %.2f\n", exit_code, LoadAverage());
    std::printf("command: %s\n", CommandLine(argc, argv).c_str());
    if (!lost.empty()) Fail(lost);
  }

 private:
  void Setup() {
    std::string error;
    emulator_ = EmulatorProcess::Start(
        {"--port", "0", "--tenant", "t", "--client-id", kClient, "--client-secret", "s", "--latency-ms",
         std::to_string(options_.latency_ms), "--limit-requests", "10000000", "--limit-exec-ms", "1000000000"},
        &error);
    if (!emulator_) Fail(error);
    admin_ = std::make_unique<TestClient>(emulator_->base_url());
    const std::string dir = dir_.path() + "/c";
    auto init = testing_support::RunProcess(
        {CRMSYNC_BINARY, "init", "--dir", dir, "--url", emulator_->base_url(), "--tenant-id", "t", "--client-id",
         kClient, "--client-secret-stdin", "--sample-data"},
        "s\n");
    if (init.exit_code != 0) Fail(init.err);
    config_ = dir + "/crmsync.json";
    const std::string text = dir_.ReadFile("c/crmsync.json");
    // No status endpoint: a fixed port would collide with another daemon on this machine.
    const std::string no_status =
        std::regex_replace(text, std::regex(R"("status_listen":\s*"[^"]*")"), R"("status_listen": null)");
    std::ofstream(config_) << std::regex_replace(no_status, std::regex(R"("interval_s":\s*30)"),
                                                 "\"interval_s\": " + std::to_string(options_.interval_s));
    auto db = SqliteDb::Open(dir + "/crm.db", {.create = false});
    if (!db.ok()) Fail(db.status().ToString());
    db_.emplace(std::move(db).value());
    daemon_ = std::make_unique<testing_support::BackgroundProcess>(
        std::vector<std::string>{CRMSYNC_BINARY, "--config", config_, "run"},
        std::vector<std::string>{manager_.EnvEntry(), "CREDENTIALS_DIRECTORY="}, dir_.path() + "/run.log");
    if (!manager_.WaitFor("READY=1", 60s) || !manager_.WaitFor("STATUS=Idle", 120s)) {
      Fail("crmsync run did not become ready and idle\n" + manager_.Transcript() + daemon_->Log());
    }
  }

  void KeepLog() {
    if (!options_.log.empty() && daemon_) std::ofstream(options_.log) << daemon_->Log();
  }

  bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      // Read the notifications as systemd would: a full socket blocks the daemon's sd_notify.
      (void)manager_.Count("");
      if (condition()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  void Exec(const std::string& sql) {
    if (Status s = db_->Exec(sql); !s.ok()) Fail(sql + ": " + s.ToString());
  }
  std::string LocalPhone(const std::string& no) {
    auto st = db_->Prepare("SELECT phone FROM contact WHERE no = ?1");
    if (!st.ok()) Fail(st.status().ToString());
    st->Bind(1, no);
    auto row = st->Step();
    return row.ok() && *row && !st->IsNull(0) ? st->ColumnText(0) : "";
  }
  json Admin(const std::string& method, const std::string& path, const json& body = nullptr) {
    auto r = admin_->Send(method, path, {{"Content-Type", "application/json"}}, body.is_null() ? "" : body.dump());
    if (!r.error.empty() || r.status >= 300) Fail(method + " " + path + ": " + r.error + r.body);
    return r.body.empty() ? json() : r.Json();
  }
  // A text attribute, "" when absent or null.
  static std::string Text(const json& record, const char* attribute) {
    return record.contains(attribute) && record[attribute].is_string() ? record[attribute].get<std::string>() : "";
  }
  std::string AccountIdByName(const std::string& name) {
    const json dump = Admin("GET", "/_admin/dump/accounts");
    for (const auto& a : dump["value"]) {
      if (Text(a, "name") == name) return Text(a, "accountid");
    }
    return "";
  }
  std::string RemotePhone(const std::string& id) {
    const json dump = Admin("GET", "/_admin/dump/accounts");
    for (const auto& a : dump["value"]) {
      if (Text(a, "accountid") == id) return Text(a, "telephone1");
    }
    return "";
  }

  Options options_;
  testing_support::TempDir dir_;
  testing_support::FakeServiceManager manager_{dir_.path()};
  std::unique_ptr<EmulatorProcess> emulator_;
  std::unique_ptr<TestClient> admin_;
  std::optional<SqliteDb> db_;
  std::unique_ptr<testing_support::BackgroundProcess> daemon_;
  std::string config_;
};

}  // namespace
}  // namespace crmsync::bench

int main(int argc, char** argv) try {
  crmsync::bench::Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) crmsync::bench::Fail(a + " needs a value");
      return argv[++i];
    };
    if (a == "--changes") {
      options.changes = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--interval-s") {
      options.interval_s = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--latency-ms") {
      options.latency_ms = std::max(0, std::atoi(next().c_str()));
    } else if (a == "--log") {
      options.log = next();
    } else {
      crmsync::bench::Fail("usage: run_latency_bench [--changes N] [--interval-s S] [--latency-ms N] [--log FILE]");
    }
  }
  crmsync::bench::Bench(options).Run(argc, argv);
  return 0;
} catch (const crmsync::bench::Failure& f) {
  std::cerr << "run_latency_bench: " << f.what << "\n";
  return 1;
}
