// The status document: what `crmsync status --json` prints and what the
// daemon's GET /status returns (interface.md: "the same JSON"), built in one
// place so the two cannot drift apart.
//
//   {"daemon": {"running": bool, "pid": int|null},
//    "state_database": "...",
//    "mappings": [{"mapping", "version", "last_run" (job run|null),
//                  "last_success_at" (UTC text|null), "coupled",
//                  "pending_local_changes" (int|null), "failed", "conflicts",
//                  "waiting_for_parent", "deletes_held",
//                  "cursors": {"local"|"remote": {"updated_at", "full_read"}}}]}
//
// Thread-safety: BuildStatusDocument reads the state store, which serves one
// thread at a time (state_store.h): call it on the thread that owns the
// store (the run loop, between passes, keeping the text in its snapshot) or
// over a connection of its own, as `crmsync status` does; never from the
// status server's threads on the engine's store.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "connectors/local/local_connector.h"
#include "mapping/mapping_loader.h"
#include "state/records.h"
#include "state/state_store.h"
#include "status/metrics.h"

namespace crmsync::daemon {

struct StatusInputs {
  state::StateStore& store;
  const mapping::MappingSet& mappings;
  // For pending_local_changes; nullptr (the local store could not be opened)
  // leaves them null, and a failed count does too: status still answers.
  local::LocalConnector* journal = nullptr;
  std::string state_database{};
  std::optional<int> daemon_pid{};  // the crmsync holding the state store, if any
  const Clock& clock;
};

// The document, or the state store's Status when one of its reads failed.
Result<nlohmann::json> BuildStatusDocument(const StatusInputs& inputs);

// A job run as `status` and `log --json` show it.
nlohmann::json JobRunJson(const state::JobRun& run);

// Copies what the document knows of each mapping's queues into `metrics`
// (pending local changes, failures, conflicts, waiting for parent, the last
// success time), adding a mapping `metrics` does not have yet; the run loop's
// counters (passes, records, requests) are left as they are.
void ApplyStatusToMetrics(const nlohmann::json& document, status::MetricsSnapshot& metrics);

}  // namespace crmsync::daemon
