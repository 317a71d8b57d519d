// Fuzzes the config loader (daemon/config.h): the input is the text of
// crmsync.json, parsed and validated as LoadConfig does after reading it.
// The file sits in a folder that does not exist, so relative secret, key and
// CA paths name nothing; $CREDENTIALS_DIRECTORY is overridden the same way.
#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto load = crmsync::daemon::ParseConfig("/nonexistent/crmsync-fuzz/crmsync.json", text,
                                                 std::string("/nonexistent/crmsync-fuzz/credentials"));
  for (const auto& d : load.diagnostics) (void)d.ToString();
  return 0;
}
