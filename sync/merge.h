// The three-way, field-level merge of one coupled record (design.md
// section 2, step 3): what each side holds now, compared with what each side
// held when the record was last synced (the bases of the coupling, in the
// canonical form of mapping/canonical.h), decides field by field what flows
// where.
//
// For each field of the mapping:
//   - changed on neither side: nothing;
//   - changed on one side: it flows to the other, if the field's direction
//     lets it (a local edit of a from_remote-only field stays local);
//   - changed on both sides to the same value: converges silently;
//   - changed on both sides to different values: the mapping's conflict
//     policy decides (local_wins, remote_wins, newest_wins comparing the
//     two sides' modification times, remote on a tie or when a time is
//     unknown), or, with `manual`, the field is parked as a conflict and
//     neither side is written for it.
// A field without a base (a record coupled by match_on, never synced) has
// null bases: a value on one side and null on the other fills the gap; two
// different values are a conflict.
//
// Pure: no I/O. The caller maps the records (MapToRemote / MapToLocal) and
// passes the results in; the decision names what to write.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/value.h"
#include "mapping/mapper.h"
#include "mapping/mapping.h"

namespace crmsync::sync {

using TimePoint = std::chrono::system_clock::time_point;

struct MergeInput {
  const mapping::Mapping* mapping = nullptr;
  const Record* local = nullptr;   // the local row (the mapping's local columns)
  const Record* remote = nullptr;  // the Dataverse record (the attributes read)
  const Record* base_local = nullptr;
  const Record* base_remote = nullptr;
  // The records mapped to the other side: MapToRemote(local) and
  // MapToLocal(remote, current local = local).
  const mapping::MappedRecord* local_mapped = nullptr;
  const mapping::MappedRecord* remote_mapped = nullptr;
  std::optional<TimePoint> local_modified;
  std::optional<TimePoint> remote_modified;
};

// One field changed on both sides to different values.
struct FieldConflict {
  const mapping::FieldMapping* field = nullptr;
  Value base;    // the local base
  Value local;   // the local value
  Value remote;  // the remote value in local form
  // Who won under the policy; nullopt when the policy is manual (parked).
  enum class Winner { kLocal, kRemote };
  std::optional<Winner> winner;
};

struct MergeDecision {
  std::vector<const mapping::FieldMapping*> to_remote;  // fields whose local value is written to Dataverse
  std::vector<const mapping::FieldMapping*> to_local;   // fields whose remote value is written locally
  std::vector<FieldConflict> conflicts;                 // decided by policy, or parked (manual)
  std::vector<const mapping::FieldMapping*> converged;  // changed on both sides to the same value
  bool empty() const { return to_remote.empty() && to_local.empty() && conflicts.empty() && converged.empty(); }
  // True when a parked (manual) conflict holds back some field.
  bool parked() const;
};

MergeDecision Merge(const MergeInput& input);

// The local columns and remote attributes a field reads (its local column
// when it has one; FieldMapping::RemoteReadAttributes()).
bool LocalChanged(const mapping::FieldMapping& f, const Record& local, const Record& base_local);
bool RemoteChanged(const mapping::FieldMapping& f, const Record& remote, const Record& base_remote);

}  // namespace crmsync::sync
