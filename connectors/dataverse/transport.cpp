#include "connectors/dataverse/transport.h"

#include <spdlog/spdlog.h>

#include "connectors/dataverse/odata.h"

namespace crmsync::dataverse {

Transport::Transport(http::HttpClient& http, TokenSource& tokens, RequestBudget& budget, Clock& clock,
                     BackoffPolicy backoff, std::stop_token stop, std::chrono::milliseconds request_timeout)
    : http_(http),
      tokens_(tokens),
      budget_(budget),
      clock_(clock),
      backoff_(backoff),
      stop_(std::move(stop)),
      request_timeout_(request_timeout) {}

double Transport::Random01() {
  std::lock_guard lock(rng_mutex_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

TransportCounters Transport::counters() const {
  return {sent_.load(), retried_.load(), throttled_.load(), reauthenticated_.load()};
}

Transport::Outcome Transport::Attempt(const http::HttpRequest& request, Deadline deadline, bool& reauthenticated) {
  Outcome out;
  auto permit = budget_.Acquire(deadline, stop_);
  if (!permit.ok()) {
    out.failure = permit.status();
    out.final = true;  // our own deadline or shutdown: nothing to retry
    return out;
  }
  auto token = tokens_.AccessToken(deadline);
  if (!token.ok()) {
    out.failure = token.status().WithContext("authenticating");
    return out;
  }
  http::HttpRequest authorised = request;  // a fresh request per attempt
  authorised.headers.emplace_back("Authorization", "Bearer " + *token);
  ++sent_;
  const auto sent_at = clock_.SteadyNow();
  auto response = http_.Send(authorised, deadline);
  if (spdlog::should_log(spdlog::level::debug)) {
    // Each request's answer and time, for finding where a pass waits. The
    // URL without its query: a filter may quote record values.
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.SteadyNow() - sent_at).count();
    const std::string_view url(request.url);
    spdlog::debug("{} {} ({} bytes): {} in {} ms", request.method, url.substr(0, url.find('?')), request.body.size(),
                  response.ok() ? std::to_string(response->status) : response.status().ToString(), ms);
  }
  if (!response.ok()) {
    out.failure = response.status();
    if (IsRetryable(out.failure)) budget_.RecordTransientFailure();
    return out;
  }
  if (auto hint = DopHint(*response)) budget_.RecordDopHint(*hint);
  const int status = response->status;
  if (status == 401 && !reauthenticated) {
    // The token expired or was revoked early: one new token, once.
    spdlog::info("Dataverse refused the access token (HTTP 401) for {} {}; fetching a new token", request.method,
                 request.url);
    tokens_.Invalidate(*token);
    reauthenticated = true;
    ++reauthenticated_;
    out.resend_now = true;
    return out;
  }
  if (status >= 400) {
    out.failure = StatusFromResponse(*response, request.method + " " + request.url);
    if (IsRetryable(out.failure)) {
      if (status == 429) {
        ++throttled_;
        budget_.RecordThrottled(*permit, out.failure.retry_after(), out.failure.remote_code());
      } else {
        budget_.RecordTransientFailure();
      }
      return out;
    }
  }
  // Success, or a permanent answer the caller interprets: the server answered.
  budget_.RecordSuccess(*permit);
  out.response = std::move(response).value();
  return out;
}

Result<http::HttpResponse> Transport::Send(const http::HttpRequest& request, Deadline caller_deadline) {
  const Deadline deadline = request_timeout_.count() > 0
                                ? Deadline::Earliest(caller_deadline, Deadline::After(clock_, request_timeout_))
                                : caller_deadline;
  bool reauthenticated = false;
  int attempt = 0;
  Status last_answer;  // the last transient failure the server gave, kept for when our deadline ends the retries
  for (;;) {
    Outcome outcome = Attempt(request, deadline, reauthenticated);
    if (outcome.response) return std::move(*outcome.response);
    if (outcome.resend_now) continue;
    const Status& failure = outcome.failure;
    if (outcome.final && failure.code() == StatusCode::kTimeout && !last_answer.ok()) {
      // The deadline passed while waiting out the server's Retry-After: the
      // reason is the server's answer (which limit, its code and HTTP
      // status), not the wait.
      return last_answer.WithContext("gave up after " + std::to_string(attempt) + " attempts (" + failure.message() +
                                     ")");
    }
    if (outcome.final || !IsRetryable(failure)) return failure;
    last_answer = failure;
    // A 429 already paused every worker in the budget for Retry-After; other
    // transient failures back off here.
    const auto delay = failure.code() == StatusCode::kThrottled ? std::chrono::milliseconds(0)
                                                                : BackoffDelay(backoff_, attempt, Random01());
    ++attempt;
    if (deadline.Remaining() <= delay) {
      return failure.WithContext("gave up after " + std::to_string(attempt) + " attempts");
    }
    // Logged where the decision to wait is made, once per retry: a storm
    // the transport rides out is otherwise invisible at the default level.
    // The failure names the request.
    if (failure.code() == StatusCode::kThrottled) {
      spdlog::info("Dataverse throttled us; every request waits for its Retry-After: {}", failure.ToString());
    } else {
      spdlog::info("retrying in {} ms: {}", delay.count(), failure.ToString());
    }
    if (delay.count() > 0 && !clock_.SleepFor(delay, stop_)) return Status(StatusCode::kCancelled, "stopping");
    ++retried_;
  }
}

}  // namespace crmsync::dataverse
