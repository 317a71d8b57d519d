// sync_bench: `crmsync sync` as a whole process (start to exit) against the
// dataverse-emulator binary on 127.0.0.1. A benchmark, not a test: it prints
// a table and the command that reproduces it.
//
//   sync_bench push [--records 5000] [--runs 3] [--latency-ms 20] [--exec-ms 2] [--requests 600]
//                   [--window-s 30] [--exec-limit-ms 120000] [--concurrency 52] [--dop-hint 4]
//                   [--batch-size 100] [--loader-change-sets 0|1] [--tool both|crmsync|loader] [--log DIR]
//       An initial push of N new person contacts from a fresh local store,
//       and the same N contacts written by tests/bench/npm/loader.js (the
//       npm client dynamics-web-api: --batch-size creates per $batch,
//       x-ms-dop-hint batches in flight, Retry-After on 429), each against a
//       fresh emulator with the same settings. Each of the loader's batches
//       is one change set; --loader-change-sets 0 sends its creates as
//       independent parts instead (the emulator spends the same execution
//       time per operation either way). --log DIR keeps crmsync's debug log
//       of each run there.
//   sync_bench idle [--records 20000] [--accounts 0] [--runs 3]
//       After an initial sync of N person contacts (and --accounts company
//       contacts, each person belonging to one), with no latency: the
//       requests an idle `crmsync sync` sends, by method and entity set.
//   sync_bench pull [--records 100000] [--runs 1] [--seed-chunk 5000]
//       N contacts seeded into the emulator (no latency, limits raised),
//       pulled by `crmsync sync` into an empty local store: wall time and
//       the child's peak RSS (wait4's ru_maxrss).
//
// Every run starts its own emulator process and `crmsync init --dir` in a
// temporary folder; both bind 127.0.0.1 only. Each child is killed after a
// time limit, so the benchmark ends.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crm/rows.h"
#include "crm/schema.h"
#include "crm/statement_cache.h"
#include "crm/store.h"
#include "tests/bench/bench_data.h"
#include "tests/bench/bench_process.h"
#include "tests/emulator/emulator_process.h"
#include "tests/emulator/test_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace crmsync::bench {
namespace {

using emulator::testing::EmulatorProcess;
using emulator::testing::TestClient;
using nlohmann::json;

// A GUID, as Entra client ids are, so its application user is not mapped to a salesperson.
constexpr const char* kClient = "11111111-2222-3333-4444-555555555555";
constexpr const char* kTenant = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
constexpr const char* kSecret = "bench-secret";

struct Options {
  std::string scenario;
  int records = -1;  // per scenario default
  int accounts = 0;
  int runs = -1;
  int latency_ms = 20;
  int exec_ms = 2;
  long long requests = 600;
  int window_s = 30;
  long long exec_limit_ms = 120000;
  int concurrency = 52;
  int dop_hint = 4;
  int batch_size = 100;
  int seed_chunk = 5000;
  int loader_change_sets = 1;
  std::string tool = "both";
  std::string log_dir;
};

// Settings of one emulator process.
struct EmulatorSettings {
  int latency_ms = 0;
  int exec_ms = 0;
  long long requests = 1000000000;
  int window_s = 300;
  long long exec_limit_ms = 1000000000000LL;
  int concurrency = 1000;
  int dop_hint = 4;
};

std::string FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path == nullptr ? "/usr/bin:/bin" : path;
  std::size_t start = 0;
  while (start <= p.size()) {
    const std::size_t end = std::min(p.find(':', start), p.size());
    const std::string candidate = p.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "sync_bench: " << message << "\n";
  std::exit(1);
}

// One emulator process, an admin client for it, and a crmsync folder set up against it.
class Rig {
 public:
  Rig(const EmulatorSettings& s, const std::string& root) : dir_(root + "/crmsync") {
    std::string error;
    emulator_ = EmulatorProcess::Start({"--port",
                                        "0",
                                        "--host",
                                        "127.0.0.1",
                                        "--tenant",
                                        kTenant,
                                        "--client-id",
                                        kClient,
                                        "--client-secret",
                                        kSecret,
                                        "--latency-ms",
                                        std::to_string(s.latency_ms),
                                        "--exec-ms",
                                        std::to_string(s.exec_ms),
                                        "--limit-requests",
                                        std::to_string(s.requests),
                                        "--limit-window-s",
                                        std::to_string(s.window_s),
                                        "--limit-exec-ms",
                                        std::to_string(s.exec_limit_ms),
                                        "--limit-exec-window-s",
                                        std::to_string(s.window_s),
                                        "--limit-concurrency",
                                        std::to_string(s.concurrency),
                                        "--dop-hint",
                                        std::to_string(s.dop_hint)},
                                       &error);
    if (!emulator_) Die("cannot start the emulator: " + error);
    admin_ = std::make_unique<TestClient>(emulator_->base_url());
    admin_->set_timeout(std::chrono::minutes(5));
  }
  ~Rig() {
    admin_.reset();
    if (emulator_) emulator_->Terminate();
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  const std::string& base_url() const { return emulator_->base_url(); }
  const std::string& dir() const { return dir_; }
  std::string config() const { return dir_ + "/crmsync.json"; }

  // `crmsync init --dir` against this emulator (no sample data).
  void InitCrmsync() {
    auto init = testing_support::RunProcess({CRMSYNC_BINARY, "init", "--dir", dir_, "--url", base_url(), "--tenant-id",
                                             kTenant, "--client-id", kClient, "--client-secret-stdin"},
                                            std::string(kSecret) + "\n");
    if (init.exit_code != 0) Die("crmsync init failed: " + init.err);
  }

  json Admin(const std::string& method, const std::string& path, const json& body = nullptr) {
    auto r = admin_->Send(method, path, {{"Content-Type", "application/json"}}, body.is_null() ? "" : body.dump());
    if (!r.error.empty() || r.status < 200 || r.status >= 300) {
      Die(method + " " + path + ": " + (r.error.empty() ? std::to_string(r.status) + " " + r.body : r.error));
    }
    return r.body.empty() ? json() : r.Json();
  }
  json Counters() { return Admin("GET", "/_admin/counters"); }
  void ResetCounters() { Admin("POST", "/_admin/counters/reset"); }
  std::int64_t Count(const std::string& set) {
    return Admin("GET", "/_admin/dump/" + set)["count"].get<std::int64_t>();
  }

  // `crmsync [--log-level L] --config ... ARGS`, measured as a whole process.
  Measured Crmsync(const std::vector<std::string>& args, const std::string& scratch, const std::string& log_level = "",
                   double timeout_s = 900) {
    std::vector<std::string> argv = {CRMSYNC_BINARY, "--config", config()};
    if (!log_level.empty()) argv.insert(argv.begin() + 1, {"--log-level", log_level});
    argv.insert(argv.end(), args.begin(), args.end());
    return RunMeasured(argv, scratch, {"CREDENTIALS_DIRECTORY="}, "", timeout_s);
  }

 private:
  std::string dir_;
  std::unique_ptr<EmulatorProcess> emulator_;
  std::unique_ptr<TestClient> admin_;
};

// Samples the emulator's requests in execution (/_admin/throttle in_flight)
// every few milliseconds while a run goes on: how much parallelism a client
// really used over time.
class InFlightSampler {
 public:
  explicit InFlightSampler(std::string base_url) : base_url_(std::move(base_url)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~InFlightSampler() { Stop(); }
  InFlightSampler(const InFlightSampler&) = delete;
  InFlightSampler& operator=(const InFlightSampler&) = delete;
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Share of samples with n requests executing, n = 0..max.
  std::map<int, int> histogram() const { return histogram_; }
  int samples() const { return samples_; }
  double Mean() const {
    double sum = 0;
    for (auto [n, c] : histogram_) sum += n * c;
    return samples_ == 0 ? 0 : sum / samples_;
  }
  // Mean over the samples with at least one request executing.
  double MeanBusy() const {
    double sum = 0;
    int busy = 0;
    for (auto [n, c] : histogram_) {
      if (n == 0) continue;
      sum += n * c;
      busy += c;
    }
    return busy == 0 ? 0 : sum / busy;
  }

 private:
  void Loop() {
    TestClient client(base_url_);
    client.set_timeout(std::chrono::seconds(5));
    while (!stop_) {
      auto r = client.Send("GET", "/_admin/throttle");
      if (r.error.empty() && r.status == 200) {
        int n = 0;
        const json j = r.Json();
        if (j.is_object()) {
          for (const auto& [user, s] : j.items()) n += s.value("in_flight", 0);
        }
        ++histogram_[n];
        ++samples_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::string base_url_;
  std::atomic<bool> stop_{false};
  std::map<int, int> histogram_;
  int samples_ = 0;
  std::thread thread_;
};

// The same person as the contacts mapping sends it to Dataverse.
json PersonAsDataverse(int i) {
  const Record p = Person(i);
  return {{"firstname", p.at("first_name").as_text()}, {"lastname", p.at("surname").as_text()},
          {"emailaddress1", p.at("email").as_text()},  {"telephone1", p.at("phone").as_text()},
          {"jobtitle", p.at("job_title").as_text()},   {"address1_city", p.at("city").as_text()}};
}

std::int64_t Get(const json& obj, const std::string& key) {
  return obj.is_object() ? obj.value(key, std::int64_t{0}) : 0;
}
std::int64_t WriteRequests(const json& counters) {
  std::int64_t n = 0;
  for (const char* m : {"POST", "PATCH", "PUT", "DELETE"}) n += Get(counters["by_method"], m);
  return n - Get(counters["by_entity_set"], "token");  // the token endpoint counts as entity set "token"
}

void CheckSync(const Measured& m, const std::string& what) {
  if (m.exit_code != 0) {
    Die(what + ": crmsync sync exited " + std::to_string(m.exit_code) + " (signal " + std::to_string(m.signal) + ")\n" +
        m.out.substr(0, 4000) + "\n" + m.err.substr(0, 4000));
  }
}

void PrintCounters(const json& c) {
  std::printf("    by method:");
  for (const auto& [k, v] : c["by_method"].items()) std::printf(" %s %lld", k.c_str(), v.get<long long>());
  std::printf("\n    by entity set:");
  for (const auto& [k, v] : c["by_entity_set"].items()) std::printf(" %s %lld", k.c_str(), v.get<long long>());
  std::printf("\n    by status:");
  for (const auto& [k, v] : c["by_status"].items()) std::printf(" %s %lld", k.c_str(), v.get<long long>());
  std::printf("\n");
}

void PrintHistogram(const InFlightSampler& s) {
  std::printf("    in execution at the emulator (%d samples every ~5 ms): mean %.2f, mean while busy %.2f;",
              s.samples(), s.Mean(), s.MeanBusy());
  for (auto [n, c] : s.histogram()) std::printf(" %d:%.0f%%", n, 100.0 * c / std::max(1, s.samples()));
  std::printf("\n");
}

// ---------------------------------------------------------------- push

struct ToolRun {
  double seconds = 0;
  std::int64_t records = 0;
  std::int64_t requests = 0;
  std::int64_t throttled = 0;
};

int Push(const Options& o, const std::string& command) {
  const int records = o.records < 0 ? 5000 : o.records;
  const int runs = o.runs < 0 ? 3 : o.runs;
  EmulatorSettings s;
  s.latency_ms = o.latency_ms;
  s.exec_ms = o.exec_ms;
  s.requests = o.requests;
  s.window_s = o.window_s;
  s.exec_limit_ms = o.exec_limit_ms;
  s.concurrency = o.concurrency;
  s.dop_hint = o.dop_hint;
  const bool run_crmsync = o.tool == "both" || o.tool == "crmsync";
  const bool run_loader = o.tool == "both" || o.tool == "loader";

  const std::string loader = CRMSYNC_BENCH_LOADER;
  const std::string node = FindInPath("node");
  if (run_loader) {
    if (node.empty()) Die("node is not on PATH (Node 20 runs the loader)");
    const auto modules = std::filesystem::path(loader).parent_path() / "node_modules" / "dynamics-web-api";
    if (!std::filesystem::exists(modules)) {
      Die("the loader's dependencies are missing: run `npm install` in " +
          std::filesystem::path(loader).parent_path().string());
    }
  }
  testing_support::TempDir scratch;
  // The loader's input: exactly the fields the contacts mapping sends for the same persons.
  const std::string input = scratch.path() + "/contacts.json";
  {
    json all = json::array();
    for (int i = 0; i < records; ++i) all.push_back(PersonAsDataverse(i));
    std::ofstream(input) << all.dump();
  }
  std::printf(
      "push: %d new person contacts; emulator latency %d ms, %d ms per operation, limits %lld requests and "
      "%lld ms per %d s, %d concurrent, x-ms-dop-hint %d; %d runs each; loader: %d creates per $batch%s "
      "(load before: %.2f)\n",
      records, s.latency_ms, s.exec_ms, s.requests, s.exec_limit_ms, s.window_s, s.concurrency, s.dop_hint, runs,
      o.batch_size, o.loader_change_sets != 0 ? " in one change set" : ", no change set", LoadAverage());
  std::fflush(stdout);

  std::vector<ToolRun> crmsync_runs, loader_runs;
  for (int run = 1; run <= runs; ++run) {
    if (run_crmsync) {
      testing_support::TempDir root;
      Rig rig(s, root.path());
      rig.InitCrmsync();
      if (const Status f = FillLocal(rig.dir() + "/crm.db", records, 0); !f.ok())
        Die("filling the local store: " + f.ToString());
      rig.ResetCounters();
      InFlightSampler sampler(rig.base_url());
      const Measured m = rig.Crmsync({"sync", "--json"}, scratch.path(), o.log_dir.empty() ? "" : "debug");
      sampler.Stop();
      CheckSync(m, "push");
      const json c = rig.Counters();
      ToolRun r{m.wall_s, rig.Count("contacts"), Get(c, "total"), Get(c["by_status"], "429")};
      crmsync_runs.push_back(r);
      std::printf(
          "  crmsync run %d: %.2f s wall (%.2f s user, %.2f s sys), %lld contacts in Dataverse, %lld requests, "
          "%lld 429s, load %.2f\n",
          run, m.wall_s, m.user_s, m.sys_s, static_cast<long long>(r.records), static_cast<long long>(r.requests),
          static_cast<long long>(r.throttled), LoadAverage());
      PrintCounters(c);
      PrintHistogram(sampler);
      if (!o.log_dir.empty()) {
        std::filesystem::create_directories(o.log_dir);
        const std::string file = o.log_dir + "/crmsync-push-run" + std::to_string(run) + ".log";
        std::ofstream(file) << m.err;
        std::printf("    debug log: %s\n", file.c_str());
      }
      std::fflush(stdout);
    }
    if (run_loader) {
      testing_support::TempDir root;
      Rig rig(s, root.path());
      rig.ResetCounters();
      InFlightSampler sampler(rig.base_url());
      const Measured m =
          RunMeasured({node, loader, "--url", rig.base_url(), "--tenant", kTenant, "--client-id", kClient,
                       "--client-secret", kSecret, "--input", input, "--batch-size", std::to_string(o.batch_size),
                       "--change-sets", std::to_string(o.loader_change_sets)},
                      scratch.path(), {}, "", 300);
      sampler.Stop();
      if (m.exit_code != 0) Die("the loader failed (" + std::to_string(m.exit_code) + "): " + m.out + m.err);
      const json c = rig.Counters();
      const json answer = json::parse(m.out, nullptr, false);
      ToolRun r{m.wall_s, rig.Count("contacts"), Get(c, "total"), Get(c["by_status"], "429")};
      loader_runs.push_back(r);
      std::printf(
          "  loader run %d: %.2f s wall (%.2f s user, %.2f s sys; %.2f s inside node), %lld contacts in "
          "Dataverse, %lld requests, %lld 429s, %lld batches in flight, load %.2f\n",
          run, m.wall_s, m.user_s, m.sys_s, answer.is_object() ? answer.value("seconds", 0.0) : 0.0,
          static_cast<long long>(r.records), static_cast<long long>(r.requests), static_cast<long long>(r.throttled),
          static_cast<long long>(answer.is_object() ? answer.value("parallel", 0) : 0), LoadAverage());
      PrintCounters(c);
      PrintHistogram(sampler);
      std::fflush(stdout);
    }
  }

  const auto median = [](const std::vector<ToolRun>& v, auto field) {
    std::vector<double> xs;
    for (const auto& r : v) xs.push_back(static_cast<double>(field(r)));
    return Median(xs);
  };
  const double crmsync_s = median(crmsync_runs, [](const ToolRun& r) { return r.seconds; });
  const double loader_s = median(loader_runs, [](const ToolRun& r) { return r.seconds; });
  std::printf("\nInitial push of %d contacts (median of %d runs; seconds = whole process, start to exit)\n", records,
              runs);
  std::printf("| tool | records | seconds | records/s | HTTP requests | 429s | ratio crmsync/loader |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  const auto row = [&](const char* name, const std::vector<ToolRun>& v, double secs, const std::string& ratio) {
    if (v.empty()) return;
    std::printf("| %s | %.0f | %.2f | %.0f | %.0f | %.0f | %s |\n", name,
                median(v, [](const ToolRun& r) { return r.records; }), secs,
                median(v, [](const ToolRun& r) { return r.records; }) / secs,
                median(v, [](const ToolRun& r) { return r.requests; }),
                median(v, [](const ToolRun& r) { return r.throttled; }), ratio.c_str());
  };
  // ratio > 1 means crmsync is faster (loader time / crmsync time = crmsync rate / loader rate).
  char ratio[32] = "";
  if (!crmsync_runs.empty() && !loader_runs.empty()) std::snprintf(ratio, sizeof ratio, "%.2f", loader_s / crmsync_s);
  row("crmsync sync", crmsync_runs, crmsync_s, ratio);
  row("dynamics-web-api loader", loader_runs, loader_s, "1.00");
  std::printf("(ratio = crmsync records/s over the loader's; target >= 1.0; load average now %.2f)\n", LoadAverage());
  std::printf("reproduce: %s\n", command.c_str());
  return 0;
}

// ---------------------------------------------------------------- idle

int Idle(const Options& o, const std::string& command) {
  const int records = o.records < 0 ? 20000 : o.records;
  const int runs = o.runs < 0 ? 3 : o.runs;
  EmulatorSettings s;  // no latency, limits out of the way
  testing_support::TempDir scratch;
  testing_support::TempDir root;
  Rig rig(s, root.path());
  rig.InitCrmsync();
  if (const Status f = FillLocal(rig.dir() + "/crm.db", records, o.accounts); !f.ok()) {
    Die("filling the local store: " + f.ToString());
  }
  std::printf("idle: %d person contacts%s, no latency (load before: %.2f)\n", records,
              o.accounts > 0 ? (" and " + std::to_string(o.accounts) + " company contacts").c_str() : "",
              LoadAverage());
  rig.ResetCounters();
  const Measured first = rig.Crmsync({"sync", "--json"}, scratch.path());
  CheckSync(first, "initial sync");
  std::printf("  initial sync: %.2f s wall (%.2f s user, %.2f s sys), %lld contacts and %lld accounts in Dataverse\n",
              first.wall_s, first.user_s, first.sys_s, static_cast<long long>(rig.Count("contacts")),
              static_cast<long long>(rig.Count("accounts")));
  PrintCounters(rig.Counters());
  struct Row {
    Measured m;
    json counters;
    json report;
  };
  std::vector<Row> rows;
  std::set<std::string> sets;
  std::int64_t writes_max = 0;
  for (int run = 1; run <= runs; ++run) {
    rig.ResetCounters();
    Row r{rig.Crmsync({"sync", "--json"}, scratch.path()), {}, {}};
    CheckSync(r.m, "idle sync");
    r.counters = rig.Counters();
    r.report = json::parse(r.m.out, nullptr, false);
    writes_max = std::max(writes_max, WriteRequests(r.counters));
    for (const auto& [set, n] : r.counters["by_entity_set"].items()) sets.insert(set);
    std::printf("  pass %d after the initial sync: %.2f s wall (%.2f s user, %.2f s sys), %lld writes, load %.2f\n",
                run, r.m.wall_s, r.m.user_s, r.m.sys_s, static_cast<long long>(WriteRequests(r.counters)),
                LoadAverage());
    PrintCounters(r.counters);
    if (r.report.is_object()) {
      std::printf("    read from Dataverse:");
      for (const auto& m : r.report["mappings"]) {
        std::printf(" %s %lld", m.value("mapping", "").c_str(), m.value("read_remote", 0LL));
      }
      std::printf("; from the local store:");
      for (const auto& m : r.report["mappings"]) {
        std::printf(" %s %lld", m.value("mapping", "").c_str(), m.value("read_local", 0LL));
      }
      std::printf("\n");
    }
    rows.push_back(std::move(r));
  }
  sets.erase("token");
  std::printf("\nPasses after an initial sync of %d records, nothing changed since (one row per pass, in order)\n",
              records + o.accounts);
  std::printf("| pass | write requests |");
  for (const auto& set : sets) std::printf(" GET %s |", set.c_str());
  std::printf(" token | wall s | CPU s |\n| --- | ---: |");
  for (std::size_t i = 0; i < sets.size(); ++i) std::printf(" ---: |");
  std::printf(" ---: | ---: | ---: |\n");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::printf("| %zu | %lld |", i + 1, static_cast<long long>(WriteRequests(r.counters)));
    for (const auto& set : sets) std::printf(" %lld |", static_cast<long long>(Get(r.counters["by_entity_set"], set)));
    std::printf(" %lld | %.2f | %.2f |\n", static_cast<long long>(Get(r.counters["by_entity_set"], "token")),
                r.m.wall_s, r.m.user_s + r.m.sys_s);
  }
  std::printf(
      "(write requests: POST/PATCH/PUT/DELETE less the token endpoint; with no write, every other request "
      "is a GET. Pass 1 also reads back, as changes, the records the initial sync created: its delta link "
      "predates them)\n");
  std::printf("reproduce: %s\n", command.c_str());
  return writes_max == 0 ? 0 : 1;
}

// ---------------------------------------------------------------- pull

int Pull(const Options& o, const std::string& command) {
  const int records = o.records < 0 ? 100000 : o.records;
  const int runs = o.runs < 0 ? 1 : o.runs;
  EmulatorSettings s;  // no latency, limits raised
  testing_support::TempDir scratch;
  std::vector<double> walls, rss, cpus;
  std::printf("pull: %d contacts seeded into the emulator, pulled into an empty local store (load before: %.2f)\n",
              records, LoadAverage());
  for (int run = 1; run <= runs; ++run) {
    testing_support::TempDir root;
    Rig rig(s, root.path());
    for (int done = 0; done < records; done += o.seed_chunk) {
      json chunk = json::array();
      for (int i = done; i < std::min(records, done + o.seed_chunk); ++i) chunk.push_back(PersonAsDataverse(i));
      rig.Admin("POST", "/_admin/seed", {{"entity_set", "contacts"}, {"records", chunk}});
    }
    rig.InitCrmsync();
    rig.ResetCounters();
    const Measured m = rig.Crmsync({"sync", "--json"}, scratch.path(), "", 1800);
    CheckSync(m, "pull");
    auto store = crm::Store::Open(rig.dir() + "/crm.db");
    if (!store.ok()) Die(store.status().ToString());
    std::int64_t local = 0;
    auto st = store->db().Prepare("SELECT count(*) FROM contact");
    if (!st.ok()) Die(st.status().ToString());
    if (auto row = st->Step(); row.ok() && *row) local = st->ColumnInt(0);
    const json c = rig.Counters();
    walls.push_back(m.wall_s);
    rss.push_back(static_cast<double>(m.max_rss_kb) / 1024.0);
    cpus.push_back(m.user_s + m.sys_s);
    std::printf(
        "  run %d: %.2f s wall (%.2f s user, %.2f s sys), peak RSS %.1f MB, %lld local contacts, %lld "
        "requests, load %.2f\n",
        run, m.wall_s, m.user_s, m.sys_s, static_cast<double>(m.max_rss_kb) / 1024.0, static_cast<long long>(local),
        static_cast<long long>(Get(c, "total")), LoadAverage());
    PrintCounters(c);
    std::fflush(stdout);
  }
  std::printf("\nInitial pull of %d contacts into an empty local store (median of %d runs)\n", records, runs);
  std::printf("| measure | value |\n| --- | ---: |\n");
  std::printf("| peak RSS of `crmsync sync`, MB | %.1f |\n", Median(rss));
  std::printf("| wall time, s | %.2f |\n", Median(walls));
  std::printf("| records/s | %.0f |\n", records / Median(walls));
  std::printf("| CPU time (user+sys), s | %.2f |\n", Median(cpus));
  std::printf("(target: peak RSS <= 100 MB)\n");
  std::printf("reproduce: %s\n", command.c_str());
  return Median(rss) <= 100 ? 0 : 1;
}

int Usage() {
  std::cerr << "usage: sync_bench push|idle|pull [options]  (see the header of tests/bench/sync_bench.cpp)\n";
  return 2;
}

}  // namespace
}  // namespace crmsync::bench

int main(int argc, char** argv) {
  using namespace crmsync::bench;
  if (argc < 2) return Usage();
  Options o;
  o.scenario = argv[1];
  for (int i = 2; i < argc; i += 2) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    const std::string v = argv[i + 1];
    const auto num = [&] { return std::atoll(v.c_str()); };
    if (a == "--records")
      o.records = static_cast<int>(num());
    else if (a == "--accounts")
      o.accounts = static_cast<int>(num());
    else if (a == "--runs")
      o.runs = static_cast<int>(num());
    else if (a == "--latency-ms")
      o.latency_ms = static_cast<int>(num());
    else if (a == "--exec-ms")
      o.exec_ms = static_cast<int>(num());
    else if (a == "--requests")
      o.requests = num();
    else if (a == "--window-s")
      o.window_s = static_cast<int>(num());
    else if (a == "--exec-limit-ms")
      o.exec_limit_ms = num();
    else if (a == "--concurrency")
      o.concurrency = static_cast<int>(num());
    else if (a == "--dop-hint")
      o.dop_hint = static_cast<int>(num());
    else if (a == "--batch-size")
      o.batch_size = static_cast<int>(num());
    else if (a == "--loader-change-sets")
      o.loader_change_sets = static_cast<int>(num());
    else if (a == "--seed-chunk")
      o.seed_chunk = static_cast<int>(num());
    else if (a == "--tool")
      o.tool = v;
    else if (a == "--log")
      o.log_dir = v;
    else
      return Usage();
  }
  const std::string command = CommandLine(argc, argv);
  if (o.scenario == "push") return Push(o, command);
  if (o.scenario == "idle") return Idle(o, command);
  if (o.scenario == "pull") return Pull(o, command);
  return Usage();
}
