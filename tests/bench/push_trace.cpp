// push_trace: where the time of crmsync's initial push goes. A diagnostic
// beside `sync_bench push`, not a test.
//
//   push_trace [--records 5000] [--latency-ms 20] [--exec-ms 2] [--requests 600] [--window-s 30]
//              [--exec-limit-ms 120000] [--concurrency 52] [--dop-hint 4]
//              [--max-parallelism 8] [--initial-parallelism 2] [--initial-batch 50] [--max-batch 200]
//              [--engine-page 1000] [--timeline-ms 250]
//
// It runs, in this process, the parts `crmsync sync` wires (daemon/
// dataverse_stack.cpp, daemon/sync_stack.cpp) with the same settings by
// default: the cpprest HttpClient, token provider, RequestBudget, Transport
// and DataverseConnector; the local connector, SQLite state store, default
// mappings and sync::Engine, against the dataverse-emulator binary and a
// store set up by `crmsync init` with N new person contacts. Two recorders
// sit in between: one around the HttpClient (every request's start, end,
// method, path and number of operations in a $batch) and one around the
// Dataverse connector (every Write / ReadChanges / Lookup call of the
// engine). It prints the $batch sizes in order, the requests in flight over
// time, the time no request was in flight, and the engine's Write calls.
// The budget flags change what the daemon hard-codes, to show what a change
// there would buy.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "connectors/dataverse/dataverse_connector.h"
#include "connectors/dataverse/request_budget.h"
#include "connectors/dataverse/token_provider.h"
#include "connectors/dataverse/transport.h"
#include "connectors/local/local_connector.h"
#include "http/cpprest_client.h"
#include "mapping/mapping_loader.h"
#include "state/sqlite_state_store.h"
#include "sync/engine.h"
#include "tests/bench/bench_data.h"
#include "tests/bench/bench_process.h"
#include "tests/emulator/emulator_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace crmsync::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kClient = "11111111-2222-3333-4444-555555555555";
constexpr const char* kTenant = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
constexpr const char* kSecret = "bench-secret";

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "push_trace: " << message << "\n";
  std::exit(1);
}

// One HTTP request as the client saw it.
struct RequestRecord {
  double start_s = 0;
  double end_s = 0;
  std::string method;
  std::string what;  // "$batch", "token", or the entity set / path
  int operations = 0;
  int status = 0;
};

class RecordingHttpClient final : public http::HttpClient {
 public:
  RecordingHttpClient(http::HttpClient& inner, Clock::time_point t0) : inner_(inner), t0_(t0) {}
  Result<http::HttpResponse> Send(const http::HttpRequest& request, Deadline deadline) override {
    RequestRecord r;
    r.start_s = Since();
    r.method = request.method;
    r.what = What(request.url);
    if (r.what == "$batch") {
      // Every operation of a $batch carries its own request line after "Content-Transfer-Encoding: binary".
      for (std::size_t at = request.body.find("Content-Transfer-Encoding: binary"); at != std::string::npos;
           at = request.body.find("Content-Transfer-Encoding: binary", at + 1)) {
        ++r.operations;
      }
    }
    auto response = inner_.Send(request, deadline);
    r.end_s = Since();
    r.status = response.ok() ? response->status : -1;
    std::lock_guard lock(mu_);
    records_.push_back(r);
    return response;
  }
  std::vector<RequestRecord> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }

 private:
  double Since() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  static std::string What(const std::string& url) {
    if (url.find("/oauth2/") != std::string::npos) return "token";
    const auto api = url.find("/api/data/v9.2/");
    if (api == std::string::npos) return url;
    std::string rest = url.substr(api + 15);
    const auto end = rest.find_first_of("?(");
    return end == std::string::npos ? rest : rest.substr(0, end);
  }
  http::HttpClient& inner_;
  Clock::time_point t0_;
  mutable std::mutex mu_;
  std::vector<RequestRecord> records_;
};

// One call of the engine into the Dataverse connector.
struct CallRecord {
  double start_s = 0;
  double end_s = 0;
  std::string call;
  std::string entity;
  std::size_t items = 0;  // ops written, or changes returned
};

class RecordingConnector final : public connectors::Connector {
 public:
  RecordingConnector(connectors::Connector& inner, Clock::time_point t0) : inner_(inner), t0_(t0) {}
  Result<connectors::ChangeBatch> ReadChanges(const connectors::ReadRequest& request, Deadline deadline) override {
    const double start = Since();
    auto r = inner_.ReadChanges(request, deadline);
    Add({start, Since(), "ReadChanges", request.entity, r.ok() ? r->changes.size() : 0});
    return r;
  }
  Result<std::optional<connectors::Change>> Fetch(const std::string& entity, const std::string& key_attribute,
                                                  const std::string& key, const std::vector<std::string>& columns,
                                                  Deadline deadline) override {
    const double start = Since();
    auto r = inner_.Fetch(entity, key_attribute, key, columns, deadline);
    Add({start, Since(), "Fetch", entity, 1});
    return r;
  }
  Result<connectors::ChangeBatch> Lookup(const connectors::LookupRequest& request, Deadline deadline) override {
    const double start = Since();
    auto r = inner_.Lookup(request, deadline);
    Add({start, Since(), "Lookup", request.entity, r.ok() ? r->changes.size() : 0});
    return r;
  }
  Result<std::vector<connectors::WriteResult>> Write(const std::string& entity,
                                                     std::span<const connectors::WriteOp> ops,
                                                     Deadline deadline) override {
    const double start = Since();
    auto r = inner_.Write(entity, ops, deadline);
    Add({start, Since(), "Write", entity, ops.size()});
    return r;
  }
  std::vector<CallRecord> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }

 private:
  double Since() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  void Add(CallRecord c) {
    std::lock_guard lock(mu_);
    records_.push_back(std::move(c));
  }
  connectors::Connector& inner_;
  Clock::time_point t0_;
  mutable std::mutex mu_;
  std::vector<CallRecord> records_;
};

struct Options {
  int records = 5000, latency_ms = 20, exec_ms = 2, window_s = 30, concurrency = 52, dop_hint = 4;
  long long requests = 600, exec_limit_ms = 120000;
  int max_parallelism = 8, initial_parallelism = 2, initial_batch = 50, max_batch = 200, engine_page = 1000;
  int timeline_ms = 250;
};

int Main(int argc, char** argv) {
  http::InitializeCpprestThreadPool(4);  // as daemon/main.cpp
  spdlog::set_level(spdlog::level::warn);
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const long long v = std::atoll(argv[i + 1]);
    const std::map<std::string, int*> ints = {{"--records", &o.records},
                                              {"--latency-ms", &o.latency_ms},
                                              {"--exec-ms", &o.exec_ms},
                                              {"--window-s", &o.window_s},
                                              {"--concurrency", &o.concurrency},
                                              {"--dop-hint", &o.dop_hint},
                                              {"--max-parallelism", &o.max_parallelism},
                                              {"--initial-parallelism", &o.initial_parallelism},
                                              {"--initial-batch", &o.initial_batch},
                                              {"--max-batch", &o.max_batch},
                                              {"--engine-page", &o.engine_page},
                                              {"--timeline-ms", &o.timeline_ms}};
    if (auto it = ints.find(a); it != ints.end()) {
      *it->second = static_cast<int>(v);
    } else if (a == "--requests") {
      o.requests = v;
    } else if (a == "--exec-limit-ms") {
      o.exec_limit_ms = v;
    } else {
      std::cerr << "unknown option " << a << " (see the header of tests/bench/push_trace.cpp)\n";
      return 2;
    }
  }

  std::string error;
  auto emulator = emulator::testing::EmulatorProcess::Start({"--port",
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
                                                             std::to_string(o.latency_ms),
                                                             "--exec-ms",
                                                             std::to_string(o.exec_ms),
                                                             "--limit-requests",
                                                             std::to_string(o.requests),
                                                             "--limit-window-s",
                                                             std::to_string(o.window_s),
                                                             "--limit-exec-ms",
                                                             std::to_string(o.exec_limit_ms),
                                                             "--limit-exec-window-s",
                                                             std::to_string(o.window_s),
                                                             "--limit-concurrency",
                                                             std::to_string(o.concurrency),
                                                             "--dop-hint",
                                                             std::to_string(o.dop_hint)},
                                                            &error);
  if (!emulator) Die("cannot start the emulator: " + error);
  testing_support::TempDir root;
  const std::string dir = root.path() + "/crmsync";
  auto init = testing_support::RunProcess({CRMSYNC_BINARY, "init", "--dir", dir, "--url", emulator->base_url(),
                                           "--tenant-id", kTenant, "--client-id", kClient, "--client-secret-stdin"},
                                          std::string(kSecret) + "\n");
  if (init.exit_code != 0) Die("crmsync init failed: " + init.err);
  if (const Status s = FillLocal(dir + "/crm.db", o.records, 0); !s.ok()) Die(s.ToString());

  {
    SystemClock clock;
    const auto t0 = Clock::now();
    auto cpprest = http::MakeCpprestHttpClient({});
    RecordingHttpClient http(*cpprest, t0);
    dataverse::OAuthCredentials credentials;
    credentials.token_url = emulator->base_url() + "/" + kTenant + "/oauth2/v2.0/token";
    credentials.client_id = kClient;
    credentials.scope = emulator->base_url() + "/.default";
    credentials.client_secret = kSecret;
    credentials.algorithm = "PS256";
    dataverse::OAuthTokenProvider tokens(http, clock, credentials);
    dataverse::RequestBudget budget({.max_parallelism = o.max_parallelism,
                                     .initial_parallelism = std::min(o.initial_parallelism, o.max_parallelism),
                                     .initial_batch_size = o.initial_batch,
                                     .max_batch_size = o.max_batch},
                                    clock);
    dataverse::Transport transport(http, tokens, budget, clock, BackoffPolicy{}, {}, std::chrono::seconds(120));
    dataverse::DataverseConnectorOptions connector_options;
    connector_options.api = {emulator->base_url(), "v9.2"};
    connector_options.page_size = 5000;
    dataverse::DataverseConnector dataverse_connector(transport, connector_options);
    RecordingConnector remote(dataverse_connector, t0);

    auto mappings = mapping::LoadMappingsForRun(dir + "/mappings.d", dir + "/crm.db");
    if (!mappings.ok()) Die(mappings.diagnostics.front().ToString());
    auto store = state::SqliteStateStore::Open(dir + "/state.db", clock, false);
    if (!store.ok()) Die(store.status().ToString());
    auto local = local::LocalConnector::Open(dir + "/crm.db");
    if (!local.ok()) Die(local.status().ToString());
    sync::EngineOptions engine_options;
    engine_options.page_size = o.engine_page;
    sync::Engine engine(mappings.set, **store, **local, **local, remote, clock, engine_options);
    const auto run = engine.Run({});
    const double total = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!run.ok()) Die(run.status().ToString());
    std::int64_t inserted = 0;
    for (const auto& m : run->mappings) inserted += m.counts.inserted;

    const auto requests = http.records();
    const auto calls = remote.records();
    const auto stats = budget.stats();
    std::printf(
        "push_trace: %d contacts, emulator latency %d ms, %d ms per operation, x-ms-dop-hint %d; budget: "
        "parallelism %d..%d (cap %d), batch %d..%d; engine page %d (load %.2f)\n",
        o.records, o.latency_ms, o.exec_ms, o.dop_hint, o.initial_parallelism, stats.parallelism_cap, o.max_parallelism,
        o.initial_batch, o.max_batch, o.engine_page, LoadAverage());
    std::printf("engine pass: %.2f s, %lld inserted, %zu HTTP requests, %lld 429s\n", total,
                static_cast<long long>(inserted), requests.size(), static_cast<long long>(stats.throttled));

    // $batch sizes in order, run-length encoded.
    std::printf("$batch operations, in order of sending:");
    std::vector<RequestRecord> sorted = requests;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.start_s < b.start_s; });
    int prev = -1, count = 0;
    const auto flush = [&] {
      if (count > 0) std::printf(" %dx%d", count, prev);
    };
    for (const auto& r : sorted) {
      if (r.what != "$batch") continue;
      if (r.operations != prev) {
        flush();
        prev = r.operations;
        count = 0;
      }
      ++count;
    }
    flush();
    std::printf("\n");

    // Requests in flight (client side, latency included) over time.
    const double first = sorted.empty() ? 0 : sorted.front().start_s;
    const double step = o.timeline_ms / 1000.0;
    std::printf("requests in flight, mean per %d ms from the first request (%.2f s):\n ", o.timeline_ms, first);
    std::map<int, double> busy_time;  // n in flight -> seconds
    {
      std::vector<std::pair<double, int>> events;
      for (const auto& r : requests) {
        events.emplace_back(r.start_s, +1);
        events.emplace_back(r.end_s, -1);
      }
      std::sort(events.begin(), events.end());
      int in_flight = 0;
      double t = first;
      double bucket_start = first, area = 0;
      int col = 0;
      const auto advance = [&](double to) {
        while (to > bucket_start + step) {
          area += in_flight * (bucket_start + step - t);
          busy_time[in_flight] += bucket_start + step - t;
          t = bucket_start + step;
          std::printf(" %.1f", area / step);
          if (++col % 20 == 0) std::printf("\n ");
          bucket_start += step;
          area = 0;
        }
        area += in_flight * (to - t);
        busy_time[in_flight] += to - t;
        t = to;
      };
      for (const auto& [when, delta] : events) {
        advance(when);
        in_flight += delta;
      }
      std::printf(" %.1f\n", area / std::max(1e-9, t - bucket_start));
    }
    double span = 0;
    for (auto [n, s] : busy_time) span += s;
    std::printf("share of the time with n requests in flight:");
    for (auto [n, s] : busy_time) std::printf(" %d:%.0f%%", n, 100 * s / std::max(1e-9, span));
    std::printf("  (%.2f s from first request to last answer)\n", span);

    // The engine's calls into the Dataverse connector.
    double write_s = 0, read_s = 0, lookup_s = 0;
    for (const auto& c : calls) {
      (c.call == "Write" ? write_s : c.call == "Lookup" ? lookup_s : read_s) += c.end_s - c.start_s;
    }
    std::printf(
        "engine -> Dataverse connector: %.2f s in Write, %.2f s in ReadChanges/Fetch, %.2f s in Lookup; "
        "%.2f s of the pass outside them (local reads, mapping, merge, state commits)\n",
        write_s, read_s, lookup_s, total - write_s - read_s - lookup_s);
    std::printf("Write calls (start s, duration s, ops):");
    for (const auto& c : calls) {
      if (c.call == "Write") std::printf(" [%.2f %.2f %zu]", c.start_s, c.end_s - c.start_s, c.items);
    }
    std::printf("\nreproduce: %s\n", CommandLine(argc, argv).c_str());
  }
  emulator->Terminate();
  return 0;
}

}  // namespace
}  // namespace crmsync::bench

int main(int argc, char** argv) {
  return crmsync::bench::Main(argc, argv);
}
