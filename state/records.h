// The records the state store keeps (design.md section 6): couplings with
// their bases, cursors, intents of creates in flight, conflicts, failures,
// records waiting for a parent, deletes waiting for the mass-delete guard,
// job runs and audit entries. Plain values; the StateStore (state_store.h)
// reads and writes them.
//
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/value.h"

namespace crmsync::state {

// The two sides of a mapping. Names are stable: they appear in the state
// store, the audit log and `--json` output.
enum class Side { kLocal, kRemote };
std::string_view SideName(Side side);  // "local", "remote"
std::optional<Side> ParseSide(std::string_view name);
inline Side Other(Side side) {
  return side == Side::kLocal ? Side::kRemote : Side::kLocal;
}

// A local record and a Dataverse record that are the same thing, with the
// values last synced on each side (the bases, in the canonical form of
// mapping/canonical.h: the local base over the mapping's local columns, the
// remote base over the attributes read from Dataverse) and each side's
// version at that moment (journal seq / ETag).
struct Coupling {
  enum class Status {
    kActive,
    kLocalDeleted,   // on_delete: ignore; the local record is gone, the remote one stays
    kRemoteDeleted,  // the other way round
  };
  std::string mapping{};
  std::string local_key{};
  std::string remote_id{};
  Record base_local{};
  Record base_remote{};
  std::string local_version{};
  std::string remote_version{};
  Status status = Status::kActive;
  // The full read (keyed reconciliation) of each side that last saw this
  // record; a coupling not seen by a completed full read was deleted there.
  std::int64_t local_seen = 0;
  std::int64_t remote_seen = 0;
};
std::string_view CouplingStatusName(Coupling::Status status);

// A coupling without its bases.
struct CouplingHead {
  std::string local_key{};
  std::string remote_id{};
  std::string local_version{};
  std::string remote_version{};
  Coupling::Status status = Coupling::Status::kActive;
};

// Where a side's change stream stands for one mapping. `full_epoch` is
// non-zero while a full read of that side (first read, --full, or keyed
// reconciliation after an expired cursor) is in progress: couplings it has
// seen carry that epoch.
struct CursorState {
  std::string cursor{};
  std::int64_t full_epoch = 0;
  std::string updated_at{};  // when it last moved (read only; set by the store)
  // The version of the mapping the cursor was made with: a Dataverse delta
  // link carries the $select of its time, so a changed mapping reads anew.
  std::string mapping_version{};
};

// A Dataverse create in flight (R2): recorded, with the GUID crmsync chose,
// before the request is sent; removed in the transaction that couples it.
struct Intent {
  std::string mapping{};
  std::string local_key{};
  std::string remote_id{};
  Record base_local{};  // the local values the create was made from
  std::string created_at{};
  // The Dataverse values the create writes (canonical; null for a mapped
  // attribute it leaves unset): the Dataverse base when it is found again.
  Record base_remote{};
};

// An update in flight (R3 across crashes): recorded before the request, with
// the values it writes, so a pass that lost its commit after the write went
// through does not mistake its own write for an edit on the other side.
// `local` and `remote` are the bases the written fields will have (canonical,
// each side's names); removed in the transaction that commits the page.
struct WriteIntent {
  std::string mapping{};
  std::string local_key{};
  Side target = Side::kRemote;  // the side written
  Record local{};
  Record remote{};
};

// One field changed on both sides to different values.
struct ConflictField {
  std::string field{};  // the field's name (its local column, else its remote attribute)
  Value base{};         // local form
  Value local{};
  Value remote{};  // mapped to the local form
};

struct Conflict {
  std::int64_t id = 0;
  std::string mapping{};
  std::string local_key{};
  std::string remote_id{};
  std::vector<ConflictField> fields{};
  std::string status = "open";  // open, resolved
  std::string resolution{};     // local, remote (when resolved)
  bool resolve_requested = false;
  std::string created_at{};
  std::string updated_at{};
};

// A record that could not be synced, with the reason, until it is retried.
struct Failure {
  std::int64_t id = 0;
  std::string mapping{};
  Side source = Side::kLocal;  // the side the change came from
  std::string record_key{};    // that side's key (local key or Dataverse id)
  std::string local_key{};     // when known
  std::string remote_id{};     // when known
  std::string code{};          // StatusCodeName
  std::string remote_code{};   // Dataverse's error code, when it gave one
  int http_status = 0;
  std::string message{};
  bool transient = false;        // retried at the start of every pass
  bool retry_requested = false;  // `errors retry`
  int attempts = 1;
  std::string first_seen{};
  std::string last_seen{};
};

// A record parked until its parent is coupled (R6).
struct WaitingRecord {
  std::string mapping{};
  Side source = Side::kLocal;
  std::string record_key{};
  std::string reason{};
  std::string since{};
};

// A delete read from one side, held until the mass-delete guard lets it through (R8).
struct PendingDelete {
  std::string mapping{};
  std::string local_key{};
  std::string remote_id{};
  Side target = Side::kRemote;     // the side to delete on
  std::string expected_version{};  // the target's version the decision was based on
  std::string since{};
};

// What one pass of one mapping did.
struct JobCounts {
  std::int64_t inserted = 0;
  std::int64_t modified = 0;
  std::int64_t deleted = 0;
  std::int64_t unchanged = 0;
  std::int64_t skipped = 0;
  std::int64_t failed = 0;
  std::int64_t coupled = 0;
  std::int64_t uncoupled = 0;
  std::int64_t conflicts = 0;
  std::int64_t waiting = 0;
  JobCounts& operator+=(const JobCounts& o);
};

struct JobRun {
  std::int64_t id = 0;
  std::string run_id{};
  std::string mapping{};
  std::string command{};  // sync, run
  std::string started_at{};
  std::string finished_at{};  // "" while running (or when the process died)
  std::string outcome{};      // ok, failed, stopped, interrupted
  std::string message{};
  JobCounts counts{};
};

// One row of the hash-chained audit log (R9).
struct AuditEntry {
  std::int64_t seq = 0;
  std::string at{};  // UTC ISO 8601 with milliseconds
  std::string run_id{};
  std::string mapping{};
  std::string mapping_version{};
  std::string action{};  // create, update, delete, couple, uncouple, conflict, resolve, quarantine
  std::string side{};    // the side written or affected: local, remote, both, "" for none
  std::string local_key{};
  std::string remote_id{};
  std::string fields{};   // JSON object {"field": {"old": ..., "new": ...}}, sensitive values hashed
  std::string outcome{};  // ok, or a StatusCodeName
  std::string prev_hash{};
  std::string hash{};
};

}  // namespace crmsync::state
