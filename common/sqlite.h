// A small RAII layer over SQLite: a connection, prepared statements and
// transactions, reporting failures as Status values.
//
// Connections open in WAL mode with a busy timeout and foreign keys on, so
// several processes (the daemon, `crmsync crm`, other local programs) can
// share one database file. A SqliteDb is used by one thread at a time; open
// one per thread instead of sharing.
//
// Error codes: kBusy (locked by another process past the busy timeout),
// kAlreadyExists (UNIQUE/PRIMARY KEY), kInvalidArgument (other constraints,
// bad SQL), kCorrupt, kIo (everything else).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/value.h"

struct sqlite3;
struct sqlite3_stmt;

namespace crmsync {

// The bytes SQLite holds in this process, every connection together (page
// caches, prepared statements, schemas): sqlite3_memory_used().
std::int64_t SqliteMemoryInUse();

struct SqliteOpenOptions {
  bool create = true;  // create the file if missing
  bool read_only = false;
  bool wal = true;
  bool foreign_keys = true;
  std::chrono::milliseconds busy_timeout{10000};
};

class SqliteStatement;

class SqliteDb {
 public:
  static Result<SqliteDb> Open(const std::string& path, const SqliteOpenOptions& options = {});

  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  // Runs one or more statements that return no rows.
  Status Exec(std::string_view sql);
  Result<SqliteStatement> Prepare(std::string_view sql);

  std::int64_t LastInsertRowId() const;
  int Changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // A Status for the connection's last error, prefixed with `what`.
  Status LastError(std::string_view what) const;

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Parameters are 1-based, as in SQLite.
  SqliteStatement& Bind(int index, const Value& value);
  SqliteStatement& Bind(int index, std::string_view text);
  SqliteStatement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  SqliteStatement& Bind(int index, std::int64_t number);
  SqliteStatement& Bind(int index, int number) { return Bind(index, static_cast<std::int64_t>(number)); }
  SqliteStatement& BindNull(int index);
  // Named parameter (":name"); aborts if the statement has no such parameter.
  SqliteStatement& Bind(std::string_view name, const Value& value);

  // Advances: true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion (for statements that return no rows).
  Status Run();
  // Resets so the statement can run again; bindings are cleared.
  void Reset();

  int ColumnCount() const;
  std::string ColumnName(int index) const;  // 0-based
  bool IsNull(int index) const;
  std::int64_t ColumnInt(int index) const;
  double ColumnDouble(int index) const;
  std::string ColumnText(int index) const;
  // The column as a Value (INTEGER, REAL as decimal, TEXT, NULL; BLOB as text).
  Value ColumnValue(int index) const;

 private:
  friend class SqliteDb;
  SqliteStatement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
  Status bind_error_;
};

// Rolls back on destruction unless Commit() succeeded.
class SqliteTransaction {
 public:
  enum class Mode { kDeferred, kImmediate };
  static Result<SqliteTransaction> Begin(SqliteDb& db, Mode mode = Mode::kImmediate);

  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  ~SqliteTransaction();

  Status Commit();
  void Rollback();

 private:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

// Maps an SQLite result code to a Status code.
StatusCode StatusCodeForSqlite(int sqlite_result_code);

}  // namespace crmsync
