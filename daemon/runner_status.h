// RunnerStatus: what `crmsync run` is doing, for the status endpoint
// (/healthz, /readyz, /status, /metrics) and for tests: a mutex-guarded
// record the runner updates and any thread copies out with Snapshot().
//
// Ready means the stores are open, the config and mappings are valid and
// Dataverse answered the last time it was asked (a token was obtained and no
// pass since stopped on an unreachable or refusing Dataverse). Healthy means
// the main loop runs and no pass has been stuck without progress beyond its
// limit; the systemd watchdog is fed only while healthy. `reason` says why
// the daemon is not ready or not healthy ("" when it is both).
//
// Counters only grow (Prometheus counters): passes by outcome and records
// by outcome, per mapping, since the process started.
//
// Ownership: the runner owns one; readers borrow it for the runner's lifetime.
// Thread-safety: every member function is safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "state/records.h"

namespace crmsync::daemon {

using WallTime = std::chrono::system_clock::time_point;

// One mapping as the runner last saw it.
struct MappingRunStatus {
  std::string mapping;
  int interval_s = 0;                    // the effective interval (the mapping's, else the config's)
  bool running = false;                  // a pass of it is in flight
  std::optional<WallTime> next_pass;     // when it is due next (interval or backoff); nullopt while running
  std::optional<WallTime> last_start;    // the last pass's start
  std::optional<WallTime> last_end;      // and end
  std::optional<WallTime> last_success;  // end of the last pass whose status was ok
  state::JobCounts last_counts;          // of the last pass
  StatusCode last_code = StatusCode::kOk;
  std::string last_message;      // why the last pass stopped early; "" when it ran through
  int consecutive_failures = 0;  // passes in a row that stopped on a transient error (drives the backoff)
  // Passes by outcome: "ok", "records_failed" (ran through, some records
  // failed or conflicted), or the stable name of the status code that
  // stopped the pass ("unavailable", "timeout", "cancelled", ...).
  std::map<std::string, std::int64_t> passes_by_outcome;
  state::JobCounts records_total;  // every pass's counts added up
};

struct RunnerSnapshot {
  bool ready = false;
  bool healthy = true;
  std::string reason;    // why not ready or not healthy; "" otherwise
  std::string activity;  // the current systemd STATUS= text
  std::optional<WallTime> started_at;
  std::optional<WallTime> token_expiry;  // of the Dataverse access token, when one is held
  std::int64_t reloads_applied = 0;      // SIGHUPs whose config and mappings were taken
  std::int64_t reloads_rejected = 0;     // SIGHUPs whose config or mappings were invalid (old kept)
  // The Dataverse transport's counters, over every connection this process
  // made (a reload that rebuilds the connection carries the old counts).
  std::int64_t requests = 0;
  std::int64_t retries = 0;
  std::int64_t throttled = 0;              // 429s
  std::vector<MappingRunStatus> mappings;  // in the order the runner passes them (parents first)
};

class RunnerStatus {
 public:
  RunnerSnapshot Snapshot() const;

  // Written by the runner.
  void SetStarted(WallTime at);
  void SetReady(bool ready, std::string reason);
  void SetHealthy(bool healthy, std::string reason);
  void SetActivity(std::string activity);
  void SetTokenExpiry(std::optional<WallTime> expiry);
  // The counters of the transport `source` (its identity: a new one after a
  // reload starts from zero, and the old one's last counts are carried).
  void SetDataverseCounters(const void* source, std::int64_t requests, std::int64_t retries, std::int64_t throttled);
  void CountReload(bool applied);
  // The mappings of the current config, with their intervals; keeps the
  // history of mappings that stay, forgets those that went.
  void SetMappings(const std::vector<std::pair<std::string, int>>& names_and_intervals);
  void PassStarted(const std::string& mapping, WallTime at);
  // `outcome`: see MappingRunStatus::passes_by_outcome.
  void PassEnded(const std::string& mapping, WallTime at, const state::JobCounts& counts, const Status& status,
                 const std::string& outcome);
  void SetNextPass(const std::string& mapping, std::optional<WallTime> at, int consecutive_failures);

 private:
  MappingRunStatus* Find(const std::string& mapping);  // requires mutex_

  mutable std::mutex mutex_;
  const void* counters_source_ = nullptr;
  std::int64_t carried_requests_ = 0, carried_retries_ = 0, carried_throttled_ = 0;
  std::int64_t last_requests_ = 0, last_retries_ = 0, last_throttled_ = 0;
  RunnerSnapshot state_;
  std::string ready_reason_;
  std::string health_reason_;
};

}  // namespace crmsync::daemon
