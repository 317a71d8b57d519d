// MappingPass: one pass of one mapping (engine.h describes the steps). An
// implementation detail of the Engine, in its own file because it is long.
//
// Ownership: borrows the engine's parts. Thread-safety: one thread, but for
// a page's first Dataverse write, which runs on a thread of its own while
// the next page is read and decided (ProcessPage says when).
#pragma once

#include <deque>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "mapping/mapper.h"
#include "sync/engine.h"
#include "sync/merge.h"
#include "sync/resolver.h"

namespace crmsync::sync {

class MappingPass {
 public:
  MappingPass(Engine& engine, const mapping::Mapping& mapping, std::string run_id, StateCouplingResolver& resolver);

  // The whole pass; never fails as a whole: the report's status says why it stopped.
  MappingReport Run();
  Status ResolveConflict(const state::Conflict& conflict, state::Side keep);
  MappingReport CoupleByMatch();

 private:
  using Side = state::Side;
  using Change = connectors::Change;

  // One record being decided within a page.
  struct Item {
    Side source = Side::kLocal;
    std::string local_key;
    std::string remote_id;
    std::optional<Change> local;   // the local row, when known to exist
    std::optional<Change> remote;  // the Dataverse record; nullopt = unchanged since the base
    std::optional<state::Coupling> coupling;
    std::string coupled_by;  // "match_on", "intent", "origin" when coupled in this pass
    std::string intent_guid;
    bool create_local = false;
    bool create_remote = false;
    bool dirty = false;  // the coupling changed and must be committed
    bool done = false;
    bool wrote = false;
    bool failed = false;
    bool waiting = false;
    bool retry = false;                                // re-read after a conflict: decide again in the next round
    bool write_intent = false;                         // an update of it is on record as in flight
    bool conflicts_recorded = false;                   // its conflicts are in the audit log already
    bool remote_canonical = false;                     // remote->record is canonical already (CanonicalRemote)
    std::vector<const mapping::FieldMapping*> parked;  // manual conflicts holding fields back
    state::Coupling before;                            // the coupling as read, for parked fields
  };

  // What a page commits in one state transaction.
  struct Effects {
    std::vector<state::Coupling> put;
    std::vector<std::string> uncouple;
    std::vector<std::string> intents_done;
    std::vector<std::string> write_intents_done;  // local keys whose updates in flight are settled
    std::vector<state::Intent> intents;           // committed before the writes, not here
    std::vector<std::string> local_creates_done;  // Dataverse ids whose local creates in flight are settled
    std::vector<state::AuditEntry> audit;
    std::vector<state::Failure> failures;
    std::vector<std::pair<Side, std::string>> clear_failures;
    std::vector<state::WaitingRecord> park;
    std::vector<std::pair<Side, std::string>> unpark;
    std::vector<state::PendingDelete> pending;
    std::vector<std::string> pending_done;
    std::vector<state::Conflict> conflicts;
  };

  enum class PageOutcome { kComplete, kIncomplete, kFatal };

  // Phases.
  void FindParts();
  // The Dataverse base of our own create found again by its intent.
  Record CreatedBase(const state::Intent& intent, const Record& found) const;
  // Whether an update in flight reached its target (see the definition).
  static bool WentThrough(const state::WriteIntent& w, const connectors::Change& target);
  Status SettleWriteIntents(Item& item);
  Status RecoverIntents();
  Status RetryParked();
  Status ReadSide(Side side);
  // One read of a side from its stored cursor (`resume`: never from the start,
  // whatever the options say); `was_full` tells that it finished a full read
  // begun in an earlier pass.
  Status ReadSideFrom(Side side, bool resume, bool& was_full);
  Status ApplyPendingDeletes();

  // Page processing.
  Status ProcessPage(Side source, std::vector<Change> changes, std::optional<state::CursorState> cursor_after,
                     std::int64_t epoch);
  Status PrepareRemoteSourced(std::vector<Item>& items, std::int64_t epoch);
  Status PrepareLocalSourced(std::vector<Item>& items, std::int64_t epoch);
  // Takes out of `todo` (records read from `side`) those whose coupling says
  // they are this engine's own writes coming back, counted unchanged (R4).
  Status DropEchoes(std::vector<Item*>& todo, Side side);
  Status MatchLocally(std::vector<Item*>& unmatched);
  Status MatchRemotely(std::vector<Item*>& unmatched);
  // A write the page will send, with the item and the fields it carries.
  struct PlannedOp {
    Item* item = nullptr;
    connectors::WriteOp op;
    std::vector<const mapping::FieldMapping*> fields;
    bool create = false;
    MappingPass* owner = nullptr;  // the pass whose item it is (a part's pass for a part's op)
    // A Dataverse write's values as Dataverse will read them back
    // (mapping::RemoteReadBack of op.fields), when Decide worked them out.
    std::optional<Record> read_back;
  };
  // One round of a page's writes: its items decided, its ops planned.
  struct Round {
    std::vector<PlannedOp> remote_ops;
    std::vector<PlannedOp> local_ops;
    std::vector<Item*> in_round;
    std::vector<connectors::WriteOp> remote_batch;  // remote_ops' ops, moved out to be sent
  };
  using WriteResults = Result<std::vector<connectors::WriteResult>>;
  // A page between its first Dataverse write and its commit. The next
  // page of the same read is decided while its first write is in flight
  // (see ProcessPage); it holds everything the page's commit needs.
  struct Page {
    Side source = Side::kLocal;
    std::vector<Item> items;  // not resized once decided: PlannedOps point into it
    std::optional<state::CursorState> cursor_after;
    std::int64_t epoch = 0;
    Effects effects;                 // its effects, kept apart from the next page's
    bool incomplete = false;         // its incomplete_
    Round round;                     // its first round, being sent
    std::set<std::string> keys;      // its records' keys on the side read
    std::future<WriteResults> sent;  // last: destroyed (waited for) before what the send reads
  };
  Status DecideAndWrite(std::vector<Item>& items, std::int64_t epoch, int first_round = 0);
  // Decides the items not done yet and records their intents; sends nothing.
  // False when every item is done.
  Result<bool> BeginRound(std::vector<Item>& items, Round& round);
  // Applies the round's Dataverse results, then sends its local writes.
  // True when an item must be decided again (a 412 re-read it).
  Result<bool> FinishRound(Round& round, WriteResults remote_results);
  // From the round's results to the page's commit.
  Status CompletePage(Page& page, WriteResults first_results);
  // Waits for the page in flight and commits it; the current page's effects
  // are kept aside meanwhile. True when it stopped on a transient failure
  // (its cursor is not moved; the read must stop).
  Result<bool> FinishInFlight();
  Result<bool> FinishPage(std::unique_ptr<Page> page);
  // Decides one coupled or new item: appends its writes to the lists.
  Status Decide(Item& item, std::vector<PlannedOp>& remote_ops, std::vector<PlannedOp>& local_ops);
  // Builds the update ops that carry `to_remote` / `to_local` fields of a coupled item.
  void BuildUpdates(Item& item, const mapping::MappedRecord& local_mapped, const mapping::MappedRecord& remote_mapped,
                    const std::vector<const mapping::FieldMapping*>& to_remote,
                    const std::vector<const mapping::FieldMapping*>& to_local, std::vector<PlannedOp>& remote_ops,
                    std::vector<PlannedOp>& local_ops);
  // Sends the ops of one side and applies the results to their items.
  Status Send(Side side, std::vector<PlannedOp>& ops);
  // Send in three steps, so a page's Dataverse writes can be in flight while the next page is decided.
  static std::vector<connectors::WriteOp> TakeOps(std::vector<PlannedOp>& ops);
  WriteResults Execute(Side side, const std::vector<connectors::WriteOp>& batch, Deadline deadline);
  Status ApplyResults(Side side, std::vector<PlannedOp>& ops, std::vector<connectors::WriteOp>& batch,
                      WriteResults results);
  void ApplyRemote(PlannedOp& p, const connectors::WriteResult& r);
  void ApplyLocal(PlannedOp& p, const connectors::WriteResult& r);
  Status CommitIntents();
  // Records the updates about to be sent (R3 across crashes), before sending.
  Status CommitWriteIntents(Side target, std::vector<PlannedOp>& ops);
  // Records the local creates about to be made (R2 locally), before making them.
  Status CommitLocalCreateIntents(std::vector<PlannedOp>& ops);
  // Couples the local creates of an interrupted pass, found by their origin, with the bases they were made with.
  Status RecoverLocalCreates();
  // A pass that lost its commit after its updates went through: the values
  // the target side now holds are those updates', so they become the bases.
  Status RecoverWriteIntents();
  // Parts (design: a sales order and its lines in one change set): the
  // mappings whose local key includes a lookup to this mapping. Their rows
  // are written in the same group as the parent record they belong to.
  Status AddParts(std::vector<PlannedOp>& remote_ops);
  // Writes the effects into the open state transaction.
  Status ApplyEffects();
  Status Commit(std::optional<state::CursorState> cursor, Side side);

  // Deletes.
  Status DeleteSeen(Side deleted_on, const state::Coupling& coupling);
  Status HandleDeleted(Side deleted_on, const std::string& key);

  // Helpers.
  Deadline CallDeadline() const;
  std::string Now() const;
  Result<std::map<std::string, Change>> LookupByKeys(Side side, const std::vector<std::string>& keys);
  std::vector<std::string> LocalColumns() const { return local_columns_; }
  Record CanonicalLocal(const Record& row) const;
  Record CanonicalRemote(const Record& record) const;
  void Audit(const std::string& action, Side side, const std::string& local_key, const std::string& remote_id,
             const std::vector<FieldChange>& fields, const std::string& outcome, const std::string& note = "");
  void Fail(Item& item, const Status& status, Side written);
  void Park(Item& item, const mapping::MappedRecord& mapped);
  bool IsSensitive(Side side, const std::string& name) const;
  void FinishItem(Item& item, std::int64_t epoch);
  state::Coupling EmptyCoupling(const Item& item) const;
  // Couples a new item (audited and counted), `how` as Item::coupled_by says.
  void CoupleItem(Item& item, state::Coupling coupling, const std::string& how, Side side, const std::string& note);
  // Every page of a lookup.
  Result<std::vector<connectors::Change>> LookupAll(connectors::Connector& connector,
                                                    connectors::LookupRequest request);
  bool FieldIssuesBlock(const mapping::MappedRecord& mapped, const std::vector<const mapping::FieldMapping*>& fields,
                        Item& item);

  Engine& engine_;
  const mapping::Mapping& m_;
  const std::string run_id_;
  StateCouplingResolver& resolver_;
  MappingReport report_;
  Effects effects_;
  std::vector<std::string> local_columns_;   // read from the local store
  std::vector<std::string> remote_columns_;  // $select on Dataverse
  std::vector<std::string> local_base_;      // local columns kept in the base
  std::vector<std::string> remote_base_;     // remote attributes kept in the base (key left out)
  // The same names in order: a base is built from them without a search per name.
  std::vector<std::string> local_base_in_order_;
  std::vector<std::string> remote_base_in_order_;
  bool remote_fully_read_ = false;  // this pass read every Dataverse record of the mapping
  bool incomplete_ = false;         // a transient failure in the page: do not move the cursor
  Status stop_cause_;               // the pass's first transient failure: why it stops early
  bool recovered_ = false;          // recovery or a retry ran in this pass (no page read ahead is used)
  // The mapping's write intents, loaded once for creates found again by their intent.
  std::vector<state::WriteIntent> write_intents_;
  bool write_intents_loaded_ = false;
  std::int64_t local_epoch_ = 0;
  std::int64_t remote_epoch_ = 0;
  std::set<std::string> claimed_;    // local keys coupled by match in this pass
  std::set<std::string> ambiguous_;  // local keys among the candidates of an ambiguous match: never created
  std::set<std::pair<int, std::string>> parked_now_;  // (side, key) parked in this pass, counted once
  // (side, key) of the records `errors list` shows for this mapping when the
  // pass began: one that syncs in this pass, however it came, leaves the list.
  std::set<std::pair<Side, std::string>> listed_failures_;
  struct Part {
    std::unique_ptr<MappingPass> pass;
    std::string parent_column;  // the part's local column naming its parent (order_no)
  };
  std::vector<Part> parts_;
  std::deque<Item> part_items_;        // items of a parent's parts (stable addresses for PlannedOp)
  std::set<std::string> dry_seen_[2];  // dry run: keys a full read saw (local, remote); nothing is marked in the store
  std::vector<state::PendingDelete> dry_pending_;  // dry run: deletes held in memory
  // The page whose first Dataverse write is in flight (last member: its
  // send is waited for before anything it uses is destroyed).
  std::unique_ptr<Page> in_flight_;
};

}  // namespace crmsync::sync
