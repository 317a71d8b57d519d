// The default mapping files of systemd/mappings.d, compiled into the binary
// so `crmsync init` can write them next to a new config.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

namespace crmsync::daemon {

// (file name, content) pairs, sorted by file name.
const std::vector<std::pair<std::string_view, std::string_view>>& DefaultMappingFiles();

}  // namespace crmsync::daemon
