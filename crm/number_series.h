// Number series: where new records get their `no` (CT000001, OP000001, ...).
//
// A series (table number_series) has a starting number, an optional ending
// number, the last number used and an increment. The next number is the
// last one used plus the increment, applied to the trailing run of digits
// with its width kept ("CT000009" -> "CT000010"); a number already taken
// by hand is skipped. Allocation happens inside the caller's write
// transaction (BEGIN IMMEDIATE), together with the insert that uses the
// number, so two processes inserting at once never get the same number and
// a rolled-back insert gives its number back.
//
// Errors: kInvalidArgument when the series does not exist, is exhausted
// (past ending_no, or the digits would need more width), or refuses manual
// numbers.
//
// The functions prepare their statements through the caller's
// StatementCache, so a batch of inserts prepares them once.
//
// Thread-safety: free functions; a SqliteDb is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "crm/schema.h"
#include "crm/statement_cache.h"

namespace crmsync::crm {

// Pure: "CT000009" + 1 -> "CT000010"; fails when `no` has no trailing digits
// or the result would need more digits than `no` has.
Result<std::string> IncrementNo(std::string_view no, std::int64_t by);

// Orders two numbers of one series: by length, then by text (negative, 0, positive).
int CompareNo(std::string_view a, std::string_view b);

// The series code of `spec`'s table from setup ("" when the table has no series
// or setup names none).
Result<std::string> SeriesCodeFor(StatementCache& statements, const TableSpec& spec);

// Takes the next free number of `series_code` for a new row of `spec`'s table
// and records it as last_no_used. Call inside a write transaction.
Result<std::string> TakeNextNo(StatementCache& statements, const TableSpec& spec, std::string_view series_code);

// kInvalidArgument when `series_code` does not allow numbers given by hand.
Status CheckManualNo(StatementCache& statements, const TableSpec& spec, std::string_view series_code,
                     std::string_view no);

}  // namespace crmsync::crm
