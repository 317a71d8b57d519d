// Helpers shared by the mapping tests: a fake CouplingResolver, building a
// mapping set from text, a local store with the default schema, and the
// file paths of the shipped and broken mappings.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/sqlite.h"
#include "mapping/coupling_resolver.h"
#include "mapping/mapping_loader.h"

namespace crmsync::mapping::testing {

// Couplings held in memory: (mapping, local key) <-> remote id.
class FakeResolver : public CouplingResolver {
 public:
  void Couple(const std::string& mapping, const std::string& local_key, const std::string& remote_id) {
    to_remote_[{mapping, local_key}] = remote_id;
    to_local_[{mapping, remote_id}] = local_key;
  }
  // Every later lookup fails with `status` (a state store that cannot be read).
  void FailWith(Status status) { failure_ = std::move(status); }
  Result<std::optional<std::string>> RemoteIdFor(const std::string& mapping, const std::string& local_key) override {
    if (!failure_.ok()) return failure_;
    const auto it = to_remote_.find({mapping, local_key});
    if (it == to_remote_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Result<std::optional<std::string>> LocalKeyFor(const std::string& mapping, const std::string& remote_id) override {
    if (!failure_.ok()) return failure_;
    const auto it = to_local_.find({mapping, remote_id});
    if (it == to_local_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

 private:
  Status failure_;
  std::map<std::pair<std::string, std::string>, std::string> to_remote_;
  std::map<std::pair<std::string, std::string>, std::string> to_local_;
};

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string SourceDir() {
  return CRMSYNC_SOURCE_DIR;
}
inline std::string DefaultMappingsDir() {
  return SourceDir() + "/systemd/mappings.d";
}
inline std::string BrokenDir() {
  return SourceDir() + "/tests/mapping/broken";
}

// Creates the default local schema (tests/mapping/local_schema.sql) in `path`.
inline void CreateLocalStore(const std::string& path) {
  auto db = SqliteDb::Open(path);
  if (!db.ok()) throw std::runtime_error(db.status().ToString());
  const Status s = db->Exec(ReadText(SourceDir() + "/tests/mapping/local_schema.sql"));
  if (!s.ok()) throw std::runtime_error(s.ToString());
}

// "PATH: message" of each diagnostic (no file or line), for table tests.
inline std::vector<std::string> PathMessages(const Diagnostics& diagnostics) {
  std::vector<std::string> out;
  for (const auto& d : diagnostics) out.push_back(d.path.empty() ? d.message : d.path + ": " + d.message);
  return out;
}

}  // namespace crmsync::mapping::testing
