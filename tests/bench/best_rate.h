// The best write throughput a Dataverse client can reach under given
// service protection limits, latency and execution time per operation: the
// ceiling the benchmarks report their ratio against.
//
// It is the tightest of three bounds (dataverse-web-api.md 8.2):
// - the request window: `requests` per `window_s`, each a $batch of `batch`
//   operations;
// - the execution-time window: `exec_limit_ms` of execution per `window_s`,
//   `exec_ms` per operation, however the operations are batched;
// - parallelism: `parallel` requests in flight (the server's x-ms-dop-hint,
//   which Microsoft says not to exceed), each taking the latency plus the
//   execution time of its `batch` operations.
//
// Thread-safety: pure functions.
#pragma once

#include <algorithm>

namespace crmsync::bench {

struct RateBounds {
  double by_requests = 0;     // records/s the request window allows
  double by_execution = 0;    // records/s the execution-time window allows
  double by_parallelism = 0;  // records/s `parallel` requests in flight allow
  double best() const { return std::min({by_requests, by_execution, by_parallelism}); }
};

inline RateBounds WriteRateBounds(long long requests, int window_s, long long exec_limit_ms, int exec_ms,
                                  int latency_ms, int parallel, int batch) {
  RateBounds b;
  b.by_requests = static_cast<double>(requests) / window_s * batch;
  b.by_execution = exec_ms > 0 ? (static_cast<double>(exec_limit_ms) / window_s) / exec_ms : 1e12;
  b.by_parallelism = parallel * batch * 1000.0 / (latency_ms + static_cast<double>(exec_ms) * batch);
  return b;
}

}  // namespace crmsync::bench
