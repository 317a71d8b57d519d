// LocalConnector: the Connector (connectors/connector.h) over the local CRM
// store, the SQLite file that other local programs also write.
//
// Changes come from crmsync_journal, which triggers fill for every write by
// any program (crm/migrations/0002_change_capture.sql).
//
// Cursors (opaque to the engine):
//   "N"           every journal row up to seq N has been delivered; the next
//                 read returns changes after N.
//   ""            start: a full read of the table as upserts, then "S" where
//                 S is the journal's highest seq when the full read began.
//   "full:S:KEY"  a full read in progress: rows after KEY, then "S".
// A cursor below the pruned part of the journal, or beyond its end (another
// file), is kCursorExpired: the engine then reconciles by key (R8).
//
// Versions: the journal seq of the row's latest change as decimal text ("0"
// when the journal no longer holds one). A write with expected_version V
// conflicts when the row has a journal entry after V.
//
// Reads coalesce: a key changed several times appears once, with its current
// values (or as a delete when the row is gone), in the order of its first
// change in the batch; max_changes bounds the keys per batch. Every upsert
// returned (ReadChanges, Fetch, Lookup) carries version, origin_id (the
// Dataverse id crmsync_origin holds for the row, "" when none) and
// modified_at: the journal's changed_at of the row's latest change, or, when
// the journal no longer holds one, the row's modified_at column. A delete
// carries the key, no record, no origin, and the time of the delete.
//
// Tables two mappings share: contact holds companies (mapping accounts,
// local.filter type=company) and persons (mapping contacts, type=person).
// Each mapping is a journal reader of its own with its own cursor, and reads
// every change of the table. The engine applies local.filter to upserts; a
// full read leaves out the rows its ReadRequest::local_filter excludes, as
// far as SQL compares them as the engine does (text columns equal to text),
// so the accounts mapping does not read every person. A journalled delete
// has no row left to tell which mapping it belongs to, so every reader of
// the table gets every delete, with its key; the engine attributes a delete to the mapping whose
// coupling holds the key, and a mapping ignores deletes of keys it has not
// coupled. A key change reads as a delete of the old key and an upsert of
// the new one, so a later delete of the new key reaches every reader too.
//
// Lookup: the rows whose column `attribute` equals one of `values`, or with
// an empty attribute the rows with these keys (keys as ReadChanges returns
// them; composite ones as JSON arrays). The attribute must be a column of the
// table (checked, never interpolated unchecked); values are converted to the
// column's type first, and a value the column cannot hold is simply absent.
// Text compares exactly (SQLite's BINARY collation: case and accents count),
// unlike Dataverse. LookupRequest::filter and key are ignored, as for reads.
// Results come in pages of max_records; the cursor "lookup:I:KEY" resumes at
// value I after KEY and is only meaningful with the same values. Values go
// to SQLite in IN lists as long as its parameter limit allows, so a lookup
// of a few thousand values is one statement per page.
//
// Writes: one BEGIN IMMEDIATE transaction per batch. Each op names its table
// (WriteOp::entity; empty = the Write call's entity), so a group may span
// tables (a sales order and its lines). The batch applies as units, each in
// a SAVEPOINT of its own: an ungrouped op, or all ops of one group in the
// order given (a line can be created after its order in the same group), in
// the order of each unit's first op. A unit is all or nothing:
//   - an op whose expected_version is behind the row's latest journal seq is
//     kConflict (with that seq as version), and the other ops of its group
//     kConflict ("not applied: op N of group G conflicted"), nothing applied;
//   - an op that fails (bad table, column, value, key or reference, or an
//     error of the store) reports its error, and the other ops of its group
//     kAborted ("not applied: op N (...) of group G failed: ..."); the
//     unit's writes, and any number it took from a series, are undone.
// Other units of the batch still apply and commit. A non-ok Result from
// Write means nothing was committed (the store could not be opened, or it
// failed so that the transaction itself was lost).
// A create with an empty key takes the next number of the table's series (an
// order line: the next line_no); a create with origin_id records it in
// crmsync_origin in the same unit, and a repeated create with the same
// origin_id returns the existing row instead of a duplicate (R2). Deleting a
// missing row is ok. Creates, updates and upserts return the new version and,
// when the op names read_back columns, exactly those columns of the row as
// stored (derived values included), read in the same transaction.
//
// Journal readers (connectors::ChangeJournal): the engine calls
// Acknowledge(reader, cursor) after it committed a cursor; the journal is
// pruned at and below the lowest position of all readers
// (crmsync_journal_reader).
//
// Cost: a call takes an open SQLite connection from a small pool (opening
// one reads the store's whole schema), or opens one; a page of reads, a Lookup page
// and a batch of writes each prepare their statements once and reuse them
// for every record (crm::StatementCache, ChangeQuery).
//
// Thread-safety: thread-safe; every call has a SQLite connection of its own
// while it runs (SQLite serialises writers across threads and processes).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/sqlite.h"
#include "connectors/change_journal.h"
#include "connectors/connector.h"
#include "connectors/local/connection_pool.h"

namespace crmsync::local {

class LocalConnector : public connectors::Connector, public connectors::ChangeJournal {
 public:
  // Opens the store at `path`, migrating it to the latest schema (the daemon
  // on start installs what a new version needs). kNotFound when the file is
  // missing: `crmsync init` creates it.
  static Result<std::unique_ptr<LocalConnector>> Open(const std::string& path);

  Result<connectors::ChangeBatch> ReadChanges(const connectors::ReadRequest& request, Deadline deadline) override;
  Result<std::optional<connectors::Change>> Fetch(const std::string& entity, const std::string& key_attribute,
                                                  const std::string& key, const std::vector<std::string>& columns,
                                                  Deadline deadline) override;
  Result<connectors::ChangeBatch> Lookup(const connectors::LookupRequest& request, Deadline deadline) override;
  Result<std::vector<connectors::WriteResult>> Write(const std::string& entity,
                                                     std::span<const connectors::WriteOp> ops,
                                                     Deadline deadline) override;

  // Records that `reader` (one per mapping) has committed `cursor`, then
  // prunes journal rows at or below every reader's position. A reader at ""
  // holds pruning at the start.
  Status Acknowledge(const std::string& reader, const std::string& cursor, Deadline deadline) override;
  // Removes a reader that no longer exists (a deleted mapping) so it stops holding pruning.
  Status ForgetReader(const std::string& reader, Deadline deadline) override;

  // The key of the row crmsync created in `entity` from Dataverse record
  // `origin_id`, or nullopt (R2 recovery).
  Result<std::optional<std::string>> FindByOrigin(const std::string& entity, const std::string& origin_id,
                                                  Deadline deadline) override;
  Result<std::int64_t> PendingChanges(const std::string& entity, const std::string& cursor, Deadline deadline) override;

  const std::string& path() const { return path_; }

 private:
  explicit LocalConnector(std::string path);
  Result<ConnectionPool::Lease> Connect(Deadline deadline) const;
  std::string path_;
  mutable ConnectionPool connections_;
};

}  // namespace crmsync::local
