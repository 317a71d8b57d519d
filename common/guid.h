// Random (version 4) GUIDs, lower case and hyphenated as Dataverse writes
// them: the ids crmsync chooses for the records it creates (R2) and the ids
// of its runs.
#pragma once

#include <string>

namespace crmsync {

std::string NewGuid();

// A time-ordered (version 7, RFC 9562) GUID: the Unix time in milliseconds,
// then 74 random bits. Ids made one after another sort one after another as
// text, so the state store's index of couplings by Dataverse id takes the
// ids of an initial push at its end instead of at a random page each: with
// random v4 ids every commit of a page rewrote most of that index's pages.
// Unique by its random bits alone, as a v4 GUID; the clock only orders them,
// so a clock set back costs locality, never uniqueness. For the records
// crmsync creates in Dataverse (R2); Dataverse takes any GUID a create names.
std::string NewTimeOrderedGuid();

}  // namespace crmsync
