#include "connectors/dataverse/transport.h"

#include <spdlog/spdlog.h>

#include "connectors/dataverse/odata.h"

namespace crmsync::dataverse {

Transport::Transport(http::HttpClient& http, TokenSource& tokens, RequestBudget& budget, Clock& clock,
                     BackoffPolicy backoff, std::stop_token stop)
    : http_(http), tokens_(tokens), budget_(budget), clock_(clock), backoff_(backoff), stop_(std::move(stop)) {}

double Transport::Random01() {
  std::lock_guard lock(rng_mutex_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

TransportCounters Transport::counters() const {
  return {sent_.load(), retried_.load(), throttled_.load(), reauthenticated_.load()};
}

Result<http::HttpResponse> Transport::Send(const http::HttpRequest& request, Deadline deadline) {
  bool reauthenticated = false;
  int attempt = 0;
  for (;;) {
    Status failure;
    {
      auto permit = budget_.Acquire(deadline, stop_);
      if (!permit.ok()) return permit.status();
      auto token = tokens_.AccessToken(deadline);
      if (!token.ok()) return token.status();
      http::HttpRequest authorised = request;  // a fresh request per attempt
      authorised.headers.emplace_back("Authorization", "Bearer " + *token);
      ++sent_;
      auto response = http_.Send(authorised, deadline);
      if (response.ok()) {
        if (auto hint = DopHint(*response)) budget_.RecordDopHint(*hint);
        const int status = response->status;
        if (status == 401 && !reauthenticated) {
          // The token expired or was revoked early: one new token, once.
          tokens_.Invalidate(*token);
          reauthenticated = true;
          ++reauthenticated_;
          continue;
        }
        if (status < 400) {
          budget_.RecordSuccess();
          return response;
        }
        failure = StatusFromResponse(*response, request.method + " " + request.url);
        if (!IsRetryable(failure)) {
          budget_.RecordSuccess();  // the server answered; not a capacity signal
          return response;
        }
        if (status == 429) {
          ++throttled_;
          budget_.RecordThrottled(failure.retry_after(), failure.remote_code());
        } else {
          budget_.RecordTransientFailure();
        }
      } else {
        failure = response.status();
        if (!IsRetryable(failure)) return failure;
        budget_.RecordTransientFailure();
      }
    }
    // A 429 already paused every worker in the budget for Retry-After; other
    // transient failures back off here.
    const auto delay = failure.code() == StatusCode::kThrottled ? std::chrono::milliseconds(0)
                                                                : BackoffDelay(backoff_, attempt, Random01());
    ++attempt;
    if (deadline.Remaining() <= delay) {
      return failure.WithContext("gave up after " + std::to_string(attempt) + " attempts");
    }
    spdlog::debug("retrying {} {} after {}: {}", request.method, request.url, delay.count(), failure.ToString());
    if (delay.count() > 0 && !clock_.SleepFor(delay, stop_)) return Status(StatusCode::kCancelled, "stopping");
    ++retried_;
  }
}

}  // namespace crmsync::dataverse
