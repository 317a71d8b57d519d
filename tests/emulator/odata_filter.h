// OData $filter: a parser producing a typed expression tree for one table, and
// an evaluator over stored records (dataverse-web-api.md section 4.1).
//
// Supported: eq ne gt ge lt le, and or not, parentheses, contains/startswith/
// endswith (SQL LIKE wildcards, case-insensitive), string/number/bool/null/
// GUID/DateTimeOffset/Date literals, parameter aliases (@p1), lookup
// _x_value columns, single-valued navigation paths (primarycontactid/fullname)
// and Microsoft.Dynamics.CRM.In / NotIn / Between / NotBetween.
// Errors are 400 Statuses with code 0x0 and OData's messages; malformed input
// never throws. A parsed filter is immutable and may be shared.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tests/emulator/metadata.h"
#include "tests/emulator/store.h"

namespace crmsync::emulator {

struct FilterLiteral {
  enum class Kind { kNull, kBool, kNumber, kString, kGuid, kDateTime, kDate };
  Kind kind = Kind::kNull;
  std::string text;  // string / guid (lower case) / date text
  double number = 0;
  bool boolean = false;
  std::int64_t time = 0;  // seconds since the epoch (DateTimeOffset, Date)
};

struct FilterNode {
  enum class Kind { kOr, kAnd, kNot, kCompare, kFunction, kProperty, kLiteral };
  Kind kind = Kind::kLiteral;
  std::string op;  // compare: eq..le; function: contains, startswith, endswith, In, NotIn, Between, NotBetween
  std::vector<std::unique_ptr<FilterNode>> children;
  // kProperty: the column, and for a navigation path the lookup that leads to it.
  const AttributeDef* attr = nullptr;
  const AttributeDef* via = nullptr;  // lookup on the base table (navigation path), else null
  std::string via_target;             // logical name of the table `attr` belongs to when `via` is set
  FilterLiteral literal;              // kLiteral
  std::vector<FilterLiteral> values;  // In/Between value lists
};

// Resolves a parameter alias ("@p1") to its raw text; empty optional when undefined.
using AliasLookup = std::function<std::optional<std::string>(std::string_view)>;

Result<std::unique_ptr<FilterNode>> ParseFilter(std::string_view text, const EntityDef& entity,
                                                const Metadata& metadata, const AliasLookup& aliases = {});

// Finds a related record for navigation paths (caller holds the store lock).
using RecordLookup = std::function<const StoredRecord*(std::string_view logical, std::string_view id)>;

bool EvaluateFilter(const FilterNode& node, const StoredRecord& record, const RecordLookup& lookup);

// SQL LIKE with % _ [set] [^set], case-insensitive (exposed for tests).
bool LikeMatch(std::string_view text, std::string_view pattern);

// Orders two column values the way Dataverse sorts them: nulls first,
// strings case-insensitively, numbers numerically. <0, 0, >0.
int CompareValues(const AttributeDef& attr, const nlohmann::json& a, const nlohmann::json& b);

}  // namespace crmsync::emulator
