// Transport: sends one Web API request the way Dataverse wants to be
// talked to. It adds the bearer token (refreshing once on a 401), takes a
// slot from the shared RequestBudget, and retries what is transient (429 with
// Retry-After, 5xx, timeouts, resets) with capped, jittered backoff until
// the deadline. This is the single place where Dataverse requests are
// retried; callers see either a final response or a Status whose
// IsRetryable() tells the engine whether a later pass may succeed. When the
// deadline ends the retries, that Status is the server's last answer (its
// code, Dataverse error code and HTTP status), also when the deadline passed
// while waiting out a Retry-After. Each retry and each new token after a 401
// is logged at info, so a storm the transport rides out leaves a trace.
//
// Deadlines: each request's deadline is the earlier of the caller's and
// `request_timeout` from when Send is called (the config's
// dataverse.timeout_s: one request including its retries); zero = no cap.
// Both are read on one clock: callers make their deadlines from the clock
// the transport was given (the composition root owns one).
//
// Thread-safety: Send is safe from any thread; the budget and the token
// source are shared.
#pragma once

#include <atomic>
#include <optional>
#include <random>
#include <stop_token>

#include "common/backoff.h"
#include "common/clock.h"
#include "connectors/dataverse/request_budget.h"
#include "connectors/dataverse/token_provider.h"
#include "http/http_client.h"

namespace crmsync::dataverse {

struct TransportCounters {
  std::int64_t sent = 0;             // HTTP requests put on the wire
  std::int64_t retried = 0;          // of those, repeats after a transient failure
  std::int64_t throttled = 0;        // 429 answers
  std::int64_t reauthenticated = 0;  // 401 answers that led to a new token
};

class Transport {
 public:
  Transport(http::HttpClient& http, TokenSource& tokens, RequestBudget& budget, Clock& clock,
            BackoffPolicy backoff = {}, std::stop_token stop = {},
            std::chrono::milliseconds request_timeout = std::chrono::milliseconds(0));

  // The final response (any status that is not worth retrying, 2xx included),
  // or a Status when no response could be had within the deadline.
  Result<http::HttpResponse> Send(const http::HttpRequest& request, Deadline deadline);

  TransportCounters counters() const;
  RequestBudget& budget() { return budget_; }

 private:
  struct Outcome {
    std::optional<http::HttpResponse> response;  // a final answer
    Status failure;                              // otherwise why this attempt failed
    bool resend_now = false;                     // re-authenticated: send again at once
    bool final = false;                          // the failure is ours (deadline, stop): do not retry
  };
  Outcome Attempt(const http::HttpRequest& request, Deadline deadline, bool& reauthenticated);
  double Random01();

  http::HttpClient& http_;
  TokenSource& tokens_;
  RequestBudget& budget_;
  Clock& clock_;
  const BackoffPolicy backoff_;
  const std::stop_token stop_;
  const std::chrono::milliseconds request_timeout_;
  std::mutex rng_mutex_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::atomic<std::int64_t> sent_{0}, retried_{0}, throttled_{0}, reauthenticated_{0};
};

}  // namespace crmsync::dataverse
