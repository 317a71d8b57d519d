// Engine: one pass of the mappings, the path design.md section 2 describes,
// keeping the rules of section 3 (R1-R9).
//
// Per mapping, in depends_on order (R6):
//   0. recover: creates whose intents survived a crash are read back by
//      their GUID and coupled (R2); failed and waiting records due for
//      another try are read again;
//   1. the Dataverse side's changes since its cursor, page by page, then
//   2. the local side's changes since its cursor, page by page; for each
//      page: couple what is new (intent, origin, match_on - never a blind
//      create, never a duplicate), merge field by field against the bases
//      (sync/merge.h), write what changed within the connector's budget,
//      and commit couplings, bases, cursor, counts and audit rows in one
//      state transaction after the writes (a crash loses at most the page
//      in flight, which is read again: every write is safe to repeat);
//   3. deletes read on either side are held and applied at the end, behind
//      the mass-delete guard (R8).
// An expired cursor (kCursorExpired) makes that side's next read a full
// read that reconciles by key: records are coupled by id and match_on,
// only real differences are written, and couplings the full read did not
// see are deletions - nothing is created again.
//
// Dry run (`crmsync plan`): the same decisions, with reads only: nothing is
// written to either side or to the state store; `MappingReport::plan` lists
// every write a pass would make.
//
// Errors: a Status from Run() means the run could not start (unknown
// mapping, state store unreadable); per mapping, MappingReport::status says
// why its pass stopped (a transient error that outlived the transport, the
// mass-delete guard, a stop request), with that mapping's cursors unmoved
// past what was committed. Records that failed or conflicted are counted
// and parked, not errors of the run.
//
// Ownership: borrows everything; all must outlive the Engine.
// Thread-safety: one Run at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "connectors/change_journal.h"
#include "connectors/connector.h"
#include "mapping/mapping_loader.h"
#include "state/state_store.h"
#include "sync/read_ahead.h"
#include "sync/remote_reachability.h"

namespace crmsync::sync {

struct EngineOptions {
  std::string command = "sync";  // recorded with the job runs
  bool dry_run = false;          // plan: decide, read, write nothing
  bool full = false;             // read both sides from the start and reconcile by key
  bool allow_mass_delete = false;
  double mass_delete_max_share = 0.2;
  int mass_delete_max_count = 100;
  int mass_delete_min_count = 10;          // the share rule applies above this many deletes
  int page_size = 1000;                    // changes per page: bounds memory and the work a crash can lose
  std::chrono::seconds call_timeout{600};  // one read or write call, retries included
  // One Dataverse call's deadline while Dataverse gives no answer at all
  // (remote_reachability.h): a pass while it is down ends in minutes.
  std::chrono::seconds unanswered_call_timeout{15};
};

// One field of a write: its name on the side written, the value there
// before, and the value written. Sensitive values are already hashed.
struct FieldChange {
  std::string name;
  Value old_value;
  Value new_value;
};

// One write a pass made, or in a dry run would make.
struct PlannedWrite {
  std::string mapping;
  std::string action;                       // create, update, delete, couple, uncouple, conflict
  state::Side side = state::Side::kRemote;  // the side written (for couple/conflict: the side that won, or remote)
  std::string local_key;                    // "" for a local record yet to be created
  std::string remote_id;
  std::vector<FieldChange> fields;
  std::string note;  // e.g. the conflict policy's verdict
};

struct MappingReport {
  std::string mapping;
  state::JobCounts counts;
  Status status;  // ok, or why this mapping's pass stopped early
  bool mass_delete_held = false;
  std::int64_t read_local = 0;
  std::int64_t read_remote = 0;
  std::vector<PlannedWrite> plan;  // dry run only
};

struct RunReport {
  std::string run_id;
  std::vector<MappingReport> mappings;
  // Exit code 1 material: some record failed or conflicted, or a mapping stopped.
  bool AnyProblem() const;
};

// Told about progress after every page (for a terminal's progress line).
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void OnProgress(const std::string& mapping, state::Side side, std::int64_t read, std::int64_t written) = 0;
};

class Engine {
 public:
  Engine(const mapping::MappingSet& mappings, state::StateStore& store, connectors::Connector& local,
         connectors::ChangeJournal& journal, connectors::Connector& remote, const Clock& clock,
         EngineOptions options = {});

  void set_progress(ProgressSink* progress) { progress_ = progress; }
  void set_stop(std::stop_token stop) { stop_ = std::move(stop); }

  // One pass of the named mappings (every mapping when empty), parents first.
  // kInvalidArgument naming an unknown mapping.
  Result<RunReport> Run(const std::vector<std::string>& names);

  // `conflicts resolve ID --keep SIDE`: writes the kept side's values of the
  // conflicting fields to the other side, updates the bases, closes the
  // conflict and records it in the audit log. kNotFound for an unknown or
  // closed conflict.
  Status ResolveConflict(std::int64_t conflict_id, state::Side keep);

  // `couple --match MAPPING`: couples the uncoupled local records of the
  // mapping to the Dataverse records with the same match_on values (no
  // values are written; the next pass merges them). Returns how many were
  // coupled; ambiguous and unmatched records are counted in the report.
  Result<MappingReport> CoupleByMatch(const std::string& mapping_name);

  // `couple MAPPING LOCAL_KEY REMOTE_ID` / `uncouple MAPPING LOCAL_KEY`.
  Status Couple(const std::string& mapping_name, const std::string& local_key, const std::string& remote_id);
  Status Uncouple(const std::string& mapping_name, const std::string& local_key);

 private:
  friend class MappingPass;
  friend class AssociationPass;
  const mapping::MappingSet& mappings_;
  state::StateStore& store_;
  connectors::Connector& local_;
  connectors::ChangeJournal& journal_;
  // Every Dataverse call of the passes goes through it, so one that got no
  // answer shortens the waits of the calls after it.
  RemoteReachability remote_reachability_;
  connectors::Connector& remote_;
  const Clock& clock_;
  EngineOptions options_;
  ProgressSink* progress_ = nullptr;
  std::stop_token stop_;
  // Counts of part records (order lines) written with their parents in an
  // earlier mapping's pass, added to their own mapping's report.
  std::map<std::string, state::JobCounts> carried_;
  // First Dataverse pages of the mappings that run next, by mapping (read_ahead.h).
  std::map<std::string, std::unique_ptr<RemoteReadAhead>> read_ahead_;
  // Starts the reads ahead of the mappings after `at` in `order` that are not being read yet.
  void ReadAhead(const std::vector<const mapping::Mapping*>& order, std::size_t at);
  // The page read ahead for `mapping` when it was read with `request` (then
  // used by its pass instead of reading); any read ahead for it is gone.
  std::optional<connectors::ChangeBatch> TakeReadAhead(const std::string& mapping,
                                                       const connectors::ReadRequest& request);
};

// A new run id: "run-<UTC time>-<random>".
std::string NewRunId(const Clock& clock);

}  // namespace crmsync::sync
