// CouplingResolver: how the mapper turns a local foreign key into a Dataverse
// GUID and back, through the couplings of another mapping (the state store
// owns them; the engine injects an implementation, tests a fake).
//
// "Not coupled yet" is an ordinary answer (nullopt), not an error: the mapper
// reports the field as waiting for its parent and the engine parks the record
// until the parent has synced (design.md section 2, R6).
//
// Thread-safety: implementations say; the mapper calls from the thread that
// maps the record and keeps no reference after returning.
#pragma once

#include <optional>
#include <string>

namespace crmsync::mapping {

class CouplingResolver {
 public:
  virtual ~CouplingResolver() = default;

  // The Dataverse id (lower-case GUID) coupled to `local_key` in `mapping`.
  virtual std::optional<std::string> RemoteIdFor(const std::string& mapping, const std::string& local_key) = 0;
  // The local key (as Mapping::EncodeLocalKey writes it) coupled to `remote_id` in `mapping`.
  virtual std::optional<std::string> LocalKeyFor(const std::string& mapping, const std::string& remote_id) = 0;
};

}  // namespace crmsync::mapping
