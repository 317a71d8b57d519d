#include "mapping/mapping.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/value_json.h"

namespace crmsync::mapping {

namespace {

using nlohmann::json;

template <typename Enum, std::size_t N>
std::optional<Enum> ParseName(std::string_view s, const std::pair<Enum, std::string_view> (&table)[N]) {
  for (const auto& [value, name] : table) {
    if (name == s) return value;
  }
  return std::nullopt;
}

template <typename Enum, std::size_t N>
std::string_view NameOf(Enum e, const std::pair<Enum, std::string_view> (&table)[N]) {
  for (const auto& [value, name] : table) {
    if (value == e) return name;
  }
  return "?";
}

constexpr std::pair<Direction, std::string_view> kDirections[] = {
    {Direction::kBidirectional, "bidirectional"},
    {Direction::kToRemote, "to_remote"},
    {Direction::kFromRemote, "from_remote"},
};
constexpr std::pair<ConflictPolicy, std::string_view> kConflicts[] = {
    {ConflictPolicy::kNewestWins, "newest_wins"},
    {ConflictPolicy::kLocalWins, "local_wins"},
    {ConflictPolicy::kRemoteWins, "remote_wins"},
    {ConflictPolicy::kManual, "manual"},
};
constexpr std::pair<DeletePolicy, std::string_view> kDeletes[] = {
    {DeletePolicy::kPropagate, "propagate"},
    {DeletePolicy::kUncouple, "uncouple"},
    {DeletePolicy::kIgnore, "ignore"},
};
constexpr std::pair<FieldType, std::string_view> kTypes[] = {
    {FieldType::kAuto, "auto"},
    {FieldType::kText, "text"},
    {FieldType::kInteger, "integer"},
    {FieldType::kDecimal, "decimal"},
    {FieldType::kMoney, "money"},
    {FieldType::kBoolean, "boolean"},
    {FieldType::kDate, "date"},
    {FieldType::kDateTime, "datetime"},
    {FieldType::kDateAsDateTime, "date_as_datetime"},
};

void AddOnce(std::vector<std::string>& out, const std::string& name) {
  if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
}

json StringOrArray(const std::vector<std::string>& names) {
  if (names.size() == 1) return names[0];
  return names;
}

json ValuesJson(const std::vector<Value>& values) {
  if (values.size() == 1) return ValueToJson(values[0]);
  json out = json::array();
  for (const auto& v : values) out.push_back(ValueToJson(v));
  return out;
}

json UnmappedJson(const UnmappedPolicy& p) {
  switch (p.action) {
    case UnmappedPolicy::Action::kError: return "error";
    case UnmappedPolicy::Action::kNull: return "null";
    case UnmappedPolicy::Action::kKeep: return "keep";
    case UnmappedPolicy::Action::kDefault: return json{{"default", ValuesJson(p.default_values)}};
  }
  return nullptr;
}

json FieldJson(const FieldMapping& f) {
  json out = json::object();
  if (!f.local.empty()) out["local"] = f.local;
  if (!f.remote.empty()) out["remote"] = StringOrArray(f.remote);
  if (f.is_lookup()) {
    std::vector<std::string> names;
    for (const auto& t : f.lookup) names.push_back(t.mapping);
    out["lookup"] = StringOrArray(names);
    out["remote_read"] = f.remote_read;
  }
  out["direction"] = DirectionName(f.direction);
  if (f.constant) out["constant"] = ValueToJson(*f.constant);
  if (f.values) {
    json values = json::object();
    for (const auto& [key, remote] : f.values->to_remote) values[key] = ValuesJson(remote);
    out["values"] = values;
    if (f.FromRemote()) {
      json reverse = json::object();
      for (const auto& [key, locals] : f.values->from_remote) reverse[key] = ValuesJson(locals);
      out["from_remote"] = reverse;
    }
    out["unmapped"] = {{"to_remote", UnmappedJson(f.values->unmapped_to_remote)},
                       {"from_remote", UnmappedJson(f.values->unmapped_from_remote)}};
  }
  if (!f.constant && !f.values && !f.is_lookup()) out["type"] = FieldTypeName(f.type);
  if (f.max_length) out["max_length"] = *f.max_length;
  out["truncate"] = f.truncate;
  out["sensitive"] = f.sensitive;
  out["create_only"] = f.create_only;
  out["omit_null"] = f.omit_null;
  if (!f.description.empty()) out["description"] = f.description;
  return out;
}

}  // namespace

std::string_view DirectionName(Direction d) {
  return NameOf(d, kDirections);
}
std::string_view ConflictPolicyName(ConflictPolicy p) {
  return NameOf(p, kConflicts);
}
std::string_view DeletePolicyName(DeletePolicy p) {
  return NameOf(p, kDeletes);
}
std::string_view FieldTypeName(FieldType t) {
  return NameOf(t, kTypes);
}
std::optional<Direction> ParseDirection(std::string_view s) {
  return ParseName(s, kDirections);
}
std::optional<ConflictPolicy> ParseConflictPolicy(std::string_view s) {
  return ParseName(s, kConflicts);
}
std::optional<DeletePolicy> ParseDeletePolicy(std::string_view s) {
  return ParseName(s, kDeletes);
}
std::optional<FieldType> ParseFieldType(std::string_view s) {
  return ParseName(s, kTypes);
}

std::string ValueKey(const std::vector<Value>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += values[i].ToDisplayString();
  }
  return out;
}

const std::vector<Value>* ValueMap::FindToRemote(std::string_view local_key) const {
  for (const auto& [key, values] : to_remote) {
    if (key == local_key) return &values;
  }
  return nullptr;
}

const std::vector<Value>* ValueMap::FindFromRemote(std::string_view remote_key) const {
  for (const auto& [key, values] : from_remote) {
    if (key == remote_key) return &values;
  }
  return nullptr;
}

std::string FieldMapping::Name() const {
  return !local.empty() ? local : (remote.empty() ? path : remote[0]);
}

std::span<const std::string> FieldMapping::RemoteReadAttributes() const {
  if (!FromRemote() || constant) return {};
  if (is_lookup()) return {&remote_read, 1};
  return remote;
}

std::vector<std::string> Mapping::LocalReadColumns() const {
  std::vector<std::string> out;
  for (const auto& k : local.key) AddOnce(out, k);
  for (const auto& [column, value] : local.filter) AddOnce(out, column);
  for (const auto& f : fields) {
    if (f.ToRemote() && !f.constant) AddOnce(out, f.local);
  }
  // Columns written from Dataverse are read too: the engine compares them with the base.
  for (const auto& f : fields) {
    if (f.FromRemote() && !f.constant) AddOnce(out, f.local);
  }
  return out;
}

std::vector<std::string> Mapping::RemoteSelectColumns() const {
  std::vector<std::string> out;
  AddOnce(out, remote.key);
  for (const auto& f : fields) {
    if (f.constant) continue;
    if (f.is_lookup()) {
      AddOnce(out, f.remote_read);
    } else {
      for (const auto& r : f.remote) AddOnce(out, r);
    }
  }
  return out;
}

std::vector<MatchColumn> Mapping::MatchColumns() const {
  std::vector<MatchColumn> out;
  for (const auto& attribute : remote.match_on) {
    for (const auto& f : fields) {
      if (!f.constant && !f.is_lookup() && !f.values && f.remote.size() == 1 && f.remote[0] == attribute) {
        out.push_back({f.local, attribute});
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> Mapping::SensitiveLocalColumns() const {
  std::vector<std::string> out;
  for (const auto& f : fields) {
    if (f.sensitive) AddOnce(out, f.local);
  }
  return out;
}

std::vector<std::string> Mapping::SensitiveRemoteAttributes() const {
  std::vector<std::string> out;
  for (const auto& f : fields) {
    if (!f.sensitive) continue;
    for (const auto& r : f.remote) AddOnce(out, f.is_lookup() ? r + "@odata.bind" : r);
    if (f.is_lookup()) AddOnce(out, f.remote_read);
  }
  return out;
}

bool Mapping::AppliesToLocal(const Record& local_row) const {
  for (const auto& [column, wanted] : local.filter) {
    const auto it = local_row.find(column);
    if (it == local_row.end() || it->second != wanted) return false;
  }
  return true;
}

Result<std::string> Mapping::EncodeLocalKey(const Record& local_row) const {
  json parts = json::array();
  for (const auto& column : local.key) {
    const auto it = local_row.find(column);
    if (it == local_row.end() || it->second.is_null()) {
      return InvalidArgument("key column '" + column + "' of mapping '" + name + "' is missing or null");
    }
    if (local.key.size() == 1) return it->second.ToDisplayString();
    parts.push_back(ValueToJson(it->second));
  }
  return parts.dump();
}

Result<Record> Mapping::DecodeLocalKey(std::string_view key) const {
  Record out;
  if (local.key.size() == 1) {
    out.emplace(local.key[0], Value::Text(std::string(key)));
    return out;
  }
  json parts;
  try {
    parts = json::parse(key);
  } catch (const json::exception&) {
    return InvalidArgument("local key '" + std::string(key) + "' is not a JSON array");
  }
  if (!parts.is_array() || parts.size() != local.key.size()) {
    return InvalidArgument("local key '" + std::string(key) + "' must be a JSON array of " +
                           std::to_string(local.key.size()) + " values");
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto v = ValueFromJson(parts[i]);
    if (!v.ok()) return v.status().WithContext("local key '" + std::string(key) + "'");
    out.emplace(local.key[i], std::move(v).value());
  }
  return out;
}

json Mapping::NormalisedJson() const {
  json filter = json::object();
  for (const auto& [column, value] : local.filter) filter[column] = ValueToJson(value);
  json fields_json = json::array();
  for (const auto& f : fields) fields_json.push_back(FieldJson(f));
  json out{
      {"name", name},
      {"description", description},
      {"local", {{"table", local.table}, {"key", StringOrArray(local.key)}, {"filter", filter}}},
      {"remote",
       {{"entity_set", remote.entity_set},
        {"key", remote.key},
        {"match_on", remote.match_on},
        {"filter", remote.filter.empty() ? json(nullptr) : json(remote.filter)}}},
      {"direction", DirectionName(direction)},
      {"depends_on", depends_on},
      {"conflict", ConflictPolicyName(conflict)},
      {"on_delete", DeletePolicyName(on_delete)},
      {"fields", fields_json},
  };
  if (interval_s) out["interval_s"] = *interval_s;
  if (association) {
    out.erase("fields");
    out["association"] = {
        {"relationship", association->relationship},
        {"parent", {{"local", association->parent.local}, {"lookup", association->parent.lookup}}},
        {"member", {{"local", association->member.local}, {"lookup", association->member.lookup}}},
    };
  }
  return out;
}

std::string ComputeVersion(const Mapping& m) {
  // nlohmann::json objects keep keys sorted, so dump() is canonical.
  // The interval says when passes run, not what they do: changing it must not
  // count as a new mapping (which would read Dataverse in full again).
  json normalised = m.NormalisedJson();
  normalised.erase("interval_s");
  const std::string text = normalised.dump();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) std::abort();
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    hex += buf;
  }
  return hex;
}

std::string LookupAttributeOfNav(std::string_view nav, std::string_view target_logical_name) {
  const std::string suffix = "_" + std::string(target_logical_name);
  if (!target_logical_name.empty() && nav.size() > suffix.size() && nav.ends_with(suffix)) {
    return std::string(nav.substr(0, nav.size() - suffix.size()));
  }
  return std::string(nav);
}

}  // namespace crmsync::mapping
