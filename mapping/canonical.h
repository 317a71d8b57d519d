// Canonical values: the one form a mapped value is kept in as the base (the
// values last synced, stored on the coupling) and the one comparison the
// engine makes on it, so that an echo of crmsync's own write compares equal
// to the base and costs nothing (design.md R4).
//
// One value's canonical form:
//   - null and "" are the same value, null: Dataverse stores an empty string
//     as null, so "" sent one way must equal the null that comes back;
//   - booleans are Integer 0/1: the local store has no boolean (it keeps
//     0/1 and reads them as Bool), Dataverse answers true/false;
//   - numbers keep Value's canonical decimal text and compare numerically
//     (Integer 950 == Decimal "950.00");
//   - text is compared exactly (case matters: "ann" -> "Ann" is a change).
//
// The engine keeps two bases per coupled record, one per side, each in that
// side's own attribute or column names: the local base over the mapping's
// local columns, the remote base over the attributes it reads from Dataverse
// (Mapping::RemoteSelectColumns). A side changed a field when its current
// canonical value differs from its own base. Lossy transforms (truncate,
// many-to-one value maps, computed attributes) therefore never look like a
// change: each side is only ever compared with what that side held.
//
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/value.h"
#include "mapping/mapping.h"

namespace crmsync::mapping {

Value Canonical(const Value& value);
bool CanonicalEqual(const Value& a, const Value& b);

// The canonical values of `names` in `record`; a name the record lacks is null.
Record CanonicalRecord(const Record& record, std::span<const std::string> names);

// What Dataverse holds for the attributes the engine reads, right after it
// accepted `written` (the output of MapToRemote for `m`), canonical: a
// lookup bound as "nav@odata.bind": "/set(id)" reads back as its
// remote_read attribute ("_parentcustomerid_value": id), a null bind as
// null; every other attribute as written. Only the attributes `written`
// touches are in the result. Used as the remote base when a write's
// response does not carry the stored record.
Record RemoteReadBack(const Mapping& m, const Record& written);

// The keys of MapToRemote's output that field `f` produces: its attributes,
// or for a lookup "<nav>@odata.bind" of each target.
std::vector<std::string> RemoteOutputKeys(const FieldMapping& f);

}  // namespace crmsync::mapping
