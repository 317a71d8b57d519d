// What the passes of the engine (MappingPass, AssociationPass) share about
// the outcome of a write or a read.
#pragma once

#include "common/status.h"

namespace crmsync::sync {

// A failure that says nothing about the record: a transient error, or a
// write cut short by shutdown. The page's cursor stays where it was, so the
// next pass (after a restart) tries the record again (R1).
inline bool LeavesTheCursor(const Status& status) {
  return IsRetryable(status) || status.code() == StatusCode::kCancelled;
}

// Keys per lookup by key: one statement or request each, bounded in size.
inline constexpr int kLookupChunk = 500;

}  // namespace crmsync::sync
