// SqliteStateStore: the StateStore (state_store.h) in one SQLite file (WAL),
// with versioned migrations (state/migrations/*.sql, compiled in; the
// version is PRAGMA user_version, as in the local CRM store).
//
// Ownership: owns one connection and its prepared statements.
// Thread-safety: one thread at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/clock.h"
#include "common/sqlite.h"
#include "state/state_store.h"

namespace crmsync::state {

class SqliteStateStore final : public StateStore {
 public:
  // Opens (creating when `create`) and migrates the store at `path`.
  // kNotFound when the file is missing and !create; kInvalidArgument when the
  // file is newer than this program or not a state store.
  static Result<std::unique_ptr<SqliteStateStore>> Open(const std::string& path, const Clock& clock,
                                                        bool create = true);
  static int LatestSchemaVersion();

  Result<StateTransaction> Begin() override;

  Result<std::optional<Coupling>> CouplingByLocal(const std::string& mapping, const std::string& local_key) override;
  Result<std::optional<Coupling>> CouplingByRemote(const std::string& mapping, const std::string& remote_id) override;
  Status PutCoupling(const Coupling& coupling) override;
  Result<std::map<std::string, CouplingHead>> CouplingHeadsBy(const std::string& mapping, Side side,
                                                              const std::vector<std::string>& keys) override;
  Result<std::map<std::string, Coupling>> CouplingsBy(const std::string& mapping, Side side,
                                                      const std::vector<std::string>& keys) override;
  Status DeleteCoupling(const std::string& mapping, const std::string& local_key) override;
  Result<std::int64_t> CountCouplings(const std::string& mapping) override;
  Result<std::vector<Coupling>> UnseenCouplings(const std::string& mapping, Side side, std::int64_t epoch,
                                                const std::string& after_key, int limit) override;
  Result<std::vector<Coupling>> ListCouplings(const std::string& mapping, const std::string& after_key,
                                              int limit) override;

  Result<CursorState> Cursor(const std::string& mapping, Side side) override;
  Status SetCursor(const std::string& mapping, Side side, const CursorState& cursor) override;
  Result<std::int64_t> NextEpoch() override;

  Result<std::optional<Intent>> IntentByLocal(const std::string& mapping, const std::string& local_key) override;
  Result<std::optional<Intent>> IntentByRemote(const std::string& mapping, const std::string& remote_id) override;
  Result<std::map<std::string, Intent>> IntentsBy(const std::string& mapping, Side side,
                                                  const std::vector<std::string>& keys) override;
  Result<std::vector<Intent>> Intents(const std::string& mapping) override;
  Status PutIntent(const Intent& intent) override;
  Status DeleteIntent(const std::string& mapping, const std::string& local_key) override;
  Status PutIntents(const std::vector<Intent>& intents) override;
  Status DeleteIntents(const std::string& mapping, const std::vector<std::string>& local_keys) override;

  Status PutWriteIntents(const std::vector<WriteIntent>& intents) override;
  Result<std::vector<WriteIntent>> WriteIntents(const std::string& mapping) override;
  Status DeleteWriteIntents(const std::string& mapping, const std::vector<std::string>& local_keys) override;
  Status PutLocalCreateIntents(const std::vector<Intent>& intents) override;
  Result<std::vector<Intent>> LocalCreateIntents(const std::string& mapping) override;
  Status DeleteLocalCreateIntents(const std::string& mapping, const std::vector<std::string>& remote_ids) override;

  Result<std::int64_t> UpsertConflict(const Conflict& conflict) override;
  Result<std::optional<Conflict>> OpenConflict(const std::string& mapping, const std::string& local_key) override;
  Result<std::optional<Conflict>> ConflictById(std::int64_t id) override;
  Result<std::vector<Conflict>> OpenConflicts(const std::string& mapping) override;
  Status ResolveConflict(std::int64_t id, Side keep) override;
  Status RequestResolution(std::int64_t id, Side keep) override;

  Status RecordFailure(const Failure& failure) override;
  Status ClearFailure(const std::string& mapping, Side source, const std::string& record_key) override;
  Result<std::vector<Failure>> Failures(const std::string& mapping) override;
  Result<std::vector<Failure>> FailuresToRetry(const std::string& mapping) override;
  Result<std::int64_t> RequestRetry(std::int64_t id) override;

  Status Park(const WaitingRecord& record) override;
  Status Unpark(const std::string& mapping, Side source, const std::string& record_key) override;
  Result<std::vector<WaitingRecord>> Waiting(const std::string& mapping) override;

  Status AddPendingDelete(const PendingDelete& d) override;
  Status RemovePendingDelete(const std::string& mapping, const std::string& local_key) override;
  Result<std::vector<PendingDelete>> PendingDeletes(const std::string& mapping) override;

  Result<std::int64_t> StartJob(const JobRun& run) override;
  Status FinishJob(const JobRun& run) override;
  Result<std::vector<JobRun>> JobRuns(const std::string& since, const std::string& mapping, int limit) override;
  Result<std::optional<JobRun>> LastSuccess(const std::string& mapping) override;

  Result<std::int64_t> AppendAudit(AuditEntry entry) override;
  Status AppendAudits(std::vector<AuditEntry> entries) override;
  Status ForEachAudit(const AuditQuery& query, const std::function<bool(const AuditEntry&)>& sink) override;
  Result<AuditVerification> VerifyAudit() override;

  const std::string& path() const { return db_.path(); }

 private:
  SqliteStateStore(SqliteDb db, const Clock& clock) : db_(std::move(db)), clock_(clock) {}
  Status CommitTransaction() override;
  void RollbackTransaction() override;
  // Runs `body` (a call's row-by-row writes) so that all of them are
  // written or none: in the open transaction inside a savepoint, or in a
  // transaction of its own.
  Status Atomically(const std::function<Status()>& body);
  // A cached prepared statement, reset and ready to bind.
  Result<SqliteStatement*> Statement(const char* sql);
  std::string Now() const;

  // Dataverse creates in flight are recorded a page to a row (intent_page,
  // migration 4). This is which page holds each key's intent, per mapping:
  // read from the rows at first use, kept in step by every write, and
  // dropped by any rollback (read again at the next use).
  struct IntentSlot {
    std::int64_t page = 0;
    std::string remote_id;
  };
  struct MappingIntentIndex {
    std::map<std::string, IntentSlot> by_local;
    std::map<std::string, std::string> local_by_remote;
    std::map<std::int64_t, std::set<std::string>> keys_by_page;
  };
  Status LoadIntentIndex();
  // Every intent a page's row holds, live or not (the index says which are).
  Result<std::vector<Intent>> ReadIntentPage(const std::string& mapping, std::int64_t page);
  // Takes the keys' intents out of their pages (a page left empty is
  // removed); the caller is inside Atomically with the index loaded.
  Status RemoveIntentKeys(const std::string& mapping, const std::vector<std::string>& local_keys);

  SqliteDb db_;
  const Clock& clock_;
  std::map<const char*, std::unique_ptr<SqliteStatement>> statements_;
  bool in_transaction_ = false;
  std::optional<std::map<std::string, MappingIntentIndex>> intent_index_;
};

}  // namespace crmsync::state
