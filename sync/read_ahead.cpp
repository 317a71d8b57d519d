#include "sync/read_ahead.h"

#include <algorithm>
#include <system_error>

namespace crmsync::sync {

namespace {

bool SameRequest(const connectors::ReadRequest& a, const connectors::ReadRequest& b) {
  return a.entity == b.entity && a.key == b.key && a.columns == b.columns && a.filter == b.filter &&
         a.local_filter == b.local_filter && a.cursor == b.cursor && a.max_changes == b.max_changes;
}

// A part: a mapping whose local key includes a lookup to another mapping
// (order lines of an order), written with its parent (MappingPass::FindParts).
bool IsPart(const mapping::Mapping& m) {
  if (m.local.key.size() < 2) return false;
  return std::any_of(m.fields.begin(), m.fields.end(), [&](const mapping::FieldMapping& f) {
    return f.is_lookup() && std::find(m.local.key.begin(), m.local.key.end(), f.local) != m.local.key.end();
  });
}

}  // namespace

connectors::ReadRequest RemoteReadRequest(const mapping::Mapping& m, std::string cursor, int page_size) {
  connectors::ReadRequest r;
  r.entity = m.remote.entity_set;
  r.key = m.remote.key;
  r.columns = m.RemoteSelectColumns();
  r.filter = m.remote.filter;
  r.cursor = std::move(cursor);
  r.max_changes = page_size;
  return r;
}

bool ReadAheadEligible(const mapping::Mapping& next, const mapping::Mapping& running) {
  return mapping::IncludesFromRemote(next.direction) && !IsPart(next) &&
         next.remote.entity_set != running.remote.entity_set;
}

void RemoteReadAhead::Start(connectors::Connector& remote, std::string mapping, connectors::ReadRequest request,
                            Deadline deadline) {
  Drop();
  mapping_ = std::move(mapping);
  request_ = std::move(request);
  try {
    batch_ =
        std::async(std::launch::async, [&remote, r = request_, deadline] { return remote.ReadChanges(r, deadline); });
  } catch (const std::system_error&) {
    // No thread to be had: no read ahead; the pass reads the page itself.
    mapping_.clear();
  }
}

std::optional<connectors::ChangeBatch> RemoteReadAhead::Take(const std::string& mapping,
                                                             const connectors::ReadRequest& request) {
  if (!batch_.valid() || mapping != mapping_) return std::nullopt;
  const bool same = SameRequest(request, request_);
  Result<connectors::ChangeBatch> batch = batch_.get();
  mapping_.clear();
  if (!same || !batch.ok()) return std::nullopt;
  return std::move(batch).value();
}

void RemoteReadAhead::Drop() {
  if (batch_.valid()) batch_.wait();
  batch_ = {};
  mapping_.clear();
}

}  // namespace crmsync::sync
