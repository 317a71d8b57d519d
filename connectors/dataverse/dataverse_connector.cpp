#include "connectors/dataverse/dataverse_connector.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

namespace crmsync::dataverse {

using connectors::Change;
using connectors::ChangeBatch;
using connectors::ReadRequest;
using connectors::WriteOp;
using connectors::WriteResult;

namespace {

constexpr std::string_view kWatermarkPrefix = "watermark:";

const std::map<std::string, std::string>& StandardKeys() {
  static const auto* keys = new std::map<std::string, std::string>{
      {"accounts", "accountid"},
      {"contacts", "contactid"},
      {"systemusers", "systemuserid"},
      {"opportunities", "opportunityid"},
      {"salesorders", "salesorderid"},
      {"salesorderdetails", "salesorderdetailid"},
      {"transactioncurrencies", "transactioncurrencyid"},
      {"pricelevels", "pricelevelid"},
      {"products", "productid"},
      {"uoms", "uomid"},
      {"teams", "teamid"},
      {"businessunits", "businessunitid"},
  };
  return *keys;
}

// W/"12345" -> 12345
std::optional<long long> VersionFromEtag(const std::string& etag) {
  std::string digits;
  for (char c : etag) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.empty()) return std::nullopt;
  try {
    return std::stoll(digits);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string KindName(WriteOp::Kind k) {
  switch (k) {
    case WriteOp::Kind::kCreate: return "create";
    case WriteOp::Kind::kUpdate: return "update";
    case WriteOp::Kind::kUpsert: return "upsert";
    case WriteOp::Kind::kDelete: return "delete";
  }
  return "?";
}

}  // namespace

struct DataverseConnector::PreparedOp {
  std::size_t index;  // position in the caller's ops
  std::string entity;
  WriteOp op;  // with the key filled in for creates
};

DataverseConnector::DataverseConnector(Transport& transport, DataverseConnectorOptions options)
    : transport_(transport), options_(std::move(options)) {}

std::string DataverseConnector::PrimaryKeyOf(const std::string& entity_set) const {
  if (auto it = options_.primary_keys.find(entity_set); it != options_.primary_keys.end()) return it->second;
  if (auto it = StandardKeys().find(entity_set); it != StandardKeys().end()) return it->second;
  // Custom tables: the logical name is usually the set name without its plural "s".
  std::string logical = entity_set;
  if (!logical.empty() && logical.back() == 's') logical.pop_back();
  return logical + "id";
}

Status DataverseConnector::CheckSameOrigin(const std::string& url) const {
  // A cursor is replayed with our bearer token: never send it anywhere but the organisation.
  if (url.rfind(options_.api.ApiBase(), 0) != 0) {
    return InvalidArgument("cursor '" + url.substr(0, 120) + "' does not point into " + options_.api.ApiBase());
  }
  return Status::Ok();
}

Result<ChangeBatch> DataverseConnector::ReadChanges(const ReadRequest& request, Deadline deadline) {
  const std::string key = PrimaryKeyOf(request.entity);
  const int page_size = std::clamp(std::min(options_.page_size, request.max_changes), 1, 5000);
  std::string url;
  bool track = true;
  std::optional<long long> watermark;
  if (request.cursor.empty()) {
    url = CollectionUrl(options_.api, request.entity, request.columns);
  } else if (request.cursor.rfind(kWatermarkPrefix, 0) == 0) {
    track = false;
    try {
      watermark = std::stoll(request.cursor.substr(kWatermarkPrefix.size()));
    } catch (const std::exception&) {
      return InvalidArgument("malformed watermark cursor '" + request.cursor + "'");
    }
    url = CollectionUrl(
        options_.api, request.entity, request.columns,
        {{"$filter", "versionnumber gt " + std::to_string(*watermark)}, {"$orderby", "versionnumber asc"}});
  } else {
    CRMSYNC_RETURN_IF_ERROR(CheckSameOrigin(request.cursor));
    url = request.cursor;
  }
  http::HttpRequest get{.method = "GET", .url = url, .headers = StandardHeaders(false), .body = ""};
  get.headers.emplace_back("Prefer", ReadPreferValue(track, page_size));
  CRMSYNC_ASSIGN_OR_RETURN(http::HttpResponse response, transport_.Send(get, deadline));
  if (response.status >= 400) return StatusFromResponse(response, "GET " + request.entity);
  auto page = ParsePage(response.body, key);
  if (!page.ok()) return page.status().WithContext("reading " + request.entity);

  ChangeBatch batch;
  // A first read that Dataverse did not track: the table has no change tracking.
  const bool untracked_start = request.cursor.empty() && page->delta_link.empty() &&
                               response.Header("Preference-Applied").find("odata.track-changes") == std::string::npos;
  if (untracked_start && !page->next_link.empty()) {
    // Its pages come in key order, which no watermark can resume: read it
    // again in version order instead.
    batch.next_cursor = std::string(kWatermarkPrefix) + "0";
    batch.more = true;
    return batch;
  }
  batch.changes = std::move(page->changes);
  if (!track || untracked_start) {
    // Continue from the highest version seen (watermark pages are in version order).
    long long high = watermark.value_or(0);
    for (const auto& c : batch.changes) high = std::max(high, VersionFromEtag(c.version).value_or(0));
    batch.next_cursor = std::string(kWatermarkPrefix) + std::to_string(high);
    batch.more = !page->next_link.empty();
    return batch;
  }
  if (!page->next_link.empty()) {
    batch.next_cursor = page->next_link;
    batch.more = true;
  } else if (!page->delta_link.empty()) {
    batch.next_cursor = page->delta_link;
    batch.more = false;
  } else {
    return Status(StatusCode::kInternal, "tracked read of " + request.entity + " ended without a delta link");
  }
  return batch;
}

Result<std::optional<Change>> DataverseConnector::Fetch(const std::string& entity, const std::string& /*key_attribute*/,
                                                        const std::string& key, const std::vector<std::string>& columns,
                                                        Deadline deadline) {
  auto guid = CanonicalGuid(key);
  if (!guid) return InvalidArgument("'" + key + "' is not a Dataverse id (a GUID)");
  http::HttpRequest get{.method = "GET",
                        .url = EntityUrl(options_.api, entity, *guid, columns),
                        .headers = StandardHeaders(false),
                        .body = ""};
  get.headers.emplace_back("Prefer", "odata.include-annotations=\"Microsoft.Dynamics.CRM.lookuplogicalname\"");
  CRMSYNC_ASSIGN_OR_RETURN(http::HttpResponse response, transport_.Send(get, deadline));
  if (response.status == 404) return std::optional<Change>();
  if (response.status >= 400) return StatusFromResponse(response, "GET " + entity + "(" + *guid + ")");
  auto change = ParseRecord(response.body, PrimaryKeyOf(entity));
  if (!change.ok()) return change.status().WithContext("reading " + entity + "(" + *guid + ")");
  return std::optional<Change>(std::move(change).value());
}

Result<ChangeBatch> DataverseConnector::Lookup(const connectors::LookupRequest& /*request*/, Deadline /*deadline*/) {
  return Internal("DataverseConnector::Lookup is not implemented yet");
}

Result<WhoAmIAnswer> DataverseConnector::WhoAmI(Deadline deadline) {
  http::HttpRequest get{
      .method = "GET", .url = options_.api.ApiBase() + "WhoAmI", .headers = StandardHeaders(false), .body = ""};
  CRMSYNC_ASSIGN_OR_RETURN(http::HttpResponse response, transport_.Send(get, deadline));
  if (response.status >= 400) return StatusFromResponse(response, "GET WhoAmI");
  try {
    const auto doc = nlohmann::json::parse(response.body);
    WhoAmIAnswer answer;
    answer.user_id = doc.value("UserId", "");
    answer.business_unit_id = doc.value("BusinessUnitId", "");
    answer.organization_id = doc.value("OrganizationId", "");
    answer.dop_hint = DopHint(response).value_or(0);
    if (answer.user_id.empty()) return InvalidArgument("WhoAmI answered without a UserId");
    return answer;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("WhoAmI answered with malformed JSON: ") + e.what());
  }
}

http::Headers DataverseConnector::WriteHeaders() const {
  http::Headers h;
  if (!options_.suppress_duplicate_detection) h.emplace_back("MSCRM.SuppressDuplicateDetection", "false");
  if (options_.bypass_custom_plugins) h.emplace_back("MSCRM.BypassCustomPluginExecution", "true");
  return h;
}

BatchOperation DataverseConnector::BuildOperation(const std::string& entity, const WriteOp& op) const {
  const std::string key_attr = PrimaryKeyOf(entity);
  BatchOperation out;
  out.headers = WriteHeaders();
  switch (op.kind) {
    case WriteOp::Kind::kCreate: {
      Record fields = op.fields;
      fields[key_attr] = Value::Text(op.key);  // the client-chosen id (R2)
      out.method = "POST";
      out.url = CollectionUrl(options_.api, entity, {key_attr});
      out.headers.emplace_back("Prefer", "return=representation");
      out.body = RecordBody(fields);
      break;
    }
    case WriteOp::Kind::kUpdate:
      out.method = "PATCH";
      out.url = EntityUrl(options_.api, entity, op.key, {key_attr});
      // Never create on update; with a version, only if nobody changed it since (R3).
      out.headers.emplace_back("If-Match", op.expected_version.empty() ? "*" : op.expected_version);
      out.headers.emplace_back("Prefer", "return=representation");
      out.body = RecordBody(op.fields);
      break;
    case WriteOp::Kind::kUpsert:
      // PATCH without If-Match creates or updates; key columns stay in the URL only.
      out.method = "PATCH";
      out.url = EntityUrl(options_.api, entity, op.key, {key_attr});
      out.headers.emplace_back("Prefer", "return=representation");
      out.body = RecordBody(op.fields);
      break;
    case WriteOp::Kind::kDelete:
      out.method = "DELETE";
      out.url = EntityUrl(options_.api, entity, op.key);
      if (!op.expected_version.empty()) out.headers.emplace_back("If-Match", op.expected_version);
      break;
  }
  return out;
}

WriteResult DataverseConnector::ResultFromResponse(const std::string& entity, const WriteOp& op, int status,
                                                   const http::Headers& headers, const std::string& body,
                                                   Deadline deadline) {
  WriteResult result;
  result.key = op.key;
  const std::string what = KindName(op.kind) + " " + entity + "(" + op.key + ")";
  if (status < 400) {
    if (!body.empty()) {
      auto record = ParseRecord(body, PrimaryKeyOf(entity));
      if (record.ok()) result.version = record->version;
    }
    if (result.version.empty()) {
      for (const auto& [k, v] : headers) {
        if (http::HeaderNameEquals(k, "ETag")) result.version = v;
      }
    }
    return result;
  }
  http::HttpResponse response{status, headers, body};
  result.status = StatusFromResponse(response, what);
  if (op.kind == WriteOp::Kind::kDelete && result.status.code() == StatusCode::kNotFound &&
      op.expected_version.empty()) {
    result.status = Status::Ok();  // already gone: a repeated delete is a success
  } else if (op.kind == WriteOp::Kind::kCreate && result.status.code() == StatusCode::kAlreadyExists &&
             result.status.remote_code() != kDuplicateDetected) {
    // The id is ours and random: if a record holds it, an earlier attempt of
    // this very create went through (its response was lost). Read it back.
    auto existing = Fetch(entity, PrimaryKeyOf(entity), op.key, {PrimaryKeyOf(entity)}, deadline);
    if (existing.ok() && existing->has_value()) {
      result.status = Status::Ok();
      result.version = (*existing)->version;
    }
  }
  return result;
}

std::vector<WriteResult> DataverseConnector::SendSingle(const PreparedOp& op, Deadline deadline) {
  const BatchOperation built = BuildOperation(op.entity, op.op);
  http::HttpRequest request{
      .method = built.method, .url = built.url, .headers = StandardHeaders(!built.body.empty()), .body = built.body};
  for (const auto& h : built.headers) request.headers.push_back(h);
  auto response = transport_.Send(request, deadline);
  if (!response.ok()) {
    WriteResult r;
    r.key = op.op.key;
    r.status = response.status();
    return {r};
  }
  return {ResultFromResponse(op.entity, op.op, response->status, response->headers, response->body, deadline)};
}

std::vector<WriteResult> DataverseConnector::SendBatch(const std::vector<const std::vector<PreparedOp>*>& items,
                                                       Deadline deadline) {
  std::vector<BatchItem> batch_items;
  std::size_t op_count = 0;
  for (const auto* item : items) {
    BatchItem b;
    b.changeset = item->size() > 1 || !item->front().op.group.empty();
    for (const auto& p : *item) b.operations.push_back(BuildOperation(p.entity, p.op));
    op_count += item->size();
    batch_items.push_back(std::move(b));
  }
  const BatchBody body = BuildBatch(batch_items, NewGuid());
  http::HttpRequest request{.method = "POST",
                            .url = options_.api.ApiBase() + "$batch",
                            .headers = {{"Accept", "application/json"},
                                        {"OData-MaxVersion", "4.0"},
                                        {"OData-Version", "4.0"},
                                        {"Content-Type", body.content_type},
                                        {"Prefer", "odata.continue-on-error"}},
                            .body = body.body};
  std::vector<WriteResult> results;
  results.reserve(op_count);
  const auto fail_all = [&](const Status& s) {
    for (const auto* item : items) {
      for (const auto& p : *item) results.push_back({s, p.op.key, "", {}});
    }
    return results;
  };
  auto response = transport_.Send(request, deadline);
  if (!response.ok()) return fail_all(response.status());
  auto parsed = ParseBatchResponse(response->Header("Content-Type"), response->body);
  if (!parsed.ok()) {
    if (response->status >= 400) return fail_all(StatusFromResponse(*response, "POST $batch"));
    return fail_all(parsed.status().WithContext("POST $batch"));
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& ops = *items[i];
    if (i >= parsed->size()) {
      for (const auto& p : ops) {
        results.push_back({Status(StatusCode::kAborted, "not processed: the batch stopped early"), p.op.key, "", {}});
      }
      continue;
    }
    const BatchResponseItem& answer = (*parsed)[i];
    if (answer.parts.size() == ops.size()) {
      bool any_failed = false;
      for (const auto& part : answer.parts) any_failed = any_failed || part.status >= 400;
      if (!any_failed || ops.size() == 1) {
        for (std::size_t k = 0; k < ops.size(); ++k) {
          const auto& part = answer.parts[k];
          results.push_back(
              ResultFromResponse(ops[k].entity, ops[k].op, part.status, part.headers, part.body, deadline));
        }
        continue;
      }
    }
    // A failed change set: one part, the operation that failed; the rest were rolled back.
    const BatchPartResponse* failed = nullptr;
    for (const auto& part : answer.parts) {
      if (part.status >= 400) failed = &part;
    }
    std::size_t failed_index = ops.size();
    if (failed != nullptr && !failed->content_id.empty()) {
      // Content-IDs are numbered across the batch: find this change set's first id.
      std::size_t first_id = 1;
      for (std::size_t j = 0; j < i; ++j) {
        if (batch_items[j].changeset) first_id += batch_items[j].operations.size();
      }
      try {
        const std::size_t id = static_cast<std::size_t>(std::stoul(failed->content_id));
        if (id >= first_id && id < first_id + ops.size()) failed_index = id - first_id;
      } catch (const std::exception&) {
      }
    }
    bool retry_singly = false;
    for (std::size_t k = 0; k < ops.size(); ++k) {
      if (k == failed_index && failed != nullptr) {
        WriteResult r =
            ResultFromResponse(ops[k].entity, ops[k].op, failed->status, failed->headers, failed->body, deadline);
        // A repeated change set whose create already exists committed before:
        // settle it operation by operation (each is idempotent).
        retry_singly = r.status.ok();
        results.push_back(r);
      } else {
        results.push_back({Status(StatusCode::kAborted, "rolled back: another operation of its change set failed"),
                           ops[k].op.key,
                           "",
                           {}});
      }
    }
    if (retry_singly) {
      results.resize(results.size() - ops.size());
      for (const auto& p : ops) {
        auto single = SendSingle(p, deadline);
        results.push_back(single.front());
      }
    }
  }
  return results;
}

std::vector<WriteResult> DataverseConnector::SendItems(const std::vector<std::vector<PreparedOp>>& items,
                                                       Deadline deadline) {
  // Workers take the next run of items as they go, sized by the budget's
  // batch size at that moment, so the size adapts within one call (a change
  // set is never split).
  std::vector<std::vector<WriteResult>> item_results(items.size());
  std::mutex mutex;
  std::size_t next = 0;
  const auto take = [&]() -> std::pair<std::size_t, std::size_t> {
    std::lock_guard lock(mutex);
    const std::size_t first = next;
    const std::size_t limit =
        options_.use_batch ? static_cast<std::size_t>(std::max(1, transport_.budget().batch_size())) : 1;
    std::size_t ops = 0;
    while (next < items.size() && (next == first || ops + items[next].size() <= limit)) ops += items[next++].size();
    return {first, next};
  };
  const auto worker = [&] {
    for (auto [first, last] = take(); first < last; std::tie(first, last) = take()) {
      if (last - first == 1 && items[first].size() == 1 && items[first].front().op.group.empty()) {
        item_results[first] = SendSingle(items[first].front(), deadline);
        continue;
      }
      std::vector<const std::vector<PreparedOp>*> run;
      for (std::size_t i = first; i < last; ++i) run.push_back(&items[i]);
      std::vector<WriteResult> flat = SendBatch(run, deadline);
      std::size_t k = 0;
      for (std::size_t i = first; i < last; ++i) {
        for (std::size_t j = 0; j < items[i].size(); ++j) item_results[i].push_back(std::move(flat[k++]));
      }
    }
  };
  // The budget caps requests in flight; these threads only keep it busy.
  std::size_t total_ops = 0;
  for (const auto& item : items) total_ops += item.size();
  const std::size_t cap = static_cast<std::size_t>(std::max(1, transport_.budget().stats().parallelism_cap));
  const std::size_t threads = std::max<std::size_t>(1, std::min(cap, (total_ops + 9) / 10));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  std::vector<WriteResult> flat;
  for (auto& r : item_results) {
    for (auto& w : r) flat.push_back(std::move(w));
  }
  return flat;
}

Result<std::vector<WriteResult>> DataverseConnector::Write(const std::string& entity, std::span<const WriteOp> ops,
                                                           Deadline deadline) {
  // Validate first: a bad key is the caller's bug for that op only.
  std::vector<WriteResult> results(ops.size());
  std::vector<std::vector<PreparedOp>> items;
  std::map<std::string, std::size_t> group_item;
  std::vector<std::size_t> order;  // op indices in item order
  for (std::size_t i = 0; i < ops.size(); ++i) {
    PreparedOp p{i, ops[i].entity.empty() ? entity : ops[i].entity, ops[i]};
    if (p.op.kind == WriteOp::Kind::kCreate && p.op.key.empty()) p.op.key = NewGuid();
    auto guid = CanonicalGuid(p.op.key);
    if (!guid) {
      results[i] = {InvalidArgument("'" + p.op.key + "' is not a Dataverse id (a GUID)"), p.op.key, "", {}};
      continue;
    }
    p.op.key = *guid;
    if (!p.op.group.empty()) {
      auto [it, inserted] = group_item.emplace(p.op.group, items.size());
      if (inserted) items.emplace_back();
      items[it->second].push_back(std::move(p));
    } else {
      items.push_back({std::move(p)});
    }
  }
  std::vector<WriteResult> sent = SendItems(items, deadline);
  std::size_t k = 0;
  for (const auto& item : items) {
    for (const auto& p : item) results[p.index] = std::move(sent[k++]);
  }
  return results;
}

}  // namespace crmsync::dataverse
