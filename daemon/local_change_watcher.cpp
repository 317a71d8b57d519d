#include "daemon/local_change_watcher.h"

namespace crmsync::daemon {

Result<LocalChangeWatcher> LocalChangeWatcher::Open(const std::string& database) {
  CRMSYNC_ASSIGN_OR_RETURN(auto db, SqliteDb::Open(database, {.create = false, .read_only = true}));
  LocalChangeWatcher watcher(std::move(db));
  CRMSYNC_ASSIGN_OR_RETURN(watcher.seen_, watcher.HighWaterMark());
  return watcher;
}

Result<std::int64_t> LocalChangeWatcher::HighWaterMark() {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT seq FROM sqlite_sequence WHERE name = 'crmsync_journal'"));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt(0) : 0;
}

Result<std::set<std::string>> LocalChangeWatcher::ChangedTables() {
  std::set<std::string> tables;
  CRMSYNC_ASSIGN_OR_RETURN(const std::int64_t mark, HighWaterMark());
  if (mark <= seen_) return tables;
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT DISTINCT table_name FROM crmsync_journal WHERE seq > ?1"));
  st.Bind(1, seen_);
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    tables.insert(st.ColumnText(0));
  }
  seen_ = mark;
  return tables;
}

}  // namespace crmsync::daemon
