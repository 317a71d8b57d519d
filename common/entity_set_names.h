// The one rule for Dataverse names crmsync derives from an entity set's name
// (the plural in URLs) when a mapping does not spell them out: the table's
// logical name ("opportunities" -> "opportunity") and its primary key
// attribute ("opportunityid"). Dataverse's own plurals for the standard
// tables are listed; custom tables follow the English plural rule.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace crmsync {

std::string LogicalNameOfEntitySet(std::string_view entity_set);

// "<logical name>id"; "activityid" for the activity tables (phonecalls, ...).
std::string DefaultPrimaryKeyOfEntitySet(std::string_view entity_set);

}  // namespace crmsync
