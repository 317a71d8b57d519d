#include "state/sqlite_state_store.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/time_format.h"
#include "common/value_json.h"
#include "state/audit_chain.h"

namespace crmsync::state {

namespace internal {
// Defined in the generated state_migrations_sql.cpp (state/CMakeLists.txt).
extern const char kStateMigration0001[];
extern const char kStateMigration0002[];
extern const char kStateMigration0003[];
extern const char kStateMigration0004[];
}  // namespace internal

namespace {

using nlohmann::json;

struct Step {
  int version;
  const char* name;
  const char* sql;
};
const Step kSteps[] = {
    {1, "0001_state.sql", internal::kStateMigration0001},
    {2, "0002_write_intents.sql", internal::kStateMigration0002},
    {3, "0003_local_create_intents.sql", internal::kStateMigration0003},
    {4, "0004_intent_pages.sql", internal::kStateMigration0004},
};

Result<int> UserVersion(SqliteDb& db) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("PRAGMA user_version"));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Internal("PRAGMA user_version returned no row");
  return static_cast<int>(st.ColumnInt(0));
}

Status Migrate(SqliteDb& db) {
  CRMSYNC_ASSIGN_OR_RETURN(int version, UserVersion(db));
  const int latest = kSteps[std::size(kSteps) - 1].version;
  if (version > latest) {
    return InvalidArgument("state store '" + db.path() + "' has schema v" + std::to_string(version) +
                           ", newer than this crmsync understands (v" + std::to_string(latest) + ")");
  }
  if (version == 0) {
    CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT name FROM sqlite_master WHERE type = 'table' LIMIT 1"));
    CRMSYNC_ASSIGN_OR_RETURN(bool has_table, st.Step());
    if (has_table) {
      return InvalidArgument("'" + db.path() + "' holds tables (" + st.ColumnText(0) +
                             ") but no crmsync schema version: not a state store");
    }
  }
  for (const Step& step : kSteps) {
    CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kImmediate));
    CRMSYNC_ASSIGN_OR_RETURN(int current, UserVersion(db));  // another process may have applied it meanwhile
    if (current >= step.version) continue;
    if (Status s = db.Exec(step.sql); !s.ok()) {
      return s.WithContext("migrating the state store to v" + std::to_string(step.version) + " (" + step.name + ")");
    }
    CRMSYNC_RETURN_IF_ERROR(db.Exec("PRAGMA user_version = " + std::to_string(step.version)));
    CRMSYNC_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::Ok();
}

// Bases are stored without their null members (readers take absent as null).
std::string RecordText(const Record& r) {
  return RecordToJsonText(r, true);
}

Result<Record> RecordFromText(const std::string& text, std::string_view what) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return Status(StatusCode::kCorrupt, std::string(what) + " is not JSON: " + e.what());
  }
  if (!doc.is_object()) return Status(StatusCode::kCorrupt, std::string(what) + " is not a JSON object");
  auto record = RecordFromJson(doc);
  if (!record.ok()) return Status(StatusCode::kCorrupt, std::string(what) + ": " + record.status().message());
  return record;
}

std::optional<Coupling::Status> ParseCouplingStatus(std::string_view s) {
  if (s == "active") return Coupling::Status::kActive;
  if (s == "local_deleted") return Coupling::Status::kLocalDeleted;
  if (s == "remote_deleted") return Coupling::Status::kRemoteDeleted;
  return std::nullopt;
}

// Reads a coupling row whose columns are, in order (as every SELECT of them lists): mapping,
// local_key, remote_id, base_local, base_remote, local_version, remote_version, status, local_seen,
// remote_seen.
Result<Coupling> ReadCoupling(const SqliteStatement& st) {
  Coupling c;
  c.mapping = st.ColumnText(0);
  c.local_key = st.ColumnText(1);
  c.remote_id = st.ColumnText(2);
  const std::string what = "the base of coupling " + c.mapping + "/" + c.local_key;
  CRMSYNC_ASSIGN_OR_RETURN(c.base_local, RecordFromText(st.ColumnText(3), what));
  CRMSYNC_ASSIGN_OR_RETURN(c.base_remote, RecordFromText(st.ColumnText(4), what));
  c.local_version = st.ColumnText(5);
  c.remote_version = st.ColumnText(6);
  const auto status = ParseCouplingStatus(st.ColumnText(7));
  if (!status) return Status(StatusCode::kCorrupt, "coupling " + c.mapping + "/" + c.local_key + " has a bad status");
  c.status = *status;
  c.local_seen = st.ColumnInt(8);
  c.remote_seen = st.ColumnInt(9);
  return c;
}

// Reads a coupling head whose columns are, in order: local_key, remote_id,
// local_version, remote_version, status.
Result<CouplingHead> ReadCouplingHead(const SqliteStatement& st, const std::string& mapping) {
  CouplingHead h;
  h.local_key = st.ColumnText(0);
  h.remote_id = st.ColumnText(1);
  h.local_version = st.ColumnText(2);
  h.remote_version = st.ColumnText(3);
  const auto status = ParseCouplingStatus(st.ColumnText(4));
  if (!status) return Status(StatusCode::kCorrupt, "coupling " + mapping + "/" + h.local_key + " has a bad status");
  h.status = *status;
  return h;
}

// The keys of a page as one JSON array, the operand of `IN (SELECT value
// FROM json_each(?))`: one prepared statement for any number of keys.
std::string KeyArray(const std::vector<std::string>& keys) {
  std::string out = "[";
  for (const auto& k : keys) {
    if (out.size() > 1) out += ',';
    AppendJsonString(out, k);
  }
  out += ']';
  return out;
}

Result<std::vector<Coupling>> ReadCouplings(SqliteStatement& st) {
  std::vector<Coupling> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    CRMSYNC_ASSIGN_OR_RETURN(Coupling c, ReadCoupling(st));
    out.push_back(std::move(c));
  }
}

// An intent as one member of its page's JSON array (migration 4).
void AppendIntentJson(std::string& out, const Intent& i, std::string_view created_at) {
  out += "{\"local_key\":";
  AppendJsonString(out, i.local_key);
  out += ",\"remote_id\":";
  AppendJsonString(out, i.remote_id);
  out += ",\"created_at\":";
  AppendJsonString(out, created_at);
  out += ",\"base_local\":";
  out += RecordText(i.base_local);
  out += ",\"base_remote\":";
  out += RecordText(i.base_remote);
  out += '}';
}

// The intents of a page's row; kCorrupt naming the page when it is not what AppendIntentJson wrote.
Result<std::vector<Intent>> ParseIntentPage(const std::string& text, const std::string& mapping, std::int64_t page) {
  const std::string what = "intent page " + std::to_string(page) + " of " + mapping;
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return Status(StatusCode::kCorrupt, what + " is not JSON: " + e.what());
  }
  if (!doc.is_array()) return Status(StatusCode::kCorrupt, what + " is not a JSON array");
  std::vector<Intent> out;
  out.reserve(doc.size());
  for (std::size_t n = 0; n < doc.size(); ++n) {
    const json& e = doc[n];
    const std::string where = what + ", intent " + std::to_string(n + 1);
    const auto text_member = [&](const char* name) -> const json* {
      auto it = e.find(name);
      return it != e.end() && it->is_string() ? &*it : nullptr;
    };
    const json* local_key = e.is_object() ? text_member("local_key") : nullptr;
    const json* remote_id = e.is_object() ? text_member("remote_id") : nullptr;
    const json* created_at = e.is_object() ? text_member("created_at") : nullptr;
    if (local_key == nullptr || remote_id == nullptr || created_at == nullptr) {
      return Status(StatusCode::kCorrupt, where + " lacks its local_key, remote_id or created_at");
    }
    Intent i;
    i.mapping = mapping;
    i.local_key = local_key->get<std::string>();
    i.remote_id = remote_id->get<std::string>();
    i.created_at = created_at->get<std::string>();
    for (auto [name, base] : {std::pair{"base_local", &i.base_local}, std::pair{"base_remote", &i.base_remote}}) {
      auto it = e.find(name);
      if (it == e.end() || !it->is_object())
        return Status(StatusCode::kCorrupt, where + ": " + name + " is not an object");
      auto record = RecordFromJson(*it);
      if (!record.ok()) return Status(StatusCode::kCorrupt, where + ": " + name + ": " + record.status().message());
      *base = std::move(record).value();
    }
    out.push_back(std::move(i));
  }
  return out;
}

std::string FieldsText(const std::vector<ConflictField>& fields) {
  json out = json::array();
  for (const auto& f : fields) {
    out.push_back({{"field", f.field},
                   {"base", ValueToJson(f.base)},
                   {"local", ValueToJson(f.local)},
                   {"remote", ValueToJson(f.remote)}});
  }
  return out.dump();
}

Result<std::vector<ConflictField>> FieldsFromText(const std::string& text) {
  std::vector<ConflictField> out;
  try {
    const json doc = json::parse(text);
    if (!doc.is_array()) return Status(StatusCode::kCorrupt, "conflict fields are not a JSON array");
    for (const auto& f : doc) {
      ConflictField cf;
      cf.field = f.value("field", "");
      for (auto [name, target] :
           {std::pair<const char*, Value*>{"base", &cf.base}, {"local", &cf.local}, {"remote", &cf.remote}}) {
        if (!f.contains(name)) continue;
        auto v = ValueFromJson(f[name]);
        if (!v.ok()) return Status(StatusCode::kCorrupt, "conflict field value: " + v.status().message());
        *target = std::move(v).value();
      }
      out.push_back(std::move(cf));
    }
  } catch (const json::exception& e) {
    return Status(StatusCode::kCorrupt, std::string("conflict fields are not JSON: ") + e.what());
  }
  return out;
}

// Reads a conflict row whose columns are, in order (as every SELECT of them lists): id, mapping,
// local_key, remote_id, fields, status, resolution, resolve_requested, created_at, updated_at.
Result<Conflict> ReadConflict(const SqliteStatement& st) {
  Conflict c;
  c.id = st.ColumnInt(0);
  c.mapping = st.ColumnText(1);
  c.local_key = st.ColumnText(2);
  c.remote_id = st.ColumnText(3);
  CRMSYNC_ASSIGN_OR_RETURN(c.fields, FieldsFromText(st.ColumnText(4)));
  c.status = st.ColumnText(5);
  c.resolution = st.ColumnText(6);
  c.resolve_requested = st.ColumnInt(7) != 0;
  c.created_at = st.ColumnText(8);
  c.updated_at = st.ColumnText(9);
  return c;
}

// Reads a failure row whose columns are, in order (as every SELECT of them lists): id, mapping,
// source, record_key, local_key, remote_id, code, remote_code, http_status, message, transient,
// retry_requested, attempts, first_seen, last_seen.
Failure ReadFailure(const SqliteStatement& st) {
  Failure f;
  f.id = st.ColumnInt(0);
  f.mapping = st.ColumnText(1);
  f.source = ParseSide(st.ColumnText(2)).value_or(Side::kLocal);
  f.record_key = st.ColumnText(3);
  f.local_key = st.ColumnText(4);
  f.remote_id = st.ColumnText(5);
  f.code = st.ColumnText(6);
  f.remote_code = st.ColumnText(7);
  f.http_status = static_cast<int>(st.ColumnInt(8));
  f.message = st.ColumnText(9);
  f.transient = st.ColumnInt(10) != 0;
  f.retry_requested = st.ColumnInt(11) != 0;
  f.attempts = static_cast<int>(st.ColumnInt(12));
  f.first_seen = st.ColumnText(13);
  f.last_seen = st.ColumnText(14);
  return f;
}

// Reads a job run row whose columns are, in order (as every SELECT of them lists): id, run_id,
// mapping, command, started_at, finished_at, outcome, message, inserted, modified, deleted,
// unchanged, skipped, failed, coupled, uncoupled, conflicts, waiting.
JobRun ReadJob(const SqliteStatement& st) {
  JobRun j;
  j.id = st.ColumnInt(0);
  j.run_id = st.ColumnText(1);
  j.mapping = st.ColumnText(2);
  j.command = st.ColumnText(3);
  j.started_at = st.ColumnText(4);
  j.finished_at = st.ColumnText(5);
  j.outcome = st.ColumnText(6);
  j.message = st.ColumnText(7);
  std::int64_t* counts[] = {&j.counts.inserted,  &j.counts.modified, &j.counts.deleted, &j.counts.unchanged,
                            &j.counts.skipped,   &j.counts.failed,   &j.counts.coupled, &j.counts.uncoupled,
                            &j.counts.conflicts, &j.counts.waiting};
  for (int i = 0; i < 10; ++i) *counts[i] = st.ColumnInt(8 + i);
  return j;
}

// Reads an audit row whose columns are, in order (as every SELECT of them lists): seq, at, run_id,
// mapping, mapping_version, action, side, local_key, remote_id, fields, outcome, prev_hash, hash.
AuditEntry ReadAudit(const SqliteStatement& st) {
  AuditEntry e;
  e.seq = st.ColumnInt(0);
  e.at = st.ColumnText(1);
  e.run_id = st.ColumnText(2);
  e.mapping = st.ColumnText(3);
  e.mapping_version = st.ColumnText(4);
  e.action = st.ColumnText(5);
  e.side = st.ColumnText(6);
  e.local_key = st.ColumnText(7);
  e.remote_id = st.ColumnText(8);
  e.fields = st.ColumnText(9);
  e.outcome = st.ColumnText(10);
  e.prev_hash = st.ColumnText(11);
  e.hash = st.ColumnText(12);
  return e;
}

std::string SideText(Side s) {
  return std::string(SideName(s));
}

}  // namespace

// ---------------------------------------------------------------------------

StateTransaction::~StateTransaction() {
  if (store_ != nullptr) store_->RollbackTransaction();
}

Status StateTransaction::Commit() {
  if (store_ == nullptr) return Internal("transaction already finished");
  StateStore* store = store_;
  store_ = nullptr;
  Status s = store->CommitTransaction();
  if (!s.ok()) store->RollbackTransaction();
  return s;
}

int SqliteStateStore::LatestSchemaVersion() {
  return kSteps[std::size(kSteps) - 1].version;
}

Result<std::unique_ptr<SqliteStateStore>> SqliteStateStore::Open(const std::string& path, const Clock& clock,
                                                                 bool create) {
  std::error_code ec;
  if (!create && !std::filesystem::exists(path, ec)) {
    return NotFound("state store '" + path + "' does not exist (create it with `crmsync init`)");
  }
  SqliteOpenOptions options;
  options.create = create;
  CRMSYNC_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::Open(path, options));
  if (Status s = Migrate(db); !s.ok()) return s;
  return std::unique_ptr<SqliteStateStore>(new SqliteStateStore(std::move(db), clock));
}

std::string SqliteStateStore::Now() const {
  return FormatUtc(clock_.Now(), true);
}

Result<SqliteStatement*> SqliteStateStore::Statement(const char* sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    CRMSYNC_ASSIGN_OR_RETURN(SqliteStatement st, db_.Prepare(sql));
    it = statements_.emplace(sql, std::make_unique<SqliteStatement>(std::move(st))).first;
  }
  it->second->Reset();
  return it->second.get();
}

Result<StateTransaction> SqliteStateStore::Begin() {
  if (in_transaction_) return Internal("a state store transaction is already open");
  CRMSYNC_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
  in_transaction_ = true;
  return StateTransaction(this);
}

Status SqliteStateStore::CommitTransaction() {
  if (!in_transaction_) return Internal("no state store transaction is open");
  CRMSYNC_RETURN_IF_ERROR(db_.Exec("COMMIT"));
  in_transaction_ = false;
  return Status::Ok();
}

void SqliteStateStore::RollbackTransaction() {
  if (!in_transaction_) return;
  // Ignored: in practice ROLLBACK fails only when SQLite already rolled the
  // transaction back itself (I/O error, disk full), which is the outcome
  // wanted; the failure that caused it was returned by the statement that met it.
  (void)db_.Exec("ROLLBACK");
  in_transaction_ = false;
  intent_index_.reset();  // it may hold what was rolled back: read again from the rows
}

Status SqliteStateStore::Atomically(const std::function<Status()>& body) {
  if (!in_transaction_) {
    CRMSYNC_ASSIGN_OR_RETURN(StateTransaction tx, Begin());
    CRMSYNC_RETURN_IF_ERROR(body());
    return tx.Commit();
  }
  // Inside the caller's transaction: a savepoint, so a failure undoes this
  // call's rows only and leaves the transaction as it was.
  CRMSYNC_RETURN_IF_ERROR(db_.Exec("SAVEPOINT crmsync_rows"));
  Status s = body();
  if (!s.ok()) {
    (void)db_.Exec("ROLLBACK TO crmsync_rows");
    intent_index_.reset();  // it may hold what was rolled back: read again from the rows
  }
  if (Status released = db_.Exec("RELEASE crmsync_rows"); s.ok()) s = released;
  return s;
}

// --- couplings --------------------------------------------------------------

Result<std::optional<Coupling>> SqliteStateStore::CouplingByLocal(const std::string& mapping,
                                                                  const std::string& local_key) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT mapping, local_key, remote_id, base_local, base_remote, "
                                               "local_version, remote_version, status, local_seen, remote_seen "
                                               "FROM coupling WHERE mapping = ? AND local_key = ?"));
  st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(local_key));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<Coupling>();
  CRMSYNC_ASSIGN_OR_RETURN(Coupling c, ReadCoupling(*st));
  return std::optional<Coupling>(std::move(c));
}

Result<std::optional<Coupling>> SqliteStateStore::CouplingByRemote(const std::string& mapping,
                                                                   const std::string& remote_id) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT mapping, local_key, remote_id, base_local, base_remote, "
                                               "local_version, remote_version, status, local_seen, remote_seen "
                                               "FROM coupling WHERE mapping = ? AND remote_id = ?"));
  st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(remote_id));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<Coupling>();
  CRMSYNC_ASSIGN_OR_RETURN(Coupling c, ReadCoupling(*st));
  return std::optional<Coupling>(std::move(c));
}

Status SqliteStateStore::PutCoupling(const Coupling& c) {
  const auto upsert = [&]() -> Status {
    CRMSYNC_ASSIGN_OR_RETURN(
        auto* st,
        Statement("INSERT INTO coupling (mapping, local_key, remote_id, base_local, base_remote, local_version, "
                  "remote_version, status, local_seen, remote_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                  "?) ON CONFLICT (mapping, local_key) DO UPDATE SET remote_id = excluded.remote_id, "
                  "base_local = excluded.base_local, base_remote = excluded.base_remote, "
                  "local_version = excluded.local_version, remote_version = excluded.remote_version, "
                  "status = excluded.status, local_seen = excluded.local_seen, remote_seen = excluded.remote_seen, "
                  "updated_at = excluded.updated_at"));
    st->Bind(1, std::string_view(c.mapping))
        .Bind(2, std::string_view(c.local_key))
        .Bind(3, std::string_view(c.remote_id))
        .Bind(4, RecordText(c.base_local))
        .Bind(5, RecordText(c.base_remote))
        .Bind(6, std::string_view(c.local_version))
        .Bind(7, std::string_view(c.remote_version))
        .Bind(8, CouplingStatusName(c.status))
        .Bind(9, c.local_seen)
        .Bind(10, c.remote_seen)
        .Bind(11, Now());
    return st->Run();
  };
  Status s = upsert();
  if (s.code() != StatusCode::kAlreadyExists) return s;
  // The remote record was coupled to another local key: this coupling replaces that one.
  CRMSYNC_ASSIGN_OR_RETURN(auto* clear,
                           Statement("DELETE FROM coupling WHERE mapping = ? AND remote_id = ? AND local_key <> ?"));
  clear->Bind(1, std::string_view(c.mapping))
      .Bind(2, std::string_view(c.remote_id))
      .Bind(3, std::string_view(c.local_key));
  CRMSYNC_RETURN_IF_ERROR(clear->Run());
  return upsert();
}

Result<std::map<std::string, CouplingHead>> SqliteStateStore::CouplingHeadsBy(const std::string& mapping, Side side,
                                                                              const std::vector<std::string>& keys) {
  std::map<std::string, CouplingHead> out;
  if (keys.empty()) return out;
  CRMSYNC_ASSIGN_OR_RETURN(
      auto* st, Statement(side == Side::kLocal
                              ? "SELECT local_key, remote_id, local_version, remote_version, status FROM coupling "
                                "WHERE mapping = ? AND local_key IN (SELECT value FROM json_each(?))"
                              : "SELECT local_key, remote_id, local_version, remote_version, status FROM coupling "
                                "WHERE mapping = ? AND remote_id IN (SELECT value FROM json_each(?))"));
  st->Bind(1, std::string_view(mapping)).Bind(2, KeyArray(keys));
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return out;
    CRMSYNC_ASSIGN_OR_RETURN(CouplingHead h, ReadCouplingHead(*st, mapping));
    std::string key = side == Side::kLocal ? h.local_key : h.remote_id;
    out.emplace(std::move(key), std::move(h));
  }
}

Result<std::map<std::string, Coupling>> SqliteStateStore::CouplingsBy(const std::string& mapping, Side side,
                                                                      const std::vector<std::string>& keys) {
  std::map<std::string, Coupling> out;
  if (keys.empty()) return out;
  CRMSYNC_ASSIGN_OR_RETURN(
      auto* st,
      Statement(side == Side::kLocal ? "SELECT mapping, local_key, remote_id, base_local, base_remote, local_version, "
                                       "remote_version, status, local_seen, remote_seen FROM coupling "
                                       "WHERE mapping = ? AND local_key IN (SELECT value FROM json_each(?))"
                                     : "SELECT mapping, local_key, remote_id, base_local, base_remote, local_version, "
                                       "remote_version, status, local_seen, remote_seen FROM coupling "
                                       "WHERE mapping = ? AND remote_id IN (SELECT value FROM json_each(?))"));
  st->Bind(1, std::string_view(mapping)).Bind(2, KeyArray(keys));
  CRMSYNC_ASSIGN_OR_RETURN(auto found, ReadCouplings(*st));
  for (auto& c : found) {
    std::string key = side == Side::kLocal ? c.local_key : c.remote_id;
    out.emplace(std::move(key), std::move(c));
  }
  return out;
}

Status SqliteStateStore::DeleteCoupling(const std::string& mapping, const std::string& local_key) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("DELETE FROM coupling WHERE mapping = ? AND local_key = ?"));
  st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(local_key));
  return st->Run();
}

Result<std::int64_t> SqliteStateStore::CountCouplings(const std::string& mapping) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT count(*) FROM coupling WHERE mapping = ?"));
  st->Bind(1, std::string_view(mapping));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  return row ? st->ColumnInt(0) : 0;
}

Result<std::vector<Coupling>> SqliteStateStore::UnseenCouplings(const std::string& mapping, Side side,
                                                                std::int64_t epoch, const std::string& after_key,
                                                                int limit) {
  const char* sql = side == Side::kLocal
                        ? "SELECT mapping, local_key, remote_id, base_local, base_remote, local_version, "
                          "remote_version, status, local_seen, remote_seen FROM coupling WHERE mapping = ? AND "
                          "local_seen < ? AND local_key > ? ORDER BY local_key LIMIT ?"
                        : "SELECT mapping, local_key, remote_id, base_local, base_remote, local_version, "
                          "remote_version, status, local_seen, remote_seen FROM coupling WHERE mapping = ? AND "
                          "remote_seen < ? AND local_key > ? ORDER BY local_key LIMIT ?";
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement(sql));
  st->Bind(1, std::string_view(mapping)).Bind(2, epoch).Bind(3, std::string_view(after_key)).Bind(4, limit);
  return ReadCouplings(*st);
}

Result<std::vector<Coupling>> SqliteStateStore::ListCouplings(const std::string& mapping, const std::string& after_key,
                                                              int limit) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT mapping, local_key, remote_id, base_local, base_remote, "
                                               "local_version, remote_version, status, local_seen, remote_seen "
                                               "FROM coupling WHERE mapping = ? AND local_key > ? "
                                               "ORDER BY local_key LIMIT ?"));
  st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(after_key)).Bind(3, limit);
  return ReadCouplings(*st);
}

// --- cursors ----------------------------------------------------------------

Result<CursorState> SqliteStateStore::Cursor(const std::string& mapping, Side side) {
  CRMSYNC_ASSIGN_OR_RETURN(
      auto* st,
      Statement("SELECT cursor, full_epoch, updated_at, mapping_version FROM cursor WHERE mapping = ? AND side = ?"));
  st->Bind(1, std::string_view(mapping)).Bind(2, SideText(side));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return CursorState{};
  return CursorState{st->ColumnText(0), st->ColumnInt(1), st->ColumnText(2), st->ColumnText(3)};
}

Status SqliteStateStore::SetCursor(const std::string& mapping, Side side, const CursorState& cursor) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st,
                           Statement("INSERT INTO cursor (mapping, side, cursor, full_epoch, mapping_version, "
                                     "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (mapping, side) DO "
                                     "UPDATE SET cursor = excluded.cursor, full_epoch = excluded.full_epoch, "
                                     "mapping_version = excluded.mapping_version, "
                                     "updated_at = excluded.updated_at"));
  st->Bind(1, std::string_view(mapping))
      .Bind(2, SideText(side))
      .Bind(3, std::string_view(cursor.cursor))
      .Bind(4, cursor.full_epoch)
      .Bind(5, std::string_view(cursor.mapping_version))
      .Bind(6, Now());
  return st->Run();
}

Result<std::int64_t> SqliteStateStore::NextEpoch() {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("UPDATE epoch SET last = last + 1 WHERE id = 1 RETURNING last"));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return Status(StatusCode::kCorrupt, "the state store's epoch row is missing");
  const std::int64_t epoch = st->ColumnInt(0);
  CRMSYNC_RETURN_IF_ERROR(st->Run());
  return epoch;
}

// --- intents ----------------------------------------------------------------
//
// A page to a row (intent_page, migration 4); intent_index_ says which page
// holds each key's intent. Every change to the rows goes through
// Atomically, whose rollback (like any other) drops the index.

Status SqliteStateStore::LoadIntentIndex() {
  if (intent_index_) return Status::Ok();
  std::map<std::string, MappingIntentIndex> index;
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT id, mapping, intents FROM intent_page ORDER BY id"));
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    const std::int64_t page = st->ColumnInt(0);
    const std::string mapping = st->ColumnText(1);
    CRMSYNC_ASSIGN_OR_RETURN(auto intents, ParseIntentPage(st->ColumnText(2), mapping, page));
    MappingIntentIndex& m = index[mapping];
    std::set<std::string>& keys = m.keys_by_page[page];
    for (const Intent& i : intents) {
      // Pages are read in the order they were written: a later one's intent
      // for a key is the key's (PutIntents takes a key out of its old page).
      if (auto old = m.by_local.find(i.local_key); old != m.by_local.end()) {
        m.keys_by_page[old->second.page].erase(i.local_key);
        m.local_by_remote.erase(old->second.remote_id);
      }
      m.by_local[i.local_key] = IntentSlot{page, i.remote_id};
      m.local_by_remote[i.remote_id] = i.local_key;
      keys.insert(i.local_key);
    }
  }
  intent_index_ = std::move(index);
  return Status::Ok();
}

Result<std::vector<Intent>> SqliteStateStore::ReadIntentPage(const std::string& mapping, std::int64_t page) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT intents FROM intent_page WHERE id = ?"));
  st->Bind(1, page);
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return Status(StatusCode::kCorrupt, "intent page " + std::to_string(page) + " of " + mapping + " is gone");
  const std::string text = st->ColumnText(0);
  CRMSYNC_RETURN_IF_ERROR(st->Run());
  return ParseIntentPage(text, mapping, page);
}

Status SqliteStateStore::RemoveIntentKeys(const std::string& mapping, const std::vector<std::string>& local_keys) {
  auto m = intent_index_->find(mapping);
  if (m == intent_index_->end()) return Status::Ok();
  std::set<std::int64_t> touched;
  for (const std::string& key : local_keys) {
    auto slot = m->second.by_local.find(key);
    if (slot == m->second.by_local.end()) continue;
    touched.insert(slot->second.page);
    m->second.keys_by_page[slot->second.page].erase(key);
    m->second.local_by_remote.erase(slot->second.remote_id);
    m->second.by_local.erase(slot);
  }
  for (const std::int64_t page : touched) {
    const std::set<std::string>& left = m->second.keys_by_page[page];
    if (left.empty()) {
      // The usual end of a page: every create of its write went through.
      CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("DELETE FROM intent_page WHERE id = ?"));
      st->Bind(1, page);
      CRMSYNC_RETURN_IF_ERROR(st->Run());
      m->second.keys_by_page.erase(page);
      continue;
    }
    // Some creates of the page are still in flight (failed, or not yet
    // settled): the page keeps theirs only.
    CRMSYNC_ASSIGN_OR_RETURN(auto intents, ReadIntentPage(mapping, page));
    std::string text = "[";
    for (const Intent& i : intents) {
      if (left.count(i.local_key) == 0) continue;
      if (text.size() > 1) text += ',';
      AppendIntentJson(text, i, i.created_at);
    }
    text += ']';
    CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("UPDATE intent_page SET intents = ? WHERE id = ?"));
    st->Bind(1, std::string_view(text)).Bind(2, page);
    CRMSYNC_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Result<std::optional<Intent>> SqliteStateStore::IntentByLocal(const std::string& mapping,
                                                              const std::string& local_key) {
  CRMSYNC_ASSIGN_OR_RETURN(auto found, IntentsBy(mapping, Side::kLocal, {local_key}));
  if (found.empty()) return std::optional<Intent>();
  return std::optional<Intent>(std::move(found.begin()->second));
}

Result<std::map<std::string, Intent>> SqliteStateStore::IntentsBy(const std::string& mapping, Side side,
                                                                  const std::vector<std::string>& keys) {
  std::map<std::string, Intent> out;
  if (keys.empty()) return out;
  CRMSYNC_RETURN_IF_ERROR(LoadIntentIndex());
  auto m = intent_index_->find(mapping);
  if (m == intent_index_->end()) return out;
  // The pages holding any of the keys, and which of their local keys are wanted.
  std::map<std::int64_t, std::set<std::string>> wanted;
  for (const std::string& key : keys) {
    const std::string* local_key = &key;
    if (side == Side::kRemote) {
      auto it = m->second.local_by_remote.find(key);
      if (it == m->second.local_by_remote.end()) continue;
      local_key = &it->second;
    }
    auto slot = m->second.by_local.find(*local_key);
    if (slot != m->second.by_local.end()) wanted[slot->second.page].insert(*local_key);
  }
  for (const auto& [page, local_keys] : wanted) {
    CRMSYNC_ASSIGN_OR_RETURN(auto intents, ReadIntentPage(mapping, page));
    for (Intent& i : intents) {
      if (local_keys.count(i.local_key) == 0) continue;
      std::string key = side == Side::kLocal ? i.local_key : i.remote_id;
      out.insert_or_assign(std::move(key), std::move(i));
    }
  }
  return out;
}

Result<std::optional<Intent>> SqliteStateStore::IntentByRemote(const std::string& mapping,
                                                               const std::string& remote_id) {
  CRMSYNC_ASSIGN_OR_RETURN(auto found, IntentsBy(mapping, Side::kRemote, {remote_id}));
  if (found.empty()) return std::optional<Intent>();
  return std::optional<Intent>(std::move(found.begin()->second));
}

Result<std::vector<Intent>> SqliteStateStore::Intents(const std::string& mapping) {
  CRMSYNC_RETURN_IF_ERROR(LoadIntentIndex());
  std::vector<Intent> out;
  auto m = intent_index_->find(mapping);
  if (m == intent_index_->end()) return out;
  for (const auto& [page, local_keys] : m->second.keys_by_page) {
    if (local_keys.empty()) continue;
    CRMSYNC_ASSIGN_OR_RETURN(auto intents, ReadIntentPage(mapping, page));
    for (Intent& i : intents) {
      if (local_keys.count(i.local_key) > 0) out.push_back(std::move(i));
    }
  }
  std::sort(out.begin(), out.end(), [](const Intent& a, const Intent& b) {
    return std::tie(a.created_at, a.local_key) < std::tie(b.created_at, b.local_key);
  });
  return out;
}

Status SqliteStateStore::PutIntent(const Intent& i) {
  return PutIntents({i});
}

Status SqliteStateStore::PutIntents(const std::vector<Intent>& intents) {
  if (intents.empty()) return Status::Ok();
  CRMSYNC_RETURN_IF_ERROR(LoadIntentIndex());
  const std::string now = Now();
  // A page per mapping; of a key given twice, the later intent.
  std::map<std::string, std::map<std::string, const Intent*>> by_mapping;
  for (const Intent& i : intents) by_mapping[i.mapping].insert_or_assign(i.local_key, &i);
  return Atomically([&]() -> Status {
    for (const auto& [mapping, page_intents] : by_mapping) {
      std::vector<std::string> keys;
      keys.reserve(page_intents.size());
      for (const auto& entry : page_intents) keys.push_back(entry.first);
      // An intent put again replaces the one on record, in whichever page that is.
      CRMSYNC_RETURN_IF_ERROR(RemoveIntentKeys(mapping, keys));
      std::string text = "[";
      for (const auto& [key, intent] : page_intents) {
        if (text.size() > 1) text += ',';
        AppendIntentJson(text, *intent, intent->created_at.empty() ? std::string_view(now) : intent->created_at);
      }
      text += ']';
      CRMSYNC_ASSIGN_OR_RETURN(auto* st,
                               Statement("INSERT INTO intent_page (mapping, created_at, intents) VALUES (?, ?, ?)"));
      st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(now)).Bind(3, std::string_view(text));
      CRMSYNC_RETURN_IF_ERROR(st->Run());
      const std::int64_t page = db_.LastInsertRowId();
      MappingIntentIndex& m = (*intent_index_)[mapping];
      std::set<std::string>& page_keys = m.keys_by_page[page];
      for (const auto& [key, intent] : page_intents) {
        m.by_local[key] = IntentSlot{page, intent->remote_id};
        m.local_by_remote[intent->remote_id] = key;
        page_keys.insert(key);
      }
    }
    return Status::Ok();
  });
}

Status SqliteStateStore::DeleteIntents(const std::string& mapping, const std::vector<std::string>& local_keys) {
  if (local_keys.empty()) return Status::Ok();
  CRMSYNC_RETURN_IF_ERROR(LoadIntentIndex());
  return Atomically([&]() -> Status { return RemoveIntentKeys(mapping, local_keys); });
}

Status SqliteStateStore::DeleteIntent(const std::string& mapping, const std::string& local_key) {
  return DeleteIntents(mapping, {local_key});
}

// --- updates in flight ------------------------------------------------------

Status SqliteStateStore::PutWriteIntents(const std::vector<WriteIntent>& intents) {
  if (intents.empty()) return Status::Ok();
  const std::string now = Now();
  return Atomically([&]() -> Status {
    for (const WriteIntent& w : intents) {
      CRMSYNC_ASSIGN_OR_RETURN(
          auto* st, Statement("INSERT INTO write_intent (mapping, local_key, target, local, remote, expected_version, "
                              "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mapping, local_key, target) DO "
                              "UPDATE SET local = excluded.local, remote = excluded.remote, "
                              "expected_version = excluded.expected_version"));
      st->Bind(1, std::string_view(w.mapping))
          .Bind(2, std::string_view(w.local_key))
          .Bind(3, SideText(w.target))
          .Bind(4, RecordText(w.local))
          .Bind(5, RecordText(w.remote))
          .Bind(6, std::string_view(w.expected_version))
          .Bind(7, std::string_view(now));
      CRMSYNC_RETURN_IF_ERROR(st->Run());
    }
    return Status::Ok();
  });
}

Result<std::vector<WriteIntent>> SqliteStateStore::WriteIntents(const std::string& mapping) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st,
                           Statement("SELECT local_key, target, local, remote, expected_version FROM write_intent "
                                     "WHERE mapping = ? ORDER BY local_key, target"));
  st->Bind(1, std::string_view(mapping));
  std::vector<WriteIntent> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return out;
    WriteIntent w;
    w.mapping = mapping;
    w.local_key = st->ColumnText(0);
    w.target = ParseSide(st->ColumnText(1)).value_or(Side::kRemote);
    const std::string what = "update in flight " + mapping + "/" + w.local_key;
    CRMSYNC_ASSIGN_OR_RETURN(w.local, RecordFromText(st->ColumnText(2), what));
    CRMSYNC_ASSIGN_OR_RETURN(w.remote, RecordFromText(st->ColumnText(3), what));
    w.expected_version = st->ColumnText(4);
    out.push_back(std::move(w));
  }
}

Status SqliteStateStore::PutLocalCreateIntents(const std::vector<Intent>& intents) {
  if (intents.empty()) return Status::Ok();
  const std::string now = Now();
  return Atomically([&]() -> Status {
    for (const Intent& it : intents) {
      CRMSYNC_ASSIGN_OR_RETURN(
          auto* st,
          Statement("INSERT INTO local_create_intent (mapping, remote_id, base_local, base_remote, created_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (mapping, remote_id) DO UPDATE SET "
                    "base_local = excluded.base_local, base_remote = excluded.base_remote"));
      st->Bind(1, std::string_view(it.mapping))
          .Bind(2, std::string_view(it.remote_id))
          .Bind(3, RecordText(it.base_local))
          .Bind(4, RecordText(it.base_remote))
          .Bind(5, std::string_view(now));
      CRMSYNC_RETURN_IF_ERROR(st->Run());
    }
    return Status::Ok();
  });
}

Result<std::vector<Intent>> SqliteStateStore::LocalCreateIntents(const std::string& mapping) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT remote_id, base_local, base_remote, created_at FROM "
                                               "local_create_intent WHERE mapping = ? ORDER BY remote_id"));
  st->Bind(1, std::string_view(mapping));
  std::vector<Intent> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return out;
    Intent it;
    it.mapping = mapping;
    it.remote_id = st->ColumnText(0);
    const std::string what = "local create in flight " + mapping + "/" + it.remote_id;
    CRMSYNC_ASSIGN_OR_RETURN(it.base_local, RecordFromText(st->ColumnText(1), what));
    CRMSYNC_ASSIGN_OR_RETURN(it.base_remote, RecordFromText(st->ColumnText(2), what));
    it.created_at = st->ColumnText(3);
    out.push_back(std::move(it));
  }
}

Status SqliteStateStore::DeleteLocalCreateIntents(const std::string& mapping,
                                                  const std::vector<std::string>& remote_ids) {
  if (remote_ids.empty()) return Status::Ok();
  return Atomically([&]() -> Status {
    for (const std::string& id : remote_ids) {
      CRMSYNC_ASSIGN_OR_RETURN(auto* st,
                               Statement("DELETE FROM local_create_intent WHERE mapping = ? AND remote_id = ?"));
      st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(id));
      CRMSYNC_RETURN_IF_ERROR(st->Run());
    }
    return Status::Ok();
  });
}

Status SqliteStateStore::DeleteWriteIntents(const std::string& mapping, const std::vector<std::string>& local_keys) {
  if (local_keys.empty()) return Status::Ok();
  return Atomically([&]() -> Status {
    for (const std::string& key : local_keys) {
      CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("DELETE FROM write_intent WHERE mapping = ? AND local_key = ?"));
      st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(key));
      CRMSYNC_RETURN_IF_ERROR(st->Run());
    }
    return Status::Ok();
  });
}

// --- conflicts --------------------------------------------------------------

Result<std::int64_t> SqliteStateStore::UpsertConflict(const Conflict& c) {
  CRMSYNC_ASSIGN_OR_RETURN(auto open, OpenConflict(c.mapping, c.local_key));
  if (open) {
    CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("UPDATE conflict SET remote_id = ?, fields = ?, updated_at = ? "
                                                 "WHERE id = ?"));
    st->Bind(1, std::string_view(c.remote_id)).Bind(2, FieldsText(c.fields)).Bind(3, Now()).Bind(4, open->id);
    CRMSYNC_RETURN_IF_ERROR(st->Run());
    return open->id;
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("INSERT INTO conflict (mapping, local_key, remote_id, fields, "
                                               "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"));
  const std::string now = Now();
  st->Bind(1, std::string_view(c.mapping))
      .Bind(2, std::string_view(c.local_key))
      .Bind(3, std::string_view(c.remote_id))
      .Bind(4, FieldsText(c.fields))
      .Bind(5, now)
      .Bind(6, now);
  CRMSYNC_RETURN_IF_ERROR(st->Run());
  return db_.LastInsertRowId();
}

Result<std::optional<Conflict>> SqliteStateStore::OpenConflict(const std::string& mapping,
                                                               const std::string& local_key) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT id, mapping, local_key, remote_id, fields, status, "
                                               "resolution, resolve_requested, created_at, updated_at FROM conflict "
                                               "WHERE mapping = ? AND local_key = ? AND status = 'open'"));
  st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(local_key));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<Conflict>();
  CRMSYNC_ASSIGN_OR_RETURN(Conflict c, ReadConflict(*st));
  return std::optional<Conflict>(std::move(c));
}

Result<std::optional<Conflict>> SqliteStateStore::ConflictById(std::int64_t id) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT id, mapping, local_key, remote_id, fields, status, "
                                               "resolution, resolve_requested, created_at, updated_at FROM conflict "
                                               "WHERE id = ?"));
  st->Bind(1, id);
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<Conflict>();
  CRMSYNC_ASSIGN_OR_RETURN(Conflict c, ReadConflict(*st));
  return std::optional<Conflict>(std::move(c));
}

Result<std::vector<Conflict>> SqliteStateStore::OpenConflicts(const std::string& mapping) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT id, mapping, local_key, remote_id, fields, status, "
                                               "resolution, resolve_requested, created_at, updated_at FROM conflict "
                                               "WHERE status = 'open' AND (? = '' OR mapping = ?) ORDER BY id"));
  st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(mapping));
  std::vector<Conflict> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return out;
    CRMSYNC_ASSIGN_OR_RETURN(Conflict c, ReadConflict(*st));
    out.push_back(std::move(c));
  }
}

Status SqliteStateStore::ResolveConflict(std::int64_t id, Side keep) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("UPDATE conflict SET status = 'resolved', resolution = ?, "
                                               "resolve_requested = 0, resolved_at = ?, updated_at = ? "
                                               "WHERE id = ? AND status = 'open'"));
  const std::string now = Now();
  st->Bind(1, SideText(keep)).Bind(2, now).Bind(3, now).Bind(4, id);
  CRMSYNC_RETURN_IF_ERROR(st->Run());
  if (db_.Changes() == 0) return NotFound("no open conflict with id " + std::to_string(id));
  return Status::Ok();
}

Status SqliteStateStore::RequestResolution(std::int64_t id, Side keep) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("UPDATE conflict SET resolve_requested = 1, resolution = ?, "
                                               "updated_at = ? WHERE id = ? AND status = 'open'"));
  st->Bind(1, SideText(keep)).Bind(2, Now()).Bind(3, id);
  CRMSYNC_RETURN_IF_ERROR(st->Run());
  if (db_.Changes() == 0) return NotFound("no open conflict with id " + std::to_string(id));
  return Status::Ok();
}

// --- failures ---------------------------------------------------------------

Status SqliteStateStore::RecordFailure(const Failure& f) {
  CRMSYNC_ASSIGN_OR_RETURN(
      auto* st,
      Statement("INSERT INTO failure (mapping, source, record_key, local_key, remote_id, code, remote_code, "
                "http_status, message, transient, retry_requested, attempts, first_seen, last_seen) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1, ?, ?) ON CONFLICT (mapping, source, record_key) DO UPDATE "
                "SET local_key = excluded.local_key, remote_id = excluded.remote_id, code = excluded.code, "
                "remote_code = excluded.remote_code, http_status = excluded.http_status, message = excluded.message, "
                "transient = excluded.transient, retry_requested = 0, attempts = attempts + 1, "
                "last_seen = excluded.last_seen"));
  const std::string now = Now();
  st->Bind(1, std::string_view(f.mapping))
      .Bind(2, SideText(f.source))
      .Bind(3, std::string_view(f.record_key))
      .Bind(4, std::string_view(f.local_key))
      .Bind(5, std::string_view(f.remote_id))
      .Bind(6, std::string_view(f.code))
      .Bind(7, std::string_view(f.remote_code))
      .Bind(8, f.http_status)
      .Bind(9, std::string_view(f.message))
      .Bind(10, f.transient ? 1 : 0)
      .Bind(11, now)
      .Bind(12, now);
  return st->Run();
}

Status SqliteStateStore::ClearFailure(const std::string& mapping, Side source, const std::string& record_key) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st,
                           Statement("DELETE FROM failure WHERE mapping = ? AND source = ? AND record_key = ?"));
  st->Bind(1, std::string_view(mapping)).Bind(2, SideText(source)).Bind(3, std::string_view(record_key));
  return st->Run();
}

Result<std::vector<Failure>> SqliteStateStore::Failures(const std::string& mapping) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT id, mapping, source, record_key, local_key, remote_id, code, "
                                               "remote_code, http_status, message, transient, retry_requested, "
                                               "attempts, first_seen, last_seen FROM failure "
                                               "WHERE (? = '' OR mapping = ?) ORDER BY id"));
  st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(mapping));
  std::vector<Failure> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return out;
    out.push_back(ReadFailure(*st));
  }
}

Result<std::vector<Failure>> SqliteStateStore::FailuresToRetry(const std::string& mapping) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT id, mapping, source, record_key, local_key, remote_id, code, "
                                               "remote_code, http_status, message, transient, retry_requested, "
                                               "attempts, first_seen, last_seen FROM failure "
                                               "WHERE mapping = ? AND (transient = 1 OR retry_requested = 1) "
                                               "ORDER BY id"));
  st->Bind(1, std::string_view(mapping));
  std::vector<Failure> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return out;
    out.push_back(ReadFailure(*st));
  }
}

Result<std::int64_t> SqliteStateStore::RequestRetry(std::int64_t id) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("UPDATE failure SET retry_requested = 1 WHERE (? = 0 OR id = ?)"));
  st->Bind(1, id).Bind(2, id);
  CRMSYNC_RETURN_IF_ERROR(st->Run());
  const int changed = db_.Changes();
  if (id != 0 && changed == 0) return NotFound("no failed record with id " + std::to_string(id));
  return std::int64_t{changed};
}

// --- waiting ----------------------------------------------------------------

Status SqliteStateStore::Park(const WaitingRecord& w) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("INSERT INTO waiting (mapping, source, record_key, reason, since) "
                                               "VALUES (?, ?, ?, ?, ?) ON CONFLICT (mapping, source, record_key) DO "
                                               "UPDATE SET reason = excluded.reason"));
  st->Bind(1, std::string_view(w.mapping))
      .Bind(2, SideText(w.source))
      .Bind(3, std::string_view(w.record_key))
      .Bind(4, std::string_view(w.reason))
      .Bind(5, Now());
  return st->Run();
}

Status SqliteStateStore::Unpark(const std::string& mapping, Side source, const std::string& record_key) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st,
                           Statement("DELETE FROM waiting WHERE mapping = ? AND source = ? AND record_key = ?"));
  st->Bind(1, std::string_view(mapping)).Bind(2, SideText(source)).Bind(3, std::string_view(record_key));
  return st->Run();
}

Result<std::vector<WaitingRecord>> SqliteStateStore::Waiting(const std::string& mapping) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT mapping, source, record_key, reason, since FROM waiting "
                                               "WHERE (? = '' OR mapping = ?) ORDER BY since, record_key"));
  st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(mapping));
  std::vector<WaitingRecord> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return out;
    out.push_back({st->ColumnText(0), ParseSide(st->ColumnText(1)).value_or(Side::kLocal), st->ColumnText(2),
                   st->ColumnText(3), st->ColumnText(4)});
  }
}

// --- pending deletes --------------------------------------------------------

Status SqliteStateStore::AddPendingDelete(const PendingDelete& d) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("INSERT INTO pending_delete (mapping, local_key, remote_id, target, "
                                               "expected_version, since) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                                               "(mapping, local_key) DO UPDATE SET remote_id = excluded.remote_id, "
                                               "target = excluded.target, "
                                               "expected_version = excluded.expected_version"));
  st->Bind(1, std::string_view(d.mapping))
      .Bind(2, std::string_view(d.local_key))
      .Bind(3, std::string_view(d.remote_id))
      .Bind(4, SideText(d.target))
      .Bind(5, std::string_view(d.expected_version))
      .Bind(6, Now());
  return st->Run();
}

Status SqliteStateStore::RemovePendingDelete(const std::string& mapping, const std::string& local_key) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("DELETE FROM pending_delete WHERE mapping = ? AND local_key = ?"));
  st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(local_key));
  return st->Run();
}

Result<std::vector<PendingDelete>> SqliteStateStore::PendingDeletes(const std::string& mapping) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT mapping, local_key, remote_id, target, expected_version, "
                                               "since FROM pending_delete WHERE (? = '' OR mapping = ?) "
                                               "ORDER BY since, local_key"));
  st->Bind(1, std::string_view(mapping)).Bind(2, std::string_view(mapping));
  std::vector<PendingDelete> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return out;
    out.push_back({st->ColumnText(0), st->ColumnText(1), st->ColumnText(2),
                   ParseSide(st->ColumnText(3)).value_or(Side::kRemote), st->ColumnText(4), st->ColumnText(5)});
  }
}

// --- job runs ---------------------------------------------------------------

Result<std::int64_t> SqliteStateStore::StartJob(const JobRun& run) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("INSERT INTO job_run (run_id, mapping, command, started_at) "
                                               "VALUES (?, ?, ?, ?)"));
  st->Bind(1, std::string_view(run.run_id))
      .Bind(2, std::string_view(run.mapping))
      .Bind(3, std::string_view(run.command))
      .Bind(4, run.started_at.empty() ? Now() : run.started_at);
  CRMSYNC_RETURN_IF_ERROR(st->Run());
  return db_.LastInsertRowId();
}

Status SqliteStateStore::FinishJob(const JobRun& run) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("UPDATE job_run SET finished_at = ?, outcome = ?, message = ?, "
                                               "inserted = ?, modified = ?, deleted = ?, unchanged = ?, skipped = ?, "
                                               "failed = ?, coupled = ?, uncoupled = ?, conflicts = ?, waiting = ? "
                                               "WHERE id = ?"));
  const JobCounts& c = run.counts;
  st->Bind(1, run.finished_at.empty() ? Now() : run.finished_at)
      .Bind(2, std::string_view(run.outcome))
      .Bind(3, std::string_view(run.message))
      .Bind(4, c.inserted)
      .Bind(5, c.modified)
      .Bind(6, c.deleted)
      .Bind(7, c.unchanged)
      .Bind(8, c.skipped)
      .Bind(9, c.failed)
      .Bind(10, c.coupled)
      .Bind(11, c.uncoupled)
      .Bind(12, c.conflicts)
      .Bind(13, c.waiting)
      .Bind(14, run.id);
  CRMSYNC_RETURN_IF_ERROR(st->Run());
  if (db_.Changes() == 0) return NotFound("no job run " + std::to_string(run.id));
  return Status::Ok();
}

Result<std::vector<JobRun>> SqliteStateStore::JobRuns(const std::string& since, const std::string& mapping, int limit) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT id, run_id, mapping, command, started_at, finished_at, "
                                               "outcome, message, inserted, modified, deleted, unchanged, skipped, "
                                               "failed, coupled, uncoupled, conflicts, waiting FROM job_run "
                                               "WHERE started_at >= ? AND (? = '' OR mapping = ?) "
                                               "ORDER BY id DESC LIMIT ?"));
  st->Bind(1, std::string_view(since)).Bind(2, std::string_view(mapping)).Bind(3, std::string_view(mapping));
  st->Bind(4, limit);
  std::vector<JobRun> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return out;
    out.push_back(ReadJob(*st));
  }
}

Result<std::optional<JobRun>> SqliteStateStore::LastSuccess(const std::string& mapping) {
  CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("SELECT id, run_id, mapping, command, started_at, finished_at, "
                                               "outcome, message, inserted, modified, deleted, unchanged, skipped, "
                                               "failed, coupled, uncoupled, conflicts, waiting FROM job_run "
                                               "WHERE mapping = ? AND outcome = 'ok' ORDER BY id DESC LIMIT 1"));
  st->Bind(1, std::string_view(mapping));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<JobRun>();
  return std::optional<JobRun>(ReadJob(*st));
}

// --- audit ------------------------------------------------------------------

Result<std::int64_t> SqliteStateStore::AppendAudit(AuditEntry e) {
  std::vector<AuditEntry> one;
  one.push_back(std::move(e));
  CRMSYNC_RETURN_IF_ERROR(AppendAudits(std::move(one)));
  CRMSYNC_ASSIGN_OR_RETURN(auto* head, Statement("SELECT seq FROM audit_head WHERE id = 1"));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, head->Step());
  if (!row) return Status(StatusCode::kCorrupt, "the audit log's head row is missing");
  const std::int64_t seq = head->ColumnInt(0);
  CRMSYNC_RETURN_IF_ERROR(head->Run());
  return seq;
}

Status SqliteStateStore::AppendAudits(std::vector<AuditEntry> entries) {
  if (entries.empty()) return Status::Ok();
  // Rows and head move together: in the caller's transaction, or in one of our own.
  std::optional<StateTransaction> own;
  if (!in_transaction_) {
    CRMSYNC_ASSIGN_OR_RETURN(StateTransaction tx, Begin());
    own.emplace(std::move(tx));
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto* head, Statement("SELECT seq, hash FROM audit_head WHERE id = 1"));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, head->Step());
  if (!row) return Status(StatusCode::kCorrupt, "the audit log's head row is missing");
  std::int64_t seq = head->ColumnInt(0);
  std::string prev = head->ColumnText(1);
  CRMSYNC_RETURN_IF_ERROR(head->Run());
  const std::string now = Now();
  for (AuditEntry& e : entries) {
    e.seq = ++seq;
    e.prev_hash = std::move(prev);
    if (e.at.empty()) e.at = now;
    e.hash = AuditRowHash(e);
    CRMSYNC_ASSIGN_OR_RETURN(auto* st, Statement("INSERT INTO audit_log (seq, at, run_id, mapping, mapping_version, "
                                                 "action, side, local_key, remote_id, fields, outcome, prev_hash, "
                                                 "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    st->Bind(1, e.seq)
        .Bind(2, std::string_view(e.at))
        .Bind(3, std::string_view(e.run_id))
        .Bind(4, std::string_view(e.mapping))
        .Bind(5, std::string_view(e.mapping_version))
        .Bind(6, std::string_view(e.action))
        .Bind(7, std::string_view(e.side))
        .Bind(8, std::string_view(e.local_key))
        .Bind(9, std::string_view(e.remote_id))
        .Bind(10, std::string_view(e.fields))
        .Bind(11, std::string_view(e.outcome))
        .Bind(12, std::string_view(e.prev_hash))
        .Bind(13, std::string_view(e.hash));
    CRMSYNC_RETURN_IF_ERROR(st->Run());
    prev = e.hash;
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto* move, Statement("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"));
  move->Bind(1, seq).Bind(2, std::string_view(prev));
  CRMSYNC_RETURN_IF_ERROR(move->Run());
  return own ? own->Commit() : Status::Ok();
}

Status SqliteStateStore::ForEachAudit(const AuditQuery& query, const std::function<bool(const AuditEntry&)>& sink) {
  // Its own statement: the sink may call back into the store.
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT seq, at, run_id, mapping, mapping_version, action, side, "
                                                "local_key, remote_id, fields, outcome, prev_hash, hash FROM audit_log "
                                                "WHERE at >= ? AND (? = '' OR at < ?) AND (? = '' OR mapping = ?) "
                                                "ORDER BY seq"));
  st.Bind(1, std::string_view(query.since))
      .Bind(2, std::string_view(query.until))
      .Bind(3, std::string_view(query.until))
      .Bind(4, std::string_view(query.mapping))
      .Bind(5, std::string_view(query.mapping));
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::Ok();
    if (!sink(ReadAudit(st))) return Status::Ok();
  }
}

Result<AuditVerification> SqliteStateStore::VerifyAudit() {
  AuditVerification v;
  // One read transaction: appends by another process do not tear the walk.
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db_, SqliteTransaction::Mode::kDeferred));
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT seq, at, run_id, mapping, mapping_version, action, side, "
                                                "local_key, remote_id, fields, outcome, prev_hash, hash FROM audit_log "
                                                "ORDER BY seq"));
  std::string prev(kAuditGenesisHash);
  std::int64_t expected_seq = 1;
  const auto bad = [&](std::int64_t seq, std::string problem) {
    v.ok = false;
    v.first_bad_seq = seq;
    v.problem = std::move(problem);
    return v;
  };
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    const AuditEntry e = ReadAudit(st);
    ++v.rows;
    if (e.seq != expected_seq) {
      return bad(expected_seq, e.seq > expected_seq ? "row " + std::to_string(expected_seq) +
                                                          " is missing (the next row is " + std::to_string(e.seq) + ")"
                                                    : "row " + std::to_string(e.seq) + " is out of sequence");
    }
    if (e.prev_hash != prev) {
      return bad(e.seq, "row " + std::to_string(e.seq) + " does not link to the row before it (prev_hash differs)");
    }
    if (AuditRowHash(e) != e.hash) {
      return bad(e.seq, "row " + std::to_string(e.seq) + " was altered (its content does not match its hash)");
    }
    prev = e.hash;
    ++expected_seq;
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto head, db_.Prepare("SELECT seq, hash FROM audit_head WHERE id = 1"));
  CRMSYNC_ASSIGN_OR_RETURN(bool has_head, head.Step());
  if (!has_head) return bad(expected_seq, "the audit log's head row is missing");
  const std::int64_t head_seq = head.ColumnInt(0);
  if (head_seq != expected_seq - 1 || head.ColumnText(1) != prev) {
    return bad(expected_seq - 1 < head_seq ? expected_seq : head_seq,
               "the log ends at row " + std::to_string(expected_seq - 1) + " but its head records row " +
                   std::to_string(head_seq) + ": rows were removed from the end or the head was altered");
  }
  return v;
}

}  // namespace crmsync::state
