// StateStore: what crmsync remembers between passes (design.md section 6):
// couplings and their bases, cursors, intents, conflicts, failures, records
// waiting for a parent, deletes held by the mass-delete guard, job runs and
// the hash-chained audit log. The engine sees the state store only through
// this interface, never through SQL, so a second implementation (PostgreSQL,
// for several instances sharing one organisation) can follow; SQLite's SQL
// stays in sqlite_state_store.cpp.
//
// Transactions: every write made between Begin() and the returned guard's
// Commit() becomes durable at once or not at all; that is how the engine
// commits couplings, bases, cursors, counts and audit rows of a page in one
// step after the writes succeeded (design.md section 2, step 6). A write
// outside a transaction commits on its own. Reads see the store's committed
// state plus the open transaction's own writes.
//
// Errors: kIo/kBusy/kCorrupt from the database; kNotFound for a missing
// conflict or failure id; kInvalidArgument for bad input.
//
// Thread-safety: one thread at a time (the engine runs one pass at a time;
// the daemon serialises access). Ownership: the caller owns the store.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "state/records.h"

namespace crmsync::state {

class StateStore;

// Rolls back on destruction unless Commit() succeeded.
class StateTransaction {
 public:
  explicit StateTransaction(StateStore* store) : store_(store) {}
  StateTransaction(StateTransaction&& other) noexcept : store_(other.store_) { other.store_ = nullptr; }
  StateTransaction& operator=(StateTransaction&&) = delete;
  StateTransaction(const StateTransaction&) = delete;
  StateTransaction& operator=(const StateTransaction&) = delete;
  ~StateTransaction();
  [[nodiscard]] Status Commit();

 private:
  StateStore* store_;
};

// Filters of the listing calls; empty strings match everything.
struct AuditQuery {
  std::string since;  // UTC ISO 8601, inclusive
  std::string until;  // exclusive
  std::string mapping;
};

struct AuditVerification {
  bool ok = true;
  std::int64_t rows = 0;
  std::int64_t first_bad_seq = 0;  // 0 when ok
  std::string problem;             // what is wrong with that row
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  virtual Result<StateTransaction> Begin() = 0;

  // --- couplings
  virtual Result<std::optional<Coupling>> CouplingByLocal(const std::string& mapping, const std::string& local_key) = 0;
  virtual Result<std::optional<Coupling>> CouplingByRemote(const std::string& mapping,
                                                           const std::string& remote_id) = 0;
  virtual Status PutCoupling(const Coupling& coupling) = 0;  // insert or replace, keyed by (mapping, local_key)
  // A page of keys at once, by `side`'s key; keys without a coupling are
  // absent. One query instead of one per record: each query outside a
  // transaction is a transaction of its own. Heads are a coupling's keys,
  // versions and status without its bases (cheap: how a pass recognises its
  // own writes coming back, R4).
  virtual Result<std::map<std::string, CouplingHead>> CouplingHeadsBy(const std::string& mapping, Side side,
                                                                      const std::vector<std::string>& keys) = 0;
  virtual Result<std::map<std::string, Coupling>> CouplingsBy(const std::string& mapping, Side side,
                                                              const std::vector<std::string>& keys) = 0;
  virtual Status DeleteCoupling(const std::string& mapping, const std::string& local_key) = 0;
  virtual Result<std::int64_t> CountCouplings(const std::string& mapping) = 0;
  // Couplings of `mapping` whose `side` was not seen by full read `epoch`,
  // in local key order after `after_key`, at most `limit`.
  virtual Result<std::vector<Coupling>> UnseenCouplings(const std::string& mapping, Side side, std::int64_t epoch,
                                                        const std::string& after_key, int limit) = 0;
  // Every coupling of `mapping` in local key order after `after_key`, at most `limit`.
  virtual Result<std::vector<Coupling>> ListCouplings(const std::string& mapping, const std::string& after_key,
                                                      int limit) = 0;

  // --- cursors
  virtual Result<CursorState> Cursor(const std::string& mapping, Side side) = 0;
  virtual Status SetCursor(const std::string& mapping, Side side, const CursorState& cursor) = 0;
  // A number larger than any epoch handed out before, for a new full read.
  virtual Result<std::int64_t> NextEpoch() = 0;

  // --- intents (R2)
  virtual Result<std::optional<Intent>> IntentByLocal(const std::string& mapping, const std::string& local_key) = 0;
  virtual Result<std::optional<Intent>> IntentByRemote(const std::string& mapping, const std::string& remote_id) = 0;
  // The intents of a page of keys at once, by `side`'s key (local key or Dataverse id).
  virtual Result<std::map<std::string, Intent>> IntentsBy(const std::string& mapping, Side side,
                                                          const std::vector<std::string>& keys) = 0;
  virtual Result<std::vector<Intent>> Intents(const std::string& mapping) = 0;
  virtual Status PutIntent(const Intent& intent) = 0;
  virtual Status DeleteIntent(const std::string& mapping, const std::string& local_key) = 0;
  // The same for a page at once.
  virtual Status PutIntents(const std::vector<Intent>& intents) = 0;
  virtual Status DeleteIntents(const std::string& mapping, const std::vector<std::string>& local_keys) = 0;

  // --- updates in flight
  virtual Status PutWriteIntents(const std::vector<WriteIntent>& intents) = 0;
  virtual Result<std::vector<WriteIntent>> WriteIntents(const std::string& mapping) = 0;
  // Removes the intents of `local_keys` (every target).
  virtual Status DeleteWriteIntents(const std::string& mapping, const std::vector<std::string>& local_keys) = 0;

  // --- local creates in flight (R2 locally): Intents keyed by the Dataverse
  // id the row carries as its origin (local_key is empty: the number series
  // gives it at the create).
  virtual Status PutLocalCreateIntents(const std::vector<Intent>& intents) = 0;
  virtual Result<std::vector<Intent>> LocalCreateIntents(const std::string& mapping) = 0;
  virtual Status DeleteLocalCreateIntents(const std::string& mapping, const std::vector<std::string>& remote_ids) = 0;

  // --- conflicts
  // Opens a conflict, or updates the open one of the same record (one open
  // conflict per record); returns its id.
  virtual Result<std::int64_t> UpsertConflict(const Conflict& conflict) = 0;
  virtual Result<std::optional<Conflict>> OpenConflict(const std::string& mapping, const std::string& local_key) = 0;
  virtual Result<std::optional<Conflict>> ConflictById(std::int64_t id) = 0;
  // Open conflicts (all mappings when `mapping` is empty), oldest first.
  virtual Result<std::vector<Conflict>> OpenConflicts(const std::string& mapping) = 0;
  // Marks the conflict resolved keeping `side`.
  virtual Status ResolveConflict(std::int64_t id, Side keep) = 0;
  // Asks the next pass to resolve the conflict keeping `side` (the CLI, while a daemon runs).
  virtual Status RequestResolution(std::int64_t id, Side keep) = 0;

  // --- failures
  // Records a failure, or counts another attempt of the same record's.
  virtual Status RecordFailure(const Failure& failure) = 0;
  virtual Status ClearFailure(const std::string& mapping, Side source, const std::string& record_key) = 0;
  // Failures (all mappings when `mapping` is empty), oldest first.
  virtual Result<std::vector<Failure>> Failures(const std::string& mapping) = 0;
  // Failures the next pass of `mapping` retries: transient ones and those asked for.
  virtual Result<std::vector<Failure>> FailuresToRetry(const std::string& mapping) = 0;
  // `errors retry`: one failure (kNotFound when there is none with `id`), or every one when `id` is 0.
  virtual Result<std::int64_t> RequestRetry(std::int64_t id) = 0;

  // --- waiting for a parent (R6)
  virtual Status Park(const WaitingRecord& record) = 0;
  virtual Status Unpark(const std::string& mapping, Side source, const std::string& record_key) = 0;
  virtual Result<std::vector<WaitingRecord>> Waiting(const std::string& mapping) = 0;

  // --- deletes held by the mass-delete guard (R8)
  virtual Status AddPendingDelete(const PendingDelete& d) = 0;
  virtual Status RemovePendingDelete(const std::string& mapping, const std::string& local_key) = 0;
  virtual Result<std::vector<PendingDelete>> PendingDeletes(const std::string& mapping) = 0;

  // --- job runs
  virtual Result<std::int64_t> StartJob(const JobRun& run) = 0;  // returns its id
  virtual Status FinishJob(const JobRun& run) = 0;               // by id
  // Job runs started at or after `since` ("" = all), newest first, at most `limit`.
  virtual Result<std::vector<JobRun>> JobRuns(const std::string& since, const std::string& mapping, int limit) = 0;
  // The last finished job run of `mapping` whose outcome was ok.
  virtual Result<std::optional<JobRun>> LastSuccess(const std::string& mapping) = 0;

  // --- audit log (R9)
  // Appends `entry` (seq, prev_hash and hash are filled in) and returns its seq.
  virtual Result<std::int64_t> AppendAudit(AuditEntry entry) = 0;
  // Appends `entries` in order (a page's rows: the head is read and moved once).
  virtual Status AppendAudits(std::vector<AuditEntry> entries) = 0;
  // Streams the entries matching `query` in seq order; stops early when `sink` returns false.
  virtual Status ForEachAudit(const AuditQuery& query, const std::function<bool(const AuditEntry&)>& sink) = 0;
  // Walks the whole chain: every row's hash, its link to the previous row,
  // contiguous sequence numbers and the recorded head.
  virtual Result<AuditVerification> VerifyAudit() = 0;

 private:
  friend class StateTransaction;
  virtual Status CommitTransaction() = 0;
  virtual void RollbackTransaction() = 0;
};

}  // namespace crmsync::state
