// The work of `crmsync init`, apart from its command line so it can be tested.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace crmsync::daemon {

struct InitOptions {
  std::string dir = ".";
  std::string url = "http://127.0.0.1:8080";
  std::string tenant_id = "00000000-0000-0000-0000-000000000001";
  std::string client_id = "00000000-0000-0000-0000-000000000002";
  bool secret_from_stdin = false;
  std::string secret;        // written to DIR/client-secret when non-empty and the file does not exist
  bool sample_data = false;  // add crm::AddSampleData's records when the local store is empty
};

// Creates what is missing under options.dir and returns one line per item:
// "created PATH" or "kept PATH (exists)"; the local store is also migrated to
// the latest schema ("migrated PATH from v1 to v2"). Never overwrites or
// truncates.
Result<std::vector<std::string>> RunInit(const InitOptions& options);

}  // namespace crmsync::daemon
