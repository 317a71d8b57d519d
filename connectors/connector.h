// Connector: the small interface the sync engine sees for each side
// (the local CRM store, Dataverse). See design.md sections 2 and 3.
//
// A connector reads changes after an opaque cursor, fetches one record, and
// writes a batch with one result per operation. It never sleeps, retries,
// schedules or touches the state store: the engine owns cursors (it commits a
// cursor only after the changes read with it were written and recorded), and
// the engine owns retry and backoff (it asks IsRetryable() of each Status).
// Delivery is at-least-once, so every write must be safe to repeat.
//
// Keys: a remote key is the record's GUID (lower case). A local key is the
// key column's value as text; a composite key (sales_order_line) is the JSON
// array of its parts in key order, for example ["SO000001",10000].
//
// Thread-safety: a connector may be called from several engine workers at
// once unless its own header says otherwise.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/deadline.h"
#include "common/result.h"
#include "common/value.h"

namespace crmsync::connectors {

// One changed record read from a side.
struct Change {
  enum class Kind { kUpsert, kDelete };
  Kind kind = Kind::kUpsert;
  std::string key;
  Record record;        // current values of the requested columns; empty for deletes
  std::string version;  // remote: ETag; local: journal seq of the row's latest change
};

struct ReadRequest {
  std::string entity;                // local table or Dataverse entity set
  std::vector<std::string> columns;  // the mapped columns only; keys are always returned
  std::string cursor;                // "" = from the beginning (a full read)
  int max_changes = 5000;            // upper bound on one batch's size (memory)
};

// A bounded slice of changes. The engine processes `changes`, then commits
// `next_cursor`; when `more` is set it calls again with that cursor.
struct ChangeBatch {
  std::vector<Change> changes;
  std::string next_cursor;
  bool more = false;
};

struct WriteOp {
  // kUpsert: update the record with this key, or create it with this key when
  // it does not exist (remote: PATCH without If-Match; used by recovery and
  // keyed reconciliation, where whether a record exists is unknown).
  enum class Kind { kCreate, kUpdate, kUpsert, kDelete };
  Kind kind = Kind::kCreate;
  // The table or entity set; empty = the entity named in the Write call. A
  // group may span entities (a sales order and its lines).
  std::string entity;
  // Remote: the GUID (client-chosen for creates, so a repeated create is
  // recognised). Local: the key; empty on create = next number of the series.
  std::string key;
  Record fields;  // for updates only the changed fields
  // If non-empty, the write applies only if the record is still at this
  // version (remote ETag / local journal seq); otherwise kConflict.
  std::string expected_version;
  // Operations sharing a non-empty group are applied atomically (an order
  // and its lines): all or none.
  std::string group;
  // Local creates: the Dataverse id the record came from, stored with the
  // row so recovery can find a row an interrupted pass created (R2).
  std::string origin_id;
};

struct WriteResult {
  // ok; kConflict when expected_version no longer matches; kAborted when
  // another op of the same group failed; otherwise the op's own error.
  Status status;
  std::string key;      // the key written (assigned number for local creates)
  std::string version;  // the new version, when known
};

class Connector {
 public:
  virtual ~Connector() = default;

  // Changes after `request.cursor`. kCursorExpired when the side no longer
  // accepts the cursor (the engine then runs a keyed reconciliation, R8).
  virtual Result<ChangeBatch> ReadChanges(const ReadRequest& request, Deadline deadline) = 0;

  // The record's current values and version, or nullopt when it does not exist.
  virtual Result<std::optional<Change>> Fetch(const std::string& entity, const std::string& key,
                                              const std::vector<std::string>& columns, Deadline deadline) = 0;

  // Applies `ops` in order; returns exactly one result per op. A non-ok
  // Result means nothing is known about any op (for example the connection
  // failed before an answer): the engine retries the whole batch, which is
  // safe because writes are idempotent by key.
  virtual Result<std::vector<WriteResult>> Write(const std::string& entity, std::span<const WriteOp> ops,
                                                 Deadline deadline) = 0;
};

}  // namespace crmsync::connectors
