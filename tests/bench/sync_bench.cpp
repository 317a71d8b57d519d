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
//   sync_bench suite [--records 100000] [--throttled-requests 300] [--throttled-exec-limit-ms 60000]
//                    [--request-limited 150] [the push options above]
//       One table of issue #13's benchmarks, crmsync beside the loader:
//       (a) the initial push of N contacts; (b) the initial pull of N
//       contacts into an empty local store (the loader reads them page by
//       page); (c) the pass after 1% of the local contacts changed (the
//       loader updates the same contacts in change sets); (d) (a) under the
//       --throttled-* limits, tight enough for 429s; (e) (a) with only the
//       request limit tightened to --request-limited (0: no (e)). Per row: records/s,
//       the ratio to the best the settings allow (tests/bench/best_rate.h),
//       HTTP requests per record, 429s, peak RSS and CPU s per 1,000
//       records of the child; then each target met or missed. Progress and
//       each run's requests go to stderr, the table to stdout.
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

#include "common/sqlite.h"
#include "crm/rows.h"
#include "crm/schema.h"
#include "crm/statement_cache.h"
#include "crm/store.h"
#include "tests/bench/bench_data.h"
#include "tests/bench/bench_process.h"
#include "tests/bench/best_rate.h"
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
  long long throttled_requests = 300;         // suite (d)
  long long throttled_exec_limit_ms = 60000;  // suite (d)
  long long request_limited = 150;            // suite (e); 0 leaves (e) out
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

void PrintCounters(const json& c, std::FILE* out = stdout) {
  std::fprintf(out, "    by method:");
  for (const auto& [k, v] : c["by_method"].items()) std::fprintf(out, " %s %lld", k.c_str(), v.get<long long>());
  std::fprintf(out, "\n    by entity set:");
  for (const auto& [k, v] : c["by_entity_set"].items()) std::fprintf(out, " %s %lld", k.c_str(), v.get<long long>());
  std::fprintf(out, "\n    by status:");
  for (const auto& [k, v] : c["by_status"].items()) std::fprintf(out, " %s %lld", k.c_str(), v.get<long long>());
  std::fprintf(out, "\n");
}

void PrintHistogram(const InFlightSampler& s, std::FILE* out = stdout) {
  std::fprintf(out, "    in execution at the emulator (%d samples every ~5 ms): mean %.2f, mean while busy %.2f;",
               s.samples(), s.Mean(), s.MeanBusy());
  for (auto [n, c] : s.histogram()) std::fprintf(out, " %d:%.0f%%", n, 100.0 * c / std::max(1, s.samples()));
  std::fprintf(out, "\n");
}

EmulatorSettings SettingsOf(const Options& o) {
  EmulatorSettings s;
  s.latency_ms = o.latency_ms;
  s.exec_ms = o.exec_ms;
  s.requests = o.requests;
  s.window_s = o.window_s;
  s.exec_limit_ms = o.exec_limit_ms;
  s.concurrency = o.concurrency;
  s.dop_hint = o.dop_hint;
  return s;
}

// node, and the loader's dependencies installed; dies otherwise.
std::string LoaderNode() {
  const std::string node = FindInPath("node");
  if (node.empty()) Die("node is not on PATH (Node 20 runs the loader)");
  const auto dir = std::filesystem::path(CRMSYNC_BENCH_LOADER).parent_path();
  if (!std::filesystem::exists(dir / "node_modules" / "dynamics-web-api")) {
    Die("the loader's dependencies are missing: run `npm install` in " + dir.string());
  }
  return node;
}

// One tool's run of one benchmark step.
struct ToolRun {
  double seconds = 0;          // whole process, start to exit
  std::int64_t records = 0;    // the records the step moved (written, updated or read)
  std::int64_t requests = 0;   // HTTP requests the emulator answered, the token endpoint's included
  std::int64_t throttled = 0;  // of those, 429s
  double cpu_s = 0;            // the child's user + sys time (wait4's rusage)
  double rss_mb = 0;           // the child's peak RSS (wait4's ru_maxrss)
  json counters;               // the emulator's counters after the run
  json report;                 // `crmsync sync --json`'s answer, or the loader's JSON line
};

ToolRun Finished(Rig& rig, const Measured& m) {
  ToolRun r;
  r.seconds = m.wall_s;
  r.cpu_s = m.user_s + m.sys_s;
  r.rss_mb = static_cast<double>(m.max_rss_kb) / 1024.0;
  r.counters = rig.Counters();
  r.requests = Get(r.counters, "total");
  r.throttled = Get(r.counters["by_status"], "429");
  r.report = json::parse(m.out, nullptr, false);
  return r;
}

// One `crmsync sync --json` against the rig, its requests counted from zero
// and the requests in execution sampled. `log_file` non-empty: the run logs
// at debug level to it.
ToolRun CrmsyncPass(Rig& rig, const std::string& scratch, const std::string& what, std::FILE* out,
                    const std::string& log_file = "") {
  rig.ResetCounters();
  InFlightSampler sampler(rig.base_url());
  const Measured m = rig.Crmsync({"sync", "--json"}, scratch, log_file.empty() ? "" : "debug", 1800);
  sampler.Stop();
  CheckSync(m, what);
  ToolRun r = Finished(rig, m);
  std::fprintf(out,
               "  crmsync %s: %.2f s wall (%.2f s user, %.2f s sys), peak RSS %.1f MB, %lld requests, %lld 429s, "
               "load %.2f\n",
               what.c_str(), m.wall_s, m.user_s, m.sys_s, r.rss_mb, static_cast<long long>(r.requests),
               static_cast<long long>(r.throttled), LoadAverage());
  PrintCounters(r.counters, out);
  PrintHistogram(sampler, out);
  if (!log_file.empty()) {
    std::filesystem::create_directories(std::filesystem::path(log_file).parent_path());
    std::ofstream(log_file) << m.err;
    std::fprintf(out, "    debug log: %s\n", log_file.c_str());
  }
  std::fflush(out);
  return r;
}

// One run of tests/bench/npm/loader.js against the rig with `args` after its
// connection options, its requests counted from zero.
ToolRun LoaderPass(Rig& rig, const std::vector<std::string>& args, const std::string& scratch, const std::string& what,
                   std::FILE* out) {
  const std::string node = LoaderNode();
  rig.ResetCounters();
  InFlightSampler sampler(rig.base_url());
  std::vector<std::string> argv = {node,    CRMSYNC_BENCH_LOADER, "--url", rig.base_url(),    "--tenant",
                                   kTenant, "--client-id",        kClient, "--client-secret", kSecret};
  argv.insert(argv.end(), args.begin(), args.end());
  const Measured m = RunMeasured(argv, scratch, {}, "", 900);
  sampler.Stop();
  if (m.exit_code != 0) Die("the loader failed (" + std::to_string(m.exit_code) + "): " + m.out + m.err);
  ToolRun r = Finished(rig, m);
  r.records = r.report.is_object() ? r.report.value("records", std::int64_t{0}) : 0;
  std::fprintf(out,
               "  loader %s: %.2f s wall (%.2f s user, %.2f s sys; %.2f s inside node), peak RSS %.1f MB, %lld "
               "records, %lld requests, %lld 429s, %lld in flight, load %.2f\n",
               what.c_str(), m.wall_s, m.user_s, m.sys_s, r.report.is_object() ? r.report.value("seconds", 0.0) : 0.0,
               r.rss_mb, static_cast<long long>(r.records), static_cast<long long>(r.requests),
               static_cast<long long>(r.throttled),
               static_cast<long long>(r.report.is_object() ? r.report.value("parallel", 0) : 0), LoadAverage());
  PrintCounters(r.counters, out);
  PrintHistogram(sampler, out);
  std::fflush(out);
  return r;
}

// The records one `crmsync sync --json` wrote, either side: created, updated
// and deleted over its mappings.
std::int64_t RecordsWritten(const json& report) {
  std::int64_t n = 0;
  if (!report.is_object()) return 0;
  for (const auto& m : report["mappings"]) {
    const json& c = m["counts"];
    n += c.value("inserted", std::int64_t{0}) + c.value("modified", std::int64_t{0}) +
         c.value("deleted", std::int64_t{0});
  }
  return n;
}

// ---------------------------------------------------------------- push

int Push(const Options& o, const std::string& command) {
  const int records = o.records < 0 ? 5000 : o.records;
  const int runs = o.runs < 0 ? 3 : o.runs;
  const EmulatorSettings s = SettingsOf(o);
  const bool run_crmsync = o.tool == "both" || o.tool == "crmsync";
  const bool run_loader = o.tool == "both" || o.tool == "loader";
  if (run_loader) LoaderNode();

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
      ToolRun r = CrmsyncPass(rig, scratch.path(), "run " + std::to_string(run), stdout,
                              o.log_dir.empty() ? "" : o.log_dir + "/crmsync-push-run" + std::to_string(run) + ".log");
      r.records = rig.Count("contacts");
      crmsync_runs.push_back(r);
    }
    if (run_loader) {
      testing_support::TempDir root;
      Rig rig(s, root.path());
      ToolRun r = LoaderPass(rig,
                             {"--input", input, "--batch-size", std::to_string(o.batch_size), "--change-sets",
                              std::to_string(o.loader_change_sets)},
                             scratch.path(), "run " + std::to_string(run), stdout);
      r.records = rig.Count("contacts");
      loader_runs.push_back(r);
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

// ---------------------------------------------------------------- suite

// One row of the suite's table.
struct SuiteRow {
  std::string step;
  std::string tool;
  ToolRun run;
  double best = 0;  // records/s the emulator's settings allow for the step
};

double PerRecord(double x, std::int64_t records) {
  return records > 0 ? x / static_cast<double>(records) : 0;
}

// The best write rate the settings allow: the tightest of the request
// window, the execution-time window and x-ms-dop-hint requests in flight,
// with $batch requests of Dataverse's largest size (1,000 operations).
double BestWriteRate(const EmulatorSettings& s) {
  return WriteRateBounds(s.requests, s.window_s, s.exec_limit_ms, s.exec_ms, s.latency_ms,
                         std::min(s.dop_hint, s.concurrency), static_cast<int>(1000))
      .best();
}

// The best read rate: pages of `page_size` one after the other (each page's
// next link says where the next one starts), a page being one operation.
double BestReadRate(const EmulatorSettings& s, int page_size) {
  return WriteRateBounds(s.requests, s.window_s, s.exec_limit_ms, s.exec_ms, s.latency_ms, 1, 1).best() * page_size;
}

int Suite(const Options& o, const std::string& command) {
  const int records = o.records < 0 ? 100000 : o.records;
  const int changed = std::max(1, records / 100);
  const int page_size = 5000;  // crmsync's default dataverse.page_size
  const EmulatorSettings s = SettingsOf(o);
  EmulatorSettings tight = s;
  tight.requests = o.throttled_requests;
  tight.exec_limit_ms = o.throttled_exec_limit_ms;
  LoaderNode();
  const auto started = std::chrono::steady_clock::now();
  const auto progress = [&](const std::string& text) {
    std::fprintf(stderr, "[%4.0f s] %s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), text.c_str());
    std::fflush(stderr);
  };
  const double load_before = LoadAverage();
  const std::string loader_batch = std::to_string(o.batch_size);
  testing_support::TempDir scratch;
  const std::string input = scratch.path() + "/contacts.json";
  {
    json all = json::array();
    for (int i = 0; i < records; ++i) all.push_back(PersonAsDataverse(i));
    std::ofstream(input) << all.dump();
  }
  // The local rows (c) changes: rowid 100, 200, ... (FillLocal inserts person i as rowid i + 1).
  const auto is_changed = [](int i) { return (i + 1) % 100 == 0; };
  const auto changed_title = [](int i) { return "Changed " + std::to_string(i + 1); };
  std::vector<SuiteRow> rows;
  std::int64_t settle_writes = -1, settle_requests = 0, changed_written = 0, changed_write_requests = 0;

  // (a) and (c), crmsync: the initial push, the pass after it (which reads
  // the push's own creates back as echoes and writes nothing), then 1% of the
  // local contacts changed and one more pass.
  {
    testing_support::TempDir root;
    Rig rig(s, root.path());
    rig.InitCrmsync();
    if (const Status f = FillLocal(rig.dir() + "/crm.db", records, 0); !f.ok())
      Die("filling the local store: " + f.ToString());
    progress("(a) crmsync: initial push of " + std::to_string(records) + " contacts");
    ToolRun push = CrmsyncPass(rig, scratch.path(), "(a) initial push", stderr);
    push.records = rig.Count("contacts");
    rows.push_back({"(a) initial push", "crmsync", push, BestWriteRate(s)});
    progress("crmsync: the pass after the push (echoes of its own creates)");
    const ToolRun settle = CrmsyncPass(rig, scratch.path(), "pass after the push", stderr);
    settle_writes = WriteRequests(settle.counters);
    settle_requests = settle.requests;
    {
      auto db = SqliteDb::Open(rig.dir() + "/crm.db", {.create = false});
      if (!db.ok()) Die(db.status().ToString());
      if (Status u = db->Exec("UPDATE contact SET job_title = 'Changed ' || rowid WHERE rowid % 100 = 0"); !u.ok())
        Die("changing 1% of the local contacts: " + u.ToString());
    }
    progress("(c) crmsync: incremental pass, " + std::to_string(changed) + " contacts changed");
    ToolRun inc = CrmsyncPass(rig, scratch.path(), "(c) incremental pass", stderr);
    changed_written = RecordsWritten(inc.report);
    changed_write_requests = WriteRequests(inc.counters);
    inc.records = changed;
    rows.push_back({"(c) incremental, 1% changed", "crmsync", inc, BestWriteRate(s)});
  }
  // (a), the loader: the same contacts created.
  {
    testing_support::TempDir root;
    Rig rig(s, root.path());
    progress("(a) loader: the same " + std::to_string(records) + " creates");
    ToolRun r = LoaderPass(rig, {"--input", input, "--batch-size", loader_batch, "--change-sets", "1"}, scratch.path(),
                           "(a) initial push", stderr);
    r.records = rig.Count("contacts");
    rows.push_back({"(a) initial push", "loader", r, BestWriteRate(s)});
  }
  // (c), the loader: the same changed contacts (seeded into a fresh
  // emulator, as the loader keeps no state) updated in change sets.
  {
    testing_support::TempDir root;
    Rig rig(s, root.path());
    json seed = json::array();
    std::vector<int> which;
    for (int i = 0; i < records; ++i) {
      if (is_changed(i)) {
        seed.push_back(PersonAsDataverse(i));
        which.push_back(i);
      }
    }
    const json ids = rig.Admin("POST", "/_admin/seed", {{"entity_set", "contacts"}, {"records", seed}})["ids"];
    json updates = json::array();
    for (std::size_t k = 0; k < which.size(); ++k) {
      updates.push_back({{"id", ids[k]}, {"data", {{"jobtitle", changed_title(which[k])}}}});
    }
    const std::string update_input = scratch.path() + "/updates.json";
    std::ofstream(update_input) << updates.dump();
    progress("(c) loader: the same " + std::to_string(which.size()) + " updates");
    ToolRun r = LoaderPass(
        rig, {"--mode", "update", "--input", update_input, "--batch-size", loader_batch, "--change-sets", "1"},
        scratch.path(), "(c) updates", stderr);
    rows.push_back({"(c) incremental, 1% changed", "loader", r, BestWriteRate(s)});
  }
  // (b): the contacts seeded into the emulator, pulled by crmsync into an
  // empty local store, then read by the loader page by page.
  {
    testing_support::TempDir root;
    Rig rig(s, root.path());
    progress("(b) seeding " + std::to_string(records) + " contacts into the emulator");
    for (int done = 0; done < records; done += o.seed_chunk) {
      json chunk = json::array();
      for (int i = done; i < std::min(records, done + o.seed_chunk); ++i) chunk.push_back(PersonAsDataverse(i));
      rig.Admin("POST", "/_admin/seed", {{"entity_set", "contacts"}, {"records", chunk}});
    }
    rig.InitCrmsync();
    progress("(b) crmsync: initial pull");
    ToolRun pull = CrmsyncPass(rig, scratch.path(), "(b) initial pull", stderr);
    {
      auto store = crm::Store::Open(rig.dir() + "/crm.db");
      if (!store.ok()) Die(store.status().ToString());
      auto st = store->db().Prepare("SELECT count(*) FROM contact");
      if (!st.ok()) Die(st.status().ToString());
      if (auto row = st->Step(); row.ok() && *row) pull.records = st->ColumnInt(0);
    }
    rows.push_back({"(b) initial pull", "crmsync", pull, BestReadRate(s, page_size)});
    progress("(b) loader: reading the same contacts, " + std::to_string(page_size) + " a page");
    ToolRun r = LoaderPass(rig, {"--mode", "read", "--page-size", std::to_string(page_size)}, scratch.path(),
                           "(b) read", stderr);
    rows.push_back({"(b) initial pull", "loader (reads only)", r, BestReadRate(s, page_size)});
  }
  // (d): (a) again under limits tight enough for 429s; (e) under a tight
  // request limit alone (the execution-time limit as in (a)).
  const auto push_pair = [&](const std::string& step, const EmulatorSettings& limits, const std::string& log_name) {
    {
      testing_support::TempDir root;
      Rig rig(limits, root.path());
      rig.InitCrmsync();
      if (const Status f = FillLocal(rig.dir() + "/crm.db", records, 0); !f.ok())
        Die("filling the local store: " + f.ToString());
      progress(step + ", crmsync");
      ToolRun r = CrmsyncPass(rig, scratch.path(), step, stderr, o.log_dir.empty() ? "" : o.log_dir + "/" + log_name);
      r.records = rig.Count("contacts");
      rows.push_back({step, "crmsync", r, BestWriteRate(limits)});
    }
    testing_support::TempDir root;
    Rig rig(limits, root.path());
    progress(step + ", loader");
    ToolRun r = LoaderPass(rig, {"--input", input, "--batch-size", loader_batch, "--change-sets", "1"}, scratch.path(),
                           step, stderr);
    r.records = rig.Count("contacts");
    rows.push_back({step, "loader", r, BestWriteRate(limits)});
  };
  push_pair("(d) initial push, tight limits", tight, "crmsync-suite-d.log");
  EmulatorSettings request_limited = s;
  request_limited.requests = o.request_limited;
  if (o.request_limited > 0) push_pair("(e) initial push, tight request limit", request_limited, "crmsync-suite-e.log");
  progress("done");
  // Rows by step, crmsync before the loader (they ran in the order that reuses emulators).
  std::stable_sort(rows.begin(), rows.end(), [](const SuiteRow& x, const SuiteRow& y) { return x.step < y.step; });

  // The table.
  const auto rate = [](const ToolRun& r) { return r.seconds > 0 ? static_cast<double>(r.records) / r.seconds : 0; };
  const auto loader_of = [&](const std::string& step) -> const SuiteRow* {
    for (const auto& r : rows) {
      if (r.step == step && r.tool != "crmsync") return &r;
    }
    return nullptr;
  };
  const auto crmsync_of = [&](const std::string& step) -> const SuiteRow* {
    for (const auto& r : rows) {
      if (r.step == step && r.tool == "crmsync") return &r;
    }
    return nullptr;
  };
  std::printf(
      "suite: %d contacts; emulator latency %d ms, %d ms execution per operation, x-ms-dop-hint %d, %d concurrent; "
      "limits per %d s: %lld requests and %lld ms of execution ((d): %lld requests and %lld ms; (e): %lld requests); "
      "loader: change sets of %d, x-ms-dop-hint batches in flight, Retry-After on 429. Load average before %.2f, "
      "after %.2f\n\n",
      records, s.latency_ms, s.exec_ms, s.dop_hint, s.concurrency, s.window_s, s.requests, s.exec_limit_ms,
      tight.requests, tight.exec_limit_ms, o.request_limited, o.batch_size, load_before, LoadAverage());
  std::printf(
      "| step | tool | records | seconds | records/s | best allowed, records/s | ratio to best | HTTP requests per "
      "record | 429s | peak RSS, MB | CPU s per 1,000 records | crmsync / loader |\n");
  std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const auto& r : rows) {
    std::string ratio = "";
    if (r.tool == "crmsync") {
      const SuiteRow* l = loader_of(r.step);
      char text[32];
      std::snprintf(text, sizeof text, "%.2f", l != nullptr && rate(l->run) > 0 ? rate(r.run) / rate(l->run) : 0.0);
      ratio = text;
    }
    std::printf("| %s | %s | %lld | %.2f | %.0f | %.0f | %.2f | %.4f | %lld | %.1f | %.3f | %s |\n", r.step.c_str(),
                r.tool.c_str(), static_cast<long long>(r.run.records), r.run.seconds, rate(r.run), r.best,
                r.best > 0 ? rate(r.run) / r.best : 0, PerRecord(static_cast<double>(r.run.requests), r.run.records),
                static_cast<long long>(r.run.throttled), r.run.rss_mb, PerRecord(r.run.cpu_s, r.run.records) * 1000,
                ratio.c_str());
  }
  std::printf(
      "\nseconds: the whole process, start to exit (crmsync: `crmsync sync`, token and every mapping's reads "
      "included). Best allowed: writes, the tightest of the request window at 1,000 operations per $batch, the "
      "execution-time window and x-ms-dop-hint requests in flight; reads, pages of %d one after the other. HTTP "
      "requests: all the emulator answered, token and 429s included. CPU: the child's user + sys (wait4). (b)'s "
      "loader only reads (it writes no local store), on the emulator crmsync pulled from. (c)'s loader updates the "
      "same %d contacts, seeded into a fresh emulator. The pass between (a) and (c) (it reads the push's own "
      "creates back as echoes) sent %lld requests, %lld of them writes.\n",
      page_size, changed, static_cast<long long>(settle_requests), static_cast<long long>(settle_writes));

  // The targets.
  std::printf("\nTargets\n");
  int missed = 0;
  const auto target = [&](bool met, const std::string& text) {
    std::printf("- %s: %s\n", met ? "met" : "MISSED", text.c_str());
    missed += met ? 0 : 1;
  };
  char text[256];
  const SuiteRow* a = crmsync_of("(a) initial push");
  const SuiteRow* al = loader_of("(a) initial push");
  const SuiteRow* b = crmsync_of("(b) initial pull");
  const SuiteRow* c = crmsync_of("(c) incremental, 1% changed");
  const SuiteRow* d = crmsync_of("(d) initial push, tight limits");
  const SuiteRow* dl = loader_of("(d) initial push, tight limits");
  const SuiteRow* e = crmsync_of("(e) initial push, tight request limit");
  for (const SuiteRow* r : {a, b, d, e}) {
    if (r == nullptr) continue;
    std::snprintf(text, sizeof text, "%s at >= 90%% of the best the settings allow: %.0f of %.0f records/s (%.2f)",
                  r->step.c_str(), rate(r->run), r->best, rate(r->run) / r->best);
    target(rate(r->run) >= 0.9 * r->best, text);
  }
  std::snprintf(text, sizeof text, "(a) >= 1.0x the loader with no 429s: %.2fx, %lld and %lld 429s",
                rate(a->run) / rate(al->run), static_cast<long long>(a->run.throttled),
                static_cast<long long>(al->run.throttled));
  target(rate(a->run) >= rate(al->run) && a->run.throttled == 0 && al->run.throttled == 0, text);
  std::snprintf(text, sizeof text, "(d) >= 1.5x the loader when 429s occur: %.2fx, %lld and %lld 429s",
                rate(d->run) / rate(dl->run), static_cast<long long>(d->run.throttled),
                static_cast<long long>(dl->run.throttled));
  target(rate(d->run) >= 1.5 * rate(dl->run) && (d->run.throttled > 0 || dl->run.throttled > 0), text);
  const SuiteRow* el = loader_of("(e) initial push, tight request limit");
  if (e != nullptr && el != nullptr) {
    std::snprintf(text, sizeof text, "(e) >= 1.5x the loader when 429s occur: %.2fx, %lld and %lld 429s",
                  rate(e->run) / rate(el->run), static_cast<long long>(e->run.throttled),
                  static_cast<long long>(el->run.throttled));
    target(rate(e->run) >= 1.5 * rate(el->run) && (e->run.throttled > 0 || el->run.throttled > 0), text);
  }
  std::snprintf(text, sizeof text,
                "zero requests for unchanged records: the pass after the push wrote %lld requests; (c) wrote %lld "
                "records (%d changed) in %lld write requests",
                static_cast<long long>(settle_writes), static_cast<long long>(changed_written), changed,
                static_cast<long long>(changed_write_requests));
  target(settle_writes == 0 && changed_written == changed, text);
  double rss = 0, cpu_us = 0;
  for (const SuiteRow* r : {a, b, c, d, e}) {
    if (r != nullptr) rss = std::max(rss, r->run.rss_mb);
  }
  for (const SuiteRow* r : {a, b, d}) cpu_us = std::max(cpu_us, PerRecord(r->run.cpu_s, r->run.records) * 1e6);
  std::snprintf(text, sizeof text, "peak RSS under 100 MB at %d records: at most %.1f MB", records, rss);
  target(rss < 100, text);
  std::snprintf(text, sizeof text, "under 20 us of crmsync CPU per record ((a), (b), (d)): at most %.1f us", cpu_us);
  target(cpu_us < 20, text);
  std::printf("reproduce: %s\n", command.c_str());
  return missed == 0 ? 0 : 1;
}

int Usage() {
  std::cerr << "usage: sync_bench push|idle|pull|suite [options]  (see the header of tests/bench/sync_bench.cpp)\n";
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
    else if (a == "--throttled-requests")
      o.throttled_requests = num();
    else if (a == "--throttled-exec-limit-ms")
      o.throttled_exec_limit_ms = num();
    else if (a == "--request-limited")
      o.request_limited = num();
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
  if (o.scenario == "suite") return Suite(o, command);
  return Usage();
}
