#include "connectors/local/local_connector.h"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>

#include "common/time_format.h"
#include "connectors/local/change_query.h"
#include "crm/migrations.h"
#include "crm/rows.h"
#include "crm/schema.h"
#include "crm/statement_cache.h"

namespace crmsync::local {

namespace {

using connectors::Change;
using connectors::ChangeBatch;
using connectors::LookupRequest;
using connectors::ReadRequest;
using connectors::WriteOp;
using connectors::WriteResult;

constexpr std::string_view kFullPrefix = "full:";
constexpr std::string_view kLookupPrefix = "lookup:";
// Parameters in one Lookup statement: SQLite's default limit since 3.32, so
// a lookup splits its values the same way whatever this build allows.
constexpr int kMaxParameters = 32766;

Result<const crm::TableSpec*> SpecFor(const std::string& entity) {
  const crm::TableSpec* spec = crm::FindTable(entity);
  if (spec == nullptr) {
    std::string known;
    for (const auto& t : crm::Tables()) known += (known.empty() ? "" : ", ") + std::string(t.name);
    return InvalidArgument("the local store has no table '" + entity + "' (tables: " + known + ")");
  }
  return spec;
}

std::optional<std::int64_t> ParseSeq(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size() || out < 0) return std::nullopt;
  return out;
}

// A parsed cursor: either incremental after `seq`, or a full read at snapshot
// `seq` continuing after `after_key` ("" = from the first row).
struct Cursor {
  bool full = false;
  std::int64_t seq = 0;
  std::string after_key;
};

Result<Cursor> ParseCursor(const std::string& text) {
  const auto bad = [&] { return InvalidArgument("'" + text + "' is not a local store cursor"); };
  if (text.empty()) return Cursor{.full = true, .seq = -1, .after_key = ""};
  if (text.starts_with(kFullPrefix)) {
    const std::string rest = text.substr(kFullPrefix.size());
    const auto colon = rest.find(':');
    if (colon == std::string::npos) return bad();
    auto seq = ParseSeq(std::string_view(rest).substr(0, colon));
    if (!seq) return bad();
    return Cursor{.full = true, .seq = *seq, .after_key = rest.substr(colon + 1)};
  }
  auto seq = ParseSeq(text);
  if (!seq) return bad();
  return Cursor{.full = false, .seq = *seq, .after_key = ""};
}

Result<std::int64_t> QueryInt(SqliteDb& db, const std::string& sql, const std::vector<Value>& params = {}) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare(sql));
  for (std::size_t i = 0; i < params.size(); ++i) st.Bind(static_cast<int>(i) + 1, params[i]);
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.IsNull(0)) return std::int64_t{0};
  return st.ColumnInt(0);
}

// The journal's high-water mark: the highest seq ever handed out, pruned or not.
Result<std::int64_t> HighWater(SqliteDb& db) {
  return QueryInt(db, "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'crmsync_journal'), 0)");
}

// The latest journal row of one key.
struct LatestChange {
  std::int64_t seq = 0;  // 0 when the journal holds none
  std::optional<std::chrono::system_clock::time_point> changed_at;
};

Result<LatestChange> Latest(crm::StatementCache& statements, const crm::TableSpec& spec, const std::string& key) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, statements.Get("SELECT seq, changed_at FROM crmsync_journal WHERE table_name = ?1 "
                                                   "AND key = ?2 ORDER BY seq DESC LIMIT 1"));
  st->Bind(1, spec.name).Bind(2, std::string_view(key));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  LatestChange latest;
  if (row) {
    latest.seq = st->ColumnInt(0);
    latest.changed_at = ParseUtc(st->ColumnText(1));
  }
  return latest;
}

// The current state of `key`: an upsert with the query's columns, or a
// delete (no record) when the row is gone. Statements come from `statements`,
// so reading many keys prepares them once.
Result<Change> CurrentChange(crm::StatementCache& statements, const ChangeQuery& query, const std::string& key) {
  CRMSYNC_ASSIGN_OR_RETURN(std::vector<Value> parts, crm::DecodeKey(query.spec(), key));
  {
    CRMSYNC_ASSIGN_OR_RETURN(auto st, statements.Get(query.select() + " WHERE " + query.key_equals()));
    query.BindTable(*st);
    for (std::size_t i = 0; i < parts.size(); ++i) st->Bind(static_cast<int>(i) + 2, parts[i]);
    CRMSYNC_ASSIGN_OR_RETURN(bool found, st->Step());
    if (found) return query.Decode(*st);
  }
  Change change;
  change.kind = Change::Kind::kDelete;
  change.key = key;
  CRMSYNC_ASSIGN_OR_RETURN(LatestChange latest, Latest(statements, query.spec(), key));
  change.version = std::to_string(latest.seq);
  change.modified_at = latest.changed_at;
  return change;
}

// The part of a read's local_filter a full read can leave to SQL: text
// values of text columns, which SQLite compares exactly as the engine does
// (byte for byte). Other filters stay with the engine alone.
std::vector<std::pair<const crm::ColumnSpec*, const Value*>> SqlFilter(const crm::TableSpec& spec,
                                                                       const Record& filter) {
  std::vector<std::pair<const crm::ColumnSpec*, const Value*>> out;
  for (const auto& [name, value] : filter) {
    const crm::ColumnSpec* column = crm::FindColumn(spec, name);
    if (column == nullptr || column->type != crm::ColumnType::kText || value.kind() != Value::Kind::kText) continue;
    out.emplace_back(column, &value);
  }
  return out;
}

Result<ChangeBatch> ReadFull(SqliteDb& db, const ChangeQuery& query, const ReadRequest& request, Cursor cursor,
                             std::int64_t high_water) {
  const crm::TableSpec& spec = query.spec();
  if (cursor.seq < 0) cursor.seq = high_water;  // a new full read starts at today's end of the journal
  std::string sql = query.select();
  std::vector<Value> after;
  std::vector<std::string> conditions;
  int param = 2;  // ?1 is the table name
  if (!cursor.after_key.empty()) {
    auto parts = crm::DecodeKey(spec, cursor.after_key);
    if (!parts.ok()) return InvalidArgument("bad local store cursor: " + parts.status().message());
    after = std::move(parts).value();
    std::string params;
    for (std::size_t i = 0; i < after.size(); ++i) params += (i ? ", ?" : "?") + std::to_string(param++);
    conditions.push_back("(" + query.key_list() + ") > (" + params + ")");
  }
  // Rows of another mapping of a shared table (companies, when persons are
  // read) are not read at all.
  const auto filter = SqlFilter(spec, request.local_filter);
  const int first_filter_param = param;
  for (const auto& [column, value] : filter) {
    conditions.push_back("t." + crm::QuoteName(column->name) + " = ?" + std::to_string(param++));
  }
  for (std::size_t i = 0; i < conditions.size(); ++i) sql += (i == 0 ? " WHERE " : " AND ") + conditions[i];
  const int limit_param = param;
  sql += " ORDER BY " + query.key_list() + " LIMIT ?" + std::to_string(limit_param);
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare(sql));
  query.BindTable(st);
  for (std::size_t i = 0; i < after.size(); ++i) st.Bind(static_cast<int>(i) + 2, after[i]);
  for (std::size_t i = 0; i < filter.size(); ++i) st.Bind(first_filter_param + static_cast<int>(i), *filter[i].second);
  st.Bind(limit_param, static_cast<std::int64_t>(request.max_changes) + 1);
  ChangeBatch batch;
  batch.changes.reserve(static_cast<std::size_t>(std::min(request.max_changes, 5000)));
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (batch.changes.size() == static_cast<std::size_t>(request.max_changes)) {
      batch.more = true;
      break;
    }
    batch.changes.push_back(query.Decode(st));
  }
  batch.next_cursor = batch.more
                          ? std::string(kFullPrefix) + std::to_string(cursor.seq) + ":" + batch.changes.back().key
                          : std::to_string(cursor.seq);
  return batch;
}

Result<ChangeBatch> ReadJournal(SqliteDb& db, const ChangeQuery& query, const ReadRequest& request, std::int64_t after,
                                std::int64_t high_water) {
  const crm::TableSpec& spec = query.spec();
  CRMSYNC_ASSIGN_OR_RETURN(
      auto st, db.Prepare("SELECT seq, key FROM crmsync_journal WHERE table_name = ? AND seq > ? ORDER BY seq"));
  st.Bind(1, spec.name).Bind(2, after);
  std::vector<std::string> keys;  // in order of first change
  std::set<std::string, std::less<>> seen;
  ChangeBatch batch;
  std::int64_t last_seq = after;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    std::string key = st.ColumnText(1);
    if (!seen.contains(key)) {
      if (keys.size() == static_cast<std::size_t>(request.max_changes)) {
        batch.more = true;
        break;
      }
      seen.insert(key);
      keys.push_back(std::move(key));
    }
    last_seq = st.ColumnInt(0);
  }
  crm::StatementCache statements(db);
  batch.changes.reserve(keys.size());
  for (const auto& key : keys) {
    auto change = CurrentChange(statements, query, key);
    if (!change.ok()) {
      if (change.status().code() == StatusCode::kInvalidArgument && !crm::DecodeKey(spec, key).ok()) {
        return Status(StatusCode::kCorrupt,
                      "journal row of " + std::string(spec.name) + " has a bad key '" + key + "'");
      }
      return change.status();
    }
    batch.changes.push_back(std::move(change).value());
  }
  // A complete read has seen every row of this table up to the high-water
  // mark: move past other tables' rows too, so pruning can advance.
  batch.next_cursor = std::to_string(batch.more ? last_seq : std::max(high_water, after));
  return batch;
}

// ---- Lookup ------------------------------------------------------------

// A Lookup cursor: resume at value `start` (the first value of a chunk),
// after key `after_key` within that chunk ("" = from its first row).
struct LookupCursor {
  std::size_t start = 0;
  std::string after_key;
};

Result<LookupCursor> ParseLookupCursor(const std::string& text) {
  if (text.empty()) return LookupCursor{};
  const auto bad = [&] { return InvalidArgument("'" + text + "' is not a local store lookup cursor"); };
  if (!text.starts_with(kLookupPrefix)) return bad();
  const std::string rest = text.substr(kLookupPrefix.size());
  const auto colon = rest.find(':');
  if (colon == std::string::npos || colon + 1 == rest.size()) return bad();
  auto start = ParseSeq(std::string_view(rest).substr(0, colon));
  if (!start) return bad();
  return LookupCursor{.start = static_cast<std::size_t>(*start), .after_key = rest.substr(colon + 1)};
}

// Text that identifies a value as the column compares it, to drop repeats.
std::string Canonical(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kText: return "t" + v.as_text();
    case Value::Kind::kBool: return v.as_bool() ? "b1" : "b0";
    case Value::Kind::kInteger:
    case Value::Kind::kDecimal: return "n" + v.NumberText();
    case Value::Kind::kNull: break;
  }
  return "z";
}

// The values a Lookup binds, one entry per distinct value: the key parts (by
// key) or the one coerced attribute value.
Result<std::vector<std::vector<Value>>> LookupValues(const crm::TableSpec& spec, const crm::ColumnSpec* attribute,
                                                     const std::vector<Value>& values) {
  std::vector<std::vector<Value>> out;
  out.reserve(values.size());
  std::set<std::string, std::less<>> seen;
  for (const Value& v : values) {
    if (attribute == nullptr) {
      const std::string key = v.kind() == Value::Kind::kText ? v.as_text() : v.ToDisplayString();
      CRMSYNC_ASSIGN_OR_RETURN(std::vector<Value> parts, crm::DecodeKey(spec, key));
      if (!seen.insert(crm::EncodeKey(spec, parts)).second) continue;
      out.push_back(std::move(parts));
    } else {
      // A value the column cannot hold (null, not of its type, outside its
      // enumeration) matches no row: absent, like any value nobody has.
      auto coerced = crm::CoerceValue(*attribute, v);
      if (!coerced.ok() || coerced->is_null()) continue;
      if (!seen.insert(Canonical(*coerced)).second) continue;
      out.push_back({std::move(coerced).value()});
    }
  }
  return out;
}

// ---- Write -------------------------------------------------------------

// Ops applied together: one ungrouped op, or every op of one group in the
// order given.
struct Unit {
  std::string group;
  std::vector<std::size_t> ops;
};

std::vector<Unit> UnitsOf(std::span<const WriteOp> ops) {
  std::vector<Unit> units;
  std::map<std::string, std::size_t, std::less<>> by_group;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].group.empty()) {
      units.push_back(Unit{.group = "", .ops = {i}});
      continue;
    }
    auto [it, inserted] = by_group.emplace(ops[i].group, units.size());
    if (inserted) units.push_back(Unit{.group = ops[i].group, .ops = {}});
    units[it->second].ops.push_back(i);
  }
  return units;
}

WriteResult Failed(Status status, const std::string& key) {
  WriteResult r;
  r.status = std::move(status);
  r.key = key;
  return r;
}

std::string Describe(const crm::TableSpec* spec, const WriteOp& op, std::size_t index) {
  std::string out = "op " + std::to_string(index);
  if (spec != nullptr) out += " (" + std::string(spec->label) + " '" + op.key + "')";
  return out;
}

// One Write call's connection and statements.
class Writer {
 public:
  Writer(SqliteDb& db, std::string_view default_entity, std::span<const WriteOp> ops)
      : statements_(db), ops_(ops), results_(ops.size()), specs_(ops.size(), nullptr) {
    for (std::size_t i = 0; i < ops.size(); ++i) {
      auto spec = SpecFor(ops[i].entity.empty() ? std::string(default_entity) : ops[i].entity);
      if (spec.ok()) {
        specs_[i] = *spec;
      } else {
        spec_errors_.emplace(i, spec.status());
      }
    }
  }

  // Applies one unit inside its own savepoint. A non-ok Status is a failure
  // of the store itself (the batch transaction is lost): the caller gives up
  // on the whole call.
  Status Apply(const Unit& unit);

  std::vector<WriteResult> TakeResults() { return std::move(results_); }

 private:
  // kConflict (and the row's latest version) when the op's expected_version
  // is behind; another error when the op cannot be applied at all.
  Status Precondition(std::size_t i);
  // Applies op i (its key, version and read-back record into results_[i]).
  Status ApplyOp(std::size_t i);
  Result<std::string> Create(const crm::TableSpec& spec, const WriteOp& op);
  Result<std::string> UpsertRow(const crm::TableSpec& spec, const WriteOp& op);
  Status Run(std::string_view sql);
  // One query per table and read_back list, built once per batch.
  const ChangeQuery& ReadBackQuery(const crm::TableSpec& spec, const std::vector<std::string>& columns);

  crm::StatementCache statements_;
  std::span<const WriteOp> ops_;
  std::vector<WriteResult> results_;
  std::vector<const crm::TableSpec*> specs_;
  std::map<std::size_t, Status> spec_errors_;
  std::map<std::string, ChangeQuery, std::less<>> read_back_queries_;
};

Status Writer::Run(std::string_view sql) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, statements_.Get(sql));
  return st->Run();
}

Status Writer::Precondition(std::size_t i) {
  const WriteOp& op = ops_[i];
  if (auto it = spec_errors_.find(i); it != spec_errors_.end()) return it->second;
  const crm::TableSpec& spec = *specs_[i];
  if (op.kind != WriteOp::Kind::kDelete) CRMSYNC_RETURN_IF_ERROR(crm::CheckColumns(spec, op.read_back));
  if (op.expected_version.empty() || op.kind == WriteOp::Kind::kCreate) return Status::Ok();
  auto expected = ParseSeq(op.expected_version);
  if (!expected) return InvalidArgument("expected_version '" + op.expected_version + "' is not a local version");
  CRMSYNC_RETURN_IF_ERROR(crm::DecodeKey(spec, op.key).status());
  CRMSYNC_ASSIGN_OR_RETURN(LatestChange latest, Latest(statements_, spec, op.key));
  if (latest.seq > *expected) {
    results_[i].version = std::to_string(latest.seq);
    return Status(StatusCode::kConflict, std::string(spec.label) + " '" + op.key + "' changed at " +
                                             std::to_string(latest.seq) + ", after version " + op.expected_version);
  }
  return Status::Ok();
}

Result<std::string> Writer::Create(const crm::TableSpec& spec, const WriteOp& op) {
  if (!op.origin_id.empty()) {
    // A repeated create (a lost answer, a crash before the engine recorded
    // it) finds the row the first attempt created.
    CRMSYNC_ASSIGN_OR_RETURN(
        auto st, statements_.Get("SELECT key FROM crmsync_origin WHERE table_name = ?1 AND origin_id = ?2"));
    st->Bind(1, spec.name).Bind(2, std::string_view(op.origin_id));
    CRMSYNC_ASSIGN_OR_RETURN(bool found, st->Step());
    if (found) return st->ColumnText(0);
  }
  Record fields = op.fields;
  if (!op.key.empty()) {
    CRMSYNC_ASSIGN_OR_RETURN(std::vector<Value> parts, crm::DecodeKey(spec, op.key));
    for (std::size_t k = 0; k < parts.size(); ++k) {
      const std::string column(spec.key_columns[k]);
      auto it = fields.find(column);
      if (it != fields.end() && !it->second.is_null() && it->second != parts[k]) {
        return InvalidArgument("key '" + op.key + "' and " + column + " " + it->second.ToDisplayString() + " disagree");
      }
      fields[column] = parts[k];
    }
  }
  CRMSYNC_ASSIGN_OR_RETURN(std::string key, crm::InsertRow(statements_, spec, fields));
  if (!op.origin_id.empty()) {
    CRMSYNC_ASSIGN_OR_RETURN(
        auto st, statements_.Get("INSERT INTO crmsync_origin (table_name, key, origin_id) VALUES (?1, ?2, ?3)"));
    st->Bind(1, spec.name).Bind(2, std::string_view(key)).Bind(3, std::string_view(op.origin_id));
    CRMSYNC_RETURN_IF_ERROR(st->Run());
  }
  return key;
}

Result<std::string> Writer::UpsertRow(const crm::TableSpec& spec, const WriteOp& op) {
  auto updated = crm::UpdateRow(statements_, spec, op.key, op.fields);
  if (updated.ok() || updated.status().code() != StatusCode::kNotFound) return updated;
  CRMSYNC_ASSIGN_OR_RETURN(std::vector<Value> parts, crm::DecodeKey(spec, op.key));
  Record fields = op.fields;
  for (std::size_t k = 0; k < parts.size(); ++k) fields[std::string(spec.key_columns[k])] = parts[k];
  return crm::InsertRow(statements_, spec, fields);
}

Status Writer::ApplyOp(std::size_t i) {
  const WriteOp& op = ops_[i];
  const crm::TableSpec& spec = *specs_[i];
  WriteResult& result = results_[i];
  switch (op.kind) {
    case WriteOp::Kind::kCreate: {
      CRMSYNC_ASSIGN_OR_RETURN(result.key, Create(spec, op));
      break;
    }
    case WriteOp::Kind::kUpdate: {
      CRMSYNC_ASSIGN_OR_RETURN(result.key, crm::UpdateRow(statements_, spec, op.key, op.fields));
      break;
    }
    case WriteOp::Kind::kUpsert: {
      CRMSYNC_ASSIGN_OR_RETURN(result.key, UpsertRow(spec, op));
      break;
    }
    case WriteOp::Kind::kAssociate:
    case WriteOp::Kind::kDisassociate:
      // A local link is a row of its own table (segment_member), written as one.
      return InvalidArgument("the local store links records by rows of their own table, not by " +
                             std::string(op.kind == WriteOp::Kind::kAssociate ? "associate" : "disassociate"));
    case WriteOp::Kind::kDelete: {
      Status status = crm::DeleteRow(statements_, spec, op.key);
      if (!status.ok() && status.code() != StatusCode::kNotFound) return status;  // gone already: repeat-safe
      result.key = op.key;
      break;
    }
  }
  if (op.kind == WriteOp::Kind::kDelete || op.read_back.empty()) {
    CRMSYNC_ASSIGN_OR_RETURN(LatestChange latest, Latest(statements_, spec, result.key));
    result.version = std::to_string(latest.seq);
    return Status::Ok();
  }
  // The row as stored and its version, from one statement.
  CRMSYNC_ASSIGN_OR_RETURN(Change stored, CurrentChange(statements_, ReadBackQuery(spec, op.read_back), result.key));
  if (stored.kind != Change::Kind::kUpsert) {
    return Internal(std::string(spec.label) + " '" + result.key + "' is missing right after its write");
  }
  result.version = std::move(stored.version);
  for (const auto& name : op.read_back) {  // exactly the columns asked for
    if (auto it = stored.record.find(name); it != stored.record.end()) result.record.insert_or_assign(name, it->second);
  }
  return Status::Ok();
}

const ChangeQuery& Writer::ReadBackQuery(const crm::TableSpec& spec, const std::vector<std::string>& columns) {
  std::string id(spec.name);
  for (const auto& c : columns) id += "\n" + c;
  auto it = read_back_queries_.find(id);
  if (it == read_back_queries_.end()) it = read_back_queries_.emplace(std::move(id), ChangeQuery(spec, columns)).first;
  return it->second;
}

Status Writer::Apply(const Unit& unit) {
  const std::string in_group = unit.group.empty() ? "" : " of group '" + unit.group + "'";
  for (std::size_t i : unit.ops) results_[i].key = ops_[i].key;

  // Preconditions, against the state before the unit: every conflict is
  // reported as such; an op that cannot apply at all fails the unit.
  std::optional<std::size_t> conflicted;
  std::optional<std::size_t> invalid;
  for (std::size_t i : unit.ops) {
    Status status = Precondition(i);
    if (status.ok()) continue;
    if (status.code() == StatusCode::kConflict) {
      results_[i].status = std::move(status);
      if (!conflicted) conflicted = i;
      continue;
    }
    if (status.code() != StatusCode::kInvalidArgument && status.code() != StatusCode::kNotFound) return status;
    results_[i] = Failed(std::move(status), ops_[i].key);
    invalid = i;
    break;
  }
  if (invalid || conflicted) {
    for (std::size_t j : unit.ops) {
      if (j == invalid || results_[j].status.code() == StatusCode::kConflict) continue;
      results_[j] = invalid ? Failed(Status(StatusCode::kAborted,
                                            "not applied: " + Describe(specs_[*invalid], ops_[*invalid], *invalid) +
                                                in_group + " failed: " + results_[*invalid].status.message()),
                                     ops_[j].key)
                            : Failed(Status(StatusCode::kConflict, "not applied: op " + std::to_string(*conflicted) +
                                                                       in_group + " conflicted"),
                                     ops_[j].key);
    }
    return Status::Ok();
  }

  // Apply in order inside a savepoint: all of the unit, or none of it.
  CRMSYNC_RETURN_IF_ERROR(Run("SAVEPOINT crmsync_unit"));
  for (std::size_t i : unit.ops) {
    Status status = ApplyOp(i);
    if (status.ok()) continue;
    // Undo the unit's writes (and any number it took). If SQLite already
    // rolled the whole transaction back (disk full, I/O error), ROLLBACK TO
    // fails: then nothing of the batch is known and the call fails.
    CRMSYNC_RETURN_IF_ERROR(Run("ROLLBACK TO crmsync_unit").WithContext("undoing after \"" + status.message() + "\""));
    CRMSYNC_RETURN_IF_ERROR(Run("RELEASE crmsync_unit"));
    const std::string why =
        "not applied: " + Describe(specs_[i], ops_[i], i) + in_group + " failed: " + status.message();
    for (std::size_t j : unit.ops) {
      results_[j] = j == i ? Failed(status, ops_[j].key) : Failed(Status(StatusCode::kAborted, why), ops_[j].key);
    }
    return Status::Ok();
  }
  return Run("RELEASE crmsync_unit");
}

// A mapped column another program renamed or dropped since crmsync checked
// the mappings: the failure names the table and the columns it lacks, not
// only SQLite's "no such column: t.x" on a statement cut short. Other
// failures pass through.
Status NamingMissingColumns(SqliteDb& db, const crm::TableSpec& spec, const std::vector<std::string>& columns,
                            Status failure) {
  if (failure.code() != StatusCode::kInvalidArgument) return failure;
  auto info = db.Prepare("SELECT name FROM pragma_table_info(?)");
  if (!info.ok()) return failure;
  info->Bind(1, spec.name);
  std::set<std::string> present;
  for (auto row = info->Step(); row.ok() && *row; row = info->Step()) present.insert(info->ColumnText(0));
  std::string missing;
  for (const auto& c : columns) {
    if (present.count(c) == 0) missing += (missing.empty() ? "'" : ", '") + c + "'";
  }
  if (missing.empty()) return failure;
  return failure.WithContext("the local table '" + std::string(spec.name) + "' has no column " + missing +
                             " (renamed or dropped by another program?)");
}

}  // namespace

Result<std::unique_ptr<LocalConnector>> LocalConnector::Open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return NotFound("local CRM store '" + path + "' does not exist (create it with `crmsync init`)");
  }
  CRMSYNC_ASSIGN_OR_RETURN(crm::MigrationReport report, crm::CreateOrMigrate(path));
  (void)report;
  return std::unique_ptr<LocalConnector>(new LocalConnector(path));
}

LocalConnector::LocalConnector(std::string path)
    : path_(std::move(path)), connections_(path_, [](SqliteDb& db) {
        // Statement and savepoint journals in memory: a batch's units each roll
        // back on their own, and with journals in a temporary file every write of
        // a batch cost a few pwrite calls once the journal had spilled to disk.
        // They hold only the pages one unit changed, so memory stays small.
        return db.Exec("PRAGMA temp_store = MEMORY");
      }) {}

Result<ConnectionPool::Lease> LocalConnector::Connect(Deadline deadline) const {
  return connections_.Acquire(deadline);
}

Result<ChangeBatch> LocalConnector::ReadChanges(const ReadRequest& request, Deadline deadline) {
  CRMSYNC_ASSIGN_OR_RETURN(const crm::TableSpec* spec, SpecFor(request.entity));
  CRMSYNC_RETURN_IF_ERROR(crm::CheckColumns(*spec, request.columns));
  if (request.max_changes < 1) return InvalidArgument("max_changes must be at least 1");
  CRMSYNC_ASSIGN_OR_RETURN(Cursor cursor, ParseCursor(request.cursor));
  const ChangeQuery query(*spec, request.columns);
  CRMSYNC_ASSIGN_OR_RETURN(auto connection, Connect(deadline));
  SqliteDb& db = connection.db();
  // One read transaction: the journal and the rows come from one snapshot.
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kDeferred));
  CRMSYNC_ASSIGN_OR_RETURN(std::int64_t high_water, HighWater(db));
  CRMSYNC_ASSIGN_OR_RETURN(std::int64_t pruned, QueryInt(db, "SELECT through FROM crmsync_journal_pruned"));
  if (cursor.seq > high_water) {
    return Status(StatusCode::kCursorExpired, "cursor " + request.cursor + " is beyond the end of the journal (" +
                                                  std::to_string(high_water) + ") of '" + path_ +
                                                  "': was the store replaced?");
  }
  if (!cursor.full && cursor.seq < pruned) {
    return Status(StatusCode::kCursorExpired,
                  "cursor " + request.cursor + " is older than the journal, pruned through " + std::to_string(pruned));
  }
  auto read = cursor.full ? ReadFull(db, query, request, cursor, high_water)
                          : ReadJournal(db, query, request, cursor.seq, high_water);
  if (!read.ok()) return NamingMissingColumns(db, *spec, request.columns, read.status());
  return read;
}

Result<std::optional<Change>> LocalConnector::Fetch(const std::string& entity, const std::string& /*key_attribute*/,
                                                    const std::string& key, const std::vector<std::string>& columns,
                                                    Deadline deadline) {
  CRMSYNC_ASSIGN_OR_RETURN(const crm::TableSpec* spec, SpecFor(entity));
  CRMSYNC_RETURN_IF_ERROR(crm::CheckColumns(*spec, columns));
  CRMSYNC_RETURN_IF_ERROR(crm::DecodeKey(*spec, key).status());
  const ChangeQuery query(*spec, columns);
  CRMSYNC_ASSIGN_OR_RETURN(auto connection, Connect(deadline));
  SqliteDb& db = connection.db();
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kDeferred));
  crm::StatementCache statements(db);
  auto current = CurrentChange(statements, query, key);
  if (!current.ok()) return NamingMissingColumns(db, *spec, columns, current.status());
  if (current->kind == Change::Kind::kDelete) return std::optional<Change>();
  return std::optional<Change>(std::move(current).value());
}

Result<ChangeBatch> LocalConnector::Lookup(const LookupRequest& request, Deadline deadline) {
  CRMSYNC_ASSIGN_OR_RETURN(const crm::TableSpec* spec, SpecFor(request.entity));
  CRMSYNC_RETURN_IF_ERROR(crm::CheckColumns(*spec, request.columns));
  if (request.max_records < 1) return InvalidArgument("max_records must be at least 1");
  if (request.values.empty()) return InvalidArgument("a lookup needs at least one value");
  const crm::ColumnSpec* attribute = nullptr;
  if (!request.attribute.empty()) {
    attribute = crm::FindColumn(*spec, request.attribute);  // the only name that reaches the SQL, checked here
    if (attribute == nullptr) {
      return InvalidArgument(std::string(spec->label) + " has no column '" + request.attribute + "'");
    }
  }
  CRMSYNC_ASSIGN_OR_RETURN(LookupCursor cursor, ParseLookupCursor(request.cursor));
  CRMSYNC_ASSIGN_OR_RETURN(auto values, LookupValues(*spec, attribute, request.values));
  if (cursor.start > values.size()) return InvalidArgument("lookup cursor '" + request.cursor + "' is past the values");
  std::vector<Value> after;
  if (!cursor.after_key.empty()) {
    auto parts = crm::DecodeKey(*spec, cursor.after_key);
    if (!parts.ok()) return InvalidArgument("bad local store lookup cursor: " + parts.status().message());
    after = std::move(parts).value();
  }

  const ChangeQuery query(*spec, request.columns);
  CRMSYNC_ASSIGN_OR_RETURN(auto connection, Connect(deadline));
  SqliteDb& db = connection.db();
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kDeferred));
  crm::StatementCache statements(db);

  // Values go in IN lists of up to kMaxParameters parameters, SQLite's
  // default limit (and less if this build allows fewer), besides ?1, the
  // resume key and the LIMIT; each chunk's rows come in key order, and
  // chunks follow the order of the values.
  const std::size_t per_value = attribute == nullptr ? spec->key_columns.size() : 1;
  const std::size_t limit =
      static_cast<std::size_t>(std::min(kMaxParameters, sqlite3_limit(db.handle(), SQLITE_LIMIT_VARIABLE_NUMBER, -1)));
  const std::size_t reserved = 2 + spec->key_columns.size();
  const std::size_t chunk = std::max<std::size_t>(1, (limit - std::min(reserved, limit)) / per_value);
  std::string column_list;  // the IN list's left side
  if (attribute != nullptr) {
    column_list = "t." + crm::QuoteName(attribute->name);
  } else {
    column_list = spec->key_columns.size() == 1 ? query.key_list() : "(" + query.key_list() + ")";
  }

  ChangeBatch batch;
  std::size_t last_chunk_start = cursor.start;
  const std::size_t wanted = static_cast<std::size_t>(request.max_records) + 1;  // one more tells `more`
  for (std::size_t start = cursor.start; start < values.size() && batch.changes.size() < wanted; start += chunk) {
    const std::size_t n = std::min(chunk, values.size() - start);
    const bool resume = start == cursor.start && !after.empty();
    // Plain "?" parameters, numbered by SQLite in text order from 2 (after
    // the select's ?1): SQLite looks each numbered "?NNN" up in a list while
    // compiling, which is quadratic in a list of thousands.
    std::string in_list;
    in_list.reserve(n * (per_value == 1 ? 3 : 4 + 3 * per_value));
    for (std::size_t v = 0; v < n; ++v) {
      if (v > 0) in_list += ", ";
      if (per_value == 1) {
        in_list += "?";
      } else {
        in_list += "(?";
        for (std::size_t k = 1; k < per_value; ++k) in_list += ", ?";
        in_list += ")";
      }
    }
    std::string sql = query.select();
    sql += " WHERE ";
    sql += column_list;
    sql += per_value == 1 ? " IN (" : " IN (VALUES ";
    sql += in_list;
    sql += ")";
    if (resume) {
      std::string params = "?";
      for (std::size_t k = 1; k < after.size(); ++k) params += ", ?";
      sql += " AND (" + query.key_list() + ") > (" + params + ")";
    }
    const int limit_param = static_cast<int>(2 + n * per_value + (resume ? after.size() : 0));
    sql += " ORDER BY " + query.key_list() + " LIMIT ?";

    auto cached = statements.Get(sql);  // equal chunks share one statement
    if (!cached.ok()) return NamingMissingColumns(db, *spec, request.columns, cached.status());
    auto st = std::move(cached).value();
    query.BindTable(*st);
    int bind = 2;
    for (std::size_t v = start; v < start + n; ++v) {
      for (const Value& part : values[v]) st->Bind(bind++, part);
    }
    for (const Value& part : after) {
      if (resume) st->Bind(bind++, part);
    }
    st->Bind(limit_param, static_cast<std::int64_t>(wanted - batch.changes.size()));
    for (;;) {
      CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      if (batch.changes.size() < static_cast<std::size_t>(request.max_records)) last_chunk_start = start;
      batch.changes.push_back(query.Decode(*st));
    }
  }
  if (batch.changes.size() == wanted) {
    batch.changes.pop_back();
    batch.more = true;
    batch.next_cursor = std::string(kLookupPrefix) + std::to_string(last_chunk_start) + ":" + batch.changes.back().key;
  }
  return batch;
}

Result<std::vector<WriteResult>> LocalConnector::Write(const std::string& entity, std::span<const WriteOp> ops,
                                                       Deadline deadline) {
  if (ops.empty()) return std::vector<WriteResult>();
  CRMSYNC_ASSIGN_OR_RETURN(auto connection, Connect(deadline));
  SqliteDb& db = connection.db();
  // One transaction for the batch; each unit (an ungrouped op, or a group)
  // applies inside it in a savepoint of its own.
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kImmediate));
  std::vector<WriteResult> results;
  {
    Writer writer(db, entity, ops);
    for (const Unit& unit : UnitsOf(ops)) CRMSYNC_RETURN_IF_ERROR(writer.Apply(unit));
    results = writer.TakeResults();
  }  // the writer's statements are finalized before the commit
  CRMSYNC_RETURN_IF_ERROR(tx.Commit());
  for (std::size_t i = 0; i < results.size(); ++i) {
    // SQLite's own words for a column the table lost since the mappings were checked.
    if (results[i].status.message().find("no such column") == std::string::npos) continue;
    const WriteOp& op = ops[i];
    auto spec = SpecFor(op.entity.empty() ? entity : op.entity);
    if (!spec.ok()) continue;
    std::vector<std::string> columns = op.read_back;
    for (const auto& [column, value] : op.fields) columns.push_back(column);
    results[i].status = NamingMissingColumns(db, **spec, columns, std::move(results[i].status));
  }
  return results;
}

Status LocalConnector::Acknowledge(const std::string& reader, const std::string& cursor, Deadline deadline) {
  if (reader.empty()) return InvalidArgument("journal reader name is empty");
  CRMSYNC_ASSIGN_OR_RETURN(Cursor parsed, ParseCursor(cursor));
  const std::int64_t position = std::max<std::int64_t>(parsed.seq, 0);
  CRMSYNC_ASSIGN_OR_RETURN(auto connection, Connect(deadline));
  SqliteDb& db = connection.db();
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kImmediate));
  CRMSYNC_ASSIGN_OR_RETURN(auto upsert, db.Prepare("INSERT INTO crmsync_journal_reader (name, position) VALUES (?, ?) "
                                                   "ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
                                                   "updated_at = excluded.updated_at"));
  upsert.Bind(1, std::string_view(reader)).Bind(2, position);
  CRMSYNC_RETURN_IF_ERROR(upsert.Run());
  CRMSYNC_ASSIGN_OR_RETURN(std::int64_t lowest, QueryInt(db, "SELECT min(position) FROM crmsync_journal_reader"));
  CRMSYNC_ASSIGN_OR_RETURN(auto prune, db.Prepare("DELETE FROM crmsync_journal WHERE seq <= ?"));
  prune.Bind(1, lowest);
  CRMSYNC_RETURN_IF_ERROR(prune.Run());
  CRMSYNC_ASSIGN_OR_RETURN(auto mark, db.Prepare("UPDATE crmsync_journal_pruned SET through = max(through, ?)"));
  mark.Bind(1, lowest);
  CRMSYNC_RETURN_IF_ERROR(mark.Run());
  return tx.Commit();
}

Status LocalConnector::ForgetReader(const std::string& reader, Deadline deadline) {
  CRMSYNC_ASSIGN_OR_RETURN(auto connection, Connect(deadline));
  SqliteDb& db = connection.db();
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("DELETE FROM crmsync_journal_reader WHERE name = ?"));
  st.Bind(1, std::string_view(reader));
  return st.Run();
}

Result<std::optional<std::string>> LocalConnector::FindByOrigin(const std::string& entity, const std::string& origin_id,
                                                                Deadline deadline) {
  CRMSYNC_ASSIGN_OR_RETURN(const crm::TableSpec* spec, SpecFor(entity));
  CRMSYNC_ASSIGN_OR_RETURN(auto connection, Connect(deadline));
  SqliteDb& db = connection.db();
  CRMSYNC_ASSIGN_OR_RETURN(auto st,
                           db.Prepare("SELECT key FROM crmsync_origin WHERE table_name = ? AND origin_id = ?"));
  st.Bind(1, spec->name).Bind(2, std::string_view(origin_id));
  CRMSYNC_ASSIGN_OR_RETURN(bool found, st.Step());
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(st.ColumnText(0));
}

Result<std::int64_t> LocalConnector::PendingChanges(const std::string& entity, const std::string& cursor,
                                                    Deadline deadline) {
  CRMSYNC_ASSIGN_OR_RETURN(const crm::TableSpec* spec, SpecFor(entity));
  CRMSYNC_ASSIGN_OR_RETURN(Cursor parsed, ParseCursor(cursor));
  CRMSYNC_ASSIGN_OR_RETURN(auto connection, Connect(deadline));
  SqliteDb& db = connection.db();
  if (parsed.full) return QueryInt(db, "SELECT count(*) FROM " + crm::QuoteName(spec->name));
  return QueryInt(db, "SELECT count(DISTINCT key) FROM crmsync_journal WHERE table_name = ? AND seq > ?",
                  {Value::Text(std::string(spec->name)), Value::Integer(parsed.seq)});
}

}  // namespace crmsync::local
