#include "common/sqlite.h"

#include <sqlite3.h>

#include <cstdlib>
#include <utility>

namespace crmsync {

StatusCode StatusCodeForSqlite(int rc) {
  switch (rc) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_BUSY_SNAPSHOT:
    case SQLITE_BUSY_RECOVERY: return StatusCode::kBusy;
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: return StatusCode::kAlreadyExists;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return StatusCode::kCorrupt;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM: return StatusCode::kIo;
    default: break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return StatusCode::kBusy;
    case SQLITE_CONSTRAINT:
    case SQLITE_ERROR:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return StatusCode::kInvalidArgument;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return StatusCode::kCorrupt;
    default: return StatusCode::kIo;
  }
}

std::int64_t SqliteMemoryInUse() {
  return sqlite3_memory_used();
}

Result<SqliteDb> SqliteDb::Open(const std::string& path, const SqliteOpenOptions& options) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  flags |= options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (options.create && !options.read_only) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s(StatusCodeForSqlite(rc),
             "cannot open database '" + path + "': " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  SqliteDb out(db, path);
  if (options.foreign_keys) CRMSYNC_RETURN_IF_ERROR(out.Exec("PRAGMA foreign_keys = ON"));
  if (options.wal && !options.read_only) {
    // journal_mode returns a row; it fails on a file that is not a database.
    auto st = out.Prepare("PRAGMA journal_mode = WAL");
    if (!st.ok()) return st.status().WithContext("database '" + path + "'");
    auto step = st->Step();
    if (!step.ok()) return step.status().WithContext("database '" + path + "'");
    CRMSYNC_RETURN_IF_ERROR(out.Exec("PRAGMA synchronous = NORMAL"));
  }
  return out;
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

SqliteDb::~SqliteDb() {
  sqlite3_close_v2(db_);
}

Status SqliteDb::LastError(std::string_view what) const {
  return Status(StatusCodeForSqlite(sqlite3_extended_errcode(db_)),
                std::string(what) + ": " + sqlite3_errmsg(db_) + " (database '" + path_ + "')");
}

Status SqliteDb::Exec(std::string_view sql) {
  const std::string text(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Status s(StatusCodeForSqlite(sqlite3_extended_errcode(db_)),
             std::string(err ? err : sqlite3_errstr(rc)) + " (database '" + path_ + "')");
    sqlite3_free(err);
    return s;
  }
  return Status::Ok();
}

Result<SqliteStatement> SqliteDb::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return LastError("cannot prepare '" + std::string(sql.substr(0, 80)) + "'");
  return SqliteStatement(stmt, db_);
}

std::int64_t SqliteDb::LastInsertRowId() const {
  return sqlite3_last_insert_rowid(db_);
}
int SqliteDb::Changes() const {
  return sqlite3_changes(db_);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_), bind_error_(std::move(other.bind_error_)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
    bind_error_ = std::move(other.bind_error_);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() {
  sqlite3_finalize(stmt_);
}

SqliteStatement& SqliteStatement::Bind(int index, const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kNull: return BindNull(index);
    case Value::Kind::kBool: return Bind(index, static_cast<std::int64_t>(value.as_bool() ? 1 : 0));
    case Value::Kind::kInteger: return Bind(index, value.as_integer());
    case Value::Kind::kDecimal: {
      // Stored as REAL where the column has numeric affinity; the text keeps
      // full precision for TEXT columns.
      const std::string& t = value.as_decimal();
      if (sqlite3_bind_text(stmt_, index, t.data(), static_cast<int>(t.size()), SQLITE_TRANSIENT) != SQLITE_OK &&
          bind_error_.ok()) {
        bind_error_ = Status(StatusCode::kInternal, "cannot bind parameter " + std::to_string(index));
      }
      return *this;
    }
    case Value::Kind::kText: return Bind(index, std::string_view(value.as_text()));
  }
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT) != SQLITE_OK &&
      bind_error_.ok()) {
    bind_error_ = Status(StatusCode::kInternal, "cannot bind parameter " + std::to_string(index));
  }
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, std::int64_t number) {
  if (sqlite3_bind_int64(stmt_, index, number) != SQLITE_OK && bind_error_.ok()) {
    bind_error_ = Status(StatusCode::kInternal, "cannot bind parameter " + std::to_string(index));
  }
  return *this;
}

SqliteStatement& SqliteStatement::BindNull(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK && bind_error_.ok()) {
    bind_error_ = Status(StatusCode::kInternal, "cannot bind parameter " + std::to_string(index));
  }
  return *this;
}

SqliteStatement& SqliteStatement::Bind(std::string_view name, const Value& value) {
  const std::string n(name);
  const int index = sqlite3_bind_parameter_index(stmt_, n.c_str());
  if (index == 0) std::abort();  // a statement without this parameter is a bug
  return Bind(index, value);
}

Result<bool> SqliteStatement::Step() {
  if (!bind_error_.ok()) return bind_error_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const char* sql = sqlite3_sql(stmt_);
  std::string what = "statement failed";
  if (sql != nullptr) what += " '" + std::string(sql).substr(0, 80) + "'";
  return Status(StatusCodeForSqlite(sqlite3_extended_errcode(db_)), what + ": " + sqlite3_errmsg(db_));
}

Status SqliteStatement::Run() {
  for (;;) {
    auto row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = Status::Ok();
}

int SqliteStatement::ColumnCount() const {
  return sqlite3_column_count(stmt_);
}
std::string SqliteStatement::ColumnName(int index) const {
  return sqlite3_column_name(stmt_, index);
}
bool SqliteStatement::IsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}
std::int64_t SqliteStatement::ColumnInt(int index) const {
  return sqlite3_column_int64(stmt_, index);
}
double SqliteStatement::ColumnDouble(int index) const {
  return sqlite3_column_double(stmt_, index);
}

std::string SqliteStatement::ColumnText(int index) const {
  const auto* p = sqlite3_column_text(stmt_, index);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)));
}

Value SqliteStatement::ColumnValue(int index) const {
  switch (sqlite3_column_type(stmt_, index)) {
    case SQLITE_NULL: return Value::Null();
    case SQLITE_INTEGER: return Value::Integer(ColumnInt(index));
    case SQLITE_FLOAT: return Value::DecimalFromDouble(ColumnDouble(index));
    default: return Value::Text(ColumnText(index));
  }
}

Result<SqliteTransaction> SqliteTransaction::Begin(SqliteDb& db, Mode mode) {
  CRMSYNC_RETURN_IF_ERROR(db.Exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  return SqliteTransaction(&db);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

SqliteTransaction::~SqliteTransaction() {
  Rollback();
}

Status SqliteTransaction::Commit() {
  if (db_ == nullptr) return Internal("transaction already finished");
  Status s = db_->Exec("COMMIT");
  if (s.ok()) db_ = nullptr;
  return s;
}

void SqliteTransaction::Rollback() {
  if (db_ != nullptr) {
    // Ignored: in practice ROLLBACK fails only when SQLite already rolled the
    // transaction back itself (I/O error, disk full), which is the outcome
    // wanted; the error that caused it went to whoever ran that statement.
    (void)db_->Exec("ROLLBACK");
    db_ = nullptr;
  }
}

}  // namespace crmsync
