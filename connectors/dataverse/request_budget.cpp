#include "connectors/dataverse/request_budget.h"

#include <algorithm>

#include "connectors/dataverse/deadline_wait.h"
#include "connectors/dataverse/odata.h"

namespace crmsync::dataverse {

RequestBudget::RequestBudget(Options options, Clock& clock)
    : options_(options),
      clock_(clock),
      limit_(std::clamp(options.initial_parallelism, 1, std::max(1, options.max_parallelism))),
      cap_(std::max(1, options.max_parallelism)),
      batch_size_(std::clamp(options.initial_batch_size, 1, std::max(1, options.max_batch_size))),
      batch_cap_(std::max(1, options.max_batch_size)) {}

RequestBudget::Permit::~Permit() {
  if (budget_ != nullptr) budget_->Release();
}

Result<RequestBudget::Permit> RequestBudget::Acquire(Deadline deadline, const std::stop_token& stop) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stop.stop_requested()) return Status(StatusCode::kCancelled, "stopping");
    const auto now = clock_.SteadyNow();
    if (now < paused_until_) {
      const auto pause = std::chrono::ceil<std::chrono::milliseconds>(paused_until_ - now);
      if (deadline.Remaining() < pause) {
        return Status(StatusCode::kTimeout, "the deadline passes while Dataverse throttled us (a pause of " +
                                                std::to_string(pause.count()) + " ms)");
      }
      // Sleep on the clock without the lock: releases and other workers go on.
      lock.unlock();
      const bool woke = clock_.SleepFor(pause, stop);
      lock.lock();
      if (!woke) return Status(StatusCode::kCancelled, "stopping");
      continue;  // the pause may have been extended meanwhile
    }
    if (in_flight_ < limit_) break;
    if (deadline.Expired()) return Status(StatusCode::kTimeout, "deadline passed waiting for a request slot");
    // Wake on a release or a limit change (the generation moves), a stop or the deadline.
    const std::uint64_t seen = generation_;
    WaitUntil(cv_, lock, stop, deadline, [&] { return generation_ != seen; });
  }
  ++in_flight_;
  ++stats_.requests;
  return Permit(this, epoch_);
}

void RequestBudget::Release() {
  std::lock_guard lock(mutex_);
  --in_flight_;
  ++generation_;
  cv_.notify_all();
}

void RequestBudget::RecordSuccess(const Permit& permit) {
  std::lock_guard lock(mutex_);
  SucceededLocked(permit.epoch_);
}

void RequestBudget::RecordSuccess() {
  std::lock_guard lock(mutex_);
  SucceededLocked(epoch_);
}

void RequestBudget::SucceededLocked(std::uint64_t epoch) {
  // Sent before the last decrease: it was in flight at the old pressure and
  // says nothing about the new one.
  if (epoch != epoch_) return;
  // A round is as many successes as the current limit (every worker had one
  // answered without a 429): then grow by one (additive increase) and double
  // the batch size.
  if (++successes_in_round_ >= limit_) {
    successes_in_round_ = 0;
    if (limit_ < cap_) ++limit_;
    batch_size_ = std::min(batch_cap_, batch_size_ * 2);
    ++generation_;
    cv_.notify_all();
  }
}

void RequestBudget::RecordThrottled(const Permit& permit, std::optional<std::chrono::milliseconds> retry_after,
                                    std::string_view dataverse_code) {
  std::lock_guard lock(mutex_);
  ThrottledLocked(permit.epoch_, retry_after, dataverse_code);
}

void RequestBudget::RecordThrottled(std::optional<std::chrono::milliseconds> retry_after,
                                    std::string_view dataverse_code) {
  std::lock_guard lock(mutex_);
  ThrottledLocked(epoch_, retry_after, dataverse_code);
}

void RequestBudget::ThrottledLocked(std::uint64_t epoch, std::optional<std::chrono::milliseconds> retry_after,
                                    std::string_view dataverse_code) {
  ++stats_.throttled;
  // Every 429 is honoured: nobody sends before its Retry-After.
  const auto wait = retry_after.value_or(std::chrono::seconds(5));
  paused_until_ = std::max(paused_until_, clock_.SteadyNow() + wait);
  // The rest of one throttling (requests sent before the budget shrank for
  // it) shrinks nothing more.
  if (epoch != epoch_) return;
  ++epoch_;
  successes_in_round_ = 0;
  limit_ = std::max(1, limit_ / 2);
  if (dataverse_code == kThrottledExecutionTime || dataverse_code.empty()) {
    batch_size_ = std::max(1, batch_size_ / 2);
  } else if (dataverse_code == kThrottledRequests && options_.request_limited_max_batch_size > 0) {
    batch_cap_ = std::max(batch_cap_, options_.request_limited_max_batch_size);
    batch_size_ = std::min(batch_cap_, batch_size_ * 2);
  }
}

void RequestBudget::RecordTransientFailure() {
  std::lock_guard lock(mutex_);
  ++stats_.transient_failures;
  successes_in_round_ = 0;
}

void RequestBudget::RecordDopHint(int hint) {
  std::lock_guard lock(mutex_);
  cap_ = std::max(1, std::min(options_.max_parallelism, hint));
  // The organisation's recommended parallelism (dataverse-web-api.md 8.2):
  // used at once the first time it is seen, unless a 429 came first.
  if (!hint_seen_ && stats_.throttled == 0 && limit_ < cap_) {
    limit_ = cap_;
    ++generation_;
    cv_.notify_all();
  }
  hint_seen_ = true;
  limit_ = std::min(limit_, cap_);
}

int RequestBudget::batch_size() const {
  std::lock_guard lock(mutex_);
  return batch_size_;
}

int RequestBudget::parallelism() const {
  std::lock_guard lock(mutex_);
  return limit_;
}

RequestBudget::Stats RequestBudget::stats() const {
  std::lock_guard lock(mutex_);
  Stats s = stats_;
  s.parallelism = limit_;
  s.parallelism_cap = cap_;
  s.batch_size = batch_size_;
  return s;
}

}  // namespace crmsync::dataverse
