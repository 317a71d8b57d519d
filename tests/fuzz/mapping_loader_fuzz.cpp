// Fuzzes the mapping loader (mapping/mapping_loader.h): the input is the text
// of one mapping file (JSON with comments), validated as a set of one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mapping/mapping_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<crmsync::mapping::MappingSource> sources = {
      {.file = "fuzz.json", .text = std::string(reinterpret_cast<const char*>(data), size)}};
  const auto load = crmsync::mapping::ParseMappingSet(sources);
  // Every diagnostic must render; every mapping built must answer by name.
  for (const auto& d : load.diagnostics) (void)d.ToString();
  for (const auto& m : load.set.mappings()) (void)load.set.Find(m.name);
  return 0;
}
