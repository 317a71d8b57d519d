// DataverseConnector: the Connector over the Dataverse Web API.
//
// Reading: the first read of an entity set asks for change tracking and
// pages through every record (memory bounded by one page); the cursor is
// then Dataverse's own next or delta link, stored and replayed verbatim. An
// expired delta token comes back as kCursorExpired so the engine can
// reconcile by key (R8). Entity sets without change tracking fall back to a
// versionnumber watermark ("watermark:<n>").
//
// Writing: creates carry the client-chosen GUID, so a create repeated after
// a lost response finds its own record (412 duplicate -> read back -> ok,
// R2); updates send only the given fields with If-Match (412 -> kConflict,
// R3); deletes of a missing record succeed. Operations sharing a group go in
// one change set (atomic); the rest go in $batch requests sized by the
// RequestBudget, several in parallel, with continue-on-error.
//
// Ownership: borrows the Transport, which must outlive it.
// Thread-safety: every method is safe from any thread.
#pragma once

#include <map>
#include <string>

#include "connectors/connector.h"
#include "connectors/dataverse/batch.h"
#include "connectors/dataverse/odata.h"
#include "connectors/dataverse/transport.h"

namespace crmsync::dataverse {

struct DataverseConnectorOptions {
  ApiEndpoint api;
  int page_size = 5000;
  bool suppress_duplicate_detection = true;  // false sends MSCRM.SuppressDuplicateDetection: false
  bool bypass_custom_plugins = false;
  bool use_batch = true;
  // Entity set -> primary key attribute, added to the built-in table of the
  // standard sets (contacts -> contactid, ...).
  std::map<std::string, std::string> primary_keys;
};

struct WhoAmIAnswer {
  std::string user_id;
  std::string business_unit_id;
  std::string organization_id;
  int dop_hint = 0;  // 0 when the header was absent
};

class DataverseConnector final : public connectors::Connector {
 public:
  DataverseConnector(Transport& transport, DataverseConnectorOptions options);

  Result<connectors::ChangeBatch> ReadChanges(const connectors::ReadRequest& request, Deadline deadline) override;
  Result<std::optional<connectors::Change>> Fetch(const std::string& entity, const std::string& key_attribute,
                                                  const std::string& key, const std::vector<std::string>& columns,
                                                  Deadline deadline) override;
  Result<connectors::ChangeBatch> Lookup(const connectors::LookupRequest& request, Deadline deadline) override;
  Result<std::vector<connectors::WriteResult>> Write(const std::string& entity,
                                                     std::span<const connectors::WriteOp> ops,
                                                     Deadline deadline) override;

  // Authentication and reachability check.
  Result<WhoAmIAnswer> WhoAmI(Deadline deadline);

  // The primary key attribute of an entity set.
  std::string PrimaryKeyOf(const std::string& entity_set) const;

 private:
  struct PreparedOp;
  http::Headers WriteHeaders() const;
  BatchOperation BuildOperation(const std::string& entity, const connectors::WriteOp& op) const;
  connectors::WriteResult ResultFromResponse(const std::string& entity, const connectors::WriteOp& op, int status,
                                             const http::Headers& headers, const std::string& body, Deadline deadline);
  std::vector<connectors::WriteResult> SendItems(const std::vector<std::vector<PreparedOp>>& items, Deadline deadline);
  std::vector<connectors::WriteResult> SendSingle(const PreparedOp& op, Deadline deadline);
  std::vector<connectors::WriteResult> SendBatch(const std::vector<const std::vector<PreparedOp>*>& items,
                                                 Deadline deadline);
  Status CheckSameOrigin(const std::string& url) const;

  Transport& transport_;
  DataverseConnectorOptions options_;
};

}  // namespace crmsync::dataverse
