#include "mapping/mapping_loader.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <span>

#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "common/json_text.h"
#include "common/key_table.h"
#include "common/value_json.h"
#include "mapping/local_schema.h"

namespace crmsync::mapping {

// A mapping with the positions the set checks need to point at the file:
// where each depends_on entry stood (duplicates were dropped) and which
// fields wrote "lookup" as an array.
struct ParsedMapping {
  Mapping mapping;
  std::map<std::string, std::size_t> depends_on_index;
  std::set<std::string> lookup_arrays;  // field paths ("fields[2]")
};

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------
// Names that go into request URLs and SQL.

// [A-Za-z_][A-Za-z0-9_]*: an OData identifier (the simple identifiers of
// entity sets, attributes and navigation properties).
bool IsIdentifier(std::string_view s) {
  const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (s.empty() || !letter(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

// Entity sets, attributes and navigation properties are spliced into
// request URLs; only an identifier cannot change the request's meaning
// ("contacts?$top=1", "../accounts").
std::string CheckODataName(std::string_view name) {
  if (IsIdentifier(name)) return "";
  return "must be an OData identifier (letters, digits and '_', not starting with a digit), not '" + std::string(name) +
         "'";
}

// Local tables and columns are spliced into SQL statements.
std::string CheckSqlName(std::string_view name) {
  if (IsSqlIdentifier(name)) return "";
  return "must be an SQL identifier (letters, digits and '_', not starting with a digit), not '" + std::string(name) +
         "'";
}

std::string CheckLocalTable(std::string_view table) {
  if (std::string problem = CheckSqlName(table); !problem.empty()) return problem;
  if (IsCrmsyncTable(table))
    return "'" + std::string(table) + "' is one of crmsync's own tables; a mapping cannot sync it";
  return "";
}

// ---------------------------------------------------------------------------
// The declared keys of a mapping file: type, default and one line of help
// (common/key_table.h; README and `mapping show` agree with it).

constexpr std::string_view kDirections[] = {"bidirectional", "to_remote", "from_remote"};
constexpr std::string_view kConflictPolicies[] = {"newest_wins", "local_wins", "remote_wins", "manual"};
constexpr std::string_view kDeletePolicies[] = {"propagate", "uncouple", "ignore"};
constexpr std::string_view kFieldTypes[] = {"auto",    "text", "integer",  "decimal",         "money",
                                            "boolean", "date", "datetime", "date_as_datetime"};
constexpr std::string_view kUnmappedActions[] = {"error", "null", "keep"};

constexpr KeySpec kMappingKeys[] = {
    {.pointer = "/name",
     .type = KeyType::kString,
     .required = true,
     .help = "unique name of the mapping (a-z, 0-9, _); lookups and depends_on use it"},
    {.pointer = "/description", .type = KeyType::kString, .default_json = R"("")", .help = "what the mapping is for"},
    {.pointer = "/local", .type = KeyType::kObject, .required = true, .help = "the local table: table, key, filter"},
    {.pointer = "/local/table",
     .type = KeyType::kString,
     .required = true,
     .help = "local table (not one of crmsync's own crmsync_* tables)",
     .check = CheckLocalTable},
    {.pointer = "/local/key",
     .type = KeyType::kStringOrStrings,
     .required = true,
     .help = "key column, or an array of columns for a composite key",
     .non_empty = true,
     .check = CheckSqlName},
    {.pointer = "/local/filter",
     .type = KeyType::kObject,
     .default_json = "{}",
     .help = "column: value pairs a row must equal to belong to this mapping; set on records from Dataverse"},
    {.pointer = "/remote",
     .type = KeyType::kObject,
     .required = true,
     .help = "the Dataverse entity set: entity_set, key, match_on, filter"},
    {.pointer = "/remote/entity_set",
     .type = KeyType::kString,
     .required = true,
     .help = "Dataverse entity set (URL name), e.g. accounts",
     .check = CheckODataName},
    {.pointer = "/remote/key",
     .type = KeyType::kString,
     .required = true,
     .help = "primary key attribute, e.g. accountid",
     .check = CheckODataName},
    {.pointer = "/remote/match_on",
     .type = KeyType::kStrings,
     .default_json = "[]",
     .help = "remote attributes that identify an existing record when coupling; each must be mapped by a field",
     .check = CheckODataName},
    {.pointer = "/remote/filter",
     .type = KeyType::kNullableString,
     .default_json = "null",
     .help = "OData $filter the Dataverse records must pass"},
    {.pointer = "/direction",
     .type = KeyType::kString,
     .default_json = R"("bidirectional")",
     .help = "which way records flow",
     .allowed = kDirections},
    {.pointer = "/depends_on",
     .type = KeyType::kStrings,
     .default_json = "[]",
     .help = "mappings that must sync first (parents of lookups)"},
    {.pointer = "/conflict",
     .type = KeyType::kString,
     .default_json = R"("newest_wins")",
     .help = "a field changed on both sides",
     .allowed = kConflictPolicies},
    {.pointer = "/on_delete",
     .type = KeyType::kString,
     .default_json = R"("propagate")",
     .help = "a coupled record deleted on one side",
     .allowed = kDeletePolicies},
    {.pointer = "/interval_s",
     .type = KeyType::kInteger,
     .help = "seconds between this mapping's passes under `crmsync run`; default: the config's interval_s",
     .min = 1,
     .max = 86400},
    {.pointer = "/fields",
     .type = KeyType::kArray,
     .help = "the fields, at least one (required unless the mapping is an association)",
     .non_empty = true},
    {.pointer = "/association",
     .type = KeyType::kObject,
     .help = "instead of fields: each local row links two coupled records through a many-to-many relationship "
             "of Dataverse (relationship, parent, member)"},
    {.pointer = "/association/relationship",
     .type = KeyType::kString,
     .required = true,
     .help = "the relationship's collection-valued navigation property on the parent, e.g. listcontact_association",
     .check = CheckODataName},
    {.pointer = "/association/parent",
     .type = KeyType::kObject,
     .required = true,
     .help = "the record the relationship belongs to: local (a key column) and lookup (the mapping coupling it)"},
    {.pointer = "/association/parent/local",
     .type = KeyType::kString,
     .required = true,
     .help = "key column naming the parent record",
     .check = CheckSqlName},
    {.pointer = "/association/parent/lookup",
     .type = KeyType::kString,
     .required = true,
     .help = "the mapping whose couplings give the parent's Dataverse id; its entity set is remote.entity_set"},
    {.pointer = "/association/member",
     .type = KeyType::kObject,
     .required = true,
     .help = "the record linked to the parent: local (a key column) and lookup (the mapping coupling it)"},
    {.pointer = "/association/member/local",
     .type = KeyType::kString,
     .required = true,
     .help = "key column naming the member record",
     .check = CheckSqlName},
    {.pointer = "/association/member/lookup",
     .type = KeyType::kString,
     .required = true,
     .help = "the mapping whose couplings give the member's Dataverse id"},
};
constexpr KeySpec kFieldKeys[] = {
    {.pointer = "/local", .type = KeyType::kString, .help = "local column", .check = CheckSqlName},
    {.pointer = "/remote",
     .type = KeyType::kStringOrStrings,
     .help = "Dataverse attribute; for a lookup its navigation property (one per lookup target); several attributes "
             "for a value map such as [\"statecode\", \"statuscode\"]",
     .non_empty = true,
     .check = CheckODataName},
    {.pointer = "/remote_read",
     .type = KeyType::kString,
     .help = "lookups: the attribute read back, default _<attribute>_value",
     .check = CheckODataName},
    {.pointer = "/direction",
     .type = KeyType::kString,
     .help = "defaults to the mapping's; may narrow it, never widen it",
     .allowed = kDirections},
    {.pointer = "/constant",
     .type = KeyType::kScalar,
     .help = "a fixed value set in the field's direction (to_remote or from_remote)"},
    {.pointer = "/values",
     .type = KeyType::kObject,
     .help = "value map: local value -> remote value (or array of values)"},
    {.pointer = "/from_remote",
     .type = KeyType::kObject,
     .help = "reverse value map: remote value (several joined by ',') -> local value, or an array of candidates"},
    {.pointer = "/unmapped",
     .type = KeyType::kStringOrObject,
     .default_json = R"("error")",
     .help = "a value the map lacks: error, null, keep, or {\"to_remote\": ..., \"from_remote\": ...}"},
    {.pointer = "/lookup", .type = KeyType::kStringOrStrings, .help = "mapping(s) whose couplings resolve the key"},
    {.pointer = "/type",
     .type = KeyType::kString,
     .default_json = R"("auto")",
     .help = "how values are checked and converted",
     .allowed = kFieldTypes},
    {.pointer = "/max_length", .type = KeyType::kInteger, .help = "most characters allowed"},
    {.pointer = "/truncate",
     .type = KeyType::kBoolean,
     .default_json = "false",
     .help = "cut text to max_length instead of failing the record"},
    {.pointer = "/sensitive",
     .type = KeyType::kBoolean,
     .default_json = "false",
     .help = "hash the values in the audit log"},
    {.pointer = "/create_only",
     .type = KeyType::kBoolean,
     .default_json = "false",
     .help = "Dataverse accepts it on create only; left out of updates"},
    {.pointer = "/omit_null",
     .type = KeyType::kBoolean,
     .default_json = "false",
     .help = "leave a null out instead of clearing the other side"},
    {.pointer = "/description", .type = KeyType::kString, .help = "a note for people"},
};
constexpr KeySpec kUnmappedKeys[] = {
    {.pointer = "/to_remote",
     .type = KeyType::kStringOrObject,
     .default_json = R"("error")",
     .help = "policy for local values the map lacks"},
    {.pointer = "/from_remote",
     .type = KeyType::kStringOrObject,
     .default_json = R"("error")",
     .help = "policy for remote values the map lacks"},
};
constexpr KeySpec kPolicyKeys[] = {
    {.pointer = "/default",
     .type = KeyType::kScalar,
     .required = true,
     .help = "the value (or array of values) to use"},
};

std::string Quote(const std::string& s) {
  return "'" + s + "'";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) out += (i > 0 ? ", " : "") + names[i];
  return out;
}

// "0,1" shown as [0,1] when a value map has several remote attributes.
std::string RemoteKeyText(const std::string& key, std::size_t arity) {
  return arity > 1 ? "[" + key + "]" : key;
}

std::size_t CountParts(const std::string& key) {
  return static_cast<std::size_t>(std::count(key.begin(), key.end(), ',')) + 1;
}

// Like PointerToPath, but knows from the document which tokens index arrays,
// so member names that are numbers or hold commas (value-map keys such as
// "0" or "1,3") read as from_remote["1,3"], not as an array index.
std::string DocumentPath(const json& root, const std::string& pointer) {
  if (pointer.empty()) return "$";
  std::string out;
  const json* node = &root;
  std::size_t pos = 1;
  while (pos <= pointer.size()) {
    const std::size_t next = pointer.find('/', pos);
    std::string token = pointer.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    std::string name;
    for (std::size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size()) {
        name += token[++i] == '1' ? '/' : '~';
      } else {
        name += token[i];
      }
    }
    if (node != nullptr && node->is_array()) {
      out += "[" + name + "]";
      const std::size_t index = std::strtoul(name.c_str(), nullptr, 10);
      node = index < node->size() ? &(*node)[index] : nullptr;
    } else {
      out += IsIdentifier(name) ? (out.empty() ? "" : ".") + name : "[" + json(name).dump() + "]";
      node = node != nullptr && node->is_object() && node->contains(name) ? &(*node)[name] : nullptr;
    }
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

// "fields[3]" -> "/fields/3".
std::string FieldPointer(const FieldMapping& f) {
  const auto open = f.path.find('[');
  return "/fields/" + f.path.substr(open + 1, f.path.size() - open - 2);
}

// ---------------------------------------------------------------------------
// One file.

class FileParser {
 public:
  FileParser(std::string file, std::string_view text, Diagnostics& out)
      : file_(std::move(file)), index_(JsonLineIndex::Build(text)), out_(out) {}

  void Problem(const std::string& pointer, const std::string& message) {
    out_.push_back({file_, index_.LineOf(pointer), DocumentPath(*root_, pointer), message});
  }

  // Checks `object` (at `pointer`) against a key table (common/key_table.h)
  // and returns the members that passed, so later checks read only those.
  json Check(const json& object, const std::string& pointer, std::span<const KeySpec> table) {
    return CheckKeys(object, pointer, table,
                     [this](const std::string& at, const std::string& message) { Problem(at, message); });
  }

  // A member the key table admitted, so `parse` knows its name.
  template <typename Enum>
  static std::optional<Enum> ParseEnum(const json& good, const char* key,
                                       std::optional<Enum> (*parse)(std::string_view)) {
    if (!good.contains(key)) return std::nullopt;
    return parse(good[key].get<std::string>());
  }

  ParsedMapping Parse(const json& root) {
    root_ = &root;
    ParsedMapping parsed;
    Mapping& m = parsed.mapping;
    m.source_file = file_;
    if (!root.is_object()) {
      Problem("", "a mapping file must hold one JSON object, not " + DescribeJsonType(root));
      m.lines = index_;
      return parsed;
    }
    const json good = Check(root, "", kMappingKeys);
    if (good.contains("name")) {
      m.name = good["name"].get<std::string>();
      if (!ValidName(m.name)) {
        Problem("/name", "must start with a lower-case letter and use only a-z, 0-9 and '_', not " + Quote(m.name));
      }
    }
    if (good.contains("description")) m.description = good["description"].get<std::string>();
    if (good.contains("local")) ParseLocal(good["local"], m);
    if (good.contains("remote")) ParseRemote(good["remote"], m);
    m.direction = ParseEnum(good, "direction", ParseDirection).value_or(Direction::kBidirectional);
    m.conflict = ParseEnum(good, "conflict", ParseConflictPolicy).value_or(ConflictPolicy::kNewestWins);
    m.on_delete = ParseEnum(good, "on_delete", ParseDeletePolicy).value_or(DeletePolicy::kPropagate);
    if (good.contains("interval_s")) m.interval_s = good["interval_s"].get<int>();
    if (good.contains("depends_on")) {
      const json& deps = good["depends_on"];
      for (std::size_t i = 0; i < deps.size(); ++i) {
        const std::string dep = deps[i].get<std::string>();
        if (dep == m.name) {
          Problem(AppendPointer("/depends_on", i), "a mapping cannot depend on itself");
        } else if (std::find(m.depends_on.begin(), m.depends_on.end(), dep) != m.depends_on.end()) {
          Problem(AppendPointer("/depends_on", i), Quote(dep) + " is listed twice");
        } else {
          m.depends_on.push_back(dep);
          parsed.depends_on_index.emplace(dep, i);
        }
      }
    }
    if (good.contains("fields")) {
      const json& fields = good["fields"];
      for (std::size_t i = 0; i < fields.size(); ++i) ParseField(fields[i], AppendPointer("/fields", i), parsed);
      CheckWrittenTwice(m);
      CheckMatchOn(m);
    }
    if (good.contains("association")) {
      ParseAssociation(good["association"], root, m);
    } else if (!root.contains("fields")) {
      Problem("", "missing required key 'fields' (or 'association', for a mapping of links between records)");
    }
    m.lines = index_;
    return parsed;
  }

 private:
  static bool ValidName(const std::string& name) {
    if (name.empty() || name[0] < 'a' || name[0] > 'z') return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
  }

  // `good`: the "local" member as Check admitted it.
  void ParseLocal(const json& good, Mapping& m) {
    if (good.contains("table")) m.local.table = good["table"].get<std::string>();
    if (good.contains("key")) {
      if (good["key"].is_string()) {
        m.local.key.push_back(good["key"].get<std::string>());
      } else {
        for (std::size_t i = 0; i < good["key"].size(); ++i) {
          const std::string column = good["key"][i].get<std::string>();
          if (std::find(m.local.key.begin(), m.local.key.end(), column) != m.local.key.end()) {
            Problem(AppendPointer("/local/key", i), Quote(column) + " is listed twice");
          } else {
            m.local.key.push_back(column);
          }
        }
      }
    }
    if (good.contains("filter")) {
      for (const auto& [column, value] : good["filter"].items()) {
        if (std::string problem = CheckSqlName(column); !problem.empty()) {
          Problem(AppendPointer("/local/filter", column), "the column name " + problem);
          continue;
        }
        if (!value.is_string() && !value.is_number() && !value.is_boolean()) {
          Problem(AppendPointer("/local/filter", column),
                  "must be a string, number or boolean (rows must equal it), not " + DescribeJsonType(value));
          continue;
        }
        m.local.filter.emplace(column, ValueFromJson(value).value());
      }
    }
  }

  // `good`: the "association" member as Check admitted it; `root` the whole file.
  void ParseAssociation(const json& good, const json& root, Mapping& m) {
    Association a;
    if (good.contains("relationship")) a.relationship = good["relationship"].get<std::string>();
    for (auto [end, name] : {std::pair{&a.parent, "parent"}, std::pair{&a.member, "member"}}) {
      if (!good.contains(name)) continue;
      const json& e = good[name];
      if (e.contains("local")) end->local = e["local"].get<std::string>();
      if (e.contains("lookup")) end->lookup = e["lookup"].get<std::string>();
      if (!end->local.empty() && std::find(m.local.key.begin(), m.local.key.end(), end->local) == m.local.key.end()) {
        Problem("/association/" + std::string(name) + "/local",
                Quote(end->local) + " is not a column of local.key: an association's key is its two ends");
      }
    }
    if (!a.parent.local.empty() && a.parent.local == a.member.local) {
      Problem("/association/member/local", "the member cannot be named by the parent's column too");
    }
    if (m.local.key.size() != 2) {
      Problem("/local/key", "an association's key is exactly its two ends (the parent's and the member's columns)");
    }
    if (root.contains("fields")) {
      Problem("/fields", "an association mapping has no fields: each row only links two records");
    }
    if (m.direction != Direction::kToRemote) {
      Problem(root.contains("direction") ? "/direction" : "",
              "an association mapping writes links to Dataverse only: its direction must be to_remote");
    }
    if (!m.remote.match_on.empty()) {
      Problem("/remote/match_on", "an association mapping matches nothing: its links are found by their two ends");
    }
    m.association = std::move(a);
  }

  // `good`: the "remote" member as Check admitted it.
  void ParseRemote(const json& good, Mapping& m) {
    if (good.contains("entity_set")) m.remote.entity_set = good["entity_set"].get<std::string>();
    if (good.contains("key")) m.remote.key = good["key"].get<std::string>();
    if (good.contains("match_on")) m.remote.match_on = good["match_on"].get<std::vector<std::string>>();
    if (good.contains("filter") && good["filter"].is_string()) {
      m.remote.filter = good["filter"].get<std::string>();
      if (m.remote.filter.empty()) Problem("/remote/filter", "must not be empty; use null for no filter");
    }
  }

  // Remote values of a value-map entry: one scalar per remote attribute.
  std::optional<std::vector<Value>> RemoteValues(const json& v, std::size_t arity, const std::string& pointer) {
    std::vector<Value> out;
    if (arity == 1) {
      if (v.is_array() || v.is_object()) {
        Problem(pointer, "must be a single value (one remote attribute), not " + DescribeJsonType(v));
        return std::nullopt;
      }
      out.push_back(ValueFromJson(v).value());
      return out;
    }
    if (!v.is_array() || v.size() != arity ||
        std::any_of(v.begin(), v.end(), [](const json& e) { return e.is_array() || e.is_object(); })) {
      Problem(pointer, "must be an array of " + std::to_string(arity) + " values, one per remote attribute, not " +
                           (v.is_array() ? "an array of " + std::to_string(v.size()) : DescribeJsonType(v)));
      return std::nullopt;
    }
    for (const auto& e : v) out.push_back(ValueFromJson(e).value());
    return out;
  }

  std::optional<UnmappedPolicy> ParsePolicy(const json& v, const std::string& pointer, std::size_t arity,
                                            bool to_remote) {
    UnmappedPolicy p;
    if (v.is_string()) {
      const std::string s = v.get<std::string>();
      if (s == "error") {
        p.action = UnmappedPolicy::Action::kError;
      } else if (s == "null") {
        p.action = UnmappedPolicy::Action::kNull;
      } else if (s == "keep") {
        if (arity > 1) {
          Problem(pointer, "'keep' cannot apply to a value map with several remote attributes");
          return std::nullopt;
        }
        p.action = UnmappedPolicy::Action::kKeep;
      } else {
        Problem(pointer, "must be one of error, null, keep or {\"default\": VALUE}, not " + Quote(s) +
                             DidYouMean(s, kUnmappedActions));
        return std::nullopt;
      }
      return p;
    }
    // Not a string, so an object: the key table admits nothing else here.
    if (!v.contains("default")) {
      Check(v, pointer, kPolicyKeys);
      return std::nullopt;
    }
    // `default` may be an array (several remote attributes), so check it by hand.
    for (const auto& [name, member] : v.items()) {
      if (name != "default")
        Problem(AppendPointer(pointer, name),
                "unknown key " + Quote(name) + DidYouMean(name, std::vector<std::string>{"default"}));
    }
    auto values = RemoteValues(v["default"], to_remote ? arity : 1, AppendPointer(pointer, "default"));
    if (!values) return std::nullopt;
    p.action = UnmappedPolicy::Action::kDefault;
    p.default_values = std::move(*values);
    return p;
  }

  void ParseField(const json& field, const std::string& p, ParsedMapping& parsed) {
    Mapping& m = parsed.mapping;
    FieldMapping f;
    f.path = PointerToPath(p);
    f.line = index_.LineOf(p);
    if (!field.is_object()) {
      Problem(p, "a field must be an object, not " + DescribeJsonType(field));
      return;
    }
    const json good = Check(field, p, kFieldKeys);
    const auto has = [&](const char* key) { return good.contains(key); };
    const auto at = [&](const char* key) { return AppendPointer(p, key); };
    if (has("local")) f.local = good["local"].get<std::string>();
    if (has("remote")) {
      if (good["remote"].is_string()) {
        f.remote.push_back(good["remote"].get<std::string>());
      } else {
        f.remote = good["remote"].get<std::vector<std::string>>();
      }
    }
    if (has("description")) f.description = good["description"].get<std::string>();
    f.truncate = has("truncate") && good["truncate"].get<bool>();
    f.sensitive = has("sensitive") && good["sensitive"].get<bool>();
    f.create_only = has("create_only") && good["create_only"].get<bool>();
    f.omit_null = has("omit_null") && good["omit_null"].get<bool>();

    // Direction: the mapping's unless narrowed; widening contradicts it.
    f.direction = m.direction;
    if (auto d = ParseEnum(good, "direction", ParseDirection)) {
      f.direction = *d;
      if (m.direction != Direction::kBidirectional && *d != m.direction) {
        Problem(at("direction"), "direction " + Quote(std::string(DirectionName(*d))) +
                                     " contradicts the mapping's direction " +
                                     Quote(std::string(DirectionName(m.direction))));
      }
    }
    if (auto t = ParseEnum(good, "type", ParseFieldType)) {
      f.type = *t;
    }
    if (has("max_length")) {
      const auto n = good["max_length"].get<long long>();
      if (n < 1 || n > 1000000000) {
        Problem(at("max_length"), "must be a positive number of characters, not " + std::to_string(n));
      } else {
        f.max_length = static_cast<int>(n);
      }
    }
    if (f.truncate && !has("max_length")) Problem(at("truncate"), "'truncate' needs 'max_length'");

    // What kind of field is it? Each kind excludes some keys.
    const auto exclusive = [&](const char* kind, std::initializer_list<const char*> keys) {
      for (const char* key : keys) {
        if (has(key)) Problem(at(key), Quote(key) + " cannot be combined with " + Quote(kind));
      }
    };
    if (has("constant")) {
      exclusive("constant", {"values", "from_remote", "unmapped", "lookup", "remote_read"});
      f.constant = ValueFromJson(good["constant"]).value();
      if (f.direction == Direction::kBidirectional) {
        Problem(at("constant"), "a constant needs \"direction\": \"to_remote\" or \"from_remote\"");
      } else if (f.direction == Direction::kToRemote) {
        if (has("local")) Problem(at("local"), "a to_remote constant sets a remote attribute only; remove 'local'");
        if (f.remote.size() != 1 && !field.contains("remote")) {
          Problem(p, "a to_remote constant needs 'remote' (one attribute)");
        } else if (f.remote.size() > 1) {
          Problem(at("remote"), "a to_remote constant sets one remote attribute");
        }
      } else {
        if (has("remote")) Problem(at("remote"), "a from_remote constant sets a local column only; remove 'remote'");
        if (!field.contains("local")) Problem(p, "a from_remote constant needs 'local'");
      }
      m.fields.push_back(std::move(f));
      return;
    }
    // (A key present with a wrong type was reported already.)
    if (!field.contains("local")) Problem(p, "missing required key 'local'");
    if (!field.contains("remote")) Problem(p, "missing required key 'remote'");

    if (has("lookup")) {
      exclusive("lookup", {"values", "from_remote", "unmapped", "type"});
      std::vector<std::string> targets;
      if (good["lookup"].is_string()) {
        targets.push_back(good["lookup"].get<std::string>());
      } else {
        targets = good["lookup"].get<std::vector<std::string>>();
        parsed.lookup_arrays.insert(f.path);
        if (targets.empty()) Problem(at("lookup"), "must not be empty");
      }
      if (!f.remote.empty() && f.remote.size() != targets.size()) {
        Problem(at("remote"), "names " + std::to_string(f.remote.size()) + " navigation propert" +
                                  (f.remote.size() == 1 ? "y" : "ies") + " but 'lookup' names " +
                                  std::to_string(targets.size()) + " mapping" + (targets.size() == 1 ? "" : "s") +
                                  "; give one per lookup target, in the same order");
      }
      for (std::size_t i = 0; i < targets.size(); ++i) {
        f.lookup.push_back({targets[i], i < f.remote.size() ? f.remote[i] : "", "", ""});
      }
      if (has("remote_read")) f.remote_read = good["remote_read"].get<std::string>();
      m.fields.push_back(std::move(f));
      return;
    }
    if (has("remote_read")) Problem(at("remote_read"), "'remote_read' applies only to lookups");

    if (has("values")) {
      exclusive("values", {"type"});
      ParseValueMap(good, p, f);
    } else {
      for (const char* key : {"from_remote", "unmapped"}) {
        if (has(key)) Problem(at(key), Quote(key) + " needs 'values'");
      }
      if (f.remote.size() > 1) {
        Problem(at("remote"), "several remote attributes need a 'values' map that gives a value for each");
      }
    }
    m.fields.push_back(std::move(f));
  }

  void ParseValueMap(const json& good, const std::string& p, FieldMapping& f) {
    ValueMap vm;
    const std::size_t arity = std::max<std::size_t>(f.remote.size(), 1);
    const std::string values_ptr = AppendPointer(p, "values");
    for (const auto& [key, value] : good["values"].items()) {
      if (auto remote = RemoteValues(value, arity, AppendPointer(values_ptr, key))) {
        vm.to_remote.emplace_back(key, std::move(*remote));
      }
    }
    if (vm.to_remote.empty() && good["values"].empty()) Problem(values_ptr, "must not be empty");

    if (good.contains("unmapped")) {
      const json& u = good["unmapped"];
      const std::string u_ptr = AppendPointer(p, "unmapped");
      if (u.is_string()) {
        if (auto policy = ParsePolicy(u, u_ptr, arity, true)) {
          vm.unmapped_to_remote = *policy;
          vm.unmapped_from_remote = *policy;
        }
      } else {
        const json ugood = Check(u, u_ptr, kUnmappedKeys);
        if (ugood.contains("to_remote")) {
          if (auto policy = ParsePolicy(ugood["to_remote"], AppendPointer(u_ptr, "to_remote"), arity, true)) {
            vm.unmapped_to_remote = *policy;
          }
        }
        if (ugood.contains("from_remote")) {
          if (auto policy = ParsePolicy(ugood["from_remote"], AppendPointer(u_ptr, "from_remote"), arity, false)) {
            vm.unmapped_from_remote = *policy;
          }
        }
      }
    }

    const bool two_way = f.ToRemote() && f.FromRemote();
    if (good.contains("from_remote")) {
      vm.explicit_from_remote = true;
      const std::string rev_ptr = AppendPointer(p, "from_remote");
      for (const auto& [key, value] : good["from_remote"].items()) {
        const std::string entry = AppendPointer(rev_ptr, key);
        if (CountParts(key) != arity) {
          Problem(entry, Quote(key) + " names " + std::to_string(CountParts(key)) + " value" +
                             (CountParts(key) == 1 ? "" : "s") + " but 'remote' has " + std::to_string(arity) +
                             " attribute" + (arity == 1 ? "" : "s") + "; join one value per attribute with ','");
          continue;
        }
        std::vector<Value> candidates;
        if (value.is_array()) {
          if (value.empty() ||
              std::any_of(value.begin(), value.end(), [](const json& e) { return e.is_array() || e.is_object(); })) {
            Problem(entry, "must be a local value or a non-empty array of candidate local values");
            continue;
          }
          for (const auto& e : value) candidates.push_back(ValueFromJson(e).value());
        } else if (value.is_object()) {
          Problem(entry, "must be a local value or a non-empty array of candidate local values, not an object");
          continue;
        } else {
          candidates.push_back(ValueFromJson(value).value());
        }
        if (two_way) {
          for (const auto& c : candidates) {
            if (!vm.FindToRemote(c.ToDisplayString())) {
              Problem(entry, Quote(c.ToDisplayString()) +
                                 " is not a local value in 'values', so it could not be sent back to Dataverse");
            }
          }
        }
        vm.from_remote.emplace_back(key, std::move(candidates));
      }
      if (two_way) {
        // Every value we send must read back as itself, or our own write
        // would come back as a change (R4) and flip the local value.
        for (const auto& entry : vm.to_remote) {
          // (A named member rather than a structured binding: clang 14, which
          // runs clang-tidy, cannot capture bindings in lambdas.)
          const std::string& local_key = entry.first;
          const std::string rkey = ValueKey(entry.second);
          const auto* back = vm.FindFromRemote(rkey);
          if (back == nullptr) {
            Problem(AppendPointer(values_ptr, local_key), Quote(local_key) + " is sent as " +
                                                              RemoteKeyText(rkey, arity) +
                                                              ", which 'from_remote' does not map back");
          } else if (std::none_of(back->begin(), back->end(),
                                  [&](const Value& c) { return c.ToDisplayString() == local_key; })) {
            Problem(AppendPointer(values_ptr, local_key),
                    Quote(local_key) + " is sent as " + RemoteKeyText(rkey, arity) + ", which reads back as " +
                        Quote(back->front().ToDisplayString()) + "; list " + Quote(local_key) +
                        " among the candidates of \"" + rkey + "\"");
          }
        }
      }
    } else if (f.FromRemote()) {
      // Invert "values"; it must be one-to-one for the reverse to be unambiguous.
      for (const auto& [local_key, remote] : vm.to_remote) {
        const std::string rkey = ValueKey(remote);
        if (const auto* existing = vm.FindFromRemote(rkey)) {
          Problem(AppendPointer(values_ptr, local_key),
                  "value map is not one-to-one: " + Quote(existing->front().ToDisplayString()) + " and " +
                      Quote(local_key) + " both map to " + RemoteKeyText(rkey, arity) +
                      "; a field that reads from Dataverse needs a 'from_remote' map to say which one " +
                      RemoteKeyText(rkey, arity) + " reads back as");
          continue;
        }
        vm.from_remote.emplace_back(rkey, std::vector<Value>{Value::Text(local_key)});
      }
    }
    f.values = std::move(vm);
  }

  // A local column written from Dataverse twice, or a remote attribute
  // written twice, would make the last field silently win.
  void CheckWrittenTwice(const Mapping& m) {
    std::map<std::string, std::string> local_writer;
    for (const auto& [column, value] : m.local.filter) local_writer.emplace(column, "local.filter");
    std::map<std::string, std::string> remote_writer;
    for (const FieldMapping& f : m.fields) {
      const std::string p = FieldPointer(f);
      if (f.FromRemote() && !f.local.empty()) {
        auto [it, inserted] = local_writer.emplace(f.local, f.path);
        if (!inserted) {
          Problem(AppendPointer(p, "local"), "local column " + Quote(f.local) + " is already " +
                                                 (it->second == "local.filter" ? "set by " : "written by ") +
                                                 it->second);
        }
      }
      // Lookups are checked by attribute once their targets are known (SetLinker).
      if (f.ToRemote() && !f.is_lookup()) {
        for (const auto& r : f.remote) {
          auto [it, inserted] = remote_writer.emplace(r, f.path);
          if (!inserted) {
            Problem(AppendPointer(p, "remote"),
                    "remote attribute " + Quote(r) + " is already written by " + it->second);
          }
        }
      }
    }
  }

  void CheckMatchOn(const Mapping& m) {
    for (std::size_t i = 0; i < m.remote.match_on.size(); ++i) {
      const std::string& attribute = m.remote.match_on[i];
      const bool mapped = std::any_of(m.fields.begin(), m.fields.end(), [&](const FieldMapping& f) {
        return !f.constant && !f.is_lookup() && !f.values && f.remote.size() == 1 && f.remote[0] == attribute &&
               !f.local.empty();
      });
      if (!mapped) {
        Problem(AppendPointer("/remote/match_on", i),
                Quote(attribute) + " is not mapped to a local column by any plain field; matching compares the two");
      }
    }
  }

  std::string file_;
  JsonLineIndex index_;
  Diagnostics& out_;
  const json* root_ = nullptr;
};

std::string BaseName(const std::string& file) {
  return fs::path(file).filename().string();
}

}  // namespace

// ---------------------------------------------------------------------------
// The set: names, lookups, depends_on, order.

class SetLinker {
 public:
  SetLinker(std::vector<ParsedMapping> parsed, Diagnostics& out) : all_(std::move(parsed)), out_(out) {}

  void Problem(const Mapping& m, const std::string& pointer, const std::string& message) {
    out_.push_back({m.source_file, m.lines.LineOf(pointer), PointerToPath(pointer), message});
  }

  MappingSet Link() {
    for (std::size_t i = 0; i < all_.size(); ++i) {
      const Mapping& m = all_[i].mapping;
      if (m.name.empty()) continue;
      auto [it, inserted] = by_name_.emplace(m.name, i);
      if (!inserted) {
        Problem(
            m, "/name",
            "mapping name " + Quote(m.name) + " is already used by " + BaseName(all_[it->second].mapping.source_file));
      }
    }
    for (const auto& [name, i] : by_name_) names_.push_back(name);

    for (ParsedMapping& parsed : all_) {
      Mapping& m = parsed.mapping;
      for (const auto& dep : m.depends_on) {
        if (Find(dep) == nullptr) {
          Problem(m, DependsOnPointer(parsed, dep), "no mapping named " + Quote(dep) + DidYouMean(dep, names_));
        }
      }
      if (m.association) LinkAssociation(parsed);
      std::map<std::string, std::string> remote_writer;
      for (FieldMapping& f : m.fields) {
        if (!f.is_lookup()) {
          if (f.ToRemote()) {
            for (const auto& r : f.remote) remote_writer.emplace(r, f.path);
          }
          continue;
        }
        LinkLookup(parsed, f);
        // A lookup writes its attribute through whichever nav applies, so two
        // lookups on one attribute (parentcustomerid_account and
        // parentcustomerid_contact in two fields) collide.
        if (f.ToRemote() && f.remote_read.size() > 7 && f.remote_read.starts_with("_") &&
            f.remote_read.ends_with("_value")) {
          const std::string attribute = f.remote_read.substr(1, f.remote_read.size() - 7);
          auto [it, inserted] = remote_writer.emplace(attribute, f.path);
          if (!inserted) {
            Problem(m, AppendPointer(FieldPointer(f), "remote"),
                    "remote attribute " + Quote(attribute) + " is already written by " + it->second);
          }
        }
      }
    }
    CheckCycles();
    for (ParsedMapping& parsed : all_) parsed.mapping.version = ComputeVersion(parsed.mapping);
    return Order();
  }

 private:
  const Mapping* Find(const std::string& name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &all_[it->second].mapping;
  }

  static std::string DependsOnPointer(const ParsedMapping& parsed, const std::string& dep) {
    const auto it = parsed.depends_on_index.find(dep);
    return it == parsed.depends_on_index.end() ? "/depends_on" : AppendPointer("/depends_on", it->second);
  }

  // An association's ends name mappings that sync before it, and the parent's entity set is its own.
  void LinkAssociation(ParsedMapping& parsed) {
    Mapping& m = parsed.mapping;
    for (auto [end, name] :
         {std::pair{&m.association->parent, "parent"}, std::pair{&m.association->member, "member"}}) {
      if (end->lookup.empty()) continue;
      const std::string p = "/association/" + std::string(name) + "/lookup";
      const Mapping* target = Find(end->lookup);
      if (target == nullptr) {
        Problem(m, p, "no mapping named " + Quote(end->lookup) + DidYouMean(end->lookup, names_));
        continue;
      }
      if (target->association) {
        Problem(m, p, Quote(end->lookup) + " is an association mapping; an end must be a mapping of records");
        continue;
      }
      end->entity_set = target->remote.entity_set;
      if (std::find(m.depends_on.begin(), m.depends_on.end(), end->lookup) == m.depends_on.end()) {
        Problem(m, "/depends_on",
                "must list " + Quote(end->lookup) + ": the " + name + "s are coupled before their links are written");
      }
      if (end == &m.association->parent && !m.remote.entity_set.empty() &&
          target->remote.entity_set != m.remote.entity_set) {
        Problem(m, "/remote/entity_set",
                "must be the parent mapping's entity set " + Quote(target->remote.entity_set) + ", not " +
                    Quote(m.remote.entity_set));
      }
    }
  }

  void LinkLookup(const ParsedMapping& parsed, FieldMapping& f) {
    const Mapping& m = parsed.mapping;
    const std::string p = FieldPointer(f);
    const bool array = parsed.lookup_arrays.count(f.path) > 0;
    std::vector<std::string> attributes;
    for (std::size_t k = 0; k < f.lookup.size(); ++k) {
      LookupTarget& t = f.lookup[k];
      const std::string lp = array ? AppendPointer(AppendPointer(p, "lookup"), k) : AppendPointer(p, "lookup");
      const Mapping* target = Find(t.mapping);
      if (target == nullptr) {
        Problem(m, lp, "no mapping named " + Quote(t.mapping) + DidYouMean(t.mapping, names_));
        continue;
      }
      t.entity_set = target->remote.entity_set;
      t.creates_remote = IncludesToRemote(target->direction);
      t.logical_name = LogicalNameOfEntitySet(t.entity_set);
      if (target->local.key.size() > 1) {
        Problem(m, lp,
                "mapping " + Quote(t.mapping) +
                    " has a composite local key; a lookup column can only refer to a single-column key");
      }
      if (target->name != m.name &&
          std::find(m.depends_on.begin(), m.depends_on.end(), t.mapping) == m.depends_on.end()) {
        Problem(m, lp,
                "lookup through " + Quote(t.mapping) + " needs " + Quote(t.mapping) +
                    " in depends_on, so parents sync first");
      }
      if (!t.nav.empty()) {
        const std::string a = LookupAttributeOfNav(t.nav, t.logical_name);
        if (std::find(attributes.begin(), attributes.end(), a) == attributes.end()) attributes.push_back(a);
      }
    }
    if (f.remote_read.empty()) {
      if (attributes.size() == 1) {
        f.remote_read = "_" + attributes[0] + "_value";
      } else if (attributes.size() > 1) {
        Problem(m, AppendPointer(p, "remote"),
                "the navigation properties point at different lookup attributes (" + JoinNames(attributes) +
                    "); set 'remote_read'");
      }
    }
  }

  // Every mapping on a depends_on cycle is told so, with the cycle seen from it.
  void CheckCycles() {
    for (const ParsedMapping& parsed : all_) {
      const Mapping& m = parsed.mapping;
      if (m.name.empty() || Find(m.name) != &m) continue;
      // Breadth-first from m's dependencies back to m: the shortest cycle through m.
      std::map<std::string, std::string> came_from;
      std::deque<std::string> queue;
      for (const auto& d : m.depends_on) {
        if (Find(d) != nullptr && came_from.emplace(d, m.name).second) queue.push_back(d);
      }
      std::string last;  // the mapping whose depends_on closes the cycle
      while (!queue.empty() && last.empty()) {
        const std::string cur = queue.front();
        queue.pop_front();
        for (const auto& d : Find(cur)->depends_on) {
          if (d == m.name) {
            last = cur;
            break;
          }
          if (Find(d) != nullptr && came_from.emplace(d, cur).second) queue.push_back(d);
        }
      }
      if (last.empty()) continue;
      std::vector<std::string> path;
      for (std::string at = last; at != m.name; at = came_from[at]) path.push_back(at);
      std::reverse(path.begin(), path.end());
      std::string text = m.name;
      for (const auto& step : path) text += " -> " + step;
      text += " -> " + m.name;
      Problem(m, DependsOnPointer(parsed, path.front()), "depends_on cycle: " + text);
    }
  }

  MappingSet Order() {
    // Kahn's algorithm; ready mappings in name order. Mappings left over
    // (cycles, reported above) and unnamed ones follow in file order.
    std::map<std::string, int> pending;
    for (const auto& [name, i] : by_name_) {
      int n = 0;
      for (const auto& d : all_[i].mapping.depends_on) n += by_name_.count(d) > 0 ? 1 : 0;
      pending[name] = n;
    }
    std::set<std::string> ready;
    for (const auto& [name, n] : pending) {
      if (n == 0) ready.insert(name);
    }
    std::vector<bool> placed(all_.size(), false);
    MappingSet set;
    while (!ready.empty()) {
      const std::string name = *ready.begin();
      ready.erase(ready.begin());
      const std::size_t i = by_name_.at(name);
      placed[i] = true;
      set.mappings_.push_back(all_[i].mapping);
      for (const auto& [other, j] : by_name_) {
        if (placed[j]) continue;
        const auto& deps = all_[j].mapping.depends_on;
        if (std::find(deps.begin(), deps.end(), name) != deps.end() && --pending[other] == 0) ready.insert(other);
      }
    }
    for (std::size_t i = 0; i < all_.size(); ++i) {
      if (!placed[i]) set.mappings_.push_back(all_[i].mapping);
    }
    return set;
  }

  std::vector<ParsedMapping> all_;
  Diagnostics& out_;
  std::map<std::string, std::size_t> by_name_;
  std::vector<std::string> names_;
};

const Mapping* MappingSet::Find(std::string_view name) const {
  for (const auto& m : mappings_) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::vector<std::string> MappingSet::Names() const {
  std::vector<std::string> out;
  for (const auto& m : mappings_) out.push_back(m.name);
  return out;
}

MappingSetLoad ParseMappingSet(const std::vector<MappingSource>& sources) {
  MappingSetLoad load;
  std::vector<ParsedMapping> parsed;
  for (const auto& source : sources) {
    json root;
    if (auto syntax = ParseJsonFile(source.file, source.text, root)) {
      load.diagnostics.push_back(std::move(*syntax));
      continue;
    }
    FileParser parser(source.file, source.text, load.diagnostics);
    parsed.push_back(parser.Parse(root));
  }
  SetLinker linker(std::move(parsed), load.diagnostics);
  load.set = linker.Link();

  // Files in the order given, then by line; problems found later for the
  // same line (set checks) after those found first.
  std::map<std::string, std::size_t> file_order;
  for (std::size_t i = 0; i < sources.size(); ++i) file_order.emplace(sources[i].file, i);
  std::stable_sort(load.diagnostics.begin(), load.diagnostics.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    const std::size_t fa = file_order.count(a.file) ? file_order[a.file] : sources.size();
    const std::size_t fb = file_order.count(b.file) ? file_order[b.file] : sources.size();
    if (fa != fb) return fa < fb;
    return a.line < b.line;
  });
  return load;
}

MappingSetLoad LoadMappingFiles(const std::vector<std::string>& paths) {
  std::vector<MappingSource> sources;
  Diagnostics unreadable;
  for (const auto& path : paths) {
    auto text = ReadFile(path);
    if (!text.ok()) {
      unreadable.push_back({path, 0, "", "cannot read the mapping file"});
      continue;
    }
    sources.push_back({path, std::move(text).value()});
  }
  MappingSetLoad load = ParseMappingSet(sources);
  load.diagnostics.insert(load.diagnostics.begin(), unreadable.begin(), unreadable.end());
  return load;
}

Result<std::vector<std::string>> ListMappingFiles(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound("mappings folder '" + dir + "' does not exist");
  std::vector<std::string> out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json" && it->is_regular_file(ec)) out.push_back(it->path().string());
  }
  if (ec) return IoError("cannot list mappings folder '" + dir + "': " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

MappingSetLoad LoadMappingDirectory(const std::string& dir) {
  auto files = ListMappingFiles(dir);
  if (!files.ok()) {
    MappingSetLoad load;
    load.diagnostics.push_back({dir, 0, "", files.status().message()});
    return load;
  }
  if (files->empty()) {
    MappingSetLoad load;
    load.diagnostics.push_back({dir, 0, "", "no mapping files (*.json) in the mappings folder"});
    return load;
  }
  return LoadMappingFiles(*files);
}

MappingSetLoad LoadMappingsForRun(const std::string& dir, const std::string& local_database) {
  MappingSetLoad load = LoadMappingDirectory(dir);
  std::error_code ec;
  if (!local_database.empty() && fs::exists(local_database, ec)) {
    const Diagnostics more = CheckLocalDatabase(load.set, local_database);
    load.diagnostics.insert(load.diagnostics.end(), more.begin(), more.end());
  }
  return load;
}

}  // namespace crmsync::mapping
