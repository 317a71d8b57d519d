# Generates a C++ source that returns the given files' contents, for
# daemon/default_mappings.h. Usage:
#   cmake -DOUTPUT=out.cpp -DDIR=systemd/mappings.d -P EmbedFiles.cmake
file(GLOB FILES "${DIR}/*.json")
set(body "")
list(SORT FILES)
foreach(f IN LISTS FILES)
  file(READ "${f}" content)
  get_filename_component(name "${f}" NAME)
  string(APPEND body "      {\"${name}\", R\"crmsync_embedded(${content})crmsync_embedded\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from systemd/mappings.d by cmake/EmbedFiles.cmake; do not edit.
#include \"daemon/default_mappings.h\"

namespace crmsync::daemon {

const std::vector<std::pair<std::string_view, std::string_view>>& DefaultMappingFiles() {
  static const auto* files = new std::vector<std::pair<std::string_view, std::string_view>>{
${body}  };
  return *files;
}

}  // namespace crmsync::daemon
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
