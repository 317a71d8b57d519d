// ChangeJournal: what the engine needs of a side whose changes come from a
// journal it must acknowledge (the local CRM store, connectors/local), beyond
// the Connector interface: cursor housekeeping and recovery of rows a lost
// pass created (R2). The engine holds it next to the Connector; tests fake it.
//
// Thread-safety: as the implementing connector's header says.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/deadline.h"
#include "common/result.h"

namespace crmsync::connectors {

class ChangeJournal {
 public:
  virtual ~ChangeJournal() = default;

  // Records that `reader` (one per mapping) has committed `cursor`, so the
  // journal may be pruned below every reader's position.
  virtual Status Acknowledge(const std::string& reader, const std::string& cursor, Deadline deadline) = 0;
  // Removes a reader that no longer exists (a deleted mapping) so it stops holding pruning.
  virtual Status ForgetReader(const std::string& reader, Deadline deadline) = 0;
  // The key of the row crmsync created in `entity` from Dataverse record
  // `origin_id`, or nullopt.
  virtual Result<std::optional<std::string>> FindByOrigin(const std::string& entity, const std::string& origin_id,
                                                          Deadline deadline) = 0;
  // How many records of `entity` a reader at `cursor` has yet to read: the
  // distinct keys journalled after it, or during a full read (and from "")
  // the table's rows, an upper bound. For `status` and metrics.
  virtual Result<std::int64_t> PendingChanges(const std::string& entity, const std::string& cursor,
                                              Deadline deadline) = 0;
};

}  // namespace crmsync::connectors
