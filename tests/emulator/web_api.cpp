#include "tests/emulator/web_api.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/time_format.h"
#include "tests/emulator/api_error.h"
#include "tests/emulator/odata_filter.h"

namespace crmsync::emulator {

namespace {

constexpr std::string_view kApiPrefix = "/api/data/v9.2";
constexpr int kMaxPage = 5000;

std::string ApiRoot(const RequestContext& ctx) {
  std::string root = ctx.base_url;
  root.append(kApiPrefix);
  root.push_back('/');
  return root;
}

bool PreferHas(const std::vector<std::string>& prefer, std::string_view value) {
  for (const auto& p : prefer) {
    if (p == value) return true;
  }
  return false;
}

std::optional<int> PreferMaxPageSize(const std::vector<std::string>& prefer) {
  static constexpr std::string_view kKey = "odata.maxpagesize=";
  for (const auto& p : prefer) {
    if (!p.starts_with(kKey)) continue;
    try {
      const int n = std::stoi(p.substr(kKey.size()));
      if (n > 0) return n;
    } catch (...) {
    }
  }
  return std::nullopt;
}

void AddPreference(std::string& applied, std::string_view p) {
  if (p.empty()) return;
  if (!applied.empty()) applied += ",";
  applied += p;
}

// Parses one literal of a key segment: 'text', GUID, number, true/false, null.
std::optional<nlohmann::json> KeyLiteral(std::string_view s) {
  s = Trim(s);
  if (s.size() >= 2 && s.front() == '\'' && s.back() == '\'') {
    std::string out;
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
      out += s[i];
      if (s[i] == '\'' && i + 2 < s.size() && s[i + 1] == '\'') ++i;
    }
    return nlohmann::json(out);
  }
  if (s == "null") return nlohmann::json(nullptr);
  if (s == "true" || s == "false") return nlohmann::json(s == "true");
  if (std::string g = NormaliseGuid(s); !g.empty()) return nlohmann::json(g);
  try {
    std::size_t used = 0;
    const std::string str(s);
    if (str.find('.') == std::string::npos) {
      const long long v = std::stoll(str, &used);
      if (used == str.size()) return nlohmann::json(v);
    } else {
      const double v = std::stod(str, &used);
      if (used == str.size()) return nlohmann::json(v);
    }
  } catch (...) {
  }
  return std::nullopt;
}

bool ValuesEqual(const AttributeDef& attr, const nlohmann::json& a, const nlohmann::json& b) {
  return CompareValues(attr, a, b) == 0 && a.is_null() == b.is_null();
}

const nlohmann::json& Field(const StoredRecord& r, const std::string& name) {
  static const nlohmann::json* const kNull = new nlohmann::json(nullptr);
  auto it = r.fields.find(name);
  return it == r.fields.end() ? *kNull : *it;
}

double Number(const StoredRecord& r, const std::string& name) {
  const auto& v = Field(r, name);
  return v.is_number() ? v.get<double>() : 0.0;
}

nlohmann::json Money(double v) {
  const double rounded = std::round(v * 10000.0) / 10000.0;
  if (rounded == std::floor(rounded) && std::fabs(rounded) < 9e15)
    return nlohmann::json(static_cast<std::int64_t>(rounded));
  return nlohmann::json(rounded);
}

Status InvalidKey(const EntityDef& e) {
  return ApiError(400, "0x0",
                  "The key in the request URI is not valid for resource '" + e.TypeName() +
                      "'. Ensure that the names and number of key properties match the declared key properties for "
                      "the resource '" +
                      e.TypeName() + "'.");
}

Status NoResource(std::string_view path) {
  return ApiError(404, "", "No HTTP resource was found that matches the request URI '" + std::string(path) + "'.");
}

Status Unsupported(std::string_view method, std::string_view what) {
  return ApiError(405, "0x80060888",
                  "The requested resource does not support http method '" + std::string(method) + "' for '" +
                      std::string(what) + "'.");
}

}  // namespace

WebApi::WebApi(std::shared_ptr<const Metadata> metadata, GuidSource& ids, ApiSettings settings)
    : metadata_(std::move(metadata)), ids_(ids), settings_(std::move(settings)), store_(*metadata_) {
  business_unit_id_ = ids_.Next();
  organization_id_ = ids_.Next();
  std::unique_lock lock(store_.mutex());
  SeedDefaultsLocked();
}

HttpResponse WebApi::JsonResponse(int status, const nlohmann::ordered_json& body) {
  HttpResponse r;
  r.status = status;
  r.Set("Content-Type", "application/json; odata.metadata=minimal");
  r.Set("OData-Version", "4.0");
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse WebApi::ErrorResponse(const Status& status) {
  nlohmann::ordered_json err;
  err["code"] = status.remote_code();
  err["message"] = status.message();
  nlohmann::ordered_json body;
  body["error"] = err;
  HttpResponse r = JsonResponse(status.http_status() != 0 ? status.http_status() : 500, body);
  static GuidSource* const kReqIds = new GuidSource(0);
  r.headers.insert(r.headers.begin(), {"REQ_ID", kReqIds->Next()});
  return r;
}

std::string WebApi::NowText() const {
  return FormatUtc(std::chrono::system_clock::now());
}

std::string WebApi::EntityUrl(const RequestContext& ctx, const EntityDef& entity, const std::string& id) const {
  return ApiRoot(ctx) + entity.entity_set + "(" + id + ")";
}

std::string WebApi::BaseCurrencyId() const {
  return base_currency_id_;
}

void WebApi::SeedDefaultsLocked() {
  const std::string now = NowText();
  auto put = [&](const std::string& logical, nlohmann::json fields,
                 std::map<std::string, std::string> targets = {}) -> std::string {
    const EntityDef* e = metadata_->ByLogical(logical);
    StoredRecord r;
    r.id = ids_.Next();
    r.version = store_.NextVersion();
    r.fields = std::move(fields);
    r.fields[e->primary_key] = r.id;
    r.fields["createdon"] = now;
    r.fields["modifiedon"] = now;
    r.fields["versionnumber"] = r.version;
    r.lookup_targets = std::move(targets);
    if (e->StateAttr() != nullptr && !r.fields.contains("statecode")) {
      r.fields["statecode"] = 0;
      r.fields["statuscode"] = e->DefaultStatus(0);
    }
    store_.Put(logical, r);
    return r.id;
  };
  const bool eur = settings_.base_currency == "EUR";
  base_currency_id_ = put("transactioncurrency", {{"isocurrencycode", eur ? "EUR" : "USD"},
                                                  {"currencyname", eur ? "Euro" : "US Dollar"},
                                                  {"currencysymbol", eur ? "€" : "$"},
                                                  {"exchangerate", 1},
                                                  {"currencyprecision", 2}});
  put("pricelevel", {{"name", "Default Price List"}, {"transactioncurrencyid", base_currency_id_}, {"exchangerate", 1}},
      {{"transactioncurrencyid", "transactioncurrency"}});
  put("uom", {{"name", "Primary Unit"}, {"quantity", 1}});
  std::lock_guard users(users_mu_);
  for (const auto& [client, user_id] : app_users_) {
    StoredRecord r;
    r.id = user_id;
    r.version = store_.NextVersion();
    r.fields = {
        {"systemuserid", user_id},
        {"fullname", "# " + client},
        {"firstname", "#"},
        {"lastname", client},
        {"applicationid", NormaliseGuid(client).empty() ? nlohmann::json(nullptr) : nlohmann::json(ToLower(client))},
        {"azureactivedirectoryobjectid", ids_.Next()},
        {"isdisabled", false},
        {"domainname", client + "@emulator.invalid"},
        {"createdon", now},
        {"modifiedon", now},
        {"versionnumber", r.version}};
    store_.Put("systemuser", r);
  }
}

std::string WebApi::UserFor(const std::string& client_id) {
  {
    std::lock_guard users(users_mu_);
    auto it = app_users_.find(client_id);
    if (it != app_users_.end()) return it->second;
  }
  std::unique_lock lock(store_.mutex());
  std::string id;
  {
    std::lock_guard users(users_mu_);
    auto it = app_users_.find(client_id);
    if (it != app_users_.end()) return it->second;
    id = ids_.Next();
    app_users_[client_id] = id;
  }
  const std::string now = NowText();
  StoredRecord r;
  r.id = id;
  r.version = store_.NextVersion();
  r.fields = {{"systemuserid", id},
              {"fullname", "# " + client_id},
              {"firstname", "#"},
              {"lastname", client_id},
              {"applicationid",
               NormaliseGuid(client_id).empty() ? nlohmann::json(nullptr) : nlohmann::json(ToLower(client_id))},
              {"azureactivedirectoryobjectid", ids_.Next()},
              {"isdisabled", false},
              {"domainname", client_id + "@emulator.invalid"},
              {"createdon", now},
              {"modifiedon", now},
              {"versionnumber", r.version}};
  store_.Put("systemuser", r);
  return id;
}

void WebApi::Reset() {
  std::unique_lock lock(store_.mutex());
  store_.Clear();
  order_counter_ = 1000;
  SeedDefaultsLocked();
}

void WebApi::ExpireChangeTracking() {
  std::unique_lock lock(store_.mutex());
  store_.ExpireChangeTracking();
}

std::unique_lock<std::shared_mutex> WebApi::BeginChangeSet() {
  std::unique_lock<std::shared_mutex> lock(store_.mutex());
  store_.BeginUndo();
  return lock;
}

void WebApi::EndChangeSet(bool commit, std::unique_lock<std::shared_mutex> lock) {
  if (commit) {
    store_.CommitUndo();
  } else {
    store_.RollbackUndo();
  }
  lock.unlock();
}

void WebApi::PurgeLocked() {
  store_.PurgeTombstonesBefore(std::chrono::system_clock::now() - settings_.change_tracking_retention);
}

// ---------------------------------------------------------------------------
// Routing

HttpResponse WebApi::Handle(const HttpRequest& request, RequestContext& ctx) {
  try {
    return Route(request, ctx);
  } catch (const std::exception& e) {
    return ErrorResponse(ApiError(500, "0x80040216", std::string("An unexpected error occurred: ") + e.what()));
  }
}

Result<WebApi::KeySpec> WebApi::ParseKey(const EntityDef& entity, std::string_view text) const {
  KeySpec key;
  key.text = std::string(text);
  if (std::string g = NormaliseGuid(Trim(text)); !g.empty()) {
    key.id = g;
    return key;
  }
  if (text.find('=') == std::string_view::npos) return InvalidKey(entity);
  if (!entity.named_keys) return InvalidKey(entity);
  // name=value pairs split on commas outside quotes.
  std::vector<std::pair<std::string, std::string>> pairs;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] == '\'') quoted = !quoted;
    if (i == text.size() || (text[i] == ',' && !quoted)) {
      const std::string_view part = text.substr(start, i - start);
      const auto eq = part.find('=');
      if (eq == std::string_view::npos) return InvalidKey(entity);
      pairs.emplace_back(std::string(Trim(part.substr(0, eq))), std::string(part.substr(eq + 1)));
      start = i + 1;
    }
  }
  if (pairs.size() == 1 && pairs[0].first == entity.primary_key) {
    const std::string g = NormaliseGuid(Trim(pairs[0].second));
    if (g.empty()) return InvalidKey(entity);
    key.id = g;
    return key;
  }
  std::vector<std::string> names;
  for (const auto& [n, v] : pairs) {
    const AttributeDef* a = entity.FindByReadName(n);
    if (a == nullptr) return InvalidKey(entity);
    names.push_back(a->name);
    auto lit = KeyLiteral(v);
    if (!lit) return InvalidKey(entity);
    key.alternate.emplace_back(a, *lit);
  }
  if (entity.FindKey(names) == nullptr) return InvalidKey(entity);
  return key;
}

const StoredRecord* WebApi::FindByKey(const EntityDef& entity, const KeySpec& key) const {
  if (!key.id.empty()) return store_.Find(entity.logical_name, key.id);
  for (const auto& [id, r] : store_.RowsOf(entity.logical_name)) {
    bool match = true;
    for (const auto& [attr, value] : key.alternate) {
      if (!ValuesEqual(*attr, Field(r, attr->name), value)) {
        match = false;
        break;
      }
    }
    if (match) return &r;
  }
  return nullptr;
}

Status WebApi::NotFoundError(const EntityDef& entity, const KeySpec& key) const {
  if (!key.id.empty()) {
    return ApiError(404, "0x80040217", entity.logical_name + " With Id = " + key.id + " Does Not Exist");
  }
  return ApiError(404, "0x80060891",
                  "A record with the specified key values does not exist in " + entity.logical_name + " entity");
}

HttpResponse WebApi::Route(const HttpRequest& request, RequestContext& ctx) {
  const std::string path = PercentDecode(request.Path());
  std::string_view rest = std::string_view(path).substr(kApiPrefix.size());
  const std::string& method = request.method;
  if (rest.empty() || rest == "/") {
    if (method != "GET") return ErrorResponse(NoResource(ApiRoot(ctx)));
    return ServiceDocument(ctx);
  }
  rest.remove_prefix(1);  // '/'
  // First segment: name with an optional (key).
  std::size_t name_end = 0;
  while (name_end < rest.size() && rest[name_end] != '(' && rest[name_end] != '/') ++name_end;
  const std::string name(rest.substr(0, name_end));
  std::optional<std::string> key_text;
  std::size_t pos = name_end;
  if (pos < rest.size() && rest[pos] == '(') {
    bool quoted = false;
    std::size_t close = std::string_view::npos;
    for (std::size_t i = pos + 1; i < rest.size(); ++i) {
      if (rest[i] == '\'') quoted = !quoted;
      if (rest[i] == ')' && !quoted) {
        close = i;
        break;
      }
    }
    if (close == std::string_view::npos)
      return ErrorResponse(ApiError(400, "0x0", "Bad Request - Error in query syntax."));
    key_text = std::string(rest.substr(pos + 1, close - pos - 1));
    pos = close + 1;
  }
  std::vector<std::string> segments;
  while (pos < rest.size()) {
    if (rest[pos] != '/') return ErrorResponse(ApiError(400, "0x0", "Bad Request - Error in query syntax."));
    ++pos;
    std::size_t end = rest.find('/', pos);
    if (end == std::string_view::npos) end = rest.size();
    segments.emplace_back(rest.substr(pos, end - pos));
    pos = end;
  }

  if (name == "$metadata" && !key_text && segments.empty()) {
    if (method != "GET") return ErrorResponse(NoResource(ApiRoot(ctx) + name));
    return MetadataDocument(ctx);
  }
  if (name == "WhoAmI" && (!key_text || key_text->empty()) && segments.empty()) {
    if (method != "GET") return ErrorResponse(NoResource(ApiRoot(ctx) + name));
    ++ctx.operations;
    return WhoAmI(ctx);
  }
  if ((name == "WinOpportunity" || name == "LoseOpportunity" || name == "FulfillSalesOrder" ||
       name == "CancelSalesOrder") &&
      !key_text && segments.empty()) {
    if (method != "POST") return ErrorResponse(NoResource(ApiRoot(ctx) + name));
    ++ctx.operations;
    return Action(name, request, ctx);
  }
  const EntityDef* entity = metadata_->BySet(name);
  if (entity == nullptr) {
    return ErrorResponse(ApiError(404, "0x8006088a", "Resource not found for the segment '" + name + "'."));
  }
  if (!key_text) {
    if (segments.empty()) {
      ++ctx.operations;
      if (method == "GET") return GetCollection(*entity, request, ctx);
      if (method == "POST") return Create(*entity, request, ctx);
      return ErrorResponse(Unsupported(method, entity->entity_set));
    }
    if (segments.size() == 1 && segments[0] == "$count" && method == "GET") {
      ++ctx.operations;
      return GetCount(*entity, request, ctx);
    }
    return ErrorResponse(ApiError(404, "0x8006088a", "Resource not found for the segment '" + segments[0] + "'."));
  }
  auto key = ParseKey(*entity, *key_text);
  if (!key.ok()) return ErrorResponse(key.status());
  ++ctx.operations;
  if (segments.empty()) {
    if (method == "GET") return GetOne(*entity, *key, request, ctx);
    if (method == "PATCH") return Upsert(*entity, *key, request, ctx);
    if (method == "DELETE") return Delete(*entity, *key, request, ctx);
    return ErrorResponse(Unsupported(method, entity->entity_set));
  }
  if (segments.size() == 1 && segments[0].starts_with("Microsoft.Dynamics.CRM.")) {
    const std::string action = segments[0].substr(std::string_view("Microsoft.Dynamics.CRM.").size());
    if (method != "POST") return ErrorResponse(Unsupported(method, segments[0]));
    return BoundAction(*entity, *key, action, request, ctx);
  }
  {
    // A many-to-many relationship: name, or name(<id>) before /$ref.
    std::string nav = segments[0];
    std::string member;
    if (const auto paren = nav.find('('); paren != std::string::npos && nav.back() == ')') {
      member = nav.substr(paren + 1, nav.size() - paren - 2);
      nav.resize(paren);
    }
    if (const ManyToManyDef* rel = metadata_->FindManyToMany(entity->logical_name, nav)) {
      if (segments.size() == 1 && member.empty()) {
        if (method != "GET") return ErrorResponse(Unsupported(method, nav));
        return GetAssociated(*entity, *key, *rel, request, ctx);
      }
      if (segments.size() == 2 && segments[1] == "$ref") {
        return AssociationRef(*entity, *key, *rel, member, request, ctx);
      }
    }
  }
  if (segments.size() == 1) {
    if (const CollectionNav* c = entity->FindCollection(segments[0])) {
      if (method != "GET") return ErrorResponse(Unsupported(method, segments[0]));
      return GetRelated(*entity, *key, *c, request, ctx);
    }
    return PropertyRequest(*entity, *key, segments[0], request, ctx);
  }
  if (segments.size() == 2 && segments[1] == "$ref") return RefRequest(*entity, *key, segments[0], request, ctx);
  return ErrorResponse(ApiError(404, "0x8006088a", "Resource not found for the segment '" + segments.back() + "'."));
}

// ---------------------------------------------------------------------------
// Reads

HttpResponse WebApi::ServiceDocument(RequestContext& ctx) {
  nlohmann::ordered_json body;
  body["@odata.context"] = ApiRoot(ctx) + "$metadata";
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& e : metadata_->entities()) {
    list.push_back({{"name", e->entity_set}, {"kind", "EntitySet"}, {"url", e->entity_set}});
  }
  body["value"] = list;
  return JsonResponse(200, body);
}

HttpResponse WebApi::MetadataDocument(RequestContext& ctx) {
  (void)ctx;
  std::string x =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\">\n"
      "<edmx:DataServices>\n<Schema Namespace=\"Microsoft.Dynamics.CRM\" Alias=\"mscrm\" "
      "xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">\n";
  for (const auto& e : metadata_->entities()) {
    x += "<EntityType Name=\"" + e->logical_name + "\">\n<Key><PropertyRef Name=\"" + e->primary_key + "\" /></Key>\n";
    for (const auto& a : e->attributes) {
      x += "<Property Name=\"" + a.ReadName() + "\" Type=\"" + std::string(EdmTypeName(a.type)) + "\"";
      if ((a.type == AttrType::kString || a.type == AttrType::kMemo) && a.max_length > 0) {
        x += " MaxLength=\"" + std::to_string(a.max_length) + "\"";
      }
      if (a.type == AttrType::kDecimal || a.type == AttrType::kMoney) x += " Scale=\"Variable\"";
      x += " />\n";
    }
    for (const auto& a : e->attributes) {
      if (!a.is_lookup()) continue;
      for (const auto& t : a.targets) {
        x += "<NavigationProperty Name=\"" + e->NavName(a, t) + "\" Type=\"mscrm." + t + "\" />\n";
      }
    }
    for (const auto& c : e->collections) {
      x += "<NavigationProperty Name=\"" + c.name + "\" Type=\"Collection(mscrm." + c.entity + ")\" Partner=\"" +
           c.lookup + "\" />\n";
    }
    for (const auto& m : metadata_->many_to_many()) {
      if (m.entity1 != e->logical_name && m.entity2 != e->logical_name) continue;
      const std::string& other = m.entity1 == e->logical_name ? m.entity2 : m.entity1;
      x += "<NavigationProperty Name=\"" + m.name + "\" Type=\"Collection(mscrm." + other + ")\" />\n";
    }
    x += "</EntityType>\n";
  }
  x += "<EntityContainer Name=\"System\">\n";
  for (const auto& e : metadata_->entities()) {
    x += "<EntitySet Name=\"" + e->entity_set + "\" EntityType=\"Microsoft.Dynamics.CRM." + e->logical_name + "\"";
    x += e->change_tracking ? "><Annotation Term=\"Org.OData.Capabilities.V1.ChangeTracking\"><Record><PropertyValue "
                              "Property=\"Supported\" Bool=\"true\" /></Record></Annotation></EntitySet>\n"
                            : " />\n";
  }
  x += "</EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n";
  HttpResponse r;
  r.Set("Content-Type", "application/xml");
  r.Set("OData-Version", "4.0");
  r.body = std::move(x);
  return r;
}

HttpResponse WebApi::WhoAmI(RequestContext& ctx) {
  nlohmann::ordered_json body;
  body["@odata.context"] = ApiRoot(ctx) + "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse";
  body["BusinessUnitId"] = business_unit_id_;
  body["UserId"] = ctx.user_id;
  body["OrganizationId"] = organization_id_;
  return JsonResponse(200, body);
}

namespace {

// 204 No Content, as writes and actions without a result answer.
HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  r.Set("OData-Version", "4.0");
  return r;
}

std::string ContextUrl(const RequestContext& ctx, const EntityDef& e, const QueryOptions& q) {
  std::string s = ApiRoot(ctx) + "$metadata#" + e.entity_set;
  if (q.has_select) s += "(" + q.select_text + ")";
  return s;
}

}  // namespace

nlohmann::ordered_json WebApi::Expanded(const ExpandItem& ex, const StoredRecord& row,
                                        const AnnotationFilter& annotations, const RecordLookup& lookup) const {
  const std::vector<const AttributeDef*>* esel = ex.has_select ? &ex.select : nullptr;
  if (ex.lookup != nullptr) {
    const auto& v = Field(row, ex.lookup->name);
    auto t = row.lookup_targets.find(ex.lookup->name);
    const StoredRecord* rel = v.is_string() && t != row.lookup_targets.end() && t->second == ex.target->logical_name
                                  ? store_.Find(ex.target->logical_name, v.get<std::string>())
                                  : nullptr;
    return rel == nullptr ? nlohmann::ordered_json(nullptr)
                          : SerializeRecord(*metadata_, store_, *ex.target, *rel, esel, annotations);
  }
  std::vector<const StoredRecord*> related;
  for (const auto& [rid, rr] : store_.RowsOf(ex.target->logical_name)) {
    const auto& v = Field(rr, ex.collection->lookup);
    if (v.is_string() && v.get_ref<const std::string&>() == row.id &&
        (!ex.filter || EvaluateFilter(*ex.filter, rr, lookup))) {
      related.push_back(&rr);
    }
  }
  std::stable_sort(related.begin(), related.end(), [&](const StoredRecord* a, const StoredRecord* b) {
    for (const auto& o : ex.orderby) {
      const int c = CompareValues(*o.attr, Field(*a, o.attr->name), Field(*b, o.attr->name));
      if (c != 0) return o.descending ? c > 0 : c < 0;
    }
    return a->id < b->id;
  });
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  const std::size_t n = ex.top ? std::min<std::size_t>(*ex.top, related.size()) : related.size();
  for (std::size_t k = 0; k < n; ++k) {
    arr.push_back(SerializeRecord(*metadata_, store_, *ex.target, *related[k], esel, annotations));
  }
  return arr;
}

HttpResponse WebApi::GetCollection(const EntityDef& entity, const HttpRequest& request, RequestContext& ctx) {
  auto parsed = ParseQueryOptions(request.Query(), entity, *metadata_, false);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  QueryOptions& q = *parsed;
  const std::vector<std::string> prefer = request.HeaderList("prefer");
  const AnnotationFilter annotations = AnnotationFilter::FromPrefer(prefer);
  const std::optional<int> max_page = PreferMaxPageSize(prefer);
  std::string applied;
  if (max_page) AddPreference(applied, "odata.maxpagesize=" + std::to_string(*max_page));
  AddPreference(applied, annotations.preference());
  const bool tracking = PreferHas(prefer, "odata.track-changes") || q.deltatoken.has_value();
  if (tracking) {
    if (!entity.change_tracking) {
      // ChangeTrackingNotEnabledForEntity, as Dataverse words it.
      return ErrorResponse(
          ApiError(400, "0x80072491", "Entity " + entity.logical_name + " isn't enabled for change tracking."));
    }
    const QueryParam* bad = nullptr;
    const auto params = ParseQuery(request.Query());
    for (const auto& p : params) {
      if (p.name == "$filter" || p.name == "$orderby" || p.name == "$expand" || p.name == "$top") {
        bad = &p;
        break;
      }
    }
    if (bad != nullptr) {
      return ErrorResponse(ApiError(400, "0x80040203",
                                    "The \"" + bad->name +
                                        "\" query parameter isn't supported when Change Tracking is "
                                        "enabled."));
    }
    if (PreferHas(prefer, "odata.track-changes")) AddPreference(applied, "odata.track-changes");
    const int page = std::min(max_page.value_or(kMaxPage), kMaxPage);
    return GetDelta(entity, request, q, page, applied, ctx);
  }
  if (max_page) q.top.reset();  // $top is ignored with odata.maxpagesize
  const int page_size = std::min(max_page.value_or(q.top ? std::min(*q.top, kMaxPage) : kMaxPage), kMaxPage);

  std::shared_lock lock(store_.mutex());
  const RecordLookup lookup = [this](std::string_view logical, std::string_view id) {
    return store_.Find(logical, id);
  };
  std::vector<const StoredRecord*> rows;
  const auto& all = store_.RowsOf(entity.logical_name);
  rows.reserve(all.size());
  for (const auto& [id, r] : all) {
    if (!q.filter || EvaluateFilter(*q.filter, r, lookup)) rows.push_back(&r);
  }
  const bool by_key_only = q.orderby.empty();
  if (!by_key_only) {
    std::stable_sort(rows.begin(), rows.end(), [&](const StoredRecord* a, const StoredRecord* b) {
      for (const auto& o : q.orderby) {
        const int c = CompareValues(*o.attr, Field(*a, o.attr->name), Field(*b, o.attr->name));
        if (c != 0) return o.descending ? c > 0 : c < 0;
      }
      return a->id < b->id;
    });
  }
  const std::size_t total = rows.size();
  std::size_t limit = q.top ? std::min<std::size_t>(*q.top, total) : total;
  std::size_t offset = 0;
  int page_number = 1;
  if (q.skiptoken) {
    auto cookie = DecodePageCookie(*q.skiptoken);
    if (!cookie || cookie->tracking) {
      return ErrorResponse(ApiError(400, "0x80040203", "The $skiptoken value is not a valid paging cookie."));
    }
    page_number = cookie->page_number;
    if (by_key_only && !cookie->last_id.empty()) {
      offset = static_cast<std::size_t>(
          std::upper_bound(rows.begin(), rows.end(), cookie->last_id,
                           [](const std::string& id, const StoredRecord* r) { return id < r->id; }) -
          rows.begin());
    } else {
      offset = std::min<std::size_t>(static_cast<std::size_t>(cookie->offset), total);
    }
  }
  const std::size_t end = std::min(limit, offset + static_cast<std::size_t>(page_size));
  nlohmann::ordered_json body;
  body["@odata.context"] = ContextUrl(ctx, entity, q);
  if (q.count) body["@odata.count"] = std::min<std::size_t>(total, kMaxPage);
  if (annotations.Wants("Microsoft.Dynamics.CRM.totalrecordcount")) {
    body["@Microsoft.Dynamics.CRM.totalrecordcount"] = q.count ? static_cast<std::int64_t>(total) : -1;
  }
  if (annotations.Wants("Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded")) {
    body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] =
        q.count && total > static_cast<std::size_t>(kMaxPage);
  }
  if (annotations.Wants("Microsoft.Dynamics.CRM.globalmetadataversion")) {
    body["@Microsoft.Dynamics.CRM.globalmetadataversion"] = "1";
  }
  nlohmann::ordered_json value = nlohmann::ordered_json::array();
  const std::vector<const AttributeDef*>* select = q.has_select ? &q.select : nullptr;
  for (std::size_t i = offset; i < end; ++i) {
    nlohmann::ordered_json item = SerializeRecord(*metadata_, store_, entity, *rows[i], select, annotations);
    for (const auto& ex : q.expand) item[ex.nav] = Expanded(ex, *rows[i], annotations, lookup);
    value.push_back(std::move(item));
  }
  body["value"] = std::move(value);
  if (end < limit) {
    PageCookie cookie;
    cookie.page_number = page_number + 1;
    cookie.offset = static_cast<std::int64_t>(end);
    cookie.last_id = end > 0 ? rows[end - 1]->id : "";
    std::string link = ApiRoot(ctx) + entity.entity_set + "?" + q.link_query;
    if (!q.link_query.empty()) link += "&";
    link += "$skiptoken=" + PercentEncode(EncodePageCookie(cookie));
    body["@odata.nextLink"] = link;
  }
  lock.unlock();
  HttpResponse r = JsonResponse(200, body);
  if (!applied.empty()) r.Set("Preference-Applied", applied);
  return r;
}

HttpResponse WebApi::GetDelta(const EntityDef& entity, const HttpRequest& request, const QueryOptions& q, int page_size,
                              const std::string& preference_applied, RequestContext& ctx) {
  const AnnotationFilter annotations = AnnotationFilter::FromPrefer(request.HeaderList("prefer"));
  const auto now = std::chrono::system_clock::now();
  std::shared_lock lock(store_.mutex());
  std::int64_t from = -1;  // -1: initial load
  if (q.deltatoken) {
    auto token = DecodeDeltaToken(*q.deltatoken);
    if (!token)
      return ErrorResponse(ApiError(400, "0x80040203", "The $deltatoken value '" + *q.deltatoken + "' is not valid."));
    if (token->version < store_.ChangeTrackingFloor() || now - token->when > settings_.change_tracking_retention) {
      return ErrorResponse(ApiError(
          400, "0x80044352", "Version stamp associated with the client has expired. Please perform a full sync."));
    }
    from = token->version;
  }
  std::int64_t upto = store_.CurrentVersion();
  int phase = 0;
  std::int64_t after = from < 0 ? 0 : from;
  int page_number = 1;
  if (q.skiptoken) {
    auto cookie = DecodePageCookie(*q.skiptoken);
    if (!cookie || !cookie->tracking || cookie->from_version != from) {
      return ErrorResponse(ApiError(400, "0x80040203", "The $skiptoken value is not a valid paging cookie."));
    }
    upto = cookie->upto_version;
    phase = cookie->phase;
    after = cookie->last_version;
    page_number = cookie->page_number;
  }
  // Changed (or, initially, all) rows in version order, then deletions.
  std::vector<const StoredRecord*> changed;
  if (phase == 0) {
    for (const auto& [id, r] : store_.RowsOf(entity.logical_name)) {
      if (r.version > after && r.version <= upto) changed.push_back(&r);
    }
    std::sort(changed.begin(), changed.end(),
              [](const StoredRecord* a, const StoredRecord* b) { return a->version < b->version; });
  }
  std::vector<const Tombstone*> deleted;
  if (from >= 0) {
    const std::int64_t del_after = phase == 1 ? after : from;
    for (const auto& t : store_.TombstonesOf(entity.logical_name)) {
      if (t.version > del_after && t.version <= upto) deleted.push_back(&t);
    }
  }
  nlohmann::ordered_json value = nlohmann::ordered_json::array();
  const std::vector<const AttributeDef*>* select = q.has_select ? &q.select : nullptr;
  std::size_t taken = 0;
  std::int64_t last = after;
  int last_phase = phase;
  for (const StoredRecord* r : changed) {
    if (taken == static_cast<std::size_t>(page_size)) break;
    value.push_back(SerializeRecord(*metadata_, store_, entity, *r, select, annotations));
    last = r->version;
    ++taken;
  }
  bool more = taken < changed.size();
  if (!more) {
    std::size_t used = 0;
    for (const Tombstone* t : deleted) {
      if (taken == static_cast<std::size_t>(page_size)) break;
      nlohmann::ordered_json d;
      d["@odata.context"] = ApiRoot(ctx) + "$metadata#" + entity.entity_set + "/$deletedEntity";
      d["id"] = t->id;
      d["reason"] = "deleted";
      value.push_back(std::move(d));
      last = t->version;
      last_phase = 1;
      ++taken;
      ++used;
    }
    more = used < deleted.size();
    if (more && last_phase == 0) {
      last_phase = 1;
      last = from;
    }
  }
  lock.unlock();
  nlohmann::ordered_json body;
  std::string context = ContextUrl(ctx, entity, q);
  if (from >= 0) context += "/$delta";
  body["@odata.context"] = context;
  std::string link = ApiRoot(ctx) + entity.entity_set + "?" + q.link_query;
  if (!q.link_query.empty()) link += "&";
  if (more) {
    PageCookie cookie;
    cookie.tracking = true;
    cookie.page_number = page_number + 1;
    cookie.from_version = from;
    cookie.upto_version = upto;
    cookie.phase = last_phase;
    cookie.last_version = last;
    if (q.deltatoken) link += "$deltatoken=" + PercentEncode(*q.deltatoken) + "&";
    body["value"] = std::move(value);
    body["@odata.nextLink"] = link + "$skiptoken=" + PercentEncode(EncodePageCookie(cookie));
  } else {
    body["@odata.deltaLink"] = link + "$deltatoken=" + PercentEncode(EncodeDeltaToken(upto, now));
    body["value"] = std::move(value);
  }
  HttpResponse r = JsonResponse(200, body);
  if (!preference_applied.empty()) r.Set("Preference-Applied", preference_applied);
  return r;
}

HttpResponse WebApi::GetCount(const EntityDef& entity, const HttpRequest& request, RequestContext& ctx) {
  (void)ctx;
  auto parsed = ParseQueryOptions(request.Query(), entity, *metadata_, false);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  std::shared_lock lock(store_.mutex());
  const RecordLookup lookup = [this](std::string_view logical, std::string_view id) {
    return store_.Find(logical, id);
  };
  std::size_t n = 0;
  if (parsed->deltatoken) {
    auto token = DecodeDeltaToken(*parsed->deltatoken);
    if (!token) return ErrorResponse(ApiError(400, "0x80040203", "The $deltatoken value is not valid."));
    for (const auto& [id, r] : store_.RowsOf(entity.logical_name)) n += r.version > token->version ? 1 : 0;
    for (const auto& t : store_.TombstonesOf(entity.logical_name)) n += t.version > token->version ? 1 : 0;
  } else {
    for (const auto& [id, r] : store_.RowsOf(entity.logical_name)) {
      if (!parsed->filter || EvaluateFilter(*parsed->filter, r, lookup)) ++n;
    }
  }
  HttpResponse r;
  r.Set("Content-Type", "text/plain");
  r.Set("OData-Version", "4.0");
  r.body = std::to_string(std::min<std::size_t>(n, kMaxPage));
  return r;
}

HttpResponse WebApi::GetOne(const EntityDef& entity, const KeySpec& key, const HttpRequest& request,
                            RequestContext& ctx) {
  auto parsed = ParseQueryOptions(request.Query(), entity, *metadata_, true);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  const QueryOptions& q = *parsed;
  const AnnotationFilter annotations = AnnotationFilter::FromPrefer(request.HeaderList("prefer"));
  std::shared_lock lock(store_.mutex());
  const StoredRecord* r = FindByKey(entity, key);
  if (r == nullptr) return ErrorResponse(NotFoundError(entity, key));
  const std::string etag = ETagOf(*r);
  const std::string inm = request.Header("if-none-match");
  if (!inm.empty() && inm != "null" && q.expand.empty() && !annotations.any() && (inm == etag || inm == "*")) {
    HttpResponse nm;
    nm.status = 304;
    nm.Set("OData-Version", "4.0");
    nm.Set("ETag", etag);
    return nm;
  }
  nlohmann::ordered_json body;
  body["@odata.context"] = ContextUrl(ctx, entity, q) + "/$entity";
  nlohmann::ordered_json rec =
      SerializeRecord(*metadata_, store_, entity, *r, q.has_select ? &q.select : nullptr, annotations);
  for (auto& [k, v] : rec.items()) body[k] = v;
  const RecordLookup lookup = [this](std::string_view logical, std::string_view id) {
    return store_.Find(logical, id);
  };
  for (const auto& ex : q.expand) body[ex.nav] = Expanded(ex, *r, annotations, lookup);
  lock.unlock();
  HttpResponse resp = JsonResponse(200, body);
  resp.Set("ETag", etag);
  if (!annotations.preference().empty()) resp.Set("Preference-Applied", annotations.preference());
  return resp;
}

HttpResponse WebApi::GetRelated(const EntityDef& entity, const KeySpec& key, const CollectionNav& nav,
                                const HttpRequest& request, RequestContext& ctx) {
  const EntityDef* target = metadata_->ByLogical(nav.entity);
  auto parsed = ParseQueryOptions(request.Query(), *target, *metadata_, false);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  const AnnotationFilter annotations = AnnotationFilter::FromPrefer(request.HeaderList("prefer"));
  std::shared_lock lock(store_.mutex());
  const StoredRecord* parent = FindByKey(entity, key);
  if (parent == nullptr) return ErrorResponse(NotFoundError(entity, key));
  const RecordLookup lookup = [this](std::string_view logical, std::string_view id) {
    return store_.Find(logical, id);
  };
  nlohmann::ordered_json value = nlohmann::ordered_json::array();
  for (const auto& [id, r] : store_.RowsOf(target->logical_name)) {
    const auto& v = Field(r, nav.lookup);
    if (v.is_string() && v.get_ref<const std::string&>() == parent->id &&
        (!parsed->filter || EvaluateFilter(*parsed->filter, r, lookup))) {
      value.push_back(
          SerializeRecord(*metadata_, store_, *target, r, parsed->has_select ? &parsed->select : nullptr, annotations));
    }
  }
  nlohmann::ordered_json body;
  body["@odata.context"] = ContextUrl(ctx, *target, *parsed);
  body["value"] = std::move(value);
  return JsonResponse(200, body);
}

// ---------------------------------------------------------------------------
// Writes

Result<nlohmann::json> WebApi::ParseBody(const EntityDef& entity, const std::string& body) const {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    return PayloadError(entity, "Invalid JSON. A value was expected or the JSON is malformed.");
  }
  return j;
}

Result<std::pair<const EntityDef*, WebApi::KeySpec>> WebApi::ParseReference(std::string ref,
                                                                            RequestContext& ctx) const {
  if (!ref.empty() && ref[0] == '$') {
    auto it = ctx.content_ids.find(ref);
    if (it == ctx.content_ids.end()) {
      return ApiError(400, "0x0", "Content-ID Reference: '" + ref + "' does not exist in the batch context.");
    }
    ref = it->second;
  }
  if (const auto api = ref.find(std::string(kApiPrefix) + "/"); api != std::string::npos) {
    ref = ref.substr(api + kApiPrefix.size() + 1);
  }
  if (!ref.empty() && ref[0] == '/') ref.erase(0, 1);
  const auto paren = ref.find('(');
  if (paren == std::string::npos || ref.back() != ')') {
    return ApiError(400, "0x80048d19", "The reference '" + ref + "' is not a valid entity reference.");
  }
  const EntityDef* target = metadata_->BySet(ref.substr(0, paren));
  if (target == nullptr) {
    return ApiError(404, "0x8006088a", "Resource not found for the segment '" + ref.substr(0, paren) + "'.");
  }
  auto key = ParseKey(*target, PercentDecode(std::string_view(ref).substr(paren + 1, ref.size() - paren - 2)));
  if (!key.ok()) return key.status();
  return std::make_pair(target, std::move(key).value());
}

Status WebApi::ResolveBind(const BindRef& bind, RequestContext& ctx, std::string& id_out) const {
  auto ref = ParseReference(bind.ref, ctx);
  if (!ref.ok()) return ref.status();
  const EntityDef* target = ref->first;
  if (target->logical_name != bind.target) {
    return ApiError(400, "0x80048d19",
                    "Error identified in Payload provided by the user for Entity :'', For more information on this "
                    "error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> "
                    "InnerException : Microsoft.OData.ODataException: The entity set '" +
                        target->entity_set + "' of the reference '" + bind.ref +
                        "' does not match navigation property '" + bind.nav + "' (expected a " + bind.target + ").");
  }
  const StoredRecord* r = FindByKey(*target, ref->second);
  if (r == nullptr) return NotFoundError(*target, ref->second);
  id_out = r->id;
  return Status::Ok();
}

namespace {
std::string ComposeAddress(const StoredRecord& r) {
  auto s = [&](const char* n) {
    const auto& v = Field(r, n);
    return v.is_string() ? v.get<std::string>() : std::string();
  };
  std::vector<std::string> lines;
  for (const char* n : {"address1_line1", "address1_line2", "address1_line3"}) {
    if (!s(n).empty()) lines.push_back(s(n));
  }
  std::string city = s("address1_city");
  std::string region = s("address1_stateorprovince");
  std::string postal = s("address1_postalcode");
  std::string cityline = city;
  if (!region.empty()) cityline += (cityline.empty() ? "" : ", ") + region;
  if (!postal.empty()) cityline += (cityline.empty() ? "" : " ") + postal;
  if (!cityline.empty()) lines.push_back(cityline);
  if (!s("address1_country").empty()) lines.push_back(s("address1_country"));
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) out += (i > 0 ? "\r\n" : "") + lines[i];
  return out;
}
}  // namespace

void WebApi::Compute(const EntityDef& entity, StoredRecord& r) {
  if (entity.logical_name == "contact") {
    std::string first = Field(r, "firstname").is_string() ? Field(r, "firstname").get<std::string>() : "";
    std::string last = Field(r, "lastname").is_string() ? Field(r, "lastname").get<std::string>() : "";
    std::string full = first.empty() ? last : last.empty() ? first : first + " " + last;
    r.fields["fullname"] = full.empty() ? nlohmann::json(nullptr) : nlohmann::json(full);
  }
  if (entity.Find("address1_composite") != nullptr) {
    const std::string a = ComposeAddress(r);
    r.fields["address1_composite"] = a.empty() ? nlohmann::json(nullptr) : nlohmann::json(a);
  }
  if (entity.logical_name == "salesorderdetail") {
    if (Field(r, "productid").is_string()) {
      if (const StoredRecord* p = store_.Find("product", Field(r, "productid").get<std::string>())) {
        r.fields["productidname"] = Field(*p, "name");
        if (!(Field(r, "ispriceoverridden").is_boolean() && Field(r, "ispriceoverridden").get<bool>()) &&
            Field(*p, "price").is_number()) {
          r.fields["priceperunit"] = Field(*p, "price");
        }
      }
    } else {
      r.fields["productidname"] = Field(r, "productdescription");
    }
    const double base = Number(r, "quantity") * Number(r, "priceperunit");
    r.fields["baseamount"] = Money(base);
    r.fields["extendedamount"] = Money(base - Number(r, "manualdiscountamount") + Number(r, "tax"));
  }
  if (entity.logical_name == "salesorder") {
    double lines = 0, tax = 0;
    for (const auto& [id, d] : store_.RowsOf("salesorderdetail")) {
      const auto& v = Field(d, "salesorderid");
      if (v.is_string() && v.get_ref<const std::string&>() == r.id) {
        lines += Number(d, "extendedamount") - Number(d, "tax");
        tax += Number(d, "tax");
      }
    }
    const double discount = lines * Number(r, "discountpercentage") / 100.0 + Number(r, "discountamount");
    r.fields["totallineitemamount"] = Money(lines);
    r.fields["totaldiscountamount"] = Money(discount);
    r.fields["totalamountlessfreight"] = Money(lines - discount);
    r.fields["totaltax"] = Money(tax);
    r.fields["totalamount"] = Money(lines - discount + Number(r, "freightamount") + tax);
  }
  if (entity.has_money && entity.Find("transactioncurrencyid") != nullptr) {
    double rate = 1.0;
    if (Field(r, "transactioncurrencyid").is_string()) {
      if (const StoredRecord* c =
              store_.Find("transactioncurrency", Field(r, "transactioncurrencyid").get<std::string>())) {
        if (Number(*c, "exchangerate") > 0) rate = Number(*c, "exchangerate");
      }
    }
    r.fields["exchangerate"] = Money(rate);
    for (const auto& a : entity.attributes) {
      if (a.type != AttrType::kMoney || !a.name.ends_with("_base")) continue;
      const auto& v = Field(r, a.name.substr(0, a.name.size() - 5));
      r.fields[a.name] = v.is_number() ? Money(v.get<double>() / rate) : nlohmann::json(nullptr);
    }
  }
}

Status WebApi::CheckKeysUnique(const EntityDef& entity, const StoredRecord& record) const {
  for (const auto& key : entity.keys) {
    bool complete = true;
    for (const auto& a : key.attributes) complete = complete && !Field(record, a).is_null();
    if (!complete) continue;
    for (const auto& [id, other] : store_.RowsOf(entity.logical_name)) {
      if (id == record.id) continue;
      bool same = true;
      for (const auto& a : key.attributes) {
        same = same && ValuesEqual(*entity.Find(a), Field(other, a), Field(record, a));
      }
      if (same) {
        std::string values;
        for (const auto& a : key.attributes) {
          if (!values.empty()) values.push_back(',');
          values.append(Field(record, a).dump());
        }
        return ApiError(412, "0x80060892",
                        "A record that has the attribute values " + values + " already exists. The entity key " +
                            key.name + " requires that this set of attributes contains unique values.");
      }
    }
  }
  return Status::Ok();
}

Result<StoredRecord> WebApi::BuildRecord(const EntityDef& entity, const StoredRecord* existing, const Payload& payload,
                                         Mode mode, const std::string& id, RequestContext& ctx, WriteOptions options) {
  const bool create = mode == Mode::kCreate;
  const bool rules = !options.system && !options.user_edit;
  StoredRecord r = existing != nullptr ? *existing : StoredRecord{};
  if (create) r.id = id;
  const AttributeDef* state_attr = entity.StateAttr();
  const int old_state =
      existing != nullptr && Field(*existing, "statecode").is_number() ? Field(*existing, "statecode").get<int>() : 0;
  std::optional<int> new_state, new_status;
  bool touches_other = !payload.binds.empty();
  for (const auto& [attr, value] : payload.values) {
    if (attr->name == "statecode") {
      if (value.is_number()) new_state = value.get<int>();
      continue;
    }
    if (attr->name == "statuscode") {
      if (value.is_number()) new_status = value.get<int>();
      continue;
    }
    if (attr->name != entity.primary_key) touches_other = true;
  }
  // State rules of opportunities and orders (dataverse-web-api.md section 3, 6.6).
  if (rules) {
    if (create && new_state && state_attr != nullptr && !state_attr->valid_for_create) {
      return ApiError(400, "0x80040203",
                      "The 'statecode' attribute is not valid on create of '" + entity.logical_name +
                          "'. Create the record, then change its state.");
    }
    if (entity.logical_name == "opportunity") {
      if (!create && old_state != 0 && (touches_other || new_state.value_or(old_state) != 0)) {
        return ApiError(400, "0x80040203",
                        "The opportunity is closed (won or lost) and cannot be modified. Reopen it with "
                        "{\"statecode\":0,\"statuscode\":1} first.");
      }
      if (new_state && *new_state != 0 && (create || old_state == 0)) {
        return ApiError(400, "0x80040203", "Use the WinOpportunity or LoseOpportunity action to close an opportunity.");
      }
    }
    if (entity.logical_name == "salesorder" && !create) {
      if (old_state != 0 && (touches_other || new_state.value_or(old_state) != 0 || old_state != 1)) {
        return ApiError(
            400, "0x80040203",
            "Only active orders can be edited (this order's statecode is " + std::to_string(old_state) + ").");
      }
      if (new_state && *new_state != 0 && *new_state != 1) {
        return ApiError(400, "0x80040203", "Use the FulfillSalesOrder or CancelSalesOrder action to close an order.");
      }
    }
  }
  for (const auto& [attr, value] : payload.values) {
    if (attr->name == entity.primary_key) {
      if (!create && !value.is_null() && value != nlohmann::json(r.id)) {
        return ApiError(400, "0x80040203", "The primary key '" + attr->name + "' cannot be changed.");
      }
      continue;
    }
    if (!create && attr->create_only && !options.system) {
      if (ValuesEqual(*attr, Field(r, attr->name), value)) continue;
      return ApiError(
          400, "0x80040203",
          "The '" + attr->name + "' attribute of the '" + entity.logical_name + "' entity cannot be modified.");
    }
    if (attr->name == "overriddencreatedon") {
      if (create && value.is_string()) r.fields["createdon"] = value;
      r.fields[attr->name] = value;
      continue;
    }
    if (attr->name == "statecode" || attr->name == "statuscode") continue;
    if (attr->required == Requirement::kSystem ||
        (attr->required == Requirement::kApplication && settings_.enforce_application_required)) {
      if (value.is_null() || (value.is_string() && value.get_ref<const std::string&>().empty())) {
        return ApiError(400, "0x80040203",
                        "A value for the required attribute '" + attr->name + "' of entity '" + entity.logical_name +
                            "' is missing or null.");
      }
    }
    r.fields[attr->name] = value;
  }
  for (const auto& bind : payload.binds) {
    if (bind.ref.empty()) {
      if (bind.attr->required == Requirement::kSystem) {
        return ApiError(400, "0x80040203",
                        "A value for the required attribute '" + bind.attr->name + "' of entity '" +
                            entity.logical_name + "' is missing or null.");
      }
      r.fields[bind.attr->name] = nullptr;
      r.lookup_targets.erase(bind.attr->name);
      continue;
    }
    std::string target_id;
    CRMSYNC_RETURN_IF_ERROR(ResolveBind(bind, ctx, target_id));
    r.fields[bind.attr->name] = target_id;
    r.lookup_targets[bind.attr->name] = bind.target;
  }
  // State and status.
  if (state_attr != nullptr) {
    const int state = new_state.value_or(create ? entity.default_state : old_state);
    if (state_attr->FindOption(state) == nullptr) {
      return ApiError(400, "0x80044331",
                      "A validation error occurred.  The value " + std::to_string(state) +
                          " of 'statecode' on record of type '" + entity.logical_name +
                          "' is outside the valid range.");
    }
    int status = 0;
    if (new_status) {
      const OptionDef* o = entity.StatusAttr() != nullptr ? entity.StatusAttr()->FindOption(*new_status) : nullptr;
      if (o == nullptr || o->state != state) {
        return ApiError(400, "0x80040203",
                        std::to_string(*new_status) + " is not a valid status code for state code " +
                            entity.logical_name + "State." + std::to_string(state) + " on " + entity.logical_name +
                            ".");
      }
      status = *new_status;
    } else if (new_state || create) {
      status = (!create && new_state && *new_state == old_state && Field(r, "statuscode").is_number())
                   ? Field(r, "statuscode").get<int>()
                   : entity.DefaultStatus(state);
    } else {
      status = Field(r, "statuscode").is_number() ? Field(r, "statuscode").get<int>() : entity.DefaultStatus(state);
    }
    r.fields["statecode"] = state;
    if (entity.StatusAttr() != nullptr) r.fields["statuscode"] = status;
  }
  // Required columns on create.
  if (create) {
    for (const auto& a : entity.attributes) {
      const bool required = a.required == Requirement::kSystem ||
                            (a.required == Requirement::kApplication && settings_.enforce_application_required);
      if (!required || a.read_only) continue;
      if (entity.logical_name == "salesorder" && a.name == "ordernumber") continue;
      if (Field(r, a.name).is_null()) {
        return ApiError(400, "0x80040203",
                        "A value for the required attribute '" + a.name + "' of entity '" + entity.logical_name +
                            "' is missing or null.");
      }
    }
  }
  // Order lines belong to active orders only.
  if (entity.logical_name == "salesorderdetail" && rules && Field(r, "salesorderid").is_string()) {
    const StoredRecord* order = store_.Find("salesorder", Field(r, "salesorderid").get<std::string>());
    if (order != nullptr && Field(*order, "statecode").is_number() && Field(*order, "statecode").get<int>() != 0) {
      return ApiError(400, "0x80040203", "Lines of an order that is not active cannot be created or changed.");
    }
  }
  const std::string now = NowText();
  if (create) {
    if (!Field(r, "createdon").is_string()) r.fields["createdon"] = now;
    r.fields[entity.primary_key] = r.id;
    r.fields["createdby"] = ctx.user_id;
    r.lookup_targets["createdby"] = "systemuser";
    if (entity.has_owner && !Field(r, "ownerid").is_string()) {
      r.fields["ownerid"] = ctx.user_id;
      r.lookup_targets["ownerid"] = "systemuser";
    }
    if (entity.has_money && entity.Find("transactioncurrencyid") != nullptr &&
        !Field(r, "transactioncurrencyid").is_string()) {
      r.fields["transactioncurrencyid"] = base_currency_id_;
      r.lookup_targets["transactioncurrencyid"] = "transactioncurrency";
    }
    if (entity.logical_name == "salesorder" && !Field(r, "ordernumber").is_string()) {
      static const char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
      std::string suffix;
      std::uint64_t n = ids_.Number();
      for (int i = 0; i < 6; ++i, n /= 36) suffix += kAlnum[n % 36];
      char buf[32];
      std::snprintf(buf, sizeof buf, "ORD-%05lld-", static_cast<long long>(++order_counter_));
      r.fields["ordernumber"] = std::string(buf) + suffix;
    }
  }
  r.fields["modifiedon"] = now;
  r.fields["modifiedby"] = ctx.user_id;
  r.lookup_targets["modifiedby"] = "systemuser";
  Compute(entity, r);
  CRMSYNC_RETURN_IF_ERROR(CheckKeysUnique(entity, r));
  r.version = store_.NextVersion();
  r.fields["versionnumber"] = r.version;
  return r;
}

void WebApi::AfterWrite(const EntityDef& entity, const std::string& order_id, RequestContext& ctx) {
  (void)entity;
  if (order_id.empty()) return;
  const StoredRecord* order = store_.Find("salesorder", order_id);
  if (order == nullptr) return;
  StoredRecord copy = *order;
  Compute(*metadata_->ByLogical("salesorder"), copy);
  copy.version = store_.NextVersion();
  copy.fields["versionnumber"] = copy.version;
  copy.fields["modifiedon"] = NowText();
  copy.fields["modifiedby"] = ctx.user_id;
  store_.Put("salesorder", std::move(copy));
}

HttpResponse WebApi::Representation(int status, const EntityDef& entity, const StoredRecord& record,
                                    const HttpRequest& request, RequestContext& ctx,
                                    const std::string& extra_preference) {
  auto parsed = ParseQueryOptions(request.Query(), entity, *metadata_, true);
  const AnnotationFilter annotations = AnnotationFilter::FromPrefer(request.HeaderList("prefer"));
  nlohmann::ordered_json body;
  QueryOptions none;
  const QueryOptions& q = parsed.ok() ? *parsed : none;
  body["@odata.context"] = ContextUrl(ctx, entity, q) + "/$entity";
  const nlohmann::ordered_json rec =
      SerializeRecord(*metadata_, store_, entity, record, q.has_select ? &q.select : nullptr, annotations);
  for (const auto& [k, v] : rec.items()) body[k] = v;
  HttpResponse r = JsonResponse(status, body);
  std::string applied = "return=representation";
  AddPreference(applied, extra_preference);
  r.Set("Preference-Applied", applied);
  r.Set("ETag", ETagOf(record));
  return r;
}

HttpResponse WebApi::Create(const EntityDef& entity, const HttpRequest& request, RequestContext& ctx) {
  auto body = ParseBody(entity, request.body);
  if (!body.ok()) return ErrorResponse(body.status());
  auto payload = ParsePayload(entity, *body, true);
  if (!payload.ok()) return ErrorResponse(payload.status());
  // A representation's $select must be valid before anything is written.
  auto parsed = ParseQueryOptions(request.Query(), entity, *metadata_, true);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  std::unique_lock<std::shared_mutex> lock(store_.mutex(), std::defer_lock);
  if (!ctx.holds_write_lock) lock.lock();
  PurgeLocked();
  std::string id;
  for (const auto& [attr, value] : payload->values) {
    if (attr->name == entity.primary_key && value.is_string()) id = value.get<std::string>();
  }
  if (id.empty()) {
    id = ids_.Next();
  } else if (store_.Find(entity.logical_name, id) != nullptr) {
    return ErrorResponse(ApiError(412, "0x80040237", "A record with matching key values already exists."));
  }
  auto record = BuildRecord(entity, nullptr, *payload, Mode::kCreate, id, ctx, {});
  if (!record.ok()) return ErrorResponse(record.status());
  const std::string order_id = entity.logical_name == "salesorderdetail" && Field(*record, "salesorderid").is_string()
                                   ? Field(*record, "salesorderid").get<std::string>()
                                   : "";
  store_.Put(entity.logical_name, *record);
  AfterWrite(entity, order_id, ctx);
  const std::vector<std::string> prefer = request.HeaderList("prefer");
  if (PreferHas(prefer, "return=representation")) {
    const StoredRecord* stored = store_.Find(entity.logical_name, id);
    HttpResponse r =
        Representation(201, entity, *stored, request, ctx, AnnotationFilter::FromPrefer(prefer).preference());
    if (ctx.in_batch) r.Set("Location", EntityUrl(ctx, entity, id));
    return r;
  }
  HttpResponse r;
  r.status = 204;
  r.Set("OData-Version", "4.0");
  if (ctx.in_batch) r.Set("Location", EntityUrl(ctx, entity, id));
  r.Set("OData-EntityId", EntityUrl(ctx, entity, id));
  return r;
}

HttpResponse WebApi::Upsert(const EntityDef& entity, const KeySpec& key, const HttpRequest& request,
                            RequestContext& ctx) {
  auto body = ParseBody(entity, request.body);
  if (!body.ok()) return ErrorResponse(body.status());
  auto parsed = ParseQueryOptions(request.Query(), entity, *metadata_, true);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  const std::string if_match = request.Header("if-match");
  const std::string if_none_match = request.Header("if-none-match");
  std::unique_lock<std::shared_mutex> lock(store_.mutex(), std::defer_lock);
  if (!ctx.holds_write_lock) lock.lock();
  PurgeLocked();
  const StoredRecord* existing = FindByKey(entity, key);
  if (!if_match.empty()) {
    if (existing == nullptr) return ErrorResponse(NotFoundError(entity, key));
    if (if_match != "*" && if_match != ETagOf(*existing)) {
      return ErrorResponse(ApiError(
          412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided."));
    }
  }
  if (if_none_match == "*" && existing != nullptr) {
    return ErrorResponse(ApiError(412, "0x80040237", "A record with matching key values already exists."));
  }
  auto payload = ParsePayload(entity, *body, existing == nullptr);
  if (!payload.ok()) return ErrorResponse(payload.status());
  std::string id;
  if (existing != nullptr) {
    id = existing->id;
    // Key columns in the body of an alternate-key upsert are ignored on update.
    std::erase_if(payload->values, [&](const auto& v) {
      for (const auto& [attr, val] : key.alternate) {
        if (attr == v.first) return true;
      }
      return false;
    });
  } else {
    id = key.id.empty() ? ids_.Next() : key.id;
    for (const auto& [attr, value] : key.alternate) {
      std::erase_if(payload->values, [&](const auto& v) { return v.first == attr; });
      payload->values.emplace_back(attr, value);
    }
  }
  std::string old_order;
  if (existing != nullptr && entity.logical_name == "salesorderdetail" &&
      Field(*existing, "salesorderid").is_string()) {
    old_order = Field(*existing, "salesorderid").get<std::string>();
  }
  auto record =
      BuildRecord(entity, existing, *payload, existing != nullptr ? Mode::kUpdate : Mode::kCreate, id, ctx, {});
  if (!record.ok()) return ErrorResponse(record.status());
  const bool created = existing == nullptr;
  const std::string order_id = entity.logical_name == "salesorderdetail" && Field(*record, "salesorderid").is_string()
                                   ? Field(*record, "salesorderid").get<std::string>()
                                   : "";
  store_.Put(entity.logical_name, *record);
  AfterWrite(entity, order_id, ctx);
  if (!old_order.empty() && old_order != order_id) AfterWrite(entity, old_order, ctx);
  const std::vector<std::string> prefer = request.HeaderList("prefer");
  if (PreferHas(prefer, "return=representation")) {
    const StoredRecord* stored = store_.Find(entity.logical_name, id);
    return Representation(created ? 201 : 200, entity, *stored, request, ctx,
                          AnnotationFilter::FromPrefer(prefer).preference());
  }
  HttpResponse r;
  r.status = 204;
  r.Set("OData-Version", "4.0");
  if (ctx.in_batch) r.Set("Location", EntityUrl(ctx, entity, id));
  r.Set("OData-EntityId",
        key.id.empty() ? ApiRoot(ctx) + entity.entity_set + "(" + key.text + ")" : EntityUrl(ctx, entity, id));
  return r;
}

Status WebApi::EraseRecord(const EntityDef& entity, const std::string& id, RequestContext& ctx) {
  const auto now = std::chrono::system_clock::now();
  std::string order_id;
  if (entity.logical_name == "salesorderdetail") {
    if (const StoredRecord* r = store_.Find(entity.logical_name, id);
        r != nullptr && Field(*r, "salesorderid").is_string()) {
      order_id = Field(*r, "salesorderid").get<std::string>();
    }
  }
  if (entity.logical_name == "salesorder") {
    // Parental relationship: lines go with their order.
    std::vector<std::string> lines;
    for (const auto& [lid, l] : store_.RowsOf("salesorderdetail")) {
      const auto& v = Field(l, "salesorderid");
      if (v.is_string() && v.get_ref<const std::string&>() == id) lines.push_back(lid);
    }
    for (const auto& lid : lines) store_.Erase("salesorderdetail", lid, now);
  }
  // Many-to-many: the intersect rows (list members, campaign items) go with either side.
  for (const auto& rel : metadata_->many_to_many()) {
    const bool side1 = rel.entity1 == entity.logical_name;
    const bool side2 = rel.entity2 == entity.logical_name;
    if (!side1 && !side2) continue;
    const std::string& lookup = side1 ? rel.lookup1 : rel.lookup2;
    std::vector<std::string> gone;
    for (const auto& [iid, row] : store_.RowsOf(rel.intersect)) {
      const auto& v = Field(row, lookup);
      const auto t = row.lookup_targets.find(lookup);
      if (v.is_string() && v.get_ref<const std::string&>() == id && t != row.lookup_targets.end() &&
          t->second == entity.logical_name) {
        gone.push_back(iid);
      }
    }
    for (const auto& iid : gone) store_.Erase(rel.intersect, iid, now);
  }
  if (!store_.Erase(entity.logical_name, id, now)) {
    return ApiError(404, "0x80040217", entity.logical_name + " With Id = " + id + " Does Not Exist");
  }
  AfterWrite(entity, order_id, ctx);
  return Status::Ok();
}

HttpResponse WebApi::Delete(const EntityDef& entity, const KeySpec& key, const HttpRequest& request,
                            RequestContext& ctx) {
  const std::string if_match = request.Header("if-match");
  std::unique_lock<std::shared_mutex> lock(store_.mutex(), std::defer_lock);
  if (!ctx.holds_write_lock) lock.lock();
  PurgeLocked();
  const StoredRecord* existing = FindByKey(entity, key);
  if (existing == nullptr) return ErrorResponse(NotFoundError(entity, key));
  if (!if_match.empty() && if_match != "*" && if_match != ETagOf(*existing)) {
    return ErrorResponse(ApiError(
        412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided."));
  }
  if (entity.logical_name == "salesorderdetail" && Field(*existing, "salesorderid").is_string()) {
    const StoredRecord* order = store_.Find("salesorder", Field(*existing, "salesorderid").get<std::string>());
    if (order != nullptr && Field(*order, "statecode").is_number() && Field(*order, "statecode").get<int>() != 0) {
      return ErrorResponse(ApiError(400, "0x80040203", "Lines of an order that is not active cannot be deleted."));
    }
  }
  const std::string id = existing->id;
  Status s = EraseRecord(entity, id, ctx);
  if (!s.ok()) return ErrorResponse(s);
  return NoContent();
}

HttpResponse WebApi::PropertyRequest(const EntityDef& entity, const KeySpec& key, const std::string& property,
                                     const HttpRequest& request, RequestContext& ctx) {
  const AttributeDef* attr = entity.FindByReadName(property);
  if (attr == nullptr) return ErrorResponse(UnknownProperty(property, entity.TypeName()));
  if (request.method == "GET") {
    std::shared_lock lock(store_.mutex());
    const StoredRecord* r = FindByKey(entity, key);
    if (r == nullptr) return ErrorResponse(NotFoundError(entity, key));
    nlohmann::ordered_json body;
    body["@odata.context"] = ApiRoot(ctx) + "$metadata#" + entity.entity_set + "(" + r->id + ")/" + property;
    body["value"] = Field(*r, attr->name);
    return JsonResponse(200, body);
  }
  if (request.method != "PUT" && request.method != "DELETE")
    return ErrorResponse(Unsupported(request.method, property));
  nlohmann::json patch = nlohmann::json::object();
  if (request.method == "PUT") {
    auto body = ParseBody(entity, request.body);
    if (!body.ok()) return ErrorResponse(body.status());
    if (!body->is_object() || !body->contains("value")) {
      return ErrorResponse(PayloadError(entity, "A 'value' property was expected in the body."));
    }
    patch[attr->name] = (*body)["value"];
  } else {
    patch[attr->name] = nullptr;
  }
  HttpRequest inner = request;
  inner.method = "PATCH";
  inner.body = patch.dump();
  inner.headers.emplace_back("if-match", "*");
  return Upsert(entity, key, inner, ctx);
}

HttpResponse WebApi::RefRequest(const EntityDef& entity, const KeySpec& key, const std::string& nav,
                                const HttpRequest& request, RequestContext& ctx) {
  auto target = entity.FindNav(nav);
  if (!target) return ErrorResponse(UnknownProperty(nav, entity.TypeName()));
  nlohmann::json patch = nlohmann::json::object();
  if (request.method == "DELETE") {
    patch[nav + "@odata.bind"] = nullptr;
  } else if (request.method == "PUT") {
    auto body = ParseBody(entity, request.body);
    if (!body.ok()) return ErrorResponse(body.status());
    if (!body->is_object() || !(*body)["@odata.id"].is_string()) {
      return ErrorResponse(PayloadError(entity, "An '@odata.id' property was expected in the body."));
    }
    patch[nav + "@odata.bind"] = (*body)["@odata.id"];
  } else {
    return ErrorResponse(Unsupported(request.method, nav + "/$ref"));
  }
  HttpRequest inner = request;
  inner.method = "PATCH";
  inner.body = patch.dump();
  inner.target = std::string(request.Path());
  inner.headers.emplace_back("if-match", "*");
  HttpResponse r = Upsert(entity, key, inner, ctx);
  if (r.status == 204)
    r.headers.erase(
        std::remove_if(r.headers.begin(), r.headers.end(), [](const auto& h) { return h.first == "OData-EntityId"; }),
        r.headers.end());
  return r;
}

HttpResponse WebApi::Action(const std::string& name, const HttpRequest& request, RequestContext& ctx) {
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  const bool opportunity = name == "WinOpportunity" || name == "LoseOpportunity";
  const std::string param = opportunity ? "OpportunityClose" : "OrderClose";
  const std::string lookup = opportunity ? "opportunityid" : "salesorderid";
  const EntityDef& entity = *metadata_->ByLogical(opportunity ? "opportunity" : "salesorder");
  if (!body.is_object()) return ErrorResponse(ApiError(400, "0x80048d19", "The action body must be a JSON object."));
  if (!body.contains("Status") || !body["Status"].is_number_integer()) {
    return ErrorResponse(
        ApiError(400, "0x80040203", "Required parameter 'Status' of action '" + name + "' is missing."));
  }
  if (!body.contains(param) || !body[param].is_object()) {
    return ErrorResponse(
        ApiError(400, "0x80040203", "Required parameter '" + param + "' of action '" + name + "' is missing."));
  }
  const nlohmann::json& close = body[param];
  const std::string bind_key = lookup + "@odata.bind";
  if (!close.contains(bind_key) || !close[bind_key].is_string()) {
    return ErrorResponse(ApiError(400, "0x80040203", "'" + param + "' needs '" + bind_key + "'."));
  }
  const int status = body["Status"].get<int>();
  const int state = name == "WinOpportunity" ? 1 : name == "LoseOpportunity" ? 2 : name == "FulfillSalesOrder" ? 3 : 2;
  const OptionDef* o = entity.StatusAttr()->FindOption(status);
  if (o == nullptr || o->state != state) {
    return ErrorResponse(ApiError(400, "0x80040203",
                                  std::to_string(status) + " is not a valid status code for state code " +
                                      entity.logical_name + "State." + std::to_string(state) + " on " +
                                      entity.logical_name + "."));
  }
  std::unique_lock<std::shared_mutex> lock(store_.mutex(), std::defer_lock);
  if (!ctx.holds_write_lock) lock.lock();
  BindRef bind{lookup, entity.Find(entity.primary_key), entity.logical_name, close[bind_key].get<std::string>()};
  std::string id;
  Status s = ResolveBind(bind, ctx, id);
  if (!s.ok()) return ErrorResponse(s);
  StoredRecord r = *store_.Find(entity.logical_name, id);
  const int current = Field(r, "statecode").is_number() ? Field(r, "statecode").get<int>() : 0;
  if (opportunity ? current != 0 : (current != 0 && current != 1)) {
    return ErrorResponse(
        ApiError(400, "0x80040203",
                 "The " + entity.logical_name + " is already closed (statecode " + std::to_string(current) + ")."));
  }
  const std::string now = NowText();
  r.fields["statecode"] = state;
  r.fields["statuscode"] = status;
  if (opportunity) {
    r.fields["actualclosedate"] = close.contains("actualend") && close["actualend"].is_string()
                                      ? close["actualend"].get<std::string>().substr(0, 10)
                                      : now.substr(0, 10);
    r.fields["actualvalue"] = close.contains("actualrevenue") && close["actualrevenue"].is_number()
                                  ? close["actualrevenue"]
                                  : Field(r, "estimatedvalue");
  } else if (state == 3) {
    r.fields["datefulfilled"] = now.substr(0, 10);
  }
  r.fields["modifiedon"] = now;
  r.fields["modifiedby"] = ctx.user_id;
  Compute(entity, r);
  r.version = store_.NextVersion();
  r.fields["versionnumber"] = r.version;
  store_.Put(entity.logical_name, std::move(r));
  return NoContent();
}

// ---------------------------------------------------------------------------
// Admin

Result<std::string> WebApi::AdminCreate(const EntityDef& entity, const nlohmann::json& body, RequestContext& ctx) {
  auto payload = ParsePayload(entity, body, true);
  if (!payload.ok()) return payload.status();
  std::unique_lock lock(store_.mutex());
  std::string id;
  for (const auto& [attr, value] : payload->values) {
    if (attr->name == entity.primary_key && value.is_string()) id = value.get<std::string>();
  }
  if (id.empty()) id = ids_.Next();
  if (store_.Find(entity.logical_name, id) != nullptr) {
    return ApiError(412, "0x80040237", "A record with matching key values already exists.");
  }
  auto record = BuildRecord(entity, nullptr, *payload, Mode::kCreate, id, ctx, WriteOptions{true, false});
  if (!record.ok()) return record.status();
  const std::string order_id = entity.logical_name == "salesorderdetail" && Field(*record, "salesorderid").is_string()
                                   ? Field(*record, "salesorderid").get<std::string>()
                                   : "";
  store_.Put(entity.logical_name, *record);
  AfterWrite(entity, order_id, ctx);
  return id;
}

Status WebApi::AdminUpdate(const EntityDef& entity, const std::string& id, const nlohmann::json& body,
                           RequestContext& ctx) {
  auto payload = ParsePayload(entity, body, false);
  if (!payload.ok()) return payload.status();
  std::unique_lock lock(store_.mutex());
  PurgeLocked();
  const StoredRecord* existing = store_.Find(entity.logical_name, id);
  if (existing == nullptr)
    return ApiError(404, "0x80040217", entity.logical_name + " With Id = " + id + " Does Not Exist");
  auto record = BuildRecord(entity, existing, *payload, Mode::kUpdate, id, ctx, WriteOptions{false, true});
  if (!record.ok()) return record.status();
  const std::string order_id = entity.logical_name == "salesorderdetail" && Field(*record, "salesorderid").is_string()
                                   ? Field(*record, "salesorderid").get<std::string>()
                                   : "";
  store_.Put(entity.logical_name, *record);
  AfterWrite(entity, order_id, ctx);
  return Status::Ok();
}

Status WebApi::AdminDelete(const EntityDef& entity, const std::string& id, RequestContext& ctx) {
  std::unique_lock lock(store_.mutex());
  PurgeLocked();
  return EraseRecord(entity, id, ctx);
}

nlohmann::ordered_json WebApi::Dump(const EntityDef& entity) {
  std::shared_lock lock(store_.mutex());
  nlohmann::ordered_json value = nlohmann::ordered_json::array();
  const AnnotationFilter none;
  for (const auto& [id, r] : store_.RowsOf(entity.logical_name)) {
    value.push_back(SerializeRecord(*metadata_, store_, entity, r, nullptr, none));
  }
  nlohmann::ordered_json body;
  body["entity_set"] = entity.entity_set;
  body["count"] = value.size();
  body["value"] = std::move(value);
  return body;
}

// ---------------------------------------------------------------------------
// Marketing lists and campaigns

namespace {

// The member table of a marketing list by its createdfromcode.
std::string ListMemberTable(const StoredRecord& list) {
  const auto& code = Field(list, "createdfromcode");
  if (!code.is_number_integer()) return "";
  switch (code.get<int>()) {
    case 1: return "account";
    case 2: return "contact";
    case 4: return "lead";
    default: return "";
  }
}

Status MissingParameter(const std::string& parameter, const std::string& action) {
  return ApiError(400, "0x80040203", "Required parameter '" + parameter + "' of action '" + action + "' is missing.");
}

}  // namespace

std::string WebApi::AssociateLocked(const ManyToManyDef& rel, const std::string& id1, const std::string& id2,
                                    const std::string& table2, RequestContext& ctx) {
  for (const auto& [iid, row] : store_.RowsOf(rel.intersect)) {
    const auto& a = Field(row, rel.lookup1);
    const auto& b = Field(row, rel.lookup2);
    if (a.is_string() && b.is_string() && a.get_ref<const std::string&>() == id1 &&
        b.get_ref<const std::string&>() == id2) {
      return iid;  // already associated
    }
  }
  const EntityDef& intersect = *metadata_->ByLogical(rel.intersect);
  const std::string now = NowText();
  StoredRecord r;
  r.id = ids_.Next();
  r.version = store_.NextVersion();
  r.fields[intersect.primary_key] = r.id;
  r.fields[rel.lookup1] = id1;
  r.lookup_targets[rel.lookup1] = rel.entity1;
  r.fields[rel.lookup2] = id2;
  r.lookup_targets[rel.lookup2] = table2;
  if (intersect.Find("entitytype") != nullptr) r.fields["entitytype"] = table2;
  r.fields["createdon"] = now;
  r.fields["modifiedon"] = now;
  r.fields["createdby"] = ctx.user_id;
  r.lookup_targets["createdby"] = "systemuser";
  r.fields["modifiedby"] = ctx.user_id;
  r.lookup_targets["modifiedby"] = "systemuser";
  r.fields["versionnumber"] = r.version;
  const std::string id = r.id;
  store_.Put(rel.intersect, std::move(r));
  if (rel.entity1 == "list") RecountListMembersLocked(id1, ctx);
  return id;
}

bool WebApi::DisassociateLocked(const ManyToManyDef& rel, const std::string& id1, const std::string& id2,
                                const std::string& table2, RequestContext& ctx) {
  std::vector<std::string> gone;
  for (const auto& [iid, row] : store_.RowsOf(rel.intersect)) {
    const auto& a = Field(row, rel.lookup1);
    const auto& b = Field(row, rel.lookup2);
    const auto t = row.lookup_targets.find(rel.lookup2);
    if (a.is_string() && b.is_string() && a.get_ref<const std::string&>() == id1 &&
        b.get_ref<const std::string&>() == id2 && t != row.lookup_targets.end() && t->second == table2) {
      gone.push_back(iid);
    }
  }
  const auto now = std::chrono::system_clock::now();
  for (const auto& iid : gone) store_.Erase(rel.intersect, iid, now);
  if (!gone.empty() && rel.entity1 == "list") RecountListMembersLocked(id1, ctx);
  return !gone.empty();
}

void WebApi::RecountListMembersLocked(const std::string& list_id, RequestContext& ctx) {
  const StoredRecord* list = store_.Find("list", list_id);
  if (list == nullptr) return;
  std::int64_t count = 0;
  for (const auto& [iid, row] : store_.RowsOf("listmember")) {
    const auto& v = Field(row, "listid");
    if (v.is_string() && v.get_ref<const std::string&>() == list_id) ++count;
  }
  StoredRecord r = *list;
  r.fields["membercount"] = count;
  r.fields["modifiedon"] = NowText();
  r.fields["modifiedby"] = ctx.user_id;
  r.version = store_.NextVersion();
  r.fields["versionnumber"] = r.version;
  store_.Put("list", std::move(r));
}

HttpResponse WebApi::GetAssociated(const EntityDef& entity, const KeySpec& key, const ManyToManyDef& rel,
                                   const HttpRequest& request, RequestContext& ctx) {
  const bool side1 = rel.entity1 == entity.logical_name;
  const EntityDef* other = metadata_->ByLogical(side1 ? rel.entity2 : rel.entity1);
  auto parsed = ParseQueryOptions(request.Query(), *other, *metadata_, false);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  const AnnotationFilter annotations = AnnotationFilter::FromPrefer(request.HeaderList("prefer"));
  std::shared_lock lock(store_.mutex());
  const StoredRecord* parent = FindByKey(entity, key);
  if (parent == nullptr) return ErrorResponse(NotFoundError(entity, key));
  const std::string& mine = side1 ? rel.lookup1 : rel.lookup2;
  const std::string& theirs = side1 ? rel.lookup2 : rel.lookup1;
  std::set<std::string> ids;
  for (const auto& [iid, row] : store_.RowsOf(rel.intersect)) {
    const auto& v = Field(row, mine);
    const auto& w = Field(row, theirs);
    const auto t = row.lookup_targets.find(theirs);
    if (v.is_string() && v.get_ref<const std::string&>() == parent->id && w.is_string() &&
        t != row.lookup_targets.end() && t->second == other->logical_name) {
      ids.insert(w.get<std::string>());
    }
  }
  const RecordLookup lookup = [this](std::string_view logical, std::string_view id) {
    return store_.Find(logical, id);
  };
  nlohmann::ordered_json value = nlohmann::ordered_json::array();
  for (const auto& id : ids) {
    const StoredRecord* r = store_.Find(other->logical_name, id);
    if (r == nullptr || (parsed->filter && !EvaluateFilter(*parsed->filter, *r, lookup))) continue;
    value.push_back(
        SerializeRecord(*metadata_, store_, *other, *r, parsed->has_select ? &parsed->select : nullptr, annotations));
  }
  nlohmann::ordered_json body;
  body["@odata.context"] = ContextUrl(ctx, *other, *parsed);
  body["value"] = std::move(value);
  return JsonResponse(200, body);
}

HttpResponse WebApi::AssociationRef(const EntityDef& entity, const KeySpec& key, const ManyToManyDef& rel,
                                    const std::string& member_key, const HttpRequest& request, RequestContext& ctx) {
  const bool side1 = rel.entity1 == entity.logical_name;
  const EntityDef* other = metadata_->ByLogical(side1 ? rel.entity2 : rel.entity1);
  std::string reference;
  if (request.method == "POST") {
    if (!member_key.empty()) return ErrorResponse(Unsupported(request.method, rel.name + "(" + member_key + ")/$ref"));
    auto body = ParseBody(entity, request.body);
    if (!body.ok()) return ErrorResponse(body.status());
    if (!body->is_object() || !(*body)["@odata.id"].is_string()) {
      return ErrorResponse(PayloadError(entity, "An '@odata.id' property was expected in the body."));
    }
    reference = (*body)["@odata.id"].get<std::string>();
  } else if (request.method == "DELETE") {
    if (!member_key.empty()) {
      reference = other->entity_set + "(" + member_key + ")";
    } else {
      for (const auto& param : ParseQuery(request.Query())) {
        if (param.name == "$id") reference = param.value;
      }
      if (reference.empty()) {
        return ErrorResponse(ApiError(400, "0x80048d19", "The '$id' query option is required to remove a reference."));
      }
    }
  } else {
    return ErrorResponse(Unsupported(request.method, rel.name + "/$ref"));
  }
  std::unique_lock<std::shared_mutex> lock(store_.mutex(), std::defer_lock);
  if (!ctx.holds_write_lock) lock.lock();
  const StoredRecord* parent = FindByKey(entity, key);
  if (parent == nullptr) return ErrorResponse(NotFoundError(entity, key));
  const std::string parent_id = parent->id;
  auto ref = ParseReference(reference, ctx);
  if (!ref.ok()) return ErrorResponse(ref.status());
  if (ref->first != other) {
    return ErrorResponse(ApiError(400, "0x80048d19",
                                  "The reference '" + reference + "' is not a " + other->logical_name +
                                      ", the other side of relationship '" + rel.name + "'."));
  }
  const StoredRecord* target = FindByKey(*other, ref->second);
  if (target == nullptr) return ErrorResponse(NotFoundError(*other, ref->second));
  const std::string id1 = side1 ? parent_id : target->id;
  const std::string id2 = side1 ? target->id : parent_id;
  if (request.method == "POST") {
    AssociateLocked(rel, id1, id2, rel.entity2, ctx);
  } else if (!DisassociateLocked(rel, id1, id2, rel.entity2, ctx)) {
    return ErrorResponse(ApiError(
        404, "0x80040217",
        rel.intersect + " for " + rel.entity1 + " " + id1 + " and " + rel.entity2 + " " + id2 + " Does Not Exist"));
  }
  return NoContent();
}

HttpResponse WebApi::BoundAction(const EntityDef& entity, const KeySpec& key, const std::string& name,
                                 const HttpRequest& request, RequestContext& ctx) {
  const bool add_member = name == "AddMemberList" && entity.logical_name == "list";
  const bool remove_member = name == "RemoveMemberList" && entity.logical_name == "list";
  const bool add_item = name == "AddItemCampaign" && entity.logical_name == "list";
  if (!add_member && !remove_member && !add_item) {
    return ErrorResponse(
        ApiError(404, "0x8006088a", "Resource not found for the segment 'Microsoft.Dynamics.CRM." + name + "'."));
  }
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object()) return ErrorResponse(ApiError(400, "0x80048d19", "The action body must be a JSON object."));
  std::unique_lock<std::shared_mutex> lock(store_.mutex(), std::defer_lock);
  if (!ctx.holds_write_lock) lock.lock();
  const StoredRecord* list = FindByKey(entity, key);
  if (list == nullptr) return ErrorResponse(NotFoundError(entity, key));
  const std::string list_id = list->id;

  if (add_item) {
    // AddItemCampaign bound to the item: {"Campaign": {"campaignid": "<guid>", ...}} -> the campaignitem.
    if (!body.contains("Campaign") || !body["Campaign"].is_object()) {
      return ErrorResponse(MissingParameter("Campaign", name));
    }
    const auto& campaign = body["Campaign"];
    const std::string campaign_id = campaign.contains("campaignid") && campaign["campaignid"].is_string()
                                        ? NormaliseGuid(campaign["campaignid"].get<std::string>())
                                        : "";
    if (campaign_id.empty()) {
      return ErrorResponse(
          ApiError(400, "0x80040203", "Parameter 'Campaign' of action '" + name + "' needs 'campaignid'."));
    }
    if (store_.Find("campaign", campaign_id) == nullptr) {
      return ErrorResponse(ApiError(404, "0x80040217", "campaign With Id = " + campaign_id + " Does Not Exist"));
    }
    const ManyToManyDef* rel = metadata_->FindManyToMany("campaign", "campaignlist_association");
    const std::string item = AssociateLocked(*rel, campaign_id, list_id, "list", ctx);
    const EntityDef& items = *metadata_->ByLogical("campaignitem");
    nlohmann::ordered_json out =
        SerializeRecord(*metadata_, store_, items, *store_.Find("campaignitem", item), nullptr, AnnotationFilter());
    out["@odata.context"] = ApiRoot(ctx) + "$metadata#campaignitems/$entity";
    return JsonResponse(200, out);
  }

  if (!body.contains("EntityId") || !body["EntityId"].is_string())
    return ErrorResponse(MissingParameter("EntityId", name));
  const std::string member_id = NormaliseGuid(body["EntityId"].get<std::string>());
  if (member_id.empty()) {
    return ErrorResponse(
        ApiError(400, "0x80048d19",
                 "Cannot convert the literal '" + body["EntityId"].dump() + "' to the expected type 'Edm.Guid'."));
  }
  const std::string table = ListMemberTable(*list);
  const ManyToManyDef* rel = metadata_->FindManyToMany("list", "list" + table + "_association");
  if (rel == nullptr) {
    return ErrorResponse(
        ApiError(400, "0x80040203", "The list's member type (createdfromcode) is not supported by this emulator."));
  }
  if (store_.Find(table, member_id) == nullptr) {
    return ErrorResponse(ApiError(404, "0x80040217", table + " With Id = " + member_id + " Does Not Exist"));
  }
  if (remove_member) {
    DisassociateLocked(*rel, list_id, member_id, table, ctx);
    return NoContent();
  }
  const std::string member = AssociateLocked(*rel, list_id, member_id, table, ctx);
  nlohmann::ordered_json out;
  out["@odata.context"] = ApiRoot(ctx) + "$metadata#Microsoft.Dynamics.CRM.AddMemberListResponse";
  out["Id"] = member;
  return JsonResponse(200, out);
}

}  // namespace crmsync::emulator
