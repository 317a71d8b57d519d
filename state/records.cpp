#include "state/records.h"

namespace crmsync::state {

std::string_view SideName(Side side) {
  return side == Side::kLocal ? "local" : "remote";
}

std::optional<Side> ParseSide(std::string_view name) {
  if (name == "local") return Side::kLocal;
  if (name == "remote") return Side::kRemote;
  return std::nullopt;
}

std::string_view CouplingStatusName(Coupling::Status status) {
  switch (status) {
    case Coupling::Status::kActive: return "active";
    case Coupling::Status::kLocalDeleted: return "local_deleted";
    case Coupling::Status::kRemoteDeleted: return "remote_deleted";
  }
  return "active";
}

JobCounts& JobCounts::operator+=(const JobCounts& o) {
  inserted += o.inserted;
  modified += o.modified;
  deleted += o.deleted;
  unchanged += o.unchanged;
  skipped += o.skipped;
  failed += o.failed;
  coupled += o.coupled;
  uncoupled += o.uncoupled;
  conflicts += o.conflicts;
  waiting += o.waiting;
  return *this;
}

}  // namespace crmsync::state
