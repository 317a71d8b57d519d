// Store: the local CRM store (one SQLite file) as `crmsync crm`, `crmsync
// init` and tests use it: typed access to contacts, salespeople,
// opportunities, sales orders and lines, with validation and number series.
//
// Opening migrates the file to the latest schema. Every call is one write
// (BEGIN IMMEDIATE) or read transaction, so concurrent processes see whole
// changes only and never share a number. Rows travel as Records keyed by
// column name; keys as text (crm/schema.h).
//
// Ownership: a Store owns its connection. Thread-safety: one thread at a
// time (open a Store per thread or process).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/sqlite.h"
#include "crm/migrations.h"
#include "crm/rows.h"
#include "crm/schema.h"

namespace crmsync::crm {

class Store {
 public:
  // Opens the store at `path`, migrating it to the latest schema. A missing
  // file is created when `create_if_missing`, else kNotFound suggesting
  // `crmsync init`.
  static Result<Store> Open(const std::string& path, bool create_if_missing = false);

  Store(Store&&) noexcept = default;
  Store& operator=(Store&&) noexcept = default;

  // Adds a row; returns its key (for a number series table the number taken).
  Result<std::string> Add(Table table, const Record& fields);
  // The row's every column; kNotFound "contact 'CT000099' does not exist".
  Result<Record> Get(Table table, std::string_view key);
  Result<std::vector<Record>> List(Table table, const ListQuery& query = {});
  // Changes only `fields`; returns the key afterwards (it may have changed).
  Result<std::string> Update(Table table, std::string_view key, const Record& fields);
  Status Delete(Table table, std::string_view key);

  // Runs `body` in one write transaction: committed when it returns ok,
  // rolled back otherwise.
  Status InTransaction(const std::function<Status(SqliteDb&)>& body);

  SqliteDb& db() { return db_; }
  const MigrationReport& migration() const { return migration_; }

 private:
  Store(SqliteDb db, MigrationReport migration) : db_(std::move(db)), migration_(migration) {}
  SqliteDb db_;
  MigrationReport migration_;
};

}  // namespace crmsync::crm
