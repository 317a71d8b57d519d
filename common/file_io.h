// Reading a whole file, the one way the product does it.
#pragma once

#include <string>

#include "common/result.h"

namespace crmsync {

// The file's bytes. On failure kIo whose message is the system's reason
// ("No such file or directory"); callers add what they were reading.
Result<std::string> ReadFile(const std::string& path);

}  // namespace crmsync
