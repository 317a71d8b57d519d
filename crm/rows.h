// Reading and writing rows of the five data tables with validation, inside
// a transaction the caller owns. The building block of crm::Store (one
// transaction per call) and of the local connector (one transaction per
// batch).
//
// Validation runs before SQL so errors name the field and value
// ("status 'done' is not one of not_started, in_progress, won, lost",
// "contact_no: contact 'CT000099' does not exist", "company_no: company
// 'CT000005' is a person, not a company"); the schema's own constraints and
// triggers stay the last line of defence for other programs.
//
// Errors: kInvalidArgument (bad field, value or reference), kNotFound (no
// row with that key), kAlreadyExists (key taken), kBusy/kIo from SQLite.
//
// Each function comes in two forms: over a SqliteDb (one call), and over a
// StatementCache of that connection, which a batch passes to every call so
// each distinct statement is prepared once for the whole batch.
//
// Thread-safety: free functions over a SqliteDb used by one thread at a time.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/sqlite.h"
#include "common/value.h"
#include "crm/schema.h"
#include "crm/statement_cache.h"

namespace crmsync::crm {

// kInvalidArgument naming the first name that is not a column of `spec`.
Status CheckColumns(const TableSpec& spec, std::span<const std::string> columns);

// Inserts one row. A missing key is assigned: the next number of the table's
// series (contacts, opportunities, orders) or, for an order line, the
// order's last line_no + 10000. A contact without salesperson_code, and
// likewise an opportunity or order, gets setup's default_salesperson_code;
// a person without a name gets "first_name surname". Returns the key.
Result<std::string> InsertRow(SqliteDb& db, const TableSpec& spec, const Record& fields);
Result<std::string> InsertRow(StatementCache& statements, const TableSpec& spec, const Record& fields);

// Changes only `fields` of the row (a key column may change: the new key is
// returned). kNotFound when there is no such row.
Result<std::string> UpdateRow(SqliteDb& db, const TableSpec& spec, std::string_view key, const Record& fields);
Result<std::string> UpdateRow(StatementCache& statements, const TableSpec& spec, std::string_view key,
                              const Record& fields);

// kNotFound when there is no such row; kInvalidArgument when other rows
// still need it (a contact with opportunities or orders).
Status DeleteRow(SqliteDb& db, const TableSpec& spec, std::string_view key);
Status DeleteRow(StatementCache& statements, const TableSpec& spec, std::string_view key);

// The row's `columns` (every column when empty; key columns always), or
// nullopt when there is no such row.
Result<std::optional<Record>> ReadRow(SqliteDb& db, const TableSpec& spec, std::string_view key,
                                      std::span<const std::string> columns = {});
Result<std::optional<Record>> ReadRow(StatementCache& statements, const TableSpec& spec, std::string_view key,
                                      std::span<const std::string> columns = {});

// Column `index` of the current row of `st` as ReadRow returns it (a
// boolean column as a Bool, not 0/1), for callers with a SELECT of their own.
Value ReadColumnValue(const SqliteStatement& st, int index, const ColumnSpec& column);

struct ListQuery {
  std::vector<std::pair<std::string, Value>> equals{};  // column = value (null: IS NULL)
  std::string search{};                                 // case-insensitive substring of any text column
  int limit = 0;                                        // 0 = all
};

// Rows matching `query`, every column, in key order.
Result<std::vector<Record>> ListRows(SqliteDb& db, const TableSpec& spec, const ListQuery& query);

// The SQL condition on the key columns ("\"no\" = ?"), parameters from 1.
std::string KeyCondition(const TableSpec& spec);

// A table or column name quoted as an SQL identifier ("no" is also an SQL
// keyword): wrapped in double quotes, an embedded '"' doubled (a"b ->
// "a""b"), so any text names exactly that identifier. Names still come from
// crm/schema's tables, never unchecked from outside.
std::string QuoteName(std::string_view name);

}  // namespace crmsync::crm
