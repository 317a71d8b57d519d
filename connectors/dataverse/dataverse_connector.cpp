#include "connectors/dataverse/dataverse_connector.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/entity_set_names.h"
#include "connectors/dataverse/state_rules.h"

namespace crmsync::dataverse {

using connectors::Change;
using connectors::ChangeBatch;
using connectors::LookupRequest;
using connectors::ReadRequest;
using connectors::WriteOp;
using connectors::WriteResult;

namespace {

constexpr std::string_view kWatermarkPrefix = "watermark:";
constexpr std::string_view kLookupPrefix = "lookup:";
constexpr std::size_t kMaxLookupValues = 100;
constexpr std::size_t kMaxLookupUrl = std::size_t{16} * 1024;  // Dataverse refuses GET URLs over 32 KB
constexpr std::size_t kMaxBatchRequests = 1000;                // Dataverse's limit per $batch
// The smallest run worth a request of its own when a remainder is split
// across the requests in flight (Microsoft's suggested batch size).
constexpr std::size_t kMinSplitRun = 10;

// The requests each run (one $batch) carries when `left` remain, at most
// `batch` a run with `parallel` in flight: a multiple of `parallel` runs of
// even size, so no worker sits idle while another sends the last big batch
// (1,000 at 200 a batch on 4 workers: 8 runs of 125, not 5 of 200; 400 at
// 400 a batch: 4 runs of 100, not one of 400), but no run split below
// kMinSplitRun.
std::size_t RunSize(std::size_t left, std::size_t batch, std::size_t parallel) {
  if (batch <= 1 || left <= 1) return std::max<std::size_t>(1, batch);
  const std::size_t needed = (left + batch - 1) / batch;
  std::size_t runs = (needed + parallel - 1) / parallel * parallel;
  runs = std::max(needed, std::min(runs, std::max<std::size_t>(1, left / kMinSplitRun)));
  return (left + runs - 1) / runs;
}

std::string KindName(WriteOp::Kind k) {
  switch (k) {
    case WriteOp::Kind::kCreate: return "create";
    case WriteOp::Kind::kUpdate: return "update";
    case WriteOp::Kind::kUpsert: return "upsert";
    case WriteOp::Kind::kDelete: return "delete";
    case WriteOp::Kind::kAssociate: return "associate";
    case WriteOp::Kind::kDisassociate: return "disassociate";
  }
  return "?";
}

std::optional<long long> ParseCount(std::string_view text) {
  long long n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0) return std::nullopt;
  return n;
}

// The columns to $select: the caller's, plus modifiedon (newest_wins needs it).
std::vector<std::string> WithModifiedOn(std::vector<std::string> columns) {
  if (std::find(columns.begin(), columns.end(), "modifiedon") == columns.end()) columns.emplace_back("modifiedon");
  return columns;
}

Status CheckColumns(const std::vector<std::string>& columns, std::string_view what) {
  for (const auto& c : columns) CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(c, what));
  return Status::Ok();
}

// The version of a record read in a watermark read: its ETag, else its versionnumber.
std::optional<long long> VersionOf(const Change& change) {
  if (auto v = VersionFromEtag(change.version)) return v;
  const auto it = change.record.find("versionnumber");
  if (it != change.record.end() && it->second.kind() == Value::Kind::kInteger) return it->second.as_integer();
  return std::nullopt;
}

Record OnlyColumns(const Record& record, const std::vector<std::string>& names) {
  Record out;
  for (const auto& n : names) {
    if (auto it = record.find(n); it != record.end()) out.emplace(n, it->second);
  }
  return out;
}

// Text Dataverse sent that was not valid Unicode was read with U+FFFD in its
// place (odata.h, RepairUnicode); the records are named so an admin can fix them there.
void WarnIfRepaired(const std::string& entity_set, const Page& page) {
  if (page.repaired.empty()) return;
  std::string ids;
  for (std::size_t i = 0; i < page.repaired.size() && i < 10; ++i) ids += (i ? ", " : "") + page.repaired[i];
  if (page.repaired.size() > 10) ids += ", ...";
  spdlog::warn("{}: {} record(s) held text that is not valid Unicode, read with U+FFFD in its place: {}", entity_set,
               page.repaired.size(), ids);
}

bool IsLookupValueAttribute(std::string_view attribute) {
  return attribute.size() > 7 && attribute.front() == '_' && attribute.ends_with("_value");
}

std::string HeaderOf(const http::Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (http::HeaderNameEquals(k, name)) return v;
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------
// Names and plumbing

struct DataverseConnector::Watermark {
  long long version = 0;
  std::set<std::string> keys;  // delivered at `version`

  static std::optional<Watermark> Parse(std::string_view cursor) {
    std::string_view rest = cursor.substr(kWatermarkPrefix.size());
    const auto colon = rest.find(':');
    Watermark w;
    const auto version = ParseCount(rest.substr(0, colon));
    if (!version) return std::nullopt;
    w.version = *version;
    if (colon == std::string_view::npos) return w;
    std::string_view keys = rest.substr(colon + 1);
    while (!keys.empty()) {
      const auto comma = keys.find(',');
      auto guid = CanonicalGuid(keys.substr(0, comma));
      if (!guid) return std::nullopt;
      w.keys.insert(*guid);
      keys = comma == std::string_view::npos ? std::string_view() : keys.substr(comma + 1);
    }
    return w;
  }

  std::string Format() const {
    std::string out = std::string(kWatermarkPrefix) + std::to_string(version);
    char sep = ':';
    for (const auto& k : keys) {
      out += sep + k;
      sep = ',';
    }
    return out;
  }

  // Takes `change` (read at or after `from`) into `batch` unless `from`
  // delivered it already, and moves this watermark to it.
  void Absorb(const Watermark& from, long long v, Change change, ChangeBatch& batch) {
    if (v == from.version && from.keys.count(change.key) != 0) return;  // the overlap: already delivered
    if (v > version) {
      version = v;
      keys.clear();
    }
    if (v == version) keys.insert(change.key);
    batch.changes.push_back(std::move(change));
  }
};

DataverseConnector::DataverseConnector(Transport& transport, DataverseConnectorOptions options)
    : transport_(transport),
      options_(std::move(options)),
      pool_(options_.write_workers > 0 ? options_.write_workers
                                       : std::max(1, transport.budget().stats().parallelism_cap)) {}

DataverseConnector::~DataverseConnector() = default;

std::string DataverseConnector::PrimaryKeyOf(const std::string& entity_set) const {
  if (auto it = options_.primary_keys.find(entity_set); it != options_.primary_keys.end()) return it->second;
  return DefaultPrimaryKeyOfEntitySet(entity_set);
}

std::string DataverseConnector::KeyAttribute(const std::string& entity_set, const std::string& given) const {
  return given.empty() ? PrimaryKeyOf(entity_set) : given;
}

Status DataverseConnector::CheckSameOrigin(const std::string& url) const {
  // A cursor is replayed with our bearer token: never send it anywhere but the organisation.
  if (url.rfind(options_.api.ApiBase(), 0) != 0) {
    return InvalidArgument("cursor '" + url.substr(0, 120) + "' does not point into " + options_.api.ApiBase());
  }
  return Status::Ok();
}

Result<http::HttpResponse> DataverseConnector::Get(const std::string& url, const std::string& prefer,
                                                   Deadline deadline) {
  http::HttpRequest get{.method = "GET", .url = url, .headers = StandardHeaders(false), .body = ""};
  get.headers.emplace_back("Prefer", prefer);
  return transport_.Send(get, deadline);
}

// ---------------------------------------------------------------------------
// Reading

Result<ChangeBatch> DataverseConnector::ReadChanges(const ReadRequest& request, Deadline deadline) {
  CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(request.entity, "entity set"));
  const std::string key = KeyAttribute(request.entity, request.key);
  CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(key, "key attribute"));
  CRMSYNC_RETURN_IF_ERROR(CheckColumns(request.columns, "column"));
  const int page_size = std::clamp(std::min(options_.page_size, request.max_changes), 1, 5000);
  const std::vector<std::string> select = WithModifiedOn(request.columns);

  if (request.cursor.rfind(kWatermarkPrefix, 0) == 0) {
    auto from = Watermark::Parse(request.cursor);
    if (!from) return InvalidArgument("malformed watermark cursor '" + request.cursor.substr(0, 120) + "'");
    return ReadWatermark(request, key, select, *from, page_size, deadline);
  }
  if (!request.filter.empty()) {
    // Dataverse refuses $filter with change tracking: filtered reads use the watermark.
    if (request.cursor.empty()) return ReadWatermark(request, key, select, Watermark{}, page_size, deadline);
    return Status(StatusCode::kCursorExpired, "reading " + request.entity +
                                                  ": the cursor is a change-tracking link, but the read now has a "
                                                  "filter (which needs a watermark read)");
  }
  const bool replay = !request.cursor.empty();
  std::string url;
  if (replay) {
    CRMSYNC_RETURN_IF_ERROR(CheckSameOrigin(request.cursor));
    url = request.cursor;
  } else {
    url = CollectionUrl(options_.api, request.entity, select);
  }
  CRMSYNC_ASSIGN_OR_RETURN(http::HttpResponse response, Get(url, ReadPreferValue(true, page_size), deadline));
  if (response.status >= 400) {
    Status status = StatusFromResponse(response, "GET " + request.entity);
    if (!replay && (status.remote_code() == kChangeTrackingNotEnabled ||
                    status.message().find("isn't enabled for change tracking") != std::string::npos)) {
      // A table without change tracking: read it by version instead.
      return ReadWatermark(request, key, select, Watermark{}, page_size, deadline);
    }
    if (replay && (response.status == 400 || status.code() == StatusCode::kCursorExpired)) {
      // Dataverse no longer accepts the stored link (expired, or the table's
      // metadata changed): the engine reconciles by key (R8).
      Status expired(StatusCode::kCursorExpired, status.message());
      expired.set_http_status(status.http_status());
      if (!status.remote_code().empty()) expired.set_remote_code(status.remote_code());
      return expired;
    }
    return status;
  }
  auto page = ParsePage(response.body, key);
  if (!page.ok()) return page.status().WithContext("reading " + request.entity);
  WarnIfRepaired(request.entity, *page);
  for (auto& c : page->changes) FillModifiedAt(c);

  ChangeBatch batch;
  // A first read that Dataverse did not track: the table has no change tracking.
  const bool untracked_start = !replay && page->delta_link.empty() &&
                               response.Header("Preference-Applied").find("odata.track-changes") == std::string::npos;
  if (untracked_start) {
    if (!page->next_link.empty()) {
      // Its pages come in key order, which no watermark can resume: read it
      // again in version order instead.
      batch.next_cursor = Watermark{}.Format();
      batch.more = true;
      return batch;
    }
    Watermark next;
    for (auto& c : page->changes) {
      const auto v = VersionOf(c);
      if (!v) return Internal("reading " + request.entity + ": record " + c.key + " came without a version");
      next.Absorb(Watermark{}, *v, std::move(c), batch);
    }
    batch.next_cursor = next.Format();
    return batch;
  }
  batch.changes = std::move(page->changes);
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

Result<ChangeBatch> DataverseConnector::ReadWatermark(const ReadRequest& request, const std::string& key,
                                                      const std::vector<std::string>& select, const Watermark& from,
                                                      int page_size, Deadline deadline) {
  // `ge`, not `gt`: the read overlaps the last one at its highest version,
  // and Absorb drops what that read delivered already.
  std::string filter = "versionnumber ge " + ODataLiteral(Value::Integer(from.version));
  if (!request.filter.empty()) filter = "(" + request.filter + ") and " + filter;
  std::string url =
      CollectionUrl(options_.api, request.entity, select, {{"$filter", filter}, {"$orderby", "versionnumber asc"}});
  Watermark next = from;
  ChangeBatch batch;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(http::HttpResponse response, Get(url, ReadPreferValue(false, page_size), deadline));
    if (response.status >= 400) return StatusFromResponse(response, "GET " + request.entity);
    auto page = ParsePage(response.body, key);
    if (!page.ok()) return page.status().WithContext("reading " + request.entity);
    WarnIfRepaired(request.entity, *page);
    for (auto& c : page->changes) {
      if (c.kind == Change::Kind::kDelete) continue;  // not expected without change tracking
      FillModifiedAt(c);
      const auto v = VersionOf(c);
      if (!v) return Internal("reading " + request.entity + ": record " + c.key + " came without a version");
      next.Absorb(from, *v, std::move(c), batch);
    }
    batch.more = !page->next_link.empty();
    if (!batch.changes.empty() || !batch.more) break;
    // A whole page of records delivered before (more than a page share one
    // version): go on with its nextLink rather than ask for it again.
    CRMSYNC_RETURN_IF_ERROR(CheckSameOrigin(page->next_link));
    url = page->next_link;
  }
  batch.next_cursor = next.Format();
  return batch;
}

Result<std::optional<Change>> DataverseConnector::Fetch(const std::string& entity, const std::string& key_attribute,
                                                        const std::string& key, const std::vector<std::string>& columns,
                                                        Deadline deadline) {
  CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(entity, "entity set"));
  const std::string key_attr = KeyAttribute(entity, key_attribute);
  CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(key_attr, "key attribute"));
  CRMSYNC_RETURN_IF_ERROR(CheckColumns(columns, "column"));
  auto guid = CanonicalGuid(key);
  if (!guid) return InvalidArgument("'" + key.substr(0, 80) + "' is not a Dataverse id (a GUID)");
  CRMSYNC_ASSIGN_OR_RETURN(http::HttpResponse response,
                           Get(EntityUrl(options_.api, entity, *guid, WithModifiedOn(columns)),
                               "odata.include-annotations=\"Microsoft.Dynamics.CRM.lookuplogicalname\"", deadline));
  if (response.status == 404) return std::optional<Change>();
  if (response.status >= 400) return StatusFromResponse(response, "GET " + entity + "(" + *guid + ")");
  auto change = ParseRecord(response.body, key_attr);
  if (!change.ok()) return change.status().WithContext("reading " + entity + "(" + *guid + ")");
  FillModifiedAt(*change);
  return std::optional<Change>(std::move(change).value());
}

Result<ChangeBatch> DataverseConnector::Lookup(const LookupRequest& request, Deadline deadline) {
  CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(request.entity, "entity set"));
  const std::string key = KeyAttribute(request.entity, request.key);
  CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(key, "key attribute"));
  CRMSYNC_RETURN_IF_ERROR(CheckColumns(request.columns, "column"));
  if (!request.attribute.empty()) CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(request.attribute, "lookup attribute"));
  if (request.values.empty()) return InvalidArgument("a lookup of " + request.entity + " needs at least one value");
  const std::string attribute = request.attribute.empty() ? key : request.attribute;
  const bool guids = attribute == key || IsLookupValueAttribute(attribute);
  std::vector<std::string> terms;
  terms.reserve(request.values.size());
  for (const auto& v : request.values) {
    std::string term = attribute + " eq ";
    if (guids) {
      auto guid = v.kind() == Value::Kind::kText ? ODataGuidLiteral(v.as_text()) : std::nullopt;
      if (!guid) {
        return InvalidArgument("looking up " + request.entity + " by " + attribute + ": '" +
                               v.ToDisplayString().substr(0, 80) + "' is not a GUID");
      }
      term += *guid;
    } else {
      term += ODataLiteral(v);
    }
    terms.push_back(std::move(term));
  }
  const std::vector<std::string> select = WithModifiedOn(request.columns);
  const auto chunk_url = [&](std::size_t first, std::size_t end) {
    std::string any;
    for (std::size_t i = first; i < end; ++i) any += (i > first ? " or " : "") + terms[i];
    const std::string filter = request.filter.empty() ? any : "(" + request.filter + ") and (" + any + ")";
    return CollectionUrl(options_.api, request.entity, select, {{"$filter", filter}});
  };
  // The values of one GET: as many as fit in 100 and kMaxLookupUrl, at least one.
  const auto chunk_end = [&](std::size_t first) -> Result<std::size_t> {
    std::size_t end = first + 1;
    if (chunk_url(first, end).size() > kMaxLookupUrl) {
      return InvalidArgument("looking up " + request.entity + ": value " + std::to_string(first) +
                             " is too long for a URL");
    }
    while (end < terms.size() && end - first < kMaxLookupValues && chunk_url(first, end + 1).size() <= kMaxLookupUrl)
      ++end;
    return end;
  };

  std::size_t first = 0;
  std::string link;
  if (!request.cursor.empty()) {
    // "lookup:<first>:<nextLink or empty>"
    const std::string_view c = request.cursor;
    const auto colon = c.find(':', kLookupPrefix.size());
    const auto parsed = c.rfind(kLookupPrefix, 0) == 0 && colon != std::string_view::npos
                            ? ParseCount(c.substr(kLookupPrefix.size(), colon - kLookupPrefix.size()))
                            : std::nullopt;
    if (!parsed || static_cast<std::size_t>(*parsed) > terms.size()) {
      return InvalidArgument("malformed lookup cursor '" + request.cursor.substr(0, 120) + "'");
    }
    first = static_cast<std::size_t>(*parsed);
    link = request.cursor.substr(colon + 1);
    if (!link.empty()) CRMSYNC_RETURN_IF_ERROR(CheckSameOrigin(link));
  }
  const int page_size = std::clamp(std::min(options_.page_size, request.max_records), 1, 5000);
  const auto cursor_at = [](std::size_t at, const std::string& next_link) {
    return std::string(kLookupPrefix) + std::to_string(at) + ":" + next_link;
  };
  ChangeBatch batch;
  while (first < terms.size()) {
    CRMSYNC_ASSIGN_OR_RETURN(std::size_t end, chunk_end(first));
    const std::string url = link.empty() ? chunk_url(first, end) : link;
    CRMSYNC_ASSIGN_OR_RETURN(http::HttpResponse response, Get(url, ReadPreferValue(false, page_size), deadline));
    if (response.status >= 400) return StatusFromResponse(response, "GET " + request.entity);
    auto page = ParsePage(response.body, key);
    if (!page.ok()) return page.status().WithContext("looking up " + request.entity);
    WarnIfRepaired(request.entity, *page);
    for (auto& c : page->changes) {
      if (c.kind != Change::Kind::kUpsert) continue;
      FillModifiedAt(c);
      batch.changes.push_back(std::move(c));
    }
    if (!page->next_link.empty()) {
      CRMSYNC_RETURN_IF_ERROR(CheckSameOrigin(page->next_link));
      batch.next_cursor = cursor_at(first, page->next_link);
      batch.more = true;
      return batch;
    }
    first = end;
    link.clear();
    if (!batch.changes.empty()) break;  // one page per call; empty chunks are skipped
  }
  batch.next_cursor = cursor_at(first, "");
  batch.more = first < terms.size();
  return batch;
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

// ---------------------------------------------------------------------------
// Writing

// One op, checked and turned into its requests.
struct DataverseConnector::PreparedOp {
  std::size_t index = 0;  // position in the caller's ops
  std::string entity;
  std::string key_attr;
  WriteOp op;  // key in canonical form
  std::vector<BatchOperation> requests;
  std::vector<WriteStep::Kind> kinds;  // of each request
  // Several steps, or an action: version and record come from a read-back.
  bool read_back_after = false;
};

// What goes to Dataverse as one piece: an ungrouped op of one request (a
// plain request or $batch part), or a change set (a group, or an op of
// several steps).
struct DataverseConnector::Unit {
  std::vector<const PreparedOp*> ops;
  bool changeset = false;
  std::size_t requests = 0;
};

// The units of one Write, shared by the pool tasks that send them.
struct DataverseConnector::WriteJob {
  std::vector<const Unit*> units;
  std::vector<WriteResult>* results = nullptr;
  std::mutex mutex;
  std::condition_variable done;
  std::size_t next = 0;           // the next unit to take
  std::size_t running = 0;        // tasks not finished yet
  std::size_t requests_left = 0;  // requests of the units not taken yet
  // The run size planned for the budget's batch size and parallelism of the
  // time; planned again only when either changes.
  std::size_t run_size = 0;
  std::size_t planned_batch = 0;
  std::size_t planned_parallel = 0;
};

http::Headers DataverseConnector::WriteHeaders() const {
  http::Headers h;
  if (!options_.suppress_duplicate_detection) h.emplace_back("MSCRM.SuppressDuplicateDetection", "false");
  if (options_.bypass_custom_plugins) h.emplace_back("MSCRM.BypassCustomPluginExecution", "true");
  return h;
}

Result<DataverseConnector::PreparedOp> DataverseConnector::Prepare(const std::string& entity, const WriteOp& op,
                                                                   std::size_t index) const {
  PreparedOp p;
  p.index = index;
  p.entity = op.entity.empty() ? entity : op.entity;
  CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(p.entity, "entity set"));
  p.key_attr = PrimaryKeyOf(p.entity);
  CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(p.key_attr, "key attribute"));
  auto guid = CanonicalGuid(op.key);
  if (!guid) {
    // R2: the engine chooses the GUID and records it before sending; an op without one is its bug.
    return InvalidArgument("'" + op.key.substr(0, 80) + "' is not a Dataverse id (a GUID): every remote " +
                           KindName(op.kind) + " needs the GUID the engine chose");
  }
  CRMSYNC_RETURN_IF_ERROR(CheckColumns(op.read_back, "read_back attribute"));
  p.op = op;
  p.op.key = *guid;
  if (op.kind == WriteOp::Kind::kAssociate || op.kind == WriteOp::Kind::kDisassociate) {
    CRMSYNC_RETURN_IF_ERROR(PrepareLink(p));
    return p;
  }
  CRMSYNC_ASSIGN_OR_RETURN(std::vector<WriteStep> steps, PlanWrite(p.entity, p.op));

  std::vector<std::string> select = {p.key_attr};
  for (const auto& c : op.read_back) {
    if (std::find(select.begin(), select.end(), c) == select.end()) select.push_back(c);
  }
  bool exists = false;  // an earlier step of this op created or matched the record
  for (const auto& step : steps) {
    BatchOperation out;
    out.headers = WriteHeaders();
    switch (step.kind) {
      case WriteStep::Kind::kCreate: {
        Record fields = step.fields;
        fields[p.key_attr] = Value::Text(p.op.key);  // the client-chosen id (R2)
        out.method = "POST";
        out.url = CollectionUrl(options_.api, p.entity, select);
        out.headers.emplace_back("Prefer", "return=representation");
        out.body = RecordBody(fields);
        break;
      }
      case WriteStep::Kind::kUpdate:
        out.method = "PATCH";
        out.url = EntityUrl(options_.api, p.entity, p.op.key, select);
        // Never create on update; with a version, only if nobody changed it since (R3).
        out.headers.emplace_back("If-Match", !exists && !p.op.expected_version.empty() ? p.op.expected_version : "*");
        out.headers.emplace_back("Prefer", "return=representation");
        out.body = RecordBody(step.fields);
        break;
      case WriteStep::Kind::kUpsert:
        // PATCH without If-Match creates or updates; key columns stay in the URL only.
        out.method = "PATCH";
        out.url = EntityUrl(options_.api, p.entity, p.op.key, select);
        if (!p.op.expected_version.empty()) out.headers.emplace_back("If-Match", p.op.expected_version);
        out.headers.emplace_back("Prefer", "return=representation");
        out.body = RecordBody(step.fields);
        break;
      case WriteStep::Kind::kDelete:
        out.method = "DELETE";
        out.url = EntityUrl(options_.api, p.entity, p.op.key);
        if (!p.op.expected_version.empty()) out.headers.emplace_back("If-Match", p.op.expected_version);
        break;
      case WriteStep::Kind::kAction:
        out.method = "POST";
        out.url = options_.api.ApiBase() + step.action;
        out.body = step.body;
        p.read_back_after = true;
        break;
    }
    exists = true;
    p.requests.push_back(std::move(out));
    p.kinds.push_back(step.kind);
  }
  if (p.requests.size() > 1) p.read_back_after = true;
  return p;
}

Status DataverseConnector::PrepareLink(PreparedOp& p) const {
  // Associate and disassociate by the relationship's $ref ("Associate and
  // disassociate table rows using the Web API"): one request, no record.
  WriteOp& op = p.op;
  CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(op.relationship, "relationship"));
  CRMSYNC_RETURN_IF_ERROR(CheckIdentifier(op.target_entity, "entity set"));
  auto target = CanonicalGuid(op.target_key);
  if (!target) {
    return InvalidArgument("'" + op.target_key.substr(0, 80) + "' is not a Dataverse id (a GUID): a " +
                           KindName(op.kind) + " needs the id of the " + op.target_entity + " record");
  }
  op.target_key = *target;
  BatchOperation out;
  out.headers = WriteHeaders();
  const std::string link = EntityUrl(options_.api, p.entity, op.key) + "/" + op.relationship;
  if (op.kind == WriteOp::Kind::kAssociate) {
    out.method = "POST";
    out.url = link + "/$ref";
    out.body = nlohmann::json{{"@odata.id", EntityUrl(options_.api, op.target_entity, op.target_key)}}.dump();
    p.kinds.push_back(WriteStep::Kind::kAction);
  } else {
    out.method = "DELETE";
    out.url = link + "(" + op.target_key + ")/$ref";
    p.kinds.push_back(WriteStep::Kind::kDelete);
  }
  p.requests.push_back(std::move(out));
  return Status::Ok();
}

Result<std::vector<WriteResult>> DataverseConnector::Write(const std::string& entity, std::span<const WriteOp> ops,
                                                           Deadline deadline) {
  std::vector<WriteResult> results(ops.size());
  std::vector<PreparedOp> prepared;
  prepared.reserve(ops.size());  // stable addresses for the units
  std::vector<std::optional<Status>> invalid(ops.size());
  std::vector<std::vector<std::size_t>> unit_ops;  // op indices per unit, in order
  std::map<std::string, std::size_t> group_unit;
  std::vector<std::size_t> prepared_of(ops.size(), ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    results[i].key = ops[i].key;
    auto p = Prepare(entity, ops[i], i);
    if (p.ok()) {
      prepared_of[i] = prepared.size();
      results[i].key = p->op.key;
      prepared.push_back(std::move(p).value());
    } else {
      invalid[i] = p.status();
    }
    if (ops[i].group.empty()) {
      unit_ops.push_back({i});
    } else {
      auto [it, inserted] = group_unit.emplace(ops[i].group, unit_ops.size());
      if (inserted) unit_ops.emplace_back();
      unit_ops[it->second].push_back(i);
    }
  }

  // A group is all or nothing, also before sending: one invalid op and none of it goes.
  std::vector<Unit> units;
  units.reserve(unit_ops.size());
  for (const auto& members : unit_ops) {
    const bool grouped = !ops[members.front()].group.empty();
    std::size_t requests = 0;
    bool any_invalid = false;
    for (std::size_t i : members) {
      any_invalid = any_invalid || invalid[i].has_value();
      if (!invalid[i]) requests += prepared[prepared_of[i]].requests.size();
    }
    if (!any_invalid && requests > kMaxBatchRequests) {
      for (std::size_t i : members) {
        invalid[i] = InvalidArgument("group '" + ops[i].group + "' needs " + std::to_string(requests) +
                                     " requests; one change set holds at most " + std::to_string(kMaxBatchRequests));
      }
      any_invalid = true;
    }
    if (any_invalid) {
      for (std::size_t i : members) {
        results[i].status = invalid[i] ? *invalid[i]
                                       : Status(StatusCode::kAborted, "not sent: another operation of group '" +
                                                                          ops[i].group + "' is invalid");
      }
      continue;
    }
    Unit unit;
    for (std::size_t i : members) unit.ops.push_back(&prepared[prepared_of[i]]);
    unit.requests = requests;
    unit.changeset = grouped || requests > 1;
    units.push_back(std::move(unit));
  }
  if (units.empty()) return results;

  // Shared with the pool tasks, so it outlives the last one's final unlock.
  auto job = std::make_shared<WriteJob>();
  job->results = &results;
  std::size_t total_requests = 0;
  for (const auto& u : units) {
    job->units.push_back(&u);
    total_requests += u.requests;
  }
  job->requests_left = total_requests;
  // Enough tasks to keep the pool busy, no more than there are runs to send.
  // The runs are those RunJob plans (RunSize: 600 ops at 200 a batch on 4
  // workers, 4 runs of 150), so there is a task for each run in flight;
  // with one task per batch-size run (3) the fourth run waited for the
  // first to end, and the call took two rounds instead of one.
  const std::size_t per_run = RunSize(total_requests, RunLimit(), SplitAcross());
  const std::size_t runs = (total_requests + per_run - 1) / per_run;
  const std::size_t tasks =
      std::clamp<std::size_t>(runs, 1, std::min<std::size_t>(static_cast<std::size_t>(pool_.size()), units.size()));
  job->running = tasks;
  for (std::size_t t = 0; t < tasks; ++t) {
    pool_.Submit([this, job, deadline] {
      RunJob(*job, deadline);
      std::lock_guard lock(job->mutex);
      if (--job->running == 0) job->done.notify_all();
    });
  }
  std::unique_lock lock(job->mutex);
  job->done.wait(lock, [&] { return job->running == 0; });
  return results;
}

std::size_t DataverseConnector::RunLimit() const {
  if (!options_.use_batch) return 1;
  return std::min(kMaxBatchRequests, static_cast<std::size_t>(std::max(1, transport_.budget().batch_size())));
}

std::size_t DataverseConnector::SplitAcross() const {
  return static_cast<std::size_t>(std::max(1, transport_.budget().parallelism()));
}

void DataverseConnector::RunJob(WriteJob& job, Deadline deadline) {
  // Workers take the next run of units as they go, sized by the budget's
  // batch size at that moment, so the size adapts within one call (a change
  // set is never split).
  for (;;) {
    std::vector<const Unit*> run;
    {
      std::lock_guard lock(job.mutex);
      const std::size_t batch = RunLimit();
      const std::size_t parallel = SplitAcross();
      // Even runs, a multiple of the parallelism of them (RunSize), planned
      // once for what is left when the budget changes, not at every take:
      // re-planning from a shrinking remainder makes every run a different
      // size (125, 110, 192, 144, ...), and the call lasts as long as its
      // slowest worker.
      if (batch != job.planned_batch || parallel != job.planned_parallel) {
        job.planned_batch = batch;
        job.planned_parallel = parallel;
        job.run_size = RunSize(job.requests_left, batch, parallel);
      }
      const std::size_t limit = job.run_size;
      std::size_t requests = 0;
      while (job.next < job.units.size() && (run.empty() || requests + job.units[job.next]->requests <= limit)) {
        requests += job.units[job.next]->requests;
        run.push_back(job.units[job.next++]);
      }
      job.requests_left -= std::min(job.requests_left, requests);
    }
    if (run.empty()) return;
    if (run.size() == 1 && !run.front()->changeset) {
      SendSingle(*run.front()->ops.front(), *job.results, deadline);
    } else {
      SendBatch(run, *job.results, deadline);
    }
  }
}

void DataverseConnector::SendSingle(const PreparedOp& op, std::vector<WriteResult>& results, Deadline deadline) {
  const BatchOperation& built = op.requests.front();
  http::HttpRequest request{
      .method = built.method, .url = built.url, .headers = StandardHeaders(!built.body.empty()), .body = built.body};
  for (const auto& h : built.headers) request.headers.push_back(h);
  auto response = transport_.Send(request, deadline);
  if (!response.ok()) {
    results[op.index] = {response.status(), op.op.key, "", {}};
    return;
  }
  results[op.index] = Answered(op, response->status, response->headers, response->body, deadline);
}

void DataverseConnector::ReadBack(const PreparedOp& op, WriteResult& result, Deadline deadline) {
  auto current = Fetch(op.entity, op.key_attr, op.op.key, op.op.read_back, deadline);
  if (!current.ok() || !current->has_value()) return;  // written; its version stays unknown
  result.version = (*current)->version;
  result.record = OnlyColumns((*current)->record, op.op.read_back);
}

WriteResult DataverseConnector::Answered(const PreparedOp& op, int status, const http::Headers& headers,
                                         const std::string& body, Deadline deadline) {
  WriteResult result;
  result.key = op.op.key;
  if (status < 400) {
    if (op.read_back_after) {
      ReadBack(op, result, deadline);
      return result;
    }
    if (!body.empty()) {
      auto record = ParseRecord(body, op.key_attr);
      if (record.ok()) {
        result.version = record->version;
        result.record = OnlyColumns(record->record, op.op.read_back);
      }
    }
    if (result.version.empty()) result.version = HeaderOf(headers, "ETag");
    return result;
  }
  const std::string what = KindName(op.op.kind) + " " + op.entity + "(" + op.op.key + ")";
  result.status = StatusFromResponse(http::HttpResponse{status, headers, body}, what);
  // A repeat of a write whose answer was lost asks for what is already so:
  // a delete of a record that is gone, a link that is there (Dataverse's
  // duplicate key, whatever the HTTP status it comes with), an unlink of a link that is gone (or whose record is).
  const StatusCode code = result.status.code();
  const bool already_so =
      (op.op.kind == WriteOp::Kind::kDelete && code == StatusCode::kNotFound && op.op.expected_version.empty()) ||
      (op.op.kind == WriteOp::Kind::kAssociate &&
       (code == StatusCode::kAlreadyExists || result.status.remote_code() == kDuplicateRecord)) ||
      (op.op.kind == WriteOp::Kind::kDisassociate && code == StatusCode::kNotFound);
  if (already_so) {
    result.status = Status::Ok();
  } else if (op.kinds.front() == WriteStep::Kind::kCreate && result.status.code() == StatusCode::kAlreadyExists &&
             result.status.remote_code() != kDuplicateDetected) {
    // The id is ours and random: if a record holds it, an earlier attempt of
    // this very create went through (its answer was lost). Read it back.
    auto existing = Fetch(op.entity, op.key_attr, op.op.key, op.op.read_back, deadline);
    if (!existing.ok()) {
      // Transient stays transient: the engine tries again later (R7).
      if (IsRetryable(existing.status())) result.status = existing.status().WithContext("reading back " + what);
    } else if (existing->has_value()) {
      result.status = Status::Ok();
      result.version = (*existing)->version;
      result.record = OnlyColumns((*existing)->record, op.op.read_back);
    }
  }
  return result;
}

void DataverseConnector::SendBatch(const std::vector<const Unit*>& run, std::vector<WriteResult>& results,
                                   Deadline deadline) {
  std::vector<BatchItem> items;
  std::vector<std::size_t> first_content_id;  // per unit; Content-IDs run 1..n across the batch's change sets
  std::size_t content_id = 1;
  for (const Unit* unit : run) {
    BatchItem item;
    item.changeset = unit->changeset;
    for (const PreparedOp* op : unit->ops) {
      for (const auto& r : op->requests) item.operations.push_back(r);
    }
    first_content_id.push_back(content_id);
    if (item.changeset) content_id += item.operations.size();
    items.push_back(std::move(item));
  }
  const BatchBody body = BuildBatch(items, NewGuid());
  http::HttpRequest request{.method = "POST",
                            .url = options_.api.ApiBase() + "$batch",
                            .headers = {{"Accept", "application/json"},
                                        {"OData-MaxVersion", "4.0"},
                                        {"OData-Version", "4.0"},
                                        {"Content-Type", body.content_type},
                                        {"Prefer", "odata.continue-on-error"}},
                            .body = body.body};
  const auto fail_all = [&](const Status& s) {
    for (const Unit* unit : run) {
      for (const PreparedOp* op : unit->ops) results[op->index] = {s, op->op.key, "", {}};
    }
  };
  if (spdlog::should_log(spdlog::level::debug)) {
    std::size_t operations = 0;
    for (const auto& item : items) operations += item.operations.size();
    spdlog::debug("sending a $batch of {} operations", operations);
  }
  auto response = transport_.Send(request, deadline);
  if (!response.ok()) return fail_all(response.status());
  auto parsed = ParseBatchResponse(response->Header("Content-Type"), response->body);
  if (!parsed.ok()) {
    if (response->status >= 400) return fail_all(StatusFromResponse(*response, "POST $batch"));
    return fail_all(parsed.status().WithContext("POST $batch"));
  }
  for (std::size_t u = 0; u < run.size(); ++u) {
    const Unit& unit = *run[u];
    if (u >= parsed->size()) {
      for (const PreparedOp* op : unit.ops) {
        results[op->index] = {
            Status(StatusCode::kAborted, "not processed: the batch stopped early"), op->op.key, "", {}};
      }
      continue;
    }
    const BatchResponseItem& answer = (*parsed)[u];
    if (!unit.changeset) {
      const PreparedOp& op = *unit.ops.front();
      if (answer.parts.size() != 1) {
        results[op.index] = {Internal("POST $batch: a single request was answered with " +
                                      std::to_string(answer.parts.size()) + " responses"),
                             op.op.key,
                             "",
                             {}};
        continue;
      }
      const BatchPartResponse& part = answer.parts.front();
      results[op.index] = Answered(op, part.status, part.headers, part.body, deadline);
      continue;
    }
    const bool all_ok =
        answer.parts.size() == unit.requests && std::all_of(answer.parts.begin(), answer.parts.end(),
                                                            [](const BatchPartResponse& p) { return p.status < 400; });
    if (!all_ok) {
      SettleFailedChangeSet(unit, first_content_id[u], answer, results, deadline);
      continue;
    }
    std::size_t k = 0;
    for (const PreparedOp* op : unit.ops) {
      // An op of one request is described by its answer; one of several reads itself back.
      const BatchPartResponse& part = answer.parts[k];
      results[op->index] = Answered(*op, part.status, part.headers, part.body, deadline);
      k += op->requests.size();
    }
  }
}

void DataverseConnector::SettleFailedChangeSet(const Unit& unit, std::size_t first_content_id,
                                               const BatchResponseItem& answer, std::vector<WriteResult>& results,
                                               Deadline deadline) {
  // A failed change set answers with one part, the request that failed; the
  // rest was rolled back. Its Content-ID says which op and step it was.
  const BatchPartResponse* failed = nullptr;
  for (const auto& part : answer.parts) {
    if (part.status >= 400) {
      failed = &part;
      break;
    }
  }
  const PreparedOp* failing = nullptr;
  std::size_t failing_step = 0;
  if (failed != nullptr) {
    const auto id = ParseCount(failed->content_id);
    if (id && static_cast<std::size_t>(*id) >= first_content_id) {
      std::size_t offset = static_cast<std::size_t>(*id) - first_content_id;
      for (const PreparedOp* op : unit.ops) {
        if (offset < op->requests.size()) {
          failing = op;
          failing_step = offset;
          break;
        }
        offset -= op->requests.size();
      }
    }
  }
  const auto abort_others = [&](const PreparedOp* except) {
    for (const PreparedOp* op : unit.ops) {
      if (op == except) continue;
      results[op->index] = {
          Status(StatusCode::kAborted, "rolled back: another operation of its change set failed"), op->op.key, "", {}};
    }
  };
  if (failed == nullptr || failing == nullptr) {
    // Dataverse did not say which request failed: every op carries the failure.
    const Status s =
        failed != nullptr
            ? StatusFromResponse(http::HttpResponse{failed->status, failed->headers, failed->body}, "change set")
            : Status(StatusCode::kInternal, "change set answered with " + std::to_string(answer.parts.size()) + " of " +
                                                std::to_string(unit.requests) + " responses");
    for (const PreparedOp* op : unit.ops) {
      results[op->index] = {
          s.WithContext("its change set failed (the failing request is unknown)"), op->op.key, "", {}};
    }
    return;
  }
  const std::string what = KindName(failing->op.kind) + " " + failing->entity + "(" + failing->op.key + ")";
  Status status = StatusFromResponse(http::HttpResponse{failed->status, failed->headers, failed->body}, what);
  if (failing->kinds[failing_step] == WriteStep::Kind::kCreate && status.code() == StatusCode::kAlreadyExists &&
      status.remote_code() != kDuplicateDetected) {
    // One of this change set's own creates already exists. Its GUID is ours
    // and random, and a change set is all or nothing: if that record is
    // there, an earlier attempt of this same request committed the whole
    // set (the transport resent it after a lost answer). Then every op of
    // it is done; report them ok rather than roll forward op by op.
    auto existing = Fetch(failing->entity, failing->key_attr, failing->op.key, failing->op.read_back, deadline);
    if (!existing.ok()) {
      if (IsRetryable(existing.status())) status = existing.status().WithContext("reading back " + what);
    } else if (existing->has_value()) {
      for (const PreparedOp* op : unit.ops) {
        WriteResult r;
        r.key = op->op.key;
        if (op == failing) {
          r.version = (*existing)->version;
          r.record = OnlyColumns((*existing)->record, op->op.read_back);
        } else if (op->op.kind != WriteOp::Kind::kDelete) {
          ReadBack(*op, r, deadline);
        }
        results[op->index] = std::move(r);
      }
      return;
    }
  }
  results[failing->index] = {status, failing->op.key, "", {}};
  abort_others(failing);
}

}  // namespace crmsync::dataverse
