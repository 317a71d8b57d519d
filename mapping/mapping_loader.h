// Loading and validating mapping files: every `*.json` of the mappings
// folder (comments allowed), one mapping per file, checked alone and as a set.
//
// Validation reports every problem at once as a Diagnostic
// ("FILE:LINE: JSON-PATH: message"), never just the first: unknown keys
// (with a did-you-mean), wrong types and values, a column written twice, a
// field direction that contradicts its mapping's, constants without a
// direction, lookups and depends_on naming no mapping, depends_on cycles,
// value maps that cannot be reversed where the field needs it, match_on
// columns no field maps. Checks against the local database live in
// local_schema.h.
//
// A set with diagnostics must not be used to sync (the daemon refuses to
// start and SIGHUP keeps the old set); its mappings are still built as far as
// they could be, so every problem of every file is found in one run.
//
// Thread-safety: functions are reentrant; a MappingSet is immutable after load.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostic.h"
#include "common/result.h"
#include "mapping/mapping.h"

namespace crmsync::mapping {

class MappingSet {
 public:
  // Parents first: an order that respects every depends_on (R6); mappings
  // that do not depend on each other keep the order of their names.
  const std::vector<Mapping>& mappings() const { return mappings_; }
  const Mapping* Find(std::string_view name) const;
  std::vector<std::string> Names() const;
  bool empty() const { return mappings_.empty(); }

 private:
  friend class SetLinker;
  std::vector<Mapping> mappings_;
};

struct MappingSetLoad {
  MappingSet set;
  Diagnostics diagnostics;  // sorted by file (in the order given), then line
  bool ok() const { return diagnostics.empty(); }
};

struct MappingSource {
  std::string file;  // used in messages as given
  std::string text;
};

// Parses and validates mapping texts as one set.
MappingSetLoad ParseMappingSet(const std::vector<MappingSource>& sources);
// Reads `paths` and validates them as one set; an unreadable file is a diagnostic.
MappingSetLoad LoadMappingFiles(const std::vector<std::string>& paths);
// Every "*.json" directly in `dir`, sorted by name; kNotFound/kIo when the folder cannot be listed.
Result<std::vector<std::string>> ListMappingFiles(const std::string& dir);
// LoadMappingFiles(ListMappingFiles(dir)); a missing folder or one without
// mappings is a diagnostic.
MappingSetLoad LoadMappingDirectory(const std::string& dir);

// What the daemon calls on start and on SIGHUP: the folder's mappings, also
// checked against the local store when `local_database` exists. Not ok means
// "refuse to start" (or "keep the old set").
MappingSetLoad LoadMappingsForRun(const std::string& dir, const std::string& local_database);

}  // namespace crmsync::mapping
