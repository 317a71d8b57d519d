// RemoteReadAhead: the first Dataverse page of the next mapping, read while
// the mapping before it runs, so a pass does not wait one request's latency
// for each mapping in turn (twelve default mappings, most with nothing to
// read: twelve round trips in a row).
//
// A page read early is only used when nothing could have changed what the
// next mapping would read or what it knows of those records between the
// read and its use; otherwise it is dropped and the page is read again:
//   - the next mapping reads Dataverse, is nobody's part (parts are written
//     with their parents: design.md) and reads another entity set than the
//     mappings running meanwhile (ReadAheadEligible);
//   - its pass asks for exactly that request (same cursor, columns, page
//     size: its stored cursor did not move), and recovered or retried
//     nothing before its read (recovery writes couplings the page's records
//     would be compared with);
//   - the read succeeded (an error is met again by the read of its own).
// Reading earlier is otherwise what any read is: Dataverse may change after
// it, and the next delta brings that.
//
// Thread-safety: one thread (the engine's) calls it; the read runs on a
// thread of its own, and the connector it uses must be thread-safe (as it
// is for a page's write in flight). Destroying it waits for the read.
#pragma once

#include <future>
#include <optional>
#include <string>

#include "common/deadline.h"
#include "common/result.h"
#include "connectors/connector.h"
#include "mapping/mapping_loader.h"

namespace crmsync::sync {

// The request of a Dataverse page of `m` from `cursor` (how MappingPass reads Dataverse).
connectors::ReadRequest RemoteReadRequest(const mapping::Mapping& m, std::string cursor, int page_size);

// Whether `next`'s first Dataverse page may be read while `running` runs
// (asked for every mapping that runs before `next`).
bool ReadAheadEligible(const mapping::Mapping& next, const mapping::Mapping& running);

class RemoteReadAhead {
 public:
  RemoteReadAhead() = default;
  RemoteReadAhead(const RemoteReadAhead&) = delete;
  RemoteReadAhead& operator=(const RemoteReadAhead&) = delete;
  ~RemoteReadAhead() { Drop(); }

  // Starts reading `request` for `mapping` (dropping any read before it);
  // does nothing when no thread is to be had.
  void Start(connectors::Connector& remote, std::string mapping, connectors::ReadRequest request, Deadline deadline);
  // The page read for `mapping`, when it was read with exactly `request`
  // and succeeded; the read is gone either way.
  std::optional<connectors::ChangeBatch> Take(const std::string& mapping, const connectors::ReadRequest& request);
  // Forgets the read (waiting for it to end).
  void Drop();

 private:
  std::string mapping_;
  connectors::ReadRequest request_;
  std::future<Result<connectors::ChangeBatch>> batch_;
};

}  // namespace crmsync::sync
