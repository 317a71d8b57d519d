#include "daemon/runner_status.h"

#include <algorithm>

namespace crmsync::daemon {

RunnerSnapshot RunnerStatus::Snapshot() const {
  std::lock_guard lock(mutex_);
  RunnerSnapshot copy = state_;
  // Health comes first: a stuck daemon matters more than a missing token.
  copy.reason = !health_reason_.empty() ? health_reason_ : ready_reason_;
  return copy;
}

void RunnerStatus::SetStarted(WallTime at) {
  std::lock_guard lock(mutex_);
  state_.started_at = at;
}

void RunnerStatus::SetReady(bool ready, std::string reason) {
  std::lock_guard lock(mutex_);
  state_.ready = ready;
  ready_reason_ = ready ? "" : std::move(reason);
}

void RunnerStatus::SetHealthy(bool healthy, std::string reason) {
  std::lock_guard lock(mutex_);
  state_.healthy = healthy;
  health_reason_ = healthy ? "" : std::move(reason);
}

void RunnerStatus::SetActivity(std::string activity) {
  std::lock_guard lock(mutex_);
  state_.activity = std::move(activity);
}

void RunnerStatus::SetTokenExpiry(std::optional<WallTime> expiry) {
  std::lock_guard lock(mutex_);
  state_.token_expiry = expiry;
}

void RunnerStatus::SetDataverseCounters(const void* source, std::int64_t requests, std::int64_t retries,
                                        std::int64_t throttled) {
  std::lock_guard lock(mutex_);
  if (source != counters_source_) {
    carried_requests_ += last_requests_;
    carried_retries_ += last_retries_;
    carried_throttled_ += last_throttled_;
    counters_source_ = source;
  }
  last_requests_ = requests;
  last_retries_ = retries;
  last_throttled_ = throttled;
  state_.requests = carried_requests_ + requests;
  state_.retries = carried_retries_ + retries;
  state_.throttled = carried_throttled_ + throttled;
}

void RunnerStatus::CountReload(bool applied) {
  std::lock_guard lock(mutex_);
  ++(applied ? state_.reloads_applied : state_.reloads_rejected);
}

void RunnerStatus::SetMappings(const std::vector<std::pair<std::string, int>>& names_and_intervals) {
  std::lock_guard lock(mutex_);
  std::vector<MappingRunStatus> next;
  next.reserve(names_and_intervals.size());
  for (const auto& [name, interval_s] : names_and_intervals) {
    MappingRunStatus* old = Find(name);
    MappingRunStatus m = old != nullptr ? *old : MappingRunStatus{};
    m.mapping = name;
    m.interval_s = interval_s;
    next.push_back(std::move(m));
  }
  state_.mappings = std::move(next);
}

void RunnerStatus::PassStarted(const std::string& mapping, WallTime at) {
  std::lock_guard lock(mutex_);
  if (MappingRunStatus* m = Find(mapping)) {
    m->running = true;
    m->next_pass.reset();
    m->last_start = at;
  }
}

void RunnerStatus::PassEnded(const std::string& mapping, WallTime at, const state::JobCounts& counts,
                             const Status& status, const std::string& outcome) {
  std::lock_guard lock(mutex_);
  MappingRunStatus* m = Find(mapping);
  if (m == nullptr) return;  // removed by a reload while its pass ran
  m->running = false;
  m->last_end = at;
  if (status.ok()) m->last_success = at;
  m->last_counts = counts;
  m->last_code = status.code();
  m->last_message = status.message();
  ++m->passes_by_outcome[outcome];
  m->records_total += counts;
}

void RunnerStatus::SetNextPass(const std::string& mapping, std::optional<WallTime> at, int consecutive_failures) {
  std::lock_guard lock(mutex_);
  if (MappingRunStatus* m = Find(mapping)) {
    m->next_pass = at;
    m->consecutive_failures = consecutive_failures;
  }
}

MappingRunStatus* RunnerStatus::Find(const std::string& mapping) {
  auto it = std::find_if(state_.mappings.begin(), state_.mappings.end(),
                         [&](const MappingRunStatus& m) { return m.mapping == mapping; });
  return it == state_.mappings.end() ? nullptr : &*it;
}

}  // namespace crmsync::daemon
