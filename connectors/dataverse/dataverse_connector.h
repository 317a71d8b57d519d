// DataverseConnector: the Connector over the Dataverse Web API.
//
// Names: entity sets, key attributes, columns and lookup attributes must be
// OData identifiers ([A-Za-z_][A-Za-z0-9_]*); anything else is
// kInvalidArgument before a URL is built. Every literal in a URL comes from
// ODataLiteral (odata.h) and is URL-encoded once.
//
// Primary keys: ReadRequest::key / LookupRequest::key / the key_attribute
// argument when given; otherwise options.primary_keys; otherwise the tree's
// one naming rule, DefaultPrimaryKeyOfEntitySet (common/entity_set_names.h).
//
// Reading (ReadChanges):
// - An unfiltered first read asks for change tracking and pages through
//   every record (memory bounded by one page). The cursor is then
//   Dataverse's own nextLink or deltaLink, replayed verbatim, and only ever
//   into the organisation's API (it goes out with our bearer token).
// - kCursorExpired when Dataverse no longer accepts a stored link: any 400
//   on its GET, and ExpiredVersionStamp (0x80044352) at any status. The
//   engine then reconciles by key (R8) and starts again from "".
// - Watermark reads: a table without change tracking (Dataverse answers the
//   tracked read with 0x80072491 "Entity <name> isn't enabled for change
//   tracking", or a first read comes back without a delta link), and every
//   read with ReadRequest::filter (Dataverse refuses $filter with change
//   tracking), read in version order:
//     $filter=(<filter>) and versionnumber ge N&$orderby=versionnumber asc
//   The read overlaps the last one: it asks again for version N, and the
//   cursor remembers the keys already delivered at N, so a (key, version)
//   is delivered once while a record committed at version N after the last
//   read is not lost. A watermark read reports no deletions (the engine's
//   key scan finds them), and a record that stops matching the filter
//   simply stops coming. A first filtered read starts at version 0; a
//   stored link together with a filter (the mapping gained one) is
//   kCursorExpired.
// - Cursor forms, opaque to the engine: "" (from the beginning); an
//   absolute URL into the organisation (nextLink / deltaLink);
//   "watermark:N" or "watermark:N:<key>,<key>,..." (the highest version
//   delivered and the keys delivered at it).
// - Reads, fetches and lookups always select modifiedon (it stays in the
//   record) and fill Change::modified_at from it (for newest_wins).
//
// Lookup: the records whose attribute equals one of the values (by the
// primary key when the attribute is empty), ANDed with LookupRequest::filter
// as "(<filter>) and (a eq v1 or a eq v2 ...)". The values go in chunks of
// at most 100, each GET URL at most 16 KB (Dataverse allows 32 KB), one
// page per call (bounded by max_records), following nextLinks. Values of
// the key or of a lookup attribute ("_x_value") must be GUIDs and go bare;
// other values go as ODataLiteral writes them. Text matches as Dataverse
// compares it (case-insensitively). Cursor: "lookup:<first value of the
// current chunk>:<nextLink or empty>", opaque to the engine.
//
// Writing (Write):
// - Every op is checked before anything is sent: a remote op carries the
//   engine's GUID, also on create (R2; a missing or malformed key is the
//   caller's bug: kInvalidArgument), its names are identifiers, and the
//   entity's state rules accept it (state_rules.h). A group is all or
//   nothing: a group with an invalid op sends nothing at all (the invalid
//   op reports its error, the others kAborted).
// - A group goes as one change set, its ops in the order given, each op as
//   the steps its state rules plan (an op of several steps is a change set
//   of its own). When Dataverse rejects a change set, the failing op
//   reports its error and the others kAborted; it is never resent op by op:
//   retries live only in the transport.
// - Idempotency (the transport may resend a whole request after a lost
//   answer, and the engine may repeat a Write): a create carries the
//   client-chosen GUID, so a repeated create meets its own record (412
//   duplicate) and reads it back by that GUID: found means an earlier
//   attempt committed it: ok. Because change sets are atomic, the same
//   proof settles a change set: when it fails because one of ITS OWN
//   creates already exists and the read-back finds that record, an earlier
//   attempt of the same request committed the whole set, so every op of it
//   is ok (versions read back by key; empty when that read-back fails). A
//   read-back that fails transiently returns its retryable status, never
//   kAlreadyExists.
// - Updates send only the given fields with If-Match (the expected version,
//   or * so an update never creates; 412 -> kConflict, R3); upserts PATCH
//   without If-Match (with it when an expected version is given); a delete
//   of a missing record without an expected version succeeds.
// - Creates, updates and upserts ask for return=representation with $select
//   = the key and the op's read_back attributes: WriteResult::record holds
//   those attributes as Dataverse stored them (empty when an answer has no
//   body), and version the @odata.etag (or the ETag header). An op of
//   several steps reads itself back by key after them for both.
// - Concurrency: ungrouped ops and different groups are independent. They
//   run on the connector's worker pool (one thread per request the budget
//   allows at most, for the connector's lifetime): each worker takes the
//   next run of units at the budget's current batch size (a change set is
//   never split) and sends it as one $batch with continue-on-error, or as a
//   single request. Write hands the runs to the pool and waits for them.
//
// Ownership: borrows the Transport, which must outlive it; owns its pool.
// Thread-safety: every method is safe from any thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/dataverse/batch.h"
#include "connectors/dataverse/odata.h"
#include "connectors/dataverse/transport.h"
#include "connectors/dataverse/worker_pool.h"

namespace crmsync::dataverse {

struct DataverseConnectorOptions {
  ApiEndpoint api;
  int page_size = 5000;
  bool suppress_duplicate_detection = true;  // false sends MSCRM.SuppressDuplicateDetection: false
  bool bypass_custom_plugins = false;
  bool use_batch = true;
  // Entity set -> primary key attribute, where it differs from
  // DefaultPrimaryKeyOfEntitySet.
  std::map<std::string, std::string> primary_keys;
  // Threads of the write pool; 0 = the budget's parallelism cap.
  int write_workers = 0;
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
  ~DataverseConnector() override;
  DataverseConnector(const DataverseConnector&) = delete;
  DataverseConnector& operator=(const DataverseConnector&) = delete;

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

  // The primary key attribute of an entity set when the caller names none.
  std::string PrimaryKeyOf(const std::string& entity_set) const;

 private:
  struct PreparedOp;
  struct Unit;
  struct WriteJob;
  struct Watermark;

  std::string KeyAttribute(const std::string& entity_set, const std::string& given) const;
  Status CheckSameOrigin(const std::string& url) const;
  Result<http::HttpResponse> Get(const std::string& url, const std::string& prefer, Deadline deadline);
  Result<connectors::ChangeBatch> ReadWatermark(const connectors::ReadRequest& request, const std::string& key,
                                                const std::vector<std::string>& select, const Watermark& from,
                                                int page_size, Deadline deadline);

  http::Headers WriteHeaders() const;
  Result<PreparedOp> Prepare(const std::string& entity, const connectors::WriteOp& op, std::size_t index) const;
  // The one request of an associate or disassociate.
  Status PrepareLink(PreparedOp& p) const;
  void RunJob(WriteJob& job, Deadline deadline);
  // The most requests one run (one $batch) carries now, and the requests in
  // flight a write's runs are split across: RunSize's limits.
  std::size_t RunLimit() const;
  std::size_t SplitAcross() const;
  void SendSingle(const PreparedOp& op, std::vector<connectors::WriteResult>& results, Deadline deadline);
  void SendBatch(const std::vector<const Unit*>& run, std::vector<connectors::WriteResult>& results, Deadline deadline);
  connectors::WriteResult Answered(const PreparedOp& op, int status, const http::Headers& headers,
                                   const std::string& body, Deadline deadline);
  void SettleFailedChangeSet(const Unit& unit, std::size_t first_content_id, const BatchResponseItem& answer,
                             std::vector<connectors::WriteResult>& results, Deadline deadline);
  void ReadBack(const PreparedOp& op, connectors::WriteResult& result, Deadline deadline);

  Transport& transport_;
  DataverseConnectorOptions options_;
  WorkerPool pool_;  // last: its threads are joined before the rest goes
};

}  // namespace crmsync::dataverse
