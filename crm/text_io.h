// Records of the local CRM store as people and scripts read and type them:
// the logic behind `crmsync crm` that does not need CLI11, so it is tested
// without running the binary.
//
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "crm/schema.h"

namespace crmsync::crm {

// Column values typed by a user, converted by column type ("" = null).
// kInvalidArgument names the column and value.
Result<Record> FieldsFromText(const TableSpec& spec, const std::vector<std::pair<std::string, std::string>>& texts);

// The key from its parts as typed: {"CT000001"}, or {"SO000001", "10000"} for an order line.
Result<std::string> KeyFromText(const TableSpec& spec, const std::vector<std::string>& parts);

// The key as people type it: "CT000001", or "SO000001 10000" for an order line.
std::string KeyForPeople(const TableSpec& spec, std::string_view key);

// The columns `list` shows as text for `spec` (every column is in --json).
std::span<const std::string_view> SummaryColumns(const TableSpec& spec);

// Rows as an aligned text table of the summary columns, with a header line.
std::string FormatTable(const TableSpec& spec, const std::vector<Record>& rows);
// One row as "column: value" lines, every column in table order.
std::string FormatRecord(const TableSpec& spec, const Record& row);
// One JSON array of objects (every column; null, booleans and numbers as JSON values).
std::string RecordsToJsonText(const std::vector<Record>& rows);
std::string RecordToJsonText(const Record& row);

}  // namespace crmsync::crm
