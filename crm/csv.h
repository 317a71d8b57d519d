// CSV import and export of a table of the local CRM store (`crmsync crm
// contact import/export`).
//
// Format: RFC 4180 (comma separated, double quotes around fields that hold a
// comma, quote or line break, quotes doubled), UTF-8, a header row of column
// names (docs/local-store.md). Export writes every column in table order,
// null as an empty field. Import ignores created_at/modified_at, treats an
// empty field as "not given" (defaults, derived name and number series
// apply), and is all or nothing: every row is checked in one transaction,
// each bad row is reported with its line number, and nothing is written
// unless every row is good.
//
// Thread-safety: free functions; the Store is used by one thread at a time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crm/store.h"

namespace crmsync::crm {

// Splits CSV text into rows of fields; each row remembers its first line.
struct CsvRow {
  int line = 0;
  std::vector<std::string> fields;
};
Result<std::vector<CsvRow>> ParseCsv(std::string_view text);
std::string FormatCsvRow(const std::vector<std::string>& fields);

Result<std::string> ExportCsv(Store& store, Table table, const ListQuery& query = {});

struct ImportReport {
  std::vector<std::string> keys;    // keys added, in file order (when errors is empty)
  std::vector<std::string> errors;  // "line 3: status 'done' is not one of ..."
};
// Fails (non-ok Result) only when the file cannot be read as CSV at all or the
// database fails; row problems are in ImportReport::errors.
Result<ImportReport> ImportCsv(Store& store, Table table, std::string_view text);

}  // namespace crmsync::crm
