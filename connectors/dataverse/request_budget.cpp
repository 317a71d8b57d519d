#include "connectors/dataverse/request_budget.h"

#include <algorithm>

#include "connectors/dataverse/odata.h"

namespace crmsync::dataverse {

RequestBudget::RequestBudget(Options options)
    : options_(options),
      limit_(std::clamp(options.initial_parallelism, 1, std::max(1, options.max_parallelism))),
      cap_(std::max(1, options.max_parallelism)),
      batch_size_(std::clamp(options.initial_batch_size, 1, std::max(1, options.max_batch_size))) {}

RequestBudget::Permit::~Permit() {
  if (budget_ != nullptr) budget_->Release();
}

Result<RequestBudget::Permit> RequestBudget::Acquire(Deadline deadline, const std::stop_token& stop) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stop.stop_requested()) return Status(StatusCode::kCancelled, "stopping");
    const auto now = std::chrono::steady_clock::now();
    if (now >= paused_until_ && in_flight_ < limit_) break;
    if (deadline.Expired()) {
      return Status(StatusCode::kTimeout, now < paused_until_ ? "deadline passed while Dataverse throttled us"
                                                              : "deadline passed waiting for a request slot");
    }
    auto wake = deadline.when();
    if (now < paused_until_) wake = std::min(wake, paused_until_);
    // Wake on a release or a limit change (the generation moves), a stop,
    // the end of a pause, or the deadline.
    const std::uint64_t seen = generation_;
    cv_.wait_until(lock, stop, wake, [&] { return generation_ != seen; });
  }
  ++in_flight_;
  ++stats_.requests;
  return Permit(this);
}

void RequestBudget::Release() {
  std::lock_guard lock(mutex_);
  --in_flight_;
  ++generation_;
  cv_.notify_all();
}

void RequestBudget::RecordSuccess() {
  std::lock_guard lock(mutex_);
  // A round is as many successes as the current limit (every worker had one
  // answered without a 429): then grow by one (additive increase) and double
  // the batch size.
  if (++successes_in_round_ >= limit_) {
    successes_in_round_ = 0;
    if (limit_ < cap_) ++limit_;
    batch_size_ = std::min(options_.max_batch_size, batch_size_ * 2);
    ++generation_;
    cv_.notify_all();
  }
}

void RequestBudget::RecordThrottled(std::optional<std::chrono::milliseconds> retry_after,
                                    std::string_view dataverse_code) {
  std::lock_guard lock(mutex_);
  ++stats_.throttled;
  successes_in_round_ = 0;
  const auto wait = retry_after.value_or(std::chrono::seconds(5));
  paused_until_ = std::max(paused_until_, std::chrono::steady_clock::now() + wait);
  limit_ = std::max(1, limit_ / 2);
  if (dataverse_code == kThrottledExecutionTime || dataverse_code.empty()) batch_size_ = std::max(1, batch_size_ / 2);
}

void RequestBudget::RecordTransientFailure() {
  std::lock_guard lock(mutex_);
  ++stats_.transient_failures;
  successes_in_round_ = 0;
}

void RequestBudget::RecordDopHint(int hint) {
  std::lock_guard lock(mutex_);
  cap_ = std::max(1, std::min(options_.max_parallelism, hint));
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
