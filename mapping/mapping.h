// Mapping: one admin-edited mapping file as the engine and the mapper see it
// (interface.md "Mappings"): which local table syncs with which Dataverse
// entity set, in which direction, with which policies, field by field.
//
// A Mapping is built by the loader (mapping_loader.h) with every default
// filled in, and never changes afterwards; `version` is the SHA-256 of its
// normalised content (defaults filled, keys sorted, comments and whitespace
// gone), so the audit log can name exactly which rules produced a write.
//
// Lookups are resolved against the whole set at load time: each
// LookupTarget carries the target mapping's entity set, so the mapper needs
// no access to other mappings.
//
// Thread-safety: a value type; a const Mapping may be shared by threads.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/entity_set_names.h"
#include "common/json_text.h"
#include "common/result.h"
#include "common/value.h"

namespace crmsync::mapping {

// Which way data flows; for a mapping, and for each of its fields.
enum class Direction { kBidirectional, kToRemote, kFromRemote };
enum class ConflictPolicy { kNewestWins, kLocalWins, kRemoteWins, kManual };
enum class DeletePolicy { kPropagate, kUncouple, kIgnore };
// How a field's value is checked and converted between the two sides
// (value_conversion.h). kAuto passes scalars through unchanged.
enum class FieldType { kAuto, kText, kInteger, kDecimal, kMoney, kBoolean, kDate, kDateTime, kDateAsDateTime };

// Stable names as written in mapping files ("bidirectional", "newest_wins", ...).
std::string_view DirectionName(Direction d);
std::string_view ConflictPolicyName(ConflictPolicy p);
std::string_view DeletePolicyName(DeletePolicy p);
std::string_view FieldTypeName(FieldType t);
std::optional<Direction> ParseDirection(std::string_view s);
std::optional<ConflictPolicy> ParseConflictPolicy(std::string_view s);
std::optional<DeletePolicy> ParseDeletePolicy(std::string_view s);
std::optional<FieldType> ParseFieldType(std::string_view s);

inline bool IncludesToRemote(Direction d) {
  return d != Direction::kFromRemote;
}
inline bool IncludesFromRemote(Direction d) {
  return d != Direction::kToRemote;
}

// What a value map does with a value it has no entry for, per direction.
struct UnmappedPolicy {
  enum class Action { kError, kNull, kKeep, kDefault };
  Action action = Action::kError;
  // kDefault only: the value(s) to produce. To remote: one per remote
  // attribute; from remote: exactly one (the local value).
  std::vector<Value> default_values;
};

// A value map (option sets such as statecode/statuscode). Keys are the
// display text of a value (Value::ToDisplayString); for several remote
// attributes the remote key joins their display texts with ",": "1,3".
struct ValueMap {
  // local value text -> remote values, one per remote attribute.
  std::vector<std::pair<std::string, std::vector<Value>>> to_remote;
  // remote key -> candidate local values. The first is used for new records;
  // when the current local value is one of the candidates it is kept, so a
  // many-to-one map (not_started and in_progress both sent as 0,1) does not
  // flip the local value on the echo of our own write.
  std::vector<std::pair<std::string, std::vector<Value>>> from_remote;
  bool explicit_from_remote = false;  // the file gave "from_remote"; else inverted from "values"
  UnmappedPolicy unmapped_to_remote;
  UnmappedPolicy unmapped_from_remote;

  const std::vector<Value>* FindToRemote(std::string_view local_key) const;
  const std::vector<Value>* FindFromRemote(std::string_view remote_key) const;
};

// The key a ValueMap uses for one or several values: display texts joined by ",".
std::string ValueKey(const std::vector<Value>& values);

// One candidate of a lookup: the mapping whose couplings resolve the key,
// the navigation property to bind, and where it points.
struct LookupTarget {
  std::string mapping;       // target mapping name
  std::string nav;           // single-valued navigation property ("parentcustomerid_account")
  std::string entity_set;    // the target mapping's entity set (filled at set load)
  std::string logical_name;  // its logical name ("account"), to match lookuplogicalname annotations
  // The target mapping can create Dataverse records (its direction includes
  // to_remote). When none of a lookup's targets can, a local key that is not
  // coupled will never be: the field is left out instead of waiting forever.
  bool creates_remote = true;
};

struct FieldMapping {
  std::string local;  // local column; empty for a to_remote constant
  std::vector<std::string>
      remote;               // attribute(s), or for lookups the nav of each target; empty for a from_remote constant
  std::string remote_read;  // the attribute read from Dataverse (lookups: "_parentcustomerid_value")
  Direction direction = Direction::kBidirectional;
  std::optional<Value> constant;
  std::optional<ValueMap> values;
  std::vector<LookupTarget> lookup;  // empty when not a lookup
  FieldType type = FieldType::kAuto;
  std::optional<int> max_length;  // in characters (Unicode code points)
  bool truncate = false;          // cut to max_length instead of reporting kTooLong
  bool sensitive = false;         // audit log hashes the values
  bool create_only = false;       // Dataverse accepts it on create only: the engine leaves it out of updates
  bool omit_null = false;         // a null is left out instead of clearing the other side
  std::string description;

  // Where it was declared, for messages: "fields[3]" and the line.
  std::string path;
  int line = 0;

  bool ToRemote() const { return IncludesToRemote(direction); }
  bool FromRemote() const { return IncludesFromRemote(direction); }
  bool is_lookup() const { return !lookup.empty(); }
  // A readable name for issues: the local column, else the remote attribute.
  std::string Name() const;
  // The Dataverse attributes this field reads (for $select); a view into
  // the field (the engine asks for every field of every record it writes).
  std::span<const std::string> RemoteReadAttributes() const;
};

struct LocalSide {
  std::string table;
  std::vector<std::string> key;  // one column, or several for a composite key
  Record filter;                 // equality on local columns; these are set on records from Dataverse
};

struct RemoteSide {
  std::string entity_set;
  std::string key;                    // primary key attribute ("accountid")
  std::vector<std::string> match_on;  // remote attributes used to couple existing records
  std::string filter;                 // OData $filter, passed through; empty = none
};

// A pair of columns that identify the same record on both sides (match_on).
struct MatchColumn {
  std::string local;
  std::string remote;
};

// One end of an association: the local column that names the record, and
// the mapping whose couplings give its Dataverse id.
struct AssociationEnd {
  std::string local;       // a column of the local key
  std::string lookup;      // the mapping that couples the records it names
  std::string entity_set;  // that mapping's entity set (filled at set load)
};

// An association mapping: each local row links two records other mappings
// couple (a segment's list and a contact) through a many-to-many
// relationship of Dataverse, written as associate / disassociate of the
// relationship's $ref (dataverse-web-api.md: "List membership is N:N").
// Such a mapping has no fields and writes to Dataverse only; the link has no
// id of its own there, so its coupling's remote id is the JSON array of the
// two records' ids, parent first.
struct Association {
  std::string relationship;  // collection-valued navigation property of the parent ("listcontact_association")
  AssociationEnd parent;     // the record the relationship is read from (remote.entity_set)
  AssociationEnd member;
};

struct Mapping {
  std::string name;
  std::string description;
  LocalSide local;
  RemoteSide remote;
  Direction direction = Direction::kBidirectional;
  std::vector<std::string> depends_on;
  ConflictPolicy conflict = ConflictPolicy::kNewestWins;
  DeletePolicy on_delete = DeletePolicy::kPropagate;
  std::vector<FieldMapping> fields;
  std::optional<Association> association;  // set for an association mapping (which has no fields)
  // Seconds between passes under `crmsync run`; nullopt = the config's
  // interval_s. When passes run, not what they do: not part of `version`.
  std::optional<int> interval_s;

  std::string version;      // hex SHA-256 of NormalisedJson()
  std::string source_file;  // as given to the loader
  JsonLineIndex lines;      // lines of the source file, for messages about this mapping

  // Columns the local connector must read: key, filter and mapped columns, each once.
  std::vector<std::string> LocalReadColumns() const;
  // Attributes to $select on Dataverse: the key and every attribute a field reads.
  // Lookups read "_x_value"; ask for lookuplogicalname annotations to tell
  // polymorphic targets apart (Prefer: odata.include-annotations).
  std::vector<std::string> RemoteSelectColumns() const;
  // match_on as pairs of local column and remote attribute.
  std::vector<MatchColumn> MatchColumns() const;
  // Local columns / remote attributes whose values the audit log hashes.
  std::vector<std::string> SensitiveLocalColumns() const;
  std::vector<std::string> SensitiveRemoteAttributes() const;
  // True when `local_row` passes local.filter (the row belongs to this mapping).
  bool AppliesToLocal(const Record& local_row) const;

  // The local key of a row as the engine stores it: the value as text for a
  // single key, a JSON array (["SO000001",10000]) for a composite one.
  // kInvalidArgument when a key column is missing or null.
  Result<std::string> EncodeLocalKey(const Record& local_row) const;
  // The inverse: key column -> value.
  Result<Record> DecodeLocalKey(std::string_view key) const;

  // Defaults filled, every key present that applies, source info left out;
  // what `mapping show --json` prints and what `version` hashes.
  nlohmann::json NormalisedJson() const;
};

// Hex SHA-256 of the compact dump of `m.NormalisedJson()`.
std::string ComputeVersion(const Mapping& m);

// The lookup attribute behind a navigation property: the nav minus a
// "_<logical name>" suffix of its target ("parentcustomerid_account" ->
// "parentcustomerid"; "ownerid" -> "ownerid").
std::string LookupAttributeOfNav(std::string_view nav, std::string_view target_logical_name);

}  // namespace crmsync::mapping
