// AssociationPass: one pass of an association mapping (mapping.h,
// Association): the local rows that link two coupled records (a segment and
// a contact in segment_member) become links of a many-to-many relationship
// in Dataverse (a marketing list's members), incrementally: a new row links,
// a deleted row unlinks, nothing else is sent (R4). An implementation
// detail of the Engine, beside MappingPass.
//
// Per pass: the failures due for another try and the rows waiting for an end
// to be coupled are read again by key; then the local changes since the
// cursor, page by page. For each row both ends are resolved through their
// mappings' couplings; a row whose end is not coupled yet waits (R6), one
// whose member can never be coupled by that mapping (a company in a list of
// persons) is skipped and says why. Each page's links are written, then its
// couplings, cursor, counts and audit rows are committed in one state
// transaction (a crash repeats at most that page: linking a linked pair and
// unlinking an unlinked one are both successes, so repeating is safe, R1).
// A full read (first pass, --full, an expired journal position) links every
// row and unlinks the couplings it did not see.
//
// A link has no Dataverse id of its own: its coupling's remote id is the
// JSON array of its two records' ids, parent first. Unlinking deletes no
// record, so the mass-delete guard (R8), which protects records, does not
// hold it back; on_delete "uncouple" and "ignore" forget the link instead
// of unlinking it. Links made in Dataverse are not read back: the local
// rows say what the relationship holds.
//
// Ownership: borrows the engine's parts. Thread-safety: one thread.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "connectors/connector.h"
#include "sync/engine.h"
#include "sync/resolver.h"

namespace crmsync::sync {

class AssociationPass {
 public:
  AssociationPass(Engine& engine, const mapping::Mapping& mapping, std::string run_id, StateCouplingResolver& resolver);

  // The whole pass; the report's status says why it stopped, if it did.
  MappingReport Run();

  // The coupling's remote id of a link, and back (nullopt when it is not one).
  static std::string LinkId(const std::string& parent_id, const std::string& member_id);
  static std::optional<std::pair<std::string, std::string>> ParseLinkId(const std::string& link_id);

 private:
  using Side = state::Side;
  using Change = connectors::Change;

  // One row of the page and what it needs.
  struct Item {
    std::string local_key;
    std::optional<state::Coupling> coupling;  // the link as last written
    std::string parent_id;                    // the link the row asks for; empty when none
    std::string member_id;
    std::string unlink_id;  // the coupling's link to remove first, when it differs
    bool link = false;
    bool failed = false;
  };

  Status RetryParked();
  Status ReadLocal();
  Status ProcessPage(std::vector<Change> changes, std::optional<state::CursorState> cursor);
  // Decides one change: what to link and unlink, or why nothing.
  Status Decide(const Change& change, Item& item);
  // The Dataverse id of `end`'s record named by `row`; "" when not coupled.
  // `never` is set when that mapping will never couple it (filtered out).
  Result<std::string> ResolveEnd(const mapping::AssociationEnd& end, const Record& row, bool& never, std::string& why);
  Status Write(std::vector<Item>& items);
  // The local rows with these keys (at most kLookupChunk), by key; a key with no row is absent.
  Result<std::map<std::string, connectors::Change>> LocalRows(const std::vector<std::string>& keys);
  Status Commit(std::optional<state::CursorState> cursor);

  void Audit(const std::string& action, const std::string& local_key, const std::string& link_id,
             const std::string& outcome, const std::string& note);
  void Fail(const Item& item, const Status& status);
  Deadline CallDeadline() const;

  Engine& engine_;
  const mapping::Mapping& m_;
  const mapping::Association& a_;
  std::string run_id_;
  StateCouplingResolver& resolver_;
  MappingReport report_;
  bool incomplete_ = false;        // a transient failure: the page's cursor must not move
  std::set<std::string> waiting_;  // keys counted as waiting in this pass

  // What a page commits.
  struct Effects {
    std::vector<state::Coupling> put;
    std::vector<std::string> uncouple;
    std::vector<state::AuditEntry> audit;
    std::vector<state::Failure> failures;
    std::vector<std::string> clear_failures;
    std::vector<state::WaitingRecord> park;
    std::vector<std::string> unpark;
  };
  Effects effects_;
};

}  // namespace crmsync::sync
