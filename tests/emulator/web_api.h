// WebApi: the Dataverse Web API under /api/data/v9.2/ over the Store -
// reads (by key, alternate key, collections with $select/$filter/$orderby/
// $top/$count/$expand, paging, change tracking), writes (create, update,
// upsert, delete with If-Match/If-None-Match, @odata.bind), the state rules
// of opportunities and orders, order totals, the WinOpportunity /
// LoseOpportunity / FulfillSalesOrder / CancelSalesOrder actions, WhoAmI,
// the service document and $metadata (dataverse-web-api.md sections 2-6, 8).
//
// Thread-safe: every operation locks the store (shared for reads, unique for
// writes) unless the RequestContext says a change set already holds it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "tests/emulator/guid_source.h"
#include "tests/emulator/http_message.h"
#include "tests/emulator/metadata.h"
#include "tests/emulator/odata_filter.h"
#include "tests/emulator/query.h"
#include "tests/emulator/representation.h"
#include "tests/emulator/store.h"

namespace crmsync::emulator {

struct ApiSettings {
  bool enforce_application_required = true;
  std::chrono::seconds change_tracking_retention{7 * 24 * 3600};
  std::string base_currency = "USD";  // USD or EUR
};

// Per-request facts the API needs from the transport layer.
struct RequestContext {
  std::string base_url;           // "http://127.0.0.1:43211"
  std::string user_id;            // systemuserid of the caller
  bool holds_write_lock = false;  // a $batch change set holds the unique store lock and an undo log
  bool in_batch = false;
  std::map<std::string, std::string> content_ids;  // "$1" -> "salesorders(<id>)" inside a $batch
  int operations = 0;                              // data operations performed (for simulated execution time)
};

class WebApi {
 public:
  WebApi(std::shared_ptr<const Metadata> metadata, GuidSource& ids, ApiSettings settings);

  // Serves one request whose path starts with /api/data/v9.2.
  HttpResponse Handle(const HttpRequest& request, RequestContext& ctx);

  // The application user of a client id (created on demand), for the caller's identity.
  std::string UserFor(const std::string& client_id);
  // Clears all data and recreates the defaults (base currency, price list, uom, app users).
  void Reset();

  // Admin: create records as the system would (state columns and ordernumber allowed).
  Result<std::string> AdminCreate(const EntityDef& entity, const nlohmann::json& body, RequestContext& ctx);
  // Admin: update as a Dataverse user would (validations apply, state rules do not).
  Status AdminUpdate(const EntityDef& entity, const std::string& id, const nlohmann::json& body, RequestContext& ctx);
  Status AdminDelete(const EntityDef& entity, const std::string& id, RequestContext& ctx);
  nlohmann::ordered_json Dump(const EntityDef& entity);
  void ExpireChangeTracking();

  const Metadata& metadata() const { return *metadata_; }
  Store& store() { return store_; }
  std::string business_unit_id() const { return business_unit_id_; }
  std::string organization_id() const { return organization_id_; }

  // {"error":{"code":...,"message":...}} with the Status's HTTP status.
  static HttpResponse ErrorResponse(const Status& status);
  static HttpResponse JsonResponse(int status, const nlohmann::ordered_json& body);

  // Begins/ends a $batch change set: the returned unique store lock is held
  // (by the caller, for this one change set) until EndChangeSet, with an undo
  // log. The lock belongs to the request, never to the WebApi: two batches
  // with change sets may be in flight on two connections.
  [[nodiscard]] std::unique_lock<std::shared_mutex> BeginChangeSet();
  void EndChangeSet(bool commit, std::unique_lock<std::shared_mutex> lock);

 private:
  struct KeySpec {
    std::string id;  // by primary key
    std::vector<std::pair<const AttributeDef*, nlohmann::json>> alternate;
    std::string text;  // as written, for OData-EntityId of alternate-key upserts
  };
  enum class Mode { kCreate, kUpdate };
  struct WriteOptions {
    bool system = false;     // admin seed: state columns and create-only columns allowed, state rules off
    bool user_edit = false;  // admin edit: validations apply, state rules off
  };

  HttpResponse Route(const HttpRequest& request, RequestContext& ctx);
  Result<KeySpec> ParseKey(const EntityDef& entity, std::string_view text) const;
  const StoredRecord* FindByKey(const EntityDef& entity, const KeySpec& key) const;
  Status NotFoundError(const EntityDef& entity, const KeySpec& key) const;

  // The value of one $expand for `row`: the related record (or null), or the related collection.
  nlohmann::ordered_json Expanded(const ExpandItem& ex, const StoredRecord& row, const AnnotationFilter& annotations,
                                  const RecordLookup& lookup) const;
  HttpResponse GetCollection(const EntityDef& entity, const HttpRequest& request, RequestContext& ctx);
  HttpResponse GetDelta(const EntityDef& entity, const HttpRequest& request, const QueryOptions& q, int page_size,
                        const std::string& preference_applied, RequestContext& ctx);
  HttpResponse GetCount(const EntityDef& entity, const HttpRequest& request, RequestContext& ctx);
  HttpResponse GetOne(const EntityDef& entity, const KeySpec& key, const HttpRequest& request, RequestContext& ctx);
  HttpResponse GetRelated(const EntityDef& entity, const KeySpec& key, const CollectionNav& nav,
                          const HttpRequest& request, RequestContext& ctx);
  HttpResponse PropertyRequest(const EntityDef& entity, const KeySpec& key, const std::string& property,
                               const HttpRequest& request, RequestContext& ctx);
  HttpResponse RefRequest(const EntityDef& entity, const KeySpec& key, const std::string& nav,
                          const HttpRequest& request, RequestContext& ctx);
  HttpResponse Create(const EntityDef& entity, const HttpRequest& request, RequestContext& ctx);
  HttpResponse Upsert(const EntityDef& entity, const KeySpec& key, const HttpRequest& request, RequestContext& ctx);
  HttpResponse Delete(const EntityDef& entity, const KeySpec& key, const HttpRequest& request, RequestContext& ctx);
  HttpResponse Action(const std::string& name, const HttpRequest& request, RequestContext& ctx);
  // Marketing lists and campaigns: actions bound to a record
  // (lists(id)/Microsoft.Dynamics.CRM.AddMemberList) and many-to-many
  // relationships read (GET lists(id)/listcontact_association), associated
  // (POST .../$ref) and disassociated (DELETE .../listcontact_association(id)/$ref).
  HttpResponse BoundAction(const EntityDef& entity, const KeySpec& key, const std::string& name,
                           const HttpRequest& request, RequestContext& ctx);
  HttpResponse GetAssociated(const EntityDef& entity, const KeySpec& key, const ManyToManyDef& rel,
                             const HttpRequest& request, RequestContext& ctx);
  HttpResponse AssociationRef(const EntityDef& entity, const KeySpec& key, const ManyToManyDef& rel,
                              const std::string& member_key, const HttpRequest& request, RequestContext& ctx);
  // The caller holds the unique lock. `id1` is of rel.entity1, `id2` of the
  // table `table2` (rel.entity2). Returns the intersect row's id.
  std::string AssociateLocked(const ManyToManyDef& rel, const std::string& id1, const std::string& id2,
                              const std::string& table2, RequestContext& ctx);
  bool DisassociateLocked(const ManyToManyDef& rel, const std::string& id1, const std::string& id2,
                          const std::string& table2, RequestContext& ctx);
  void RecountListMembersLocked(const std::string& list_id, RequestContext& ctx);
  HttpResponse WhoAmI(RequestContext& ctx);
  HttpResponse ServiceDocument(RequestContext& ctx);
  HttpResponse MetadataDocument(RequestContext& ctx);
  HttpResponse Representation(int status, const EntityDef& entity, const StoredRecord& record,
                              const HttpRequest& request, RequestContext& ctx, const std::string& extra_preference);

  // Writes; the caller holds the unique lock.
  Result<StoredRecord> BuildRecord(const EntityDef& entity, const StoredRecord* existing, const Payload& payload,
                                   Mode mode, const std::string& id, RequestContext& ctx, WriteOptions options);
  Status ResolveBind(const BindRef& bind, RequestContext& ctx, std::string& id_out) const;
  Result<std::pair<const EntityDef*, KeySpec>> ParseReference(std::string ref, RequestContext& ctx) const;
  void Compute(const EntityDef& entity, StoredRecord& record);
  void AfterWrite(const EntityDef& entity, const std::string& order_id, RequestContext& ctx);
  Status EraseRecord(const EntityDef& entity, const std::string& id, RequestContext& ctx);
  Status CheckKeysUnique(const EntityDef& entity, const StoredRecord& record) const;
  std::string EntityUrl(const RequestContext& ctx, const EntityDef& entity, const std::string& id) const;
  std::string NowText() const;
  std::string BaseCurrencyId() const;
  void SeedDefaultsLocked();
  void PurgeLocked();
  Result<nlohmann::json> ParseBody(const EntityDef& entity, const std::string& body) const;

  std::shared_ptr<const Metadata> metadata_;
  GuidSource& ids_;
  ApiSettings settings_;
  Store store_;
  std::mutex users_mu_;
  std::map<std::string, std::string> app_users_;  // client id -> systemuserid
  std::string business_unit_id_;
  std::string organization_id_;
  std::string base_currency_id_;
  std::int64_t order_counter_ = 1000;
};

}  // namespace crmsync::emulator
