// MetricsSnapshot and RenderPrometheus: what the daemon's /metrics says, as
// a plain value and its rendering in the Prometheus text exposition format
// (version 0.0.4).
//
// The run loop fills a MetricsSnapshot from what it already keeps (its pass
// reports, the state store's queue sizes, the Dataverse transport's counters
// and the token provider's expiry); this file only renders. Counters are
// cumulative since the daemon started: Prometheus tells a restart from the
// drop to zero, so nothing here persists them.
//
// A value that is not known (a mapping that never succeeded, pending local
// changes when the local store could not be read, no token yet) is left out
// rather than rendered as 0 or NaN, so an alert on it does not fire falsely.
//
// Metric names (the dashboard in contrib/grafana and alerts depend on them,
// so they are part of the product; RenderPrometheus is their one source):
//   crmsync_ready                                   gauge   1 when /readyz answers 200
//   crmsync_passes_total{mapping,outcome}           counter passes by outcome (ok, failed, ...)
//   crmsync_records_total{mapping,outcome}          counter records by outcome (inserted, ...)
//   crmsync_last_success_timestamp_seconds{mapping} gauge   end of the last successful pass
//   crmsync_lag_seconds{mapping}                    gauge   how far the mapping is behind
//   crmsync_pending_local_changes{mapping}          gauge   journalled local changes not yet read
//   crmsync_failed_records{mapping}                 gauge   records in the error queue
//   crmsync_open_conflicts{mapping}                 gauge   conflicts waiting for a resolution
//   crmsync_waiting_for_parent{mapping}             gauge   records parked until their parent is coupled
//   crmsync_dataverse_requests_total                counter HTTP requests sent to Dataverse
//   crmsync_dataverse_throttled_total               counter 429 answers
//   crmsync_dataverse_retries_total                 counter requests repeated after a transient failure
//   crmsync_token_expiry_timestamp_seconds          gauge   when the access token expires
//   process_resident_memory_bytes, process_open_fds gauge   from /proc/self (Prometheus' standard names)
//   crmsync_sqlite_memory_bytes                     gauge   SQLite's share of the resident memory
//
// Thread-safety: value types and pure functions; ReadProcessStats reads
// /proc and is safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "state/records.h"

namespace crmsync::status {

// What one mapping has done since the daemon started, and where it stands now.
struct MappingMetrics {
  std::string mapping{};
  // Passes by the job run's outcome (state::JobRun::outcome: ok, failed,
  // stopped, interrupted); rendered in key order.
  std::map<std::string, std::int64_t> passes{};
  // Records by outcome, summed over the passes: inserted, modified, deleted,
  // unchanged, skipped, failed, coupled, uncoupled, conflicts, waiting.
  state::JobCounts records{};
  std::optional<std::int64_t> last_success_unix{};  // seconds since the epoch
  // Seconds since the last successful pass ended: how stale the other side
  // may be. It grows between passes, so it is set when a scrape asks
  // (SetLagFromLastSuccess in StatusSource::Metrics), not when a pass ends.
  std::optional<double> lag_seconds{};
  // Queue depths, as `crmsync status` shows them.
  std::optional<std::int64_t> pending_local_changes{};
  std::int64_t failures = 0;
  std::int64_t conflicts = 0;
  std::int64_t waiting_for_parent = 0;
};

struct MetricsSnapshot {
  std::vector<MappingMetrics> mappings{};
  // Dataverse transport (dataverse::Transport::counters()).
  std::int64_t requests = 0;
  std::int64_t throttled = 0;  // 429s
  std::int64_t retries = 0;
  // dataverse::OAuthTokenProvider::token_expires_at(), in seconds since the epoch.
  std::optional<std::int64_t> token_expiry_unix{};
  bool ready = false;
};

// Sets each mapping's lag_seconds to `now` minus its last success (never
// below 0; a mapping that never succeeded keeps no lag). For the source's
// Metrics(), at scrape time.
void SetLagFromLastSuccess(MetricsSnapshot& snapshot, std::chrono::system_clock::time_point now);

// The process figures Prometheus client libraries export under process_*.
struct ProcessStats {
  std::int64_t resident_memory_bytes = 0;
  std::int64_t open_fds = 0;
  // SQLite's share of that memory (SqliteMemoryInUse): a resident size that
  // grows while this stays level is not SQLite's page caches filling.
  std::optional<std::int64_t> sqlite_memory_bytes;
};

// Reads `proc_dir`/statm and `proc_dir`/fd ("/proc/self" in the product;
// tests point it elsewhere). kIo naming the file when one cannot be read.
Result<ProcessStats> ReadProcessStats(const std::string& proc_dir = "/proc/self");

// The exposition text of `snapshot` and `process` (left out when nothing):
// one HELP and one TYPE line per metric, then its samples; label values
// escaped (backslash, double quote, newline).
std::string RenderPrometheus(const MetricsSnapshot& snapshot, const std::optional<ProcessStats>& process);

// The same with this process' figures from /proc/self (left out if /proc
// cannot be read, which never fails the scrape).
std::string RenderPrometheus(const MetricsSnapshot& snapshot);

// Escaping of the exposition format (exposed for tests): a label value
// escapes backslash, double quote and newline; HELP text backslash and newline.
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view text);

// A sample value as the format writes it: integers without a fraction,
// others in the shortest form that reads back exactly, NaN, +Inf, -Inf.
std::string FormatSampleValue(double value);

}  // namespace crmsync::status
