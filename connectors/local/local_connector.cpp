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

Result<ChangeBatch> ReadFull(SqliteDb& db, const ChangeQuery& query, const ReadRequest& request, Cursor cursor,
                             std::int64_t high_water) {
  const crm::TableSpec& spec = query.spec();
  if (cursor.seq < 0) cursor.seq = high_water;  // a new full read starts at today's end of the journal
  std::string sql = query.select();
  std::vector<Value> after;
  if (!cursor.after_key.empty()) {
    auto parts = crm::DecodeKey(spec, cursor.after_key);
    if (!parts.ok()) return InvalidArgument("bad local store cursor: " + parts.status().message());
    after = std::move(parts).value();
    std::string params;
    for (std::size_t i = 0; i < after.size(); ++i) params += (i ? ", ?" : "?") + std::to_string(i + 2);
    sql += " WHERE (" + query.key_list() + ") > (" + params + ")";
  }
  const int limit_param = static_cast<int>(after.size()) + 2;
  sql += " ORDER BY " + query.key_list() + " LIMIT ?" + std::to_string(limit_param);
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare(sql));
  query.BindTable(st);
  for (std::size_t i = 0; i < after.size(); ++i) st.Bind(static_cast<int>(i) + 2, after[i]);
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

// The seq of the latest journal row of `key`, 0 when the journal holds none.
Result<std::int64_t> LatestSeq(SqliteDb& db, const crm::TableSpec& spec, const std::string& key) {
  return QueryInt(db, "SELECT max(seq) FROM crmsync_journal WHERE table_name = ? AND key = ?",
                  {Value::Text(std::string(spec.name)), Value::Text(key)});
}

WriteResult Failed(Status status) {
  WriteResult r;
  r.status = std::move(status);
  return r;
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

Result<SqliteDb> LocalConnector::Connect(Deadline deadline) const {
  if (deadline.Expired()) return Status(StatusCode::kTimeout, "deadline passed before opening the local store");
  SqliteOpenOptions options;
  options.create = false;
  options.busy_timeout = std::min<std::chrono::milliseconds>(options.busy_timeout, deadline.Remaining());
  return SqliteDb::Open(path_, options);
}

Result<ChangeBatch> LocalConnector::ReadChanges(const ReadRequest& request, Deadline deadline) {
  CRMSYNC_ASSIGN_OR_RETURN(const crm::TableSpec* spec, SpecFor(request.entity));
  CRMSYNC_RETURN_IF_ERROR(crm::CheckColumns(*spec, request.columns));
  if (request.max_changes < 1) return InvalidArgument("max_changes must be at least 1");
  CRMSYNC_ASSIGN_OR_RETURN(Cursor cursor, ParseCursor(request.cursor));
  const ChangeQuery query(*spec, request.columns);
  CRMSYNC_ASSIGN_OR_RETURN(SqliteDb db, Connect(deadline));
  // One read transaction: the journal and the rows come from one snapshot.
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kDeferred));
  CRMSYNC_ASSIGN_OR_RETURN(std::int64_t high_water, HighWater(db));
  CRMSYNC_ASSIGN_OR_RETURN(std::int64_t pruned, QueryInt(db, "SELECT through FROM crmsync_journal_pruned"));
  if (cursor.seq > high_water) {
    return Status(StatusCode::kCursorExpired, "cursor " + request.cursor + " is beyond the end of the journal (" +
                                                  std::to_string(high_water) + ") of '" + path_ +
                                                  "': was the store replaced?");
  }
  if (cursor.full) return ReadFull(db, query, request, cursor, high_water);
  if (cursor.seq < pruned) {
    return Status(StatusCode::kCursorExpired,
                  "cursor " + request.cursor + " is older than the journal, pruned through " + std::to_string(pruned));
  }
  return ReadJournal(db, query, request, cursor.seq, high_water);
}

Result<std::optional<Change>> LocalConnector::Fetch(const std::string& entity, const std::string& /*key_attribute*/,
                                                    const std::string& key, const std::vector<std::string>& columns,
                                                    Deadline deadline) {
  CRMSYNC_ASSIGN_OR_RETURN(const crm::TableSpec* spec, SpecFor(entity));
  CRMSYNC_RETURN_IF_ERROR(crm::CheckColumns(*spec, columns));
  CRMSYNC_RETURN_IF_ERROR(crm::DecodeKey(*spec, key).status());
  const ChangeQuery query(*spec, columns);
  CRMSYNC_ASSIGN_OR_RETURN(SqliteDb db, Connect(deadline));
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kDeferred));
  crm::StatementCache statements(db);
  CRMSYNC_ASSIGN_OR_RETURN(Change change, CurrentChange(statements, query, key));
  if (change.kind == Change::Kind::kDelete) return std::optional<Change>();
  return std::optional<Change>(std::move(change));
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
  CRMSYNC_ASSIGN_OR_RETURN(SqliteDb db, Connect(deadline));
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
    std::string sql =
        query.select() + " WHERE " + column_list + " IN (" + (per_value == 1 ? "" : "VALUES ") + in_list + ")";
    if (resume) {
      std::string params = "?";
      for (std::size_t k = 1; k < after.size(); ++k) params += ", ?";
      sql += " AND (" + query.key_list() + ") > (" + params + ")";
    }
    const int limit_param = static_cast<int>(2 + n * per_value + (resume ? after.size() : 0));
    sql += " ORDER BY " + query.key_list() + " LIMIT ?";

    CRMSYNC_ASSIGN_OR_RETURN(auto st, statements.Get(sql));  // equal chunks share one statement
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
  CRMSYNC_ASSIGN_OR_RETURN(const crm::TableSpec* spec, SpecFor(entity));
  std::vector<WriteResult> results(ops.size());
  if (ops.empty()) return results;
  CRMSYNC_ASSIGN_OR_RETURN(SqliteDb db, Connect(deadline));
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kImmediate));
  const Value table_name = Value::Text(std::string(spec->name));

  // Phase 1: preconditions, against the state before the batch.
  std::vector<bool> skip(ops.size(), false);
  std::optional<std::size_t> failed;
  for (std::size_t i = 0; i < ops.size() && !failed; ++i) {
    const WriteOp& op = ops[i];
    results[i].key = op.key;
    if (op.expected_version.empty() || op.kind == WriteOp::Kind::kCreate) continue;
    auto expected = ParseSeq(op.expected_version);
    if (!expected) {
      results[i] = Failed(InvalidArgument("expected_version '" + op.expected_version + "' is not a local version"));
      failed = i;
      break;
    }
    auto parts = crm::DecodeKey(*spec, op.key);
    if (!parts.ok()) {
      results[i] = Failed(parts.status());
      failed = i;
      break;
    }
    CRMSYNC_ASSIGN_OR_RETURN(std::int64_t latest, LatestSeq(db, *spec, op.key));
    if (latest > *expected) {
      skip[i] = true;
      results[i].status =
          Status(StatusCode::kConflict, std::string(spec->label) + " '" + op.key + "' changed at " +
                                            std::to_string(latest) + ", after version " + op.expected_version);
      results[i].version = std::to_string(latest);
    }
  }
  // A group is all or nothing: a conflict anywhere in it skips all of it.
  for (std::size_t i = 0; i < ops.size() && !failed; ++i) {
    if (!skip[i] || ops[i].group.empty()) continue;
    for (std::size_t j = 0; j < ops.size(); ++j) {
      if (j == i || skip[j] || ops[j].group != ops[i].group) continue;
      skip[j] = true;
      results[j].status = Status(StatusCode::kConflict, "not applied: op " + std::to_string(i) + " of group '" +
                                                            ops[i].group + "' conflicted");
    }
  }

  // Phase 2: apply in order.
  for (std::size_t i = 0; i < ops.size() && !failed; ++i) {
    if (skip[i]) continue;
    const WriteOp& op = ops[i];
    WriteResult& result = results[i];
    Status status;
    switch (op.kind) {
      case WriteOp::Kind::kCreate: {
        if (!op.origin_id.empty()) {
          // A repeated create (a lost answer, a crash before the engine
          // recorded it) finds the row the first attempt created.
          CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT key FROM crmsync_origin WHERE table_name = ? AND "
                                                       "origin_id = ?"));
          st.Bind(1, table_name).Bind(2, std::string_view(op.origin_id));
          CRMSYNC_ASSIGN_OR_RETURN(bool found, st.Step());
          if (found) {
            result.key = st.ColumnText(0);
            break;
          }
        }
        Record fields = op.fields;
        if (!op.key.empty()) {
          auto parts = crm::DecodeKey(*spec, op.key);
          if (!parts.ok()) {
            status = parts.status();
            break;
          }
          for (std::size_t k = 0; k < parts->size(); ++k) {
            const std::string column(spec->key_columns[k]);
            auto it = fields.find(column);
            if (it != fields.end() && !it->second.is_null() && it->second != (*parts)[k]) {
              status = InvalidArgument("key '" + op.key + "' and " + column + " " + it->second.ToDisplayString() +
                                       " disagree");
              break;
            }
            fields[column] = (*parts)[k];
          }
          if (!status.ok()) break;
        }
        auto key = crm::InsertRow(db, *spec, fields);
        if (!key.ok()) {
          status = key.status();
          break;
        }
        result.key = *key;
        if (!op.origin_id.empty()) {
          CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("INSERT INTO crmsync_origin (table_name, key, origin_id) "
                                                       "VALUES (?, ?, ?)"));
          st.Bind(1, table_name).Bind(2, std::string_view(*key)).Bind(3, std::string_view(op.origin_id));
          status = st.Run();
        }
        break;
      }
      case WriteOp::Kind::kUpdate: {
        auto key = crm::UpdateRow(db, *spec, op.key, op.fields);
        if (key.ok()) {
          result.key = *key;
        } else {
          status = key.status();
        }
        break;
      }
      case WriteOp::Kind::kUpsert: {
        auto key = crm::UpdateRow(db, *spec, op.key, op.fields);
        if (key.ok()) {
          result.key = *key;
          break;
        }
        if (key.status().code() != StatusCode::kNotFound) {
          status = key.status();
          break;
        }
        auto parts = crm::DecodeKey(*spec, op.key);
        if (!parts.ok()) {
          status = parts.status();
          break;
        }
        Record fields = op.fields;
        for (std::size_t k = 0; k < parts->size(); ++k) fields[std::string(spec->key_columns[k])] = (*parts)[k];
        auto inserted = crm::InsertRow(db, *spec, fields);
        if (inserted.ok()) {
          result.key = *inserted;
        } else {
          status = inserted.status();
        }
        break;
      }
      case WriteOp::Kind::kDelete: {
        status = crm::DeleteRow(db, *spec, op.key);
        if (status.code() == StatusCode::kNotFound) status = Status::Ok();  // already gone: repeat-safe
        break;
      }
    }
    if (!status.ok()) {
      result = Failed(status);
      result.key = op.key;
      failed = i;
      break;
    }
    CRMSYNC_ASSIGN_OR_RETURN(std::int64_t version, LatestSeq(db, *spec, result.key));
    result.version = std::to_string(version);
  }

  if (failed) {
    tx.Rollback();
    const std::string why = "not applied: op " + std::to_string(*failed) + " (" + std::string(spec->label) + " '" +
                            ops[*failed].key + "') failed: " + results[*failed].status.message();
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (i == *failed || results[i].status.code() == StatusCode::kConflict) continue;
      results[i].status = Status(StatusCode::kAborted, why);
      results[i].version.clear();
      results[i].key = ops[i].key;
    }
    return results;
  }
  CRMSYNC_RETURN_IF_ERROR(tx.Commit());
  return results;
}

Status LocalConnector::Acknowledge(const std::string& reader, const std::string& cursor, Deadline deadline) {
  if (reader.empty()) return InvalidArgument("journal reader name is empty");
  CRMSYNC_ASSIGN_OR_RETURN(Cursor parsed, ParseCursor(cursor));
  const std::int64_t position = std::max<std::int64_t>(parsed.seq, 0);
  CRMSYNC_ASSIGN_OR_RETURN(SqliteDb db, Connect(deadline));
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
  CRMSYNC_ASSIGN_OR_RETURN(SqliteDb db, Connect(deadline));
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("DELETE FROM crmsync_journal_reader WHERE name = ?"));
  st.Bind(1, std::string_view(reader));
  return st.Run();
}

Result<std::optional<std::string>> LocalConnector::FindByOrigin(const std::string& entity, const std::string& origin_id,
                                                                Deadline deadline) {
  CRMSYNC_ASSIGN_OR_RETURN(const crm::TableSpec* spec, SpecFor(entity));
  CRMSYNC_ASSIGN_OR_RETURN(SqliteDb db, Connect(deadline));
  CRMSYNC_ASSIGN_OR_RETURN(auto st,
                           db.Prepare("SELECT key FROM crmsync_origin WHERE table_name = ? AND origin_id = ?"));
  st.Bind(1, spec->name).Bind(2, std::string_view(origin_id));
  CRMSYNC_ASSIGN_OR_RETURN(bool found, st.Step());
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(st.ColumnText(0));
}

}  // namespace crmsync::local
