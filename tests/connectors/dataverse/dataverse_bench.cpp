// Benchmark (not a test): N creates through the Dataverse connector against
// the emulator with its latency, execution time and service protection
// limits switched on. Prints records/s, HTTP requests per record, 429s, and
// the ratio to the best throughput the emulator's settings allow.
//
//   dataverse_bench [--records 20000] [--latency-ms 20] [--exec-ms 2] [--requests 600]
//                   [--window-s 30] [--exec-limit-ms 120000] [--concurrency 52] [--dop-hint 4]
//                   [--max-batch 200] [--chunk N (default: all in one Write)]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "connectors/dataverse/dataverse_connector.h"
#include "http/cpprest_client.h"
#include "tests/bench/best_rate.h"
#include "tests/emulator/emulator.h"
#include "tests/support/real_clock.h"

using namespace crmsync;

int main(int argc, char** argv) {
  http::InitializeCpprestThreadPool(4);
  int records = 20000, latency_ms = 20, exec_ms = 2, requests = 600, window_s = 30, concurrency = 52, dop = 4;
  int max_batch = 200, chunk = 0;  // 0: the whole set in one Write, as a pass does
  long long exec_limit_ms = 120000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const long long v = std::atoll(argv[i + 1]);
    if (a == "--records")
      records = static_cast<int>(v);
    else if (a == "--latency-ms")
      latency_ms = static_cast<int>(v);
    else if (a == "--exec-ms")
      exec_ms = static_cast<int>(v);
    else if (a == "--requests")
      requests = static_cast<int>(v);
    else if (a == "--window-s")
      window_s = static_cast<int>(v);
    else if (a == "--exec-limit-ms")
      exec_limit_ms = v;
    else if (a == "--concurrency")
      concurrency = static_cast<int>(v);
    else if (a == "--dop-hint")
      dop = static_cast<int>(v);
    else if (a == "--max-batch")
      max_batch = static_cast<int>(v);
    else if (a == "--chunk")
      chunk = static_cast<int>(v);
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  emulator::EmulatorOptions options;
  options.latency_ms = latency_ms;
  options.exec_ms = exec_ms;
  options.limits.requests = requests;
  options.limits.request_window_s = window_s;
  options.limits.execution_ms = exec_limit_ms;
  options.limits.execution_window_s = window_s;
  options.limits.concurrency = concurrency;
  options.limits.dop_hint = dop;
  auto emu = emulator::Emulator::Start(options);
  if (!emu.ok()) {
    std::cerr << emu.status().ToString() << "\n";
    return 1;
  }
  SystemClock clock;
  auto http = http::MakeCpprestHttpClient({});
  dataverse::OAuthCredentials cred{.token_url = (*emu)->token_url(),
                                   .client_id = std::string(emulator::kDefaultClientId),
                                   .scope = (*emu)->base_url() + "/.default",
                                   .client_secret = std::string(emulator::kDefaultClientSecret),
                                   .certificate_pem = "",
                                   .private_key_pem = "",
                                   .algorithm = "PS256"};
  dataverse::OAuthTokenProvider tokens(*http, clock, cred);
  dataverse::RequestBudget budget(
      {.max_parallelism = 16, .initial_parallelism = 2, .initial_batch_size = 10, .max_batch_size = max_batch}, clock);
  dataverse::Transport transport(*http, tokens, budget, clock);
  dataverse::DataverseConnectorOptions o;
  o.api = {(*emu)->base_url(), "v9.2"};
  dataverse::DataverseConnector connector(transport, o);

  int ok = 0;
  const auto start = std::chrono::steady_clock::now();
  if (chunk <= 0) chunk = records;
  for (int done = 0; done < records; done += chunk) {
    std::vector<connectors::WriteOp> ops;
    for (int i = done; i < std::min(records, done + chunk); ++i) {
      connectors::WriteOp op;
      op.kind = connectors::WriteOp::Kind::kCreate;
      op.key = crmsync::NewGuid();  // the engine's GUID (R2)
      op.fields["name"] = Value::Text("Bench company " + std::to_string(i));
      op.fields["telephone1"] = Value::Text("+44 20 7946 " + std::to_string(1000 + i % 9000));
      ops.push_back(std::move(op));
    }
    auto result = connector.Write("accounts", ops, Deadline::After(clock, std::chrono::minutes(10)));
    if (!result.ok()) {
      std::cerr << "write failed: " << result.status().ToString() << "\n";
      return 1;
    }
    for (const auto& r : *result) ok += r.status.ok() ? 1 : 0;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto counters = transport.counters();
  const auto stats = budget.stats();

  // The best any client could do under these settings: the tightest of the
  // request window (with the largest batch), the execution-time window and
  // the parallelism the server recommends.
  const bench::RateBounds bounds = bench::WriteRateBounds(requests, window_s, exec_limit_ms, exec_ms, latency_ms,
                                                          std::min({dop, concurrency, 16}), max_batch);
  const double best = bounds.best();
  const double by_requests = bounds.by_requests;
  const double by_exec = bounds.by_execution;
  const double by_parallelism = bounds.by_parallelism;
  const double rate = ok / seconds;
  std::printf("records: %d created of %d in %.2f s\n", ok, records, seconds);
  std::printf("records/s: %.0f\n", rate);
  std::printf("HTTP requests: %lld (%.4f per record), retried %lld, 429s %lld\n", static_cast<long long>(counters.sent),
              static_cast<double>(counters.sent) / std::max(ok, 1), static_cast<long long>(counters.retried),
              static_cast<long long>(counters.throttled));
  std::printf("final budget: parallelism %d (cap %d), batch size %d\n", stats.parallelism, stats.parallelism_cap,
              stats.batch_size);
  std::printf("best the limits allow: %.0f records/s (requests window %.0f, execution window %.0f, parallelism %.0f)\n",
              best, by_requests, by_exec, by_parallelism);
  std::printf("ratio to best: %.2f\n", rate / best);
  (*emu)->Stop();
  return ok == records ? 0 : 1;
}
