// Random (version 4) GUIDs, lower case and hyphenated as Dataverse writes
// them: the ids crmsync chooses for the records it creates (R2) and the ids
// of its runs.
#pragma once

#include <string>

namespace crmsync {

std::string NewGuid();

}  // namespace crmsync
