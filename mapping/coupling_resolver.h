// CouplingResolver: how the mapper turns a local foreign key into a Dataverse
// GUID and back, through the couplings of another mapping (the state store
// owns them; the engine injects an implementation, tests a fake).
//
// Three answers, kept apart: a value (coupled), nullopt ("not coupled yet",
// an ordinary answer: the mapper reports the field as waiting for its parent
// and the engine parks the record, design.md section 2, R6), and a non-ok
// Status (the resolver itself failed, for example the state store could not
// be read): then nothing is known about the record, and the mapper says so
// in MappedRecord::status instead of pretending the parent is missing.
//
// Thread-safety: implementations say; the mapper calls from the thread that
// maps the record and keeps no reference after returning.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace crmsync::mapping {

class CouplingResolver {
 public:
  virtual ~CouplingResolver() = default;

  // The Dataverse id (lower-case GUID) coupled to `local_key` in `mapping`.
  virtual Result<std::optional<std::string>> RemoteIdFor(const std::string& mapping, const std::string& local_key) = 0;
  // The local key (as Mapping::EncodeLocalKey writes it) coupled to `remote_id` in `mapping`.
  virtual Result<std::optional<std::string>> LocalKeyFor(const std::string& mapping, const std::string& remote_id) = 0;
};

}  // namespace crmsync::mapping
