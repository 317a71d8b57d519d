// StatementCache: the prepared statements of one SQLite connection, kept so
// that a batch of writes or reads prepares each distinct statement once
// instead of once per row. Preparing an INSERT or UPDATE also compiles every
// trigger and foreign-key action of its table, which costs more than running
// it; a batch of 5,000 creates reuses one INSERT.
//
// Get() lends a statement: ready to bind, and reset (bindings cleared, any
// read in progress ended) when the CachedStatement goes away, so a borrowed
// statement never keeps a read open past its caller's scope. Asking for SQL
// whose statement is still lent prepares a separate one for that use.
// SQLite re-prepares statements itself after a schema change.
//
// Thread-safety: like the SqliteDb it wraps, used by one thread at a time.
// The cache, and every statement it lent, must not outlive the connection.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/sqlite.h"

namespace crmsync::crm {

class CachedStatement;

class StatementCache {
 public:
  explicit StatementCache(SqliteDb& db) : db_(&db) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // The prepared statement for `sql`; errors as SqliteDb::Prepare.
  Result<CachedStatement> Get(std::string_view sql);

  SqliteDb& db() const { return *db_; }
  // Distinct statements prepared so far (tests and benchmarks count them).
  std::size_t size() const { return entries_.size(); }

 private:
  friend class CachedStatement;
  struct Entry {
    SqliteStatement statement;
    bool lent = false;
  };
  SqliteDb* db_;
  std::map<std::string, Entry, std::less<>> entries_;
};

// A statement lent by a StatementCache (or, while the cached one is lent,
// one of its own); reset and returned when it goes away.
class CachedStatement {
 public:
  CachedStatement(CachedStatement&& other) noexcept;
  CachedStatement& operator=(CachedStatement&&) = delete;
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  ~CachedStatement();

  SqliteStatement* operator->() const { return statement_; }
  SqliteStatement& operator*() const { return *statement_; }

 private:
  friend class StatementCache;
  explicit CachedStatement(StatementCache::Entry* entry) : entry_(entry), statement_(&entry->statement) {}
  explicit CachedStatement(SqliteStatement own) : own_(std::move(own)), statement_(&*own_) {}

  StatementCache::Entry* entry_ = nullptr;  // null when own_ holds the statement
  std::optional<SqliteStatement> own_;
  SqliteStatement* statement_;
};

}  // namespace crmsync::crm
