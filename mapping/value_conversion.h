// Value conversion: the type and format rules of one field value between the
// local store (SQLite) and Dataverse (JSON), for each FieldType.
//
// Pure functions. Rules, the same in both directions unless said:
//   null      stays null for every type.
//   auto      passes the value unchanged.
//   text      text; a number becomes its decimal text; "" becomes null
//             (Dataverse stores empty strings as null, so sending "" would
//             come back as a change that never ends).
//   integer   whole numbers; integral decimals ("10") and numeric text are
//             accepted; a fraction is kBadValue, never truncated.
//   decimal   canonical decimal (Value keeps decimals as text, no binary rounding).
//   money     a decimal with at most 4 decimal places (Dataverse's largest
//             money precision); more is kBadValue, never rounded.
//   boolean   Dataverse true/false <-> local 0/1 (SQLite has no boolean);
//             "true"/"false"/"0"/"1" text is accepted on the way out.
//   date      "YYYY-MM-DD" on both sides; a date-time is reduced to its UTC date.
//   datetime  ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS[.fff]Z" on both sides;
//             offsets are converted to UTC, milliseconds kept when not zero.
//   date_as_datetime
//             a local date "YYYY-MM-DD" in a Dataverse date-time column
//             (an activity's actualstart): sent as that day's 00:00:00Z,
//             read back as the UTC date of the date-time.
//
// Errors are kInvalidArgument with a message fit for a FieldIssue.
//
// Thread-safety: stateless.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/value.h"
#include "mapping/mapping.h"

namespace crmsync::mapping {

// A local value in the form Dataverse expects for `type`.
Result<Value> ToRemoteValue(FieldType type, const Value& local);
// A Dataverse value in the form the local store keeps for `type`.
Result<Value> ToLocalValue(FieldType type, const Value& remote);

// Characters (Unicode code points) of UTF-8 text: what max_length counts.
std::size_t CharacterCount(std::string_view utf8);
// The first `max_characters` characters, never splitting a UTF-8 sequence.
std::string TruncateCharacters(std::string_view utf8, std::size_t max_characters);

}  // namespace crmsync::mapping
