// LocalChangeWatcher: notices that the local CRM store changed, cheaply
// enough to ask several times a second, and says which tables changed.
//
// Every change to a mapped table is journalled by a trigger
// (crmsync_journal, design.md section 4), whoever makes it: another program,
// `sqlite3`, `crmsync crm`, or crmsync's own pass. The journal's AUTOINCREMENT
// high-water mark (one row of sqlite_sequence) moves with every journalled
// change and never goes back (pruning does not lower it), so one indexed
// lookup answers "anything new?"; only then are the journal rows after the
// last mark read (a range scan on the primary key) for their table names.
//
// Own writes are seen too: the pass after them finds echoes (R4), which cost
// reads but no writes, and then the journal is quiet again.
//
// Ownership: its own read-only connection to the local store.
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "common/result.h"
#include "common/sqlite.h"

namespace crmsync::daemon {

class LocalChangeWatcher {
 public:
  // Opens `database` read-only; starts at the journal's current mark, so
  // changes made before are left to the first pass (which runs anyway).
  static Result<LocalChangeWatcher> Open(const std::string& database);

  // The tables with journal rows since the last call (empty when none).
  Result<std::set<std::string>> ChangedTables();

 private:
  explicit LocalChangeWatcher(SqliteDb db) : db_(std::move(db)) {}
  Result<std::int64_t> HighWaterMark();

  SqliteDb db_;
  std::int64_t seen_ = 0;
};

}  // namespace crmsync::daemon
