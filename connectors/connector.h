// Connector: the small interface the sync engine sees for each side
// (the local CRM store, Dataverse). See design.md sections 2 and 3.
//
// A connector reads changes after an opaque cursor, fetches records by key,
// finds records by the value of an attribute, and writes a batch with one
// result per operation. It never schedules or touches the state store: the
// engine owns cursors (it commits a cursor only after the changes read with
// it were written and recorded). Retries of transient failures live in one
// place, the Dataverse transport (design.md R7); the local connector does
// not retry. The engine asks IsRetryable() of each Status it gets back and
// adds no retry loop of its own. Delivery is at-least-once, so every write
// must be safe to repeat.
//
// Keys: a remote key is the record's GUID (lower case). A local key is the
// key column's value as text; a composite key (sales_order_line) is the JSON
// array of its parts in key order, for example ["SO000001",10000].
//
// Thread-safety: a connector may be called from several engine workers at
// once unless its own header says otherwise.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/deadline.h"
#include "common/result.h"
#include "common/value.h"

namespace crmsync::connectors {

// One changed (or found) record read from a side.
struct Change {
  enum class Kind { kUpsert, kDelete };
  Kind kind = Kind::kUpsert;
  std::string key;
  Record record;        // current values of the requested columns; empty for deletes
  std::string version;  // remote: ETag; local: journal seq of the row's latest change
  // When the record last changed, as the side says (remote: modifiedon;
  // local: the journal's changed_at). Only newest_wins reads it, to break a
  // tie between two changes of one field (R5); nullopt when unknown.
  std::optional<std::chrono::system_clock::time_point> modified_at;
  // Local only: the Dataverse id crmsync created this row from (R2), so the
  // engine can couple it again if the pass that created it was lost.
  std::string origin_id;
};

struct ReadRequest {
  std::string entity;  // local table or Dataverse entity set
  // Remote: the primary key attribute ("accountid"), from the mapping; when
  // empty, the connector's configured key for the set, else the tree's one
  // naming rule (common/entity_set_names.h). Local: ignored (the table
  // knows its key).
  std::string key;
  std::vector<std::string> columns;  // the mapped columns only; keys are always returned
  // Remote: an OData $filter the records must pass (the mapping's
  // remote.filter), "" for none. Dataverse refuses $filter with change
  // tracking, so a filtered read uses the versionnumber watermark instead.
  // Local: ignored (see local_filter).
  std::string filter;
  std::string cursor;      // "" = from the beginning (a full read)
  int max_changes = 5000;  // upper bound on one batch's size (memory)
  // Local: only rows whose columns equal these values (the mapping's
  // local.filter) are needed; a connector may leave out rows that do not
  // match, or return them all (the engine applies local.filter itself).
  // Deletes are returned whatever the row was. Remote: ignored.
  Record local_filter;
};

// A bounded slice of changes. The engine processes `changes`, then commits
// `next_cursor`; when `more` is set it calls again with that cursor.
struct ChangeBatch {
  std::vector<Change> changes;
  std::string next_cursor;
  bool more = false;
};

// "The records whose `attribute` equals one of `values`" (match_on coupling,
// keyed reconciliation), or with an empty `attribute` "the records with these
// keys". Paged like ReadChanges: memory stays bounded by `max_records`.
// Text compares as each side compares it (Dataverse: case-insensitive).
// Changes come back as kUpsert only; a value no record holds is simply absent.
struct LookupRequest {
  std::string entity;
  std::string key;  // as in ReadRequest
  std::vector<std::string> columns;
  std::string attribute;      // a column or attribute; "" = by key
  std::vector<Value> values;  // at least one; the connector splits long lists itself
  std::string filter;         // as in ReadRequest
  std::string cursor;         // "" = first page; then the last batch's next_cursor
  int max_records = 5000;
};

struct WriteOp {
  // kUpsert: update the record with this key, or create it with this key when
  // it does not exist (remote: PATCH without If-Match; used by recovery and
  // keyed reconciliation, where whether a record exists is unknown).
  // kAssociate / kDisassociate (remote only): link or unlink the record with
  // this key and the `target_key` record of `target_entity` through the
  // many-to-many `relationship`; repeating either is a success (the link is
  // there, or gone, as asked).
  enum class Kind { kCreate, kUpdate, kUpsert, kDelete, kAssociate, kDisassociate };
  Kind kind = Kind::kCreate;
  // The table or entity set; empty = the entity named in the Write call. A
  // group may span entities (a sales order and its lines).
  std::string entity;
  // Remote: the GUID, always given, also for creates: the engine chooses it
  // and records it as an intent before sending (R2), so a create repeated
  // after a lost response finds its own record. A remote op without a valid
  // GUID is the caller's bug: kInvalidArgument. Local: the key; empty on
  // create = next number of the series.
  std::string key;
  Record fields;  // for updates only the changed fields
  // If non-empty, the write applies only if the record is still at this
  // version (remote ETag / local journal seq); otherwise kConflict.
  std::string expected_version;
  // Operations sharing a non-empty group are applied atomically and in the
  // order given (an order and its lines): all or none.
  std::string group;
  // Local creates: the Dataverse id the record came from, stored with the
  // row so recovery can find a row an interrupted pass created (R2).
  std::string origin_id;
  // Creates, updates and upserts: the columns or attributes to return in
  // WriteResult::record as the side stored them (remote: the $select of
  // return=representation, so a lookup written as "nav@odata.bind" reads
  // back as "_attr_value"; local: the row's columns). Empty = none.
  std::vector<std::string> read_back;
  // kAssociate / kDisassociate: the relationship (a collection-valued
  // navigation property of `entity`) and the other record.
  std::string relationship;
  std::string target_entity;
  std::string target_key;
};

struct WriteResult {
  // ok; kConflict when expected_version no longer matches; kAborted when
  // another op of the same group failed; otherwise the op's own error.
  Status status;
  std::string key;      // the key written (assigned number for local creates)
  std::string version;  // the new version, when known
  // The record as the side stored it after the write: the op's read_back
  // columns (remote: from return=representation; local: the row read back
  // in the same transaction), when the side returned them; empty otherwise.
  // The engine keeps it as the base, so an echo of this write compares equal.
  Record record;
};

class Connector {
 public:
  virtual ~Connector() = default;

  // Changes after `request.cursor`. kCursorExpired when the side no longer
  // accepts the cursor (the engine then runs a keyed reconciliation, R8).
  virtual Result<ChangeBatch> ReadChanges(const ReadRequest& request, Deadline deadline) = 0;

  // The record's current values and version, or nullopt when it does not
  // exist. `key_attribute` is as ReadRequest::key.
  virtual Result<std::optional<Change>> Fetch(const std::string& entity, const std::string& key_attribute,
                                              const std::string& key, const std::vector<std::string>& columns,
                                              Deadline deadline) = 0;

  // One page of the records LookupRequest describes.
  virtual Result<ChangeBatch> Lookup(const LookupRequest& request, Deadline deadline) = 0;

  // Applies `ops`; returns exactly one result per op, in the order of `ops`.
  //
  // Order and atomicity: the ops of one group are applied in the order given
  // and atomically (all or none; a group with an invalid op fails whole, with
  // nothing sent). Ops outside groups, and different groups, are independent:
  // a connector may apply them concurrently and in any order, so the engine
  // never puts two ops on one record in one call outside a group.
  //
  // A non-ok Result means nothing is known about any op (for example the
  // local store could not be opened): the engine may try the whole batch
  // again later, which is safe because writes are idempotent by key.
  virtual Result<std::vector<WriteResult>> Write(const std::string& entity, std::span<const WriteOp> ops,
                                                 Deadline deadline) = 0;
};

}  // namespace crmsync::connectors
