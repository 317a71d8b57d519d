#include "sync/mapping_pass.h"

#include <algorithm>
#include <cctype>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/guid.h"
#include "common/time_format.h"
#include "common/value_json.h"
#include "mapping/canonical.h"
#include "state/audit_chain.h"
#include "sync/pass_outcomes.h"

namespace crmsync::sync {

namespace {

using connectors::LookupRequest;
using connectors::ReadRequest;
using connectors::WriteOp;
using connectors::WriteResult;
using mapping::Canonical;
using mapping::CanonicalEqual;
using mapping::FieldMapping;
using mapping::MappedRecord;
using state::Coupling;
using state::CursorState;

constexpr int kMaxRounds = 3;
constexpr int kFirstPageSize = 200;  // records in the first page of a read (doubling up to page_size)

const Value& Get(const Record& r, const std::string& name) {
  static const Value* const kNull = new Value();
  const auto it = r.find(name);
  return it == r.end() ? *kNull : it->second;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// match_on compares as Dataverse does: text case-insensitively.
bool MatchEqual(const Value& a, const Value& b) {
  const Value ca = Canonical(a);
  const Value cb = Canonical(b);
  if (ca.is_null() || cb.is_null()) return false;
  if (ca.kind() == Value::Kind::kText && cb.kind() == Value::Kind::kText)
    return Lower(ca.as_text()) == Lower(cb.as_text());
  return ca == cb;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The fields of a mapping a create writes: every field whose direction carries that way.
std::vector<const FieldMapping*> AllFields(const mapping::Mapping& m) {
  std::vector<const FieldMapping*> out;
  for (const auto& f : m.fields) out.push_back(&f);
  return out;
}

// The keys of `items` on `side` (a page's lookups).
template <typename ItemPtr>
std::vector<std::string> KeysOf(const std::vector<ItemPtr>& items, state::Side side) {
  std::vector<std::string> keys;
  keys.reserve(items.size());
  for (const auto* item : items) keys.push_back(side == state::Side::kLocal ? item->local_key : item->remote_id);
  return keys;
}

bool IsFailedIssue(mapping::FieldIssue::Kind k) {
  return k == mapping::FieldIssue::Kind::kTooLong || k == mapping::FieldIssue::Kind::kUnmappedValue ||
         k == mapping::FieldIssue::Kind::kBadValue;
}

}  // namespace

MappingPass::MappingPass(Engine& engine, const mapping::Mapping& mapping, std::string run_id,
                         StateCouplingResolver& resolver)
    : engine_(engine), m_(mapping), run_id_(std::move(run_id)), resolver_(resolver) {
  report_.mapping = m_.name;
  local_columns_ = m_.LocalReadColumns();
  remote_columns_ = m_.RemoteSelectColumns();
  // Key columns stay in the local base: a composite key's parts are mapped fields (order_no, line_no).
  local_base_ = local_columns_;
  for (const auto& c : remote_columns_) {
    if (c != m_.remote.key) remote_base_.push_back(c);
  }
  local_base_in_order_ = local_base_;
  std::sort(local_base_in_order_.begin(), local_base_in_order_.end());
  remote_base_in_order_ = remote_base_;
  std::sort(remote_base_in_order_.begin(), remote_base_in_order_.end());
}

void MappingPass::FindParts() {
  if (!mapping::IncludesToRemote(m_.direction)) return;
  for (const auto& other : engine_.mappings_.mappings()) {
    if (other.name == m_.name || !mapping::IncludesToRemote(other.direction)) continue;
    for (const auto& f : other.fields) {
      if (!f.is_lookup() || f.lookup.size() != 1 || f.lookup[0].mapping != m_.name || !f.ToRemote()) continue;
      if (!Contains(other.local.key, f.local) || other.local.key.size() < 2) continue;
      Part part;
      part.pass = std::make_unique<MappingPass>(engine_, other, run_id_, resolver_);
      part.parent_column = f.local;
      parts_.push_back(std::move(part));
      break;
    }
  }
}

Deadline MappingPass::CallDeadline() const {
  return Deadline::After(engine_.clock_, engine_.options_.call_timeout);
}

std::string MappingPass::Now() const {
  return FormatUtc(engine_.clock_.Now(), true);
}

Record MappingPass::CanonicalLocal(const Record& row) const {
  return mapping::CanonicalRecord(row, local_base_in_order_);
}

Record MappingPass::CanonicalRemote(const Record& record) const {
  return mapping::CanonicalRecord(record, remote_base_in_order_);
}

bool MappingPass::IsSensitive(Side side, const std::string& name) const {
  return side == Side::kLocal ? Contains(m_.SensitiveLocalColumns(), name)
                              : Contains(m_.SensitiveRemoteAttributes(), name);
}

void MappingPass::Audit(const std::string& action, Side side, const std::string& local_key,
                        const std::string& remote_id, const std::vector<FieldChange>& fields,
                        const std::string& outcome, const std::string& note) {
  // {"field": {"new": ..., "old": ...}, ..., "@note": "..."}: members in name order, as a json object writes them.
  std::vector<FieldChange> shown;
  shown.reserve(fields.size());
  for (const auto& f : fields) {
    FieldChange c = f;
    if (IsSensitive(side, f.name)) {
      // Hashed, so an auditor sees that it changed, never what it is (R9).
      c.old_value =
          f.old_value.is_null() ? Value() : Value::Text(state::SensitiveDigest(f.old_value.ToDisplayString()));
      c.new_value =
          f.new_value.is_null() ? Value() : Value::Text(state::SensitiveDigest(f.new_value.ToDisplayString()));
    }
    shown.push_back(std::move(c));
  }
  std::vector<std::pair<std::string_view, const FieldChange*>> ordered;
  ordered.reserve(shown.size() + 1);
  for (const auto& c : shown) ordered.emplace_back(c.name, &c);
  if (!note.empty()) ordered.emplace_back("@note", nullptr);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string changes = "{";
  for (const auto& [name, c] : ordered) {
    if (changes.size() > 1) changes += ',';
    AppendJsonString(changes, name);
    changes += ':';
    if (c == nullptr) {
      AppendJsonString(changes, note);
      continue;
    }
    changes += "{\"new\":";
    AppendJsonValue(changes, c->new_value);
    changes += ",\"old\":";
    AppendJsonValue(changes, c->old_value);
    changes += '}';
  }
  changes += '}';
  state::AuditEntry e;
  e.run_id = run_id_;
  e.mapping = m_.name;
  e.mapping_version = m_.version;
  e.action = action;
  e.side = std::string(state::SideName(side));
  e.local_key = local_key;
  e.remote_id = remote_id;
  e.fields = std::move(changes);
  e.outcome = outcome;
  effects_.audit.push_back(std::move(e));
  if (engine_.options_.dry_run && outcome == "ok") {
    report_.plan.push_back({m_.name, action, side, local_key, remote_id, std::move(shown), note});
  }
}

void MappingPass::Fail(Item& item, const Status& status, Side written) {
  item.failed = true;
  item.done = true;
  state::Failure f;
  f.mapping = m_.name;
  f.source = item.source;
  f.record_key = item.source == Side::kLocal ? item.local_key : item.remote_id;
  f.local_key = item.local_key;
  f.remote_id = item.remote_id;
  f.code = std::string(StatusCodeName(status.code()));
  f.remote_code = status.remote_code();
  f.http_status = status.http_status();
  f.message = status.message();
  // Conflicts and ops aborted with their group are retried by the next pass on their own.
  f.transient =
      LeavesTheCursor(status) || status.code() == StatusCode::kConflict || status.code() == StatusCode::kAborted;
  if (LeavesTheCursor(status)) {
    incomplete_ = true;
    if (stop_cause_.ok()) stop_cause_ = status;
  }
  effects_.failures.push_back(f);
  ++report_.counts.failed;
  if (!f.transient) {
    Audit("quarantine", written, item.local_key, item.remote_id, {}, f.code, status.message());
    spdlog::warn("{}: {} {} failed: {}", m_.name, state::SideName(item.source), f.record_key, status.ToString());
  } else {
    spdlog::info("{}: {} {} will be retried: {}", m_.name, state::SideName(item.source), f.record_key,
                 status.ToString());
  }
}

void MappingPass::Park(Item& item, const MappedRecord& mapped) {
  item.waiting = true;
  item.done = true;
  std::string reason;
  for (const auto& i : mapped.issues) {
    if (i.kind == mapping::FieldIssue::Kind::kWaitingForParent) reason = i.field + ": " + i.message;
  }
  const std::string key = item.source == Side::kLocal ? item.local_key : item.remote_id;
  effects_.park.push_back({m_.name, item.source, key, reason, ""});
  if (parked_now_.emplace(item.source == Side::kLocal ? 0 : 1, key).second) ++report_.counts.waiting;
}

bool MappingPass::FieldIssuesBlock(const MappedRecord& mapped, const std::vector<const FieldMapping*>& fields,
                                   Item& item) {
  for (const auto& issue : mapped.issues) {
    const bool concerns =
        std::any_of(fields.begin(), fields.end(), [&](const FieldMapping* f) { return f->Name() == issue.field; });
    if (!concerns) continue;
    if (IsFailedIssue(issue.kind)) {
      Fail(item, InvalidArgument(issue.field + ": " + issue.message),
           item.source == Side::kLocal ? Side::kRemote : Side::kLocal);
      return true;
    }
  }
  for (const auto& issue : mapped.issues) {
    const bool concerns =
        std::any_of(fields.begin(), fields.end(), [&](const FieldMapping* f) { return f->Name() == issue.field; });
    if (concerns && issue.kind == mapping::FieldIssue::Kind::kWaitingForParent) {
      Park(item, mapped);
      return true;
    }
  }
  return false;
}

Result<std::map<std::string, connectors::Change>> MappingPass::LookupByKeys(Side side,
                                                                            const std::vector<std::string>& keys) {
  std::map<std::string, Change> out;
  connectors::Connector& c = side == Side::kLocal ? engine_.local_ : engine_.remote_;
  for (std::size_t start = 0; start < keys.size(); start += kLookupChunk) {
    LookupRequest r;
    r.entity = side == Side::kLocal ? m_.local.table : m_.remote.entity_set;
    r.key = side == Side::kLocal ? "" : m_.remote.key;
    r.columns = side == Side::kLocal ? local_columns_ : remote_columns_;
    for (std::size_t i = start; i < keys.size() && i < start + kLookupChunk; ++i)
      r.values.push_back(Value::Text(keys[i]));
    r.max_records = kLookupChunk;
    CRMSYNC_ASSIGN_OR_RETURN(auto found, LookupAll(c, std::move(r)));
    for (auto& change : found) {
      if (change.kind == Change::Kind::kUpsert) out[change.key] = std::move(change);
    }
  }
  return out;
}

Coupling MappingPass::EmptyCoupling(const Item& item) const {
  Coupling c;
  c.mapping = m_.name;
  c.local_key = item.local_key;
  c.remote_id = item.remote_id;
  return c;
}

void MappingPass::CoupleItem(Item& item, Coupling coupling, const std::string& how, Side side,
                             const std::string& note) {
  item.before = coupling;
  item.coupling = std::move(coupling);
  item.coupled_by = how;
  item.dirty = true;
  Audit("couple", side, item.local_key, item.remote_id, {}, "ok", note);
  ++report_.counts.coupled;
}

Result<std::vector<connectors::Change>> MappingPass::LookupAll(connectors::Connector& connector,
                                                               LookupRequest request) {
  std::vector<Change> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(auto batch, connector.Lookup(request, CallDeadline()));
    for (auto& c : batch.changes) out.push_back(std::move(c));
    if (!batch.more) return out;
    request.cursor = batch.next_cursor;
  }
}

// ---------------------------------------------------------------------------
// The pass.

MappingReport MappingPass::Run() {
  FindParts();
  const auto finish = [&](Status status) {
    report_.status = std::move(status);
    return report_;
  };
  {
    auto listed = engine_.store_.Failures(m_.name);
    if (!listed.ok()) return finish(listed.status());
    for (const auto& f : *listed) listed_failures_.emplace(f.source, f.record_key);
  }
  const bool to_remote = mapping::IncludesToRemote(m_.direction);
  const bool from_remote = mapping::IncludesFromRemote(m_.direction);
  if (Status s = RecoverIntents(); !s.ok()) return finish(s);
  if (Status s = RecoverWriteIntents(); !s.ok()) return finish(s);
  if (Status s = RecoverLocalCreates(); !s.ok()) return finish(s);
  if (Status s = RetryParked(); !s.ok()) return finish(s);
  // Dataverse first: after its full read every Dataverse record of the
  // mapping is coupled or created locally, so local creates need no lookup.
  if (from_remote) {
    if (Status s = ReadSide(Side::kRemote); !s.ok()) return finish(s);
  }
  // The local side: its changes flow to Dataverse; a from_remote mapping
  // still reads it for deletes (on_delete applies to both sides).
  if (Status s = ReadSide(Side::kLocal); !s.ok()) return finish(s);
  (void)to_remote;
  // Children parked earlier in this pass whose parents are now coupled.
  if (Status s = RetryParked(); !s.ok()) return finish(s);
  return finish(ApplyPendingDeletes());
}

Record MappingPass::CreatedBase(const state::Intent& intent, const Record& found) const {
  // The Dataverse base of a create found again after a crash is what the
  // create wrote, not what Dataverse holds now: an edit made in Dataverse
  // since then must show as a change (R1). Attributes Dataverse computes
  // come from the record as found; a mapped attribute the create left unset
  // was null. (An intent of an older state store carries no values.)
  Record base = CanonicalRemote(found);
  if (intent.base_remote.empty()) return base;
  for (const auto& f : m_.fields) {
    if (!f.ToRemote()) continue;
    for (const auto& a : f.RemoteReadAttributes()) base[a] = Get(intent.base_remote, a);
  }
  return base;
}

bool MappingPass::WentThrough(const state::WriteIntent& w, const Change& target) {
  // The target holds exactly what the update wrote: it went through. Or the
  // target moved past the version the update expected: written since, and
  // an update with that expectation either went through first or was
  // refused for a write that was newer; either way what the target holds
  // now is newer than the bases, and taking the update's values as bases
  // lets it show as a change instead of a conflict with crmsync's own
  // write (found by the crash-safety model: an edit made after a write
  // whose answer was lost was overwritten by the next pass).
  const Record& written = w.target == Side::kLocal ? w.local : w.remote;
  const bool holds = std::all_of(written.begin(), written.end(), [&](const auto& kv) {
    return CanonicalEqual(Get(target.record, kv.first), kv.second);
  });
  return holds || (!w.expected_version.empty() && target.version != w.expected_version);
}

Status MappingPass::SettleWriteIntents(Item& item) {
  // Updates a pass made after coupling this create, before a crash lost the
  // coupling: the ones that went through are in the bases already, so they
  // are not taken for edits on the other side. Like RecoverWriteIntents, for
  // a record that had no coupling to settle them on.
  if (!write_intents_loaded_) {
    CRMSYNC_ASSIGN_OR_RETURN(write_intents_, engine_.store_.WriteIntents(m_.name));
    write_intents_loaded_ = true;
  }
  for (const auto& w : write_intents_) {
    if (w.local_key != item.local_key) continue;
    const bool local = w.target == Side::kLocal;
    const Change* now = local ? (item.local ? &*item.local : nullptr) : (item.remote ? &*item.remote : nullptr);
    if (now == nullptr) continue;
    if (!WentThrough(w, *now)) continue;
    for (const auto& [k, v] : w.local) item.coupling->base_local[k] = v;
    for (const auto& [k, v] : w.remote) item.coupling->base_remote[k] = v;
    item.before = *item.coupling;
  }
  return Status::Ok();
}

Status MappingPass::RecoverIntents() {
  if (engine_.options_.dry_run) return Status::Ok();
  CRMSYNC_ASSIGN_OR_RETURN(auto intents, engine_.store_.Intents(m_.name));
  if (intents.empty()) return Status::Ok();
  recovered_ = true;
  std::vector<std::string> ids;
  ids.reserve(intents.size());
  for (const auto& i : intents) ids.push_back(i.remote_id);
  CRMSYNC_ASSIGN_OR_RETURN(auto found, LookupByKeys(Side::kRemote, ids));
  std::vector<Item> items;
  std::vector<std::string> local_keys;
  for (const auto& intent : intents) {
    auto it = found.find(intent.remote_id);
    if (it == found.end()) continue;  // never reached Dataverse: the create reuses this GUID
    Item item;
    item.source = Side::kLocal;
    item.local_key = intent.local_key;
    item.remote_id = intent.remote_id;
    item.remote = it->second;
    Coupling c;
    c.mapping = m_.name;
    c.local_key = intent.local_key;
    c.remote_id = intent.remote_id;
    c.base_local = intent.base_local;
    c.base_remote = CreatedBase(intent, it->second.record);
    c.remote_version = it->second.version;
    item.before = c;
    item.coupling = c;
    item.coupled_by = "intent";
    item.dirty = true;
    effects_.intents_done.push_back(intent.local_key);
    Audit("couple", Side::kRemote, intent.local_key, intent.remote_id, {}, "ok",
          "create of an interrupted pass found in Dataverse by its id");
    ++report_.counts.coupled;
    local_keys.push_back(intent.local_key);
    items.push_back(std::move(item));
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto rows, LookupByKeys(Side::kLocal, local_keys));
  for (auto& item : items) {
    auto row = rows.find(item.local_key);
    if (row == rows.end()) {
      item.done = true;  // deleted locally since: the journal brings the delete
      continue;
    }
    item.local = row->second;
    CRMSYNC_RETURN_IF_ERROR(SettleWriteIntents(item));
  }
  CRMSYNC_RETURN_IF_ERROR(DecideAndWrite(items, 0));
  for (auto& item : items) FinishItem(item, 0);
  return Commit(std::nullopt, Side::kLocal);
}

Status MappingPass::RetryParked() {
  std::vector<std::string> keys[2];
  std::set<std::string> seen[2];
  if (!engine_.options_.dry_run || true) {
    CRMSYNC_ASSIGN_OR_RETURN(auto failures, engine_.store_.FailuresToRetry(m_.name));
    for (const auto& f : failures) {
      const int s = f.source == Side::kLocal ? 0 : 1;
      if (seen[s].insert(f.record_key).second) keys[s].push_back(f.record_key);
      effects_.clear_failures.emplace_back(f.source, f.record_key);
    }
    CRMSYNC_ASSIGN_OR_RETURN(auto waiting, engine_.store_.Waiting(m_.name));
    for (const auto& w : waiting) {
      const int s = w.source == Side::kLocal ? 0 : 1;
      if (seen[s].insert(w.record_key).second) keys[s].push_back(w.record_key);
      effects_.unpark.emplace_back(w.source, w.record_key);
    }
  }
  for (Side side : {Side::kRemote, Side::kLocal}) {
    const auto& wanted = keys[side == Side::kLocal ? 0 : 1];
    if (wanted.empty()) continue;
    recovered_ = true;
    CRMSYNC_ASSIGN_OR_RETURN(auto found, LookupByKeys(side, wanted));
    std::vector<Change> changes;
    for (const auto& key : wanted) {
      auto it = found.find(key);
      if (it != found.end()) {
        changes.push_back(it->second);
      } else {
        Change gone;
        gone.kind = Change::Kind::kDelete;
        gone.key = key;
        changes.push_back(std::move(gone));
      }
    }
    CRMSYNC_RETURN_IF_ERROR(ProcessPage(side, std::move(changes), std::nullopt, 0));
  }
  CRMSYNC_RETURN_IF_ERROR(FinishInFlight().status());
  if (!effects_.clear_failures.empty() || !effects_.unpark.empty())
    CRMSYNC_RETURN_IF_ERROR(Commit(std::nullopt, Side::kLocal));
  return Status::Ok();
}

Status MappingPass::ReadSide(Side side) {
  bool was_full = false;
  CRMSYNC_RETURN_IF_ERROR(ReadSideFrom(side, /*resume=*/false, was_full));
  // A full read's cursor is where the journal (or the delta link) stood when
  // it began. One that began in an earlier, interrupted pass ran for a while
  // in between, so what changed meanwhile is read now rather than a pass
  // later.
  if (was_full && !engine_.options_.dry_run) {
    bool again = false;
    CRMSYNC_RETURN_IF_ERROR(ReadSideFrom(side, /*resume=*/true, again));
  }
  return Status::Ok();
}

Status MappingPass::ReadSideFrom(Side side, bool resume, bool& was_full) {
  state::StateStore& store = engine_.store_;
  connectors::Connector& connector = side == Side::kLocal ? engine_.local_ : engine_.remote_;
  CRMSYNC_ASSIGN_OR_RETURN(CursorState cs, store.Cursor(m_.name, side));
  if (engine_.options_.full && !resume) cs = CursorState{};
  const bool resuming_full_read = !cs.cursor.empty() && cs.full_epoch != 0;
  if (side == Side::kRemote && !cs.cursor.empty() && cs.mapping_version != m_.version) {
    // The delta link asks for the columns of the mapping as it was: read
    // everything with the new columns and reconcile by key (nothing is
    // created twice; new fields fill in).
    spdlog::info("{}: the mapping changed since its Dataverse cursor was made; reading Dataverse in full", m_.name);
    cs = CursorState{};
  }
  const auto new_epoch = [&]() -> Result<std::int64_t> {
    if (engine_.options_.dry_run) return std::int64_t{1} << 60;  // nothing is marked: seen keys are kept in memory
    return store.NextEpoch();
  };
  if (cs.cursor.empty() && cs.full_epoch == 0) {
    CRMSYNC_ASSIGN_OR_RETURN(cs.full_epoch, new_epoch());
  }
  std::int64_t& epoch_ref = side == Side::kLocal ? local_epoch_ : remote_epoch_;
  std::int64_t& read = side == Side::kLocal ? report_.read_local : report_.read_remote;
  // The pass stops with its first transient failure's code (busy, throttled,
  // timeout, ...) and Dataverse's code and HTTP status: they tell a locked
  // local store from an unreachable Dataverse (the exit code) and say why.
  const auto stopped_early = [&] {
    const std::string what =
        m_.name + ": stopped after a transient failure; the next pass resumes from the last page committed";
    return stop_cause_.ok() ? Status(StatusCode::kUnavailable, what) : stop_cause_.WithContext(what);
  };
  // The first local pages are smaller: the first write goes out after a
  // short decision, and each page is decided while the one before, half its
  // size, is being written (ProcessPage). Dataverse pages keep one size: a
  // nextLink continues the read it was made by, and nothing says it still
  // holds when the next request asks for another page size.
  int page_size =
      side == Side::kLocal ? std::min(engine_.options_.page_size, kFirstPageSize) : engine_.options_.page_size;
  const auto read_pages = [&]() -> Status {
    for (;;) {
      if (engine_.stop_.stop_requested()) return Status(StatusCode::kCancelled, "stopping");
      epoch_ref = cs.full_epoch;
      ReadRequest r;
      r.entity = side == Side::kLocal ? m_.local.table : m_.remote.entity_set;
      r.key = side == Side::kLocal ? "" : m_.remote.key;
      r.columns = side == Side::kLocal ? local_columns_ : remote_columns_;
      r.filter = side == Side::kLocal ? "" : m_.remote.filter;
      if (side == Side::kLocal) r.local_filter = m_.local.filter;
      r.cursor = cs.cursor;
      r.max_changes = page_size;
      // The first Dataverse page may have been read while the mappings
      // before this one ran (read_ahead.h); not after a recovery, whose
      // couplings the page's records would be compared with.
      std::optional<connectors::ChangeBatch> ahead;
      if (side == Side::kRemote) {
        ahead = engine_.TakeReadAhead(m_.name, r);
        if (recovered_) ahead.reset();
      }
      auto batch =
          ahead ? Result<connectors::ChangeBatch>(std::move(*ahead)) : connector.ReadChanges(r, CallDeadline());
      if (!batch.ok()) {
        if (batch.status().code() == StatusCode::kCursorExpired && !cs.cursor.empty()) {
          // R8: read everything again and reconcile by key; never re-create.
          spdlog::warn("{}: the {} cursor is no longer accepted ({}); reconciling by key", m_.name,
                       state::SideName(side), batch.status().message());
          cs = CursorState{};
          CRMSYNC_ASSIGN_OR_RETURN(cs.full_epoch, new_epoch());
          cs.mapping_version = m_.version;
          if (!engine_.options_.dry_run) CRMSYNC_RETURN_IF_ERROR(store.SetCursor(m_.name, side, cs));
          continue;
        }
        return batch.status().WithContext("reading " + std::string(state::SideName(side)) + " changes of " + m_.name);
      }
      read += static_cast<std::int64_t>(batch->changes.size());
      CursorState next;
      next.cursor = batch->next_cursor;
      next.full_epoch = cs.full_epoch;
      next.mapping_version = m_.version;
      CRMSYNC_RETURN_IF_ERROR(ProcessPage(side, std::move(batch->changes), next, cs.full_epoch));
      if (incomplete_) return stopped_early();
      cs.cursor = next.cursor;
      page_size = std::min(engine_.options_.page_size, page_size * 2);
      if (engine_.progress_ != nullptr) {
        engine_.progress_->OnProgress(m_.name, side, read,
                                      report_.counts.inserted + report_.counts.modified + report_.counts.deleted);
      }
      if (!batch->more) return Status::Ok();
    }
  };
  // The last page's write may still be in flight, also when the read stopped early: it is committed first.
  Status pages = read_pages();
  Result<bool> last = FinishInFlight();
  CRMSYNC_RETURN_IF_ERROR(pages);
  CRMSYNC_RETURN_IF_ERROR(last.status());
  if (*last) return stopped_early();
  if (cs.full_epoch != 0) {
    // A full read: couplings it did not see were deleted on this side.
    std::string after;
    for (;;) {
      std::vector<Coupling> unseen;
      if (engine_.options_.dry_run) {
        CRMSYNC_ASSIGN_OR_RETURN(auto all, store.ListCouplings(m_.name, after, 500));
        for (auto& c : all) {
          const bool was_seen =
              dry_seen_[side == Side::kLocal ? 0 : 1].count(side == Side::kLocal ? c.local_key : c.remote_id) > 0;
          if (!was_seen) unseen.push_back(c);
        }
        if (all.empty()) break;
        after = all.back().local_key;
      } else {
        CRMSYNC_ASSIGN_OR_RETURN(unseen, store.UnseenCouplings(m_.name, side, cs.full_epoch, after, 500));
        if (unseen.empty()) break;
        after = unseen.back().local_key;
      }
      // Only a record that is gone was deleted. A full read that spans
      // pages, or passes, need not show a record changed while it ran (it
      // comes with the next delta instead), and a server's paging is not
      // documented to show every record exactly once: each unseen record is
      // looked up by key first, and one still there is read as a change.
      std::vector<std::string> keys;
      keys.reserve(unseen.size());
      for (const auto& c : unseen) keys.push_back(side == Side::kLocal ? c.local_key : c.remote_id);
      CRMSYNC_ASSIGN_OR_RETURN(auto still_there, LookupByKeys(side, keys));
      std::vector<Change> missed;
      for (const auto& c : unseen) {
        auto found = still_there.find(side == Side::kLocal ? c.local_key : c.remote_id);
        if (found == still_there.end()) {
          CRMSYNC_RETURN_IF_ERROR(DeleteSeen(side, c));
        } else {
          missed.push_back(std::move(found->second));
        }
      }
      if (!missed.empty()) {
        CRMSYNC_RETURN_IF_ERROR(ProcessPage(side, std::move(missed), std::nullopt, cs.full_epoch));
        CRMSYNC_RETURN_IF_ERROR(FinishInFlight().status());
        if (incomplete_) return stopped_early();
      }
    }
    cs.full_epoch = 0;
    cs.mapping_version = m_.version;
    CRMSYNC_RETURN_IF_ERROR(Commit(cs, side));
    if (side == Side::kRemote) remote_fully_read_ = true;
    was_full = resuming_full_read;
  }
  epoch_ref = 0;
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// One page.

// A page of local changes whose first round writes to Dataverse is sent on
// a thread of its own, and the next page is read, decided and its intents
// recorded meanwhile; the next page's write goes out at once, its requests
// queueing for the budget's slots behind the page in flight (so no slot
// idles between pages), and the page before is committed while it is in
// flight. So neither side waits for the other, and pages still commit in
// order, each after its own writes (R1). At most two pages write at once,
// and a page is overlapped only when it has none of the records of the
// page in flight: a decision never reads what a write in flight may change.
Status MappingPass::ProcessPage(Side source, std::vector<Change> changes, std::optional<CursorState> cursor_after,
                                std::int64_t epoch) {
  if (in_flight_) {
    const bool shared =
        std::any_of(changes.begin(), changes.end(), [&](const Change& c) { return in_flight_->keys.count(c.key) > 0; });
    if (shared || source != in_flight_->source) {
      CRMSYNC_ASSIGN_OR_RETURN(bool stopped, FinishInFlight());
      if (stopped) {
        incomplete_ = true;
        return Status::Ok();
      }
    }
  }
  auto page = std::make_unique<Page>();
  page->source = source;
  page->cursor_after = std::move(cursor_after);
  page->epoch = epoch;
  incomplete_ = false;
  std::vector<Item>& items = page->items;
  items.reserve(changes.size());
  for (auto& c : changes) {
    page->keys.insert(c.key);
    if (c.kind == Change::Kind::kDelete) {
      CRMSYNC_RETURN_IF_ERROR(HandleDeleted(source, c.key));
      continue;
    }
    Item item;
    item.source = source;
    if (source == Side::kRemote) {
      item.remote_id = c.key;
      item.remote = std::move(c);
    } else {
      item.local_key = c.key;
      item.local = std::move(c);
    }
    items.push_back(std::move(item));
  }
  if (source == Side::kRemote) {
    CRMSYNC_RETURN_IF_ERROR(PrepareRemoteSourced(items, epoch));
  } else {
    CRMSYNC_RETURN_IF_ERROR(PrepareLocalSourced(items, epoch));
  }
  CRMSYNC_ASSIGN_OR_RETURN(bool any, BeginRound(items, page->round));
  const bool overlap =
      any && !page->round.remote_batch.empty() && source == Side::kLocal && !engine_.options_.dry_run && parts_.empty();
  if (!overlap) {
    if (in_flight_) {
      CRMSYNC_ASSIGN_OR_RETURN(bool stopped, FinishInFlight());
      if (stopped) page->cursor_after.reset();
    }
    if (!any) {
      for (auto& item : items) FinishItem(item, epoch);
      return Commit(incomplete_ ? std::nullopt : std::move(page->cursor_after), source);
    }
    WriteResults results = Execute(Side::kRemote, page->round.remote_batch, CallDeadline());
    return CompletePage(*page, std::move(results));
  }
  Page* sending = page.get();
  const Deadline deadline = CallDeadline();
  try {
    sending->sent = std::async(std::launch::async, [this, sending, deadline] {
      return Execute(Side::kRemote, sending->round.remote_batch, deadline);
    });
  } catch (const std::system_error&) {  // no thread to be had: send it here and now
    if (in_flight_) CRMSYNC_RETURN_IF_ERROR(FinishInFlight().status());
    WriteResults results = Execute(Side::kRemote, sending->round.remote_batch, CallDeadline());
    return CompletePage(*sending, std::move(results));
  }
  sending->effects = std::exchange(effects_, Effects{});
  sending->incomplete = std::exchange(incomplete_, false);
  std::swap(in_flight_, page);  // `page` is now the page before, if any
  if (!page) return Status::Ok();
  CRMSYNC_ASSIGN_OR_RETURN(bool stopped, FinishPage(std::move(page)));
  if (stopped) {
    // The page before stopped on a transient failure: this one commits
    // what it wrote, but not its cursor, and the read stops.
    in_flight_->cursor_after.reset();
    CRMSYNC_RETURN_IF_ERROR(FinishInFlight().status());
    incomplete_ = true;
  }
  return Status::Ok();
}

Result<bool> MappingPass::FinishInFlight() {
  if (!in_flight_) return false;
  return FinishPage(std::move(in_flight_));
}

Result<bool> MappingPass::FinishPage(std::unique_ptr<Page> page) {
  Effects current = std::exchange(effects_, std::move(page->effects));
  const bool current_incomplete = std::exchange(incomplete_, page->incomplete);
  WriteResults results = page->sent.get();
  Status s = CompletePage(*page, std::move(results));
  const bool stopped = incomplete_;
  effects_ = std::move(current);
  incomplete_ = current_incomplete;
  if (!s.ok()) return s;
  return stopped;
}

Status MappingPass::CompletePage(Page& page, WriteResults first_results) {
  CRMSYNC_ASSIGN_OR_RETURN(bool again, FinishRound(page.round, std::move(first_results)));
  if (again) CRMSYNC_RETURN_IF_ERROR(DecideAndWrite(page.items, page.epoch, 1));
  for (auto& item : page.items) FinishItem(item, page.epoch);
  return Commit(incomplete_ ? std::nullopt : std::move(page.cursor_after), page.source);
}

Status MappingPass::DropEchoes(std::vector<Item*>& todo, Side side) {
  // Most changes read back are our own writes (R4): tell them by version, before reading any base.
  CRMSYNC_ASSIGN_OR_RETURN(auto heads, engine_.store_.CouplingHeadsBy(m_.name, side, KeysOf(todo, side)));
  std::erase_if(todo, [&](Item* item) {
    const std::string& read = side == Side::kLocal ? item->local->version : item->remote->version;
    if (read.empty()) return false;
    auto head = heads.find(side == Side::kLocal ? item->local_key : item->remote_id);
    if (head == heads.end() || head->second.status != Coupling::Status::kActive) return false;
    if ((side == Side::kLocal ? head->second.local_version : head->second.remote_version) != read) return false;
    item->done = true;
    ++report_.counts.unchanged;
    return true;
  });
  return Status::Ok();
}

Status MappingPass::PrepareRemoteSourced(std::vector<Item>& items, std::int64_t epoch) {
  state::StateStore& store = engine_.store_;
  std::vector<Item*> need_local;
  std::vector<Item*> unmatched;
  // The page's state in three queries (heads, couplings, intents), not
  // three per record.
  std::vector<Item*> todo;
  todo.reserve(items.size());
  for (auto& item : items) {
    if (engine_.options_.dry_run && epoch != 0) dry_seen_[1].insert(item.remote_id);
    todo.push_back(&item);
  }
  if (epoch == 0) CRMSYNC_RETURN_IF_ERROR(DropEchoes(todo, Side::kRemote));
  CRMSYNC_ASSIGN_OR_RETURN(auto couplings, store.CouplingsBy(m_.name, Side::kRemote, KeysOf(todo, Side::kRemote)));
  std::vector<Item*> uncoupled;
  for (Item* item_ptr : todo) {
    Item& item = *item_ptr;
    auto coupling = couplings.find(item.remote_id);
    if (coupling != couplings.end()) {
      // Copied, not moved: a page may hold the same record twice.
      item.local_key = coupling->second.local_key;
      item.before = coupling->second;
      item.coupling = coupling->second;
      if (item.coupling->status != Coupling::Status::kActive) {
        item.done = true;
        ++report_.counts.skipped;
        continue;
      }
      if (epoch == 0 && !item.remote->version.empty() && item.remote->version == item.coupling->remote_version) {
        item.done = true;  // our own write coming back (R4): costs nothing
        ++report_.counts.unchanged;
        continue;
      }
      need_local.push_back(&item);
      continue;
    }
    uncoupled.push_back(&item);
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto intents, store.IntentsBy(m_.name, Side::kRemote, KeysOf(uncoupled, Side::kRemote)));
  for (Item* item_ptr : uncoupled) {
    Item& item = *item_ptr;
    auto intent = intents.find(item.remote_id);
    if (intent != intents.end()) {
      // Our own create whose coupling a crash lost (R2).
      Coupling c;
      c.mapping = m_.name;
      c.local_key = intent->second.local_key;
      c.remote_id = item.remote_id;
      c.base_local = intent->second.base_local;
      c.base_remote = CreatedBase(intent->second, item.remote->record);
      c.remote_version = item.remote->version;
      item.local_key = intent->second.local_key;
      item.before = c;
      item.coupling = c;
      item.coupled_by = "intent";
      item.dirty = true;
      effects_.intents_done.push_back(intent->second.local_key);
      Audit("couple", Side::kRemote, item.local_key, item.remote_id, {}, "ok",
            "create of an interrupted pass found in Dataverse by its id");
      ++report_.counts.coupled;
      need_local.push_back(&item);
      continue;
    }
    unmatched.push_back(&item);
  }
  std::vector<std::string> keys;
  keys.reserve(need_local.size());
  for (Item* item : need_local) keys.push_back(item->local_key);
  CRMSYNC_ASSIGN_OR_RETURN(auto rows, LookupByKeys(Side::kLocal, keys));
  for (Item* item : need_local) {
    auto it = rows.find(item->local_key);
    if (it == rows.end()) {
      // Deleted locally: the local phase brings that delete, with the
      // remote version of the base, so a Dataverse edit is not lost.
      item->done = true;
      ++report_.counts.skipped;
      continue;
    }
    item->local = it->second;
    if (item->coupled_by == "intent") CRMSYNC_RETURN_IF_ERROR(SettleWriteIntents(*item));
  }
  return MatchLocally(unmatched);
}

Status MappingPass::MatchLocally(std::vector<Item*>& unmatched) {
  if (unmatched.empty()) return Status::Ok();
  const auto columns = m_.MatchColumns();
  if (columns.empty()) {
    for (Item* item : unmatched) item->create_local = true;
    return Status::Ok();
  }
  std::vector<Value> values;
  for (Item* item : unmatched) {
    const Value v = Canonical(Get(item->remote->record, columns[0].remote));
    if (!v.is_null()) values.push_back(v);
  }
  std::vector<Change> candidates;
  for (std::size_t start = 0; start < values.size(); start += kLookupChunk) {
    LookupRequest r;
    r.entity = m_.local.table;
    r.columns = local_columns_;
    r.attribute = columns[0].local;
    r.values.assign(values.begin() + static_cast<std::ptrdiff_t>(start),
                    values.begin() + static_cast<std::ptrdiff_t>(std::min(values.size(), start + kLookupChunk)));
    r.max_records = 5000;
    CRMSYNC_ASSIGN_OR_RETURN(auto found, LookupAll(engine_.local_, std::move(r)));
    for (auto& c : found) candidates.push_back(std::move(c));
  }
  for (Item* item : unmatched) {
    std::vector<const Change*> found;
    for (const auto& c : candidates) {
      if (!m_.AppliesToLocal(c.record)) continue;
      const bool all = std::all_of(columns.begin(), columns.end(), [&](const mapping::MatchColumn& mc) {
        return MatchEqual(Get(c.record, mc.local), Get(item->remote->record, mc.remote));
      });
      if (!all) continue;
      CRMSYNC_ASSIGN_OR_RETURN(auto coupled, engine_.store_.CouplingByLocal(m_.name, c.key));
      if (coupled) continue;
      found.push_back(&c);
    }
    if (found.empty()) {
      item->create_local = true;
      continue;
    }
    if (found.size() > 1 || claimed_.count(found[0]->key) > 0) {
      std::string keys;
      for (const Change* c : found) {
        keys += (keys.empty() ? "" : ", ") + c->key;
        ambiguous_.insert(c->key);
      }
      Fail(*item,
           InvalidArgument("ambiguous match: Dataverse record " + item->remote_id + " matches local records " + keys +
                           (found.size() == 1 ? " (already matched by another Dataverse record)" : "") + " on " +
                           columns[0].remote + "; couple the right one with `crmsync couple " + m_.name + " KEY " +
                           item->remote_id + "`"),
           Side::kLocal);
      continue;
    }
    claimed_.insert(found[0]->key);
    item->local_key = found[0]->key;
    item->local = *found[0];
    CoupleItem(*item, EmptyCoupling(*item), "match_on", Side::kLocal, "matched on " + columns[0].remote);
  }
  return Status::Ok();
}

Status MappingPass::PrepareLocalSourced(std::vector<Item>& items, std::int64_t epoch) {
  state::StateStore& store = engine_.store_;
  std::vector<Item*> by_origin;
  std::vector<Item*> unmatched;
  // The page's state in three queries (heads, couplings, intents), not
  // three per record.
  std::vector<Item*> todo;
  todo.reserve(items.size());
  for (auto& item : items) {
    if (!m_.AppliesToLocal(item.local->record)) {
      item.done = true;  // another mapping's row of a shared table (contact: persons and companies)
      continue;
    }
    if (engine_.options_.dry_run && epoch != 0) dry_seen_[0].insert(item.local_key);
    todo.push_back(&item);
  }
  if (epoch == 0) CRMSYNC_RETURN_IF_ERROR(DropEchoes(todo, Side::kLocal));
  CRMSYNC_ASSIGN_OR_RETURN(auto couplings, store.CouplingsBy(m_.name, Side::kLocal, KeysOf(todo, Side::kLocal)));
  std::vector<Item*> uncoupled;
  for (Item* item_ptr : todo) {
    Item& item = *item_ptr;
    auto coupling = couplings.find(item.local_key);
    if (coupling != couplings.end()) {
      // Copied, not moved: a page may hold the same record twice.
      item.remote_id = coupling->second.remote_id;
      item.before = coupling->second;
      item.coupling = coupling->second;
      if (item.coupling->status != Coupling::Status::kActive) {
        item.done = true;
        ++report_.counts.skipped;
        continue;
      }
      if (epoch == 0 && !item.local->version.empty() && item.local->version == item.coupling->local_version) {
        item.done = true;  // our own write coming back (R4)
        ++report_.counts.unchanged;
        continue;
      }
      if (!mapping::IncludesToRemote(m_.direction)) {
        // Dataverse is the source of this mapping: local edits stay local.
        item.done = true;
        ++report_.counts.skipped;
        continue;
      }
      continue;
    }
    if (!mapping::IncludesToRemote(m_.direction)) {
      item.done = true;
      ++report_.counts.skipped;
      continue;
    }
    if (!item.local->origin_id.empty()) {
      CRMSYNC_ASSIGN_OR_RETURN(auto other, store.CouplingByRemote(m_.name, item.local->origin_id));
      if (!other) {
        item.remote_id = item.local->origin_id;
        by_origin.push_back(&item);
        continue;
      }
    }
    uncoupled.push_back(&item);
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto intents, store.IntentsBy(m_.name, Side::kLocal, KeysOf(uncoupled, Side::kLocal)));
  for (Item* item_ptr : uncoupled) {
    Item& item = *item_ptr;
    auto intent = intents.find(item.local_key);
    if (intent != intents.end()) {
      item.intent_guid = intent->second.remote_id;
      item.create_remote = true;
      continue;
    }
    if (ambiguous_.count(item.local_key) > 0) {
      item.done = true;  // one of several candidates of a Dataverse record: coupled by hand, never created
      ++report_.counts.skipped;
      continue;
    }
    unmatched.push_back(&item);
  }
  if (!by_origin.empty()) {
    std::vector<std::string> ids;
    ids.reserve(by_origin.size());
    for (Item* item : by_origin) ids.push_back(item->remote_id);
    CRMSYNC_ASSIGN_OR_RETURN(auto found, LookupByKeys(Side::kRemote, ids));
    for (Item* item : by_origin) {
      auto it = found.find(item->remote_id);
      Coupling c;
      c.mapping = m_.name;
      c.local_key = item->local_key;
      c.remote_id = item->remote_id;
      if (it == found.end()) {
        // Created from a Dataverse record that is gone: as if the delete
        // had been read while it was coupled.
        c.local_version = item->local->version;
        item->done = true;
        CRMSYNC_RETURN_IF_ERROR(DeleteSeen(Side::kRemote, c));
        continue;
      }
      // The row crmsync created from this record; the pass that coupled them was lost (R2).
      item->remote = it->second;
      item->before = c;
      item->coupling = c;
      item->coupled_by = "origin";
      item->dirty = true;
      Audit("couple", Side::kLocal, item->local_key, item->remote_id, {}, "ok",
            "row created from this Dataverse record by an interrupted pass");
      ++report_.counts.coupled;
    }
  }
  if (!unmatched.empty()) {
    if (m_.MatchColumns().empty() || remote_fully_read_) {
      // Every Dataverse record was read in this pass and coupled or created
      // locally: nothing there can match, so no lookup is needed.
      for (Item* item : unmatched) item->create_remote = true;
    } else {
      CRMSYNC_RETURN_IF_ERROR(MatchRemotely(unmatched));
    }
  }
  return Status::Ok();
}

Status MappingPass::MatchRemotely(std::vector<Item*>& unmatched) {
  const auto columns = m_.MatchColumns();
  std::vector<Value> values;
  for (Item* item : unmatched) {
    const Value v = Canonical(Get(item->local->record, columns[0].local));
    if (!v.is_null()) values.push_back(v);
  }
  std::vector<Change> candidates;
  if (!values.empty()) {
    LookupRequest r;
    r.entity = m_.remote.entity_set;
    r.key = m_.remote.key;
    r.columns = remote_columns_;
    r.attribute = columns[0].remote;
    r.values = values;
    r.filter = m_.remote.filter;
    r.max_records = 5000;
    CRMSYNC_ASSIGN_OR_RETURN(candidates, LookupAll(engine_.remote_, std::move(r)));
  }
  // A Dataverse record that several uncoupled local rows match is ambiguous
  // from its side too: find those rows (local lookups are cheap).
  std::vector<Value> remote_values;
  for (const auto& c : candidates) {
    const Value v = Canonical(Get(c.record, columns[0].remote));
    if (!v.is_null()) remote_values.push_back(v);
  }
  std::vector<Change> local_rivals;
  if (!remote_values.empty()) {
    LookupRequest r;
    r.entity = m_.local.table;
    r.columns = local_columns_;
    r.attribute = columns[0].local;
    r.values = remote_values;
    r.max_records = 5000;
    CRMSYNC_ASSIGN_OR_RETURN(auto rows, LookupAll(engine_.local_, std::move(r)));
    for (auto& c : rows) {
      if (!m_.AppliesToLocal(c.record)) continue;
      CRMSYNC_ASSIGN_OR_RETURN(auto coupled, engine_.store_.CouplingByLocal(m_.name, c.key));
      if (!coupled) local_rivals.push_back(std::move(c));
    }
  }
  std::set<std::string> claimed_remote;
  for (Item* item : unmatched) {
    std::vector<const Change*> found;
    for (const auto& c : candidates) {
      const bool all = std::all_of(columns.begin(), columns.end(), [&](const mapping::MatchColumn& mc) {
        return MatchEqual(Get(item->local->record, mc.local), Get(c.record, mc.remote));
      });
      if (!all) continue;
      CRMSYNC_ASSIGN_OR_RETURN(auto coupled, engine_.store_.CouplingByRemote(m_.name, c.key));
      if (coupled) continue;
      found.push_back(&c);
    }
    if (found.size() == 1) {
      std::string rivals;
      for (const auto& row : local_rivals) {
        if (row.key == item->local_key) continue;
        const bool all = std::all_of(columns.begin(), columns.end(), [&](const mapping::MatchColumn& mc) {
          return MatchEqual(Get(row.record, mc.local), Get(found[0]->record, mc.remote));
        });
        if (all) rivals += ", " + row.key;
      }
      if (!rivals.empty()) {
        Fail(*item,
             InvalidArgument("ambiguous match: Dataverse record " + found[0]->key + " matches local records " +
                             item->local_key + rivals + " on " + columns[0].remote +
                             "; couple the right one with `crmsync couple " + m_.name + " KEY " + found[0]->key + "`"),
             Side::kRemote);
        continue;
      }
    }
    if (found.empty()) {
      item->create_remote = true;
      continue;
    }
    if (found.size() > 1 || claimed_remote.count(found[0]->key) > 0) {
      std::string ids;
      for (const Change* c : found) ids += (ids.empty() ? "" : ", ") + c->key;
      Fail(*item,
           InvalidArgument("ambiguous match: local record " + item->local_key + " matches Dataverse records " + ids +
                           " on " + columns[0].remote + "; couple the right one with `crmsync couple " + m_.name + " " +
                           item->local_key + " ID`"),
           Side::kRemote);
      continue;
    }
    claimed_remote.insert(found[0]->key);
    item->remote_id = found[0]->key;
    item->remote = *found[0];
    CoupleItem(*item, EmptyCoupling(*item), "match_on", Side::kRemote, "matched on " + columns[0].remote);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Deciding and writing.

void MappingPass::BuildUpdates(Item& item, const MappedRecord& local_mapped, const MappedRecord& remote_mapped,
                               const std::vector<const FieldMapping*>& to_remote,
                               const std::vector<const FieldMapping*>& to_local, std::vector<PlannedOp>& remote_ops,
                               std::vector<PlannedOp>& local_ops) {
  PlannedOp rop;
  rop.item = &item;
  rop.owner = this;
  for (const FieldMapping* f : to_remote) {
    if (f->create_only) continue;  // Dataverse takes it on create only
    bool carried = false;
    for (const auto& key : mapping::RemoteOutputKeys(*f)) {
      auto it = local_mapped.fields.find(key);
      if (it == local_mapped.fields.end()) continue;
      rop.op.fields[key] = it->second;
      carried = true;
    }
    if (carried) rop.fields.push_back(f);
  }
  if (!rop.op.fields.empty()) {
    rop.op.kind = WriteOp::Kind::kUpdate;
    rop.op.key = item.remote_id;
    // R3: only if nobody changed it since the version this decision read.
    rop.op.expected_version = item.remote ? item.remote->version : item.coupling->remote_version;
    rop.op.read_back = remote_base_;
    remote_ops.push_back(std::move(rop));
  }
  PlannedOp lop;
  lop.item = &item;
  lop.owner = this;
  for (const FieldMapping* f : to_local) {
    auto it = remote_mapped.fields.find(f->local);
    if (it == remote_mapped.fields.end()) continue;
    lop.op.fields[f->local] = it->second;
    lop.fields.push_back(f);
  }
  if (!lop.op.fields.empty()) {
    lop.op.kind = WriteOp::Kind::kUpdate;
    lop.op.key = item.local_key;
    lop.op.expected_version = item.local->version;
    lop.op.read_back = local_base_;
    local_ops.push_back(std::move(lop));
  }
}

Status MappingPass::Decide(Item& item, std::vector<PlannedOp>& remote_ops, std::vector<PlannedOp>& local_ops) {
  if (item.create_remote) {
    MappedRecord mapped = mapping::MapToRemote(m_, item.local->record, resolver_);
    CRMSYNC_RETURN_IF_ERROR(mapped.status);
    if (FieldIssuesBlock(mapped, AllFields(m_), item)) return Status::Ok();
    PlannedOp p;
    p.item = &item;
    p.owner = this;
    p.create = true;
    p.op.kind = WriteOp::Kind::kCreate;
    p.op.key = item.intent_guid.empty() ? NewTimeOrderedGuid() : item.intent_guid;
    p.op.fields = std::move(mapped.fields);
    p.op.read_back = remote_base_;
    for (const auto& f : m_.fields) {
      if (f.ToRemote()) p.fields.push_back(&f);
    }
    item.intent_guid = p.op.key;
    item.remote_id = p.op.key;
    state::Intent intent{m_.name, item.local_key, p.op.key, CanonicalLocal(item.local->record), ""};
    intent.base_remote = mapping::RemoteReadBack(m_, p.op.fields);
    p.read_back = intent.base_remote;
    effects_.intents.push_back(std::move(intent));
    remote_ops.push_back(std::move(p));
    return Status::Ok();
  }
  if (item.create_local) {
    MappedRecord mapped = mapping::MapToLocal(m_, item.remote->record, resolver_);
    CRMSYNC_RETURN_IF_ERROR(mapped.status);
    if (FieldIssuesBlock(mapped, AllFields(m_), item)) return Status::Ok();
    PlannedOp p;
    p.item = &item;
    p.owner = this;
    p.create = true;
    p.op.kind = WriteOp::Kind::kCreate;
    if (auto key = m_.EncodeLocalKey(mapped.fields); key.ok()) p.op.key = *key;  // else the number series gives one
    p.op.fields = std::move(mapped.fields);
    p.op.origin_id = item.remote_id;
    p.op.read_back = local_columns_;
    for (const auto& f : m_.fields) {
      if (f.FromRemote()) p.fields.push_back(&f);
    }
    local_ops.push_back(std::move(p));
    return Status::Ok();
  }
  if (!item.coupling || !item.local) {
    item.done = true;
    return Status::Ok();
  }
  const Record& local = item.local->record;
  const Record& remote = item.remote ? item.remote->record : item.coupling->base_remote;
  MappedRecord local_mapped = mapping::MapToRemote(m_, local, resolver_);
  CRMSYNC_RETURN_IF_ERROR(local_mapped.status);
  MappedRecord remote_mapped = mapping::MapToLocal(m_, remote, resolver_, &local);
  CRMSYNC_RETURN_IF_ERROR(remote_mapped.status);
  MergeInput in;
  in.mapping = &m_;
  in.local = &local;
  in.remote = &remote;
  in.base_local = &item.coupling->base_local;
  in.base_remote = &item.coupling->base_remote;
  in.local_mapped = &local_mapped;
  in.remote_mapped = &remote_mapped;
  in.local_modified = item.local->modified_at;
  if (item.remote) in.remote_modified = item.remote->modified_at;
  const MergeDecision d = Merge(in);
  if (!item.conflicts_recorded && !d.conflicts.empty()) {
    item.conflicts_recorded = true;
    state::Conflict parked;
    parked.mapping = m_.name;
    parked.local_key = item.local_key;
    parked.remote_id = item.remote_id;
    std::vector<FieldChange> shown;
    for (const auto& c : d.conflicts) {
      ++report_.counts.conflicts;
      shown.push_back({c.field->Name() + " (local)", c.base, c.local});
      shown.push_back({c.field->Name() + " (remote)", c.base, c.remote});
      if (!c.winner) {
        item.parked.push_back(c.field);
        parked.fields.push_back({c.field->Name(), c.base, c.local, c.remote});
      }
    }
    const std::string policy(mapping::ConflictPolicyName(m_.conflict));
    const bool local_won = !d.conflicts.empty() && d.conflicts.front().winner == FieldConflict::Winner::kLocal;
    const std::string verdict = !d.conflicts.front().winner
                                    ? "manual: parked for `crmsync conflicts resolve`"
                                    : policy + ": " + (local_won ? "local" : "remote") + " kept";
    Audit("conflict", local_won ? Side::kRemote : Side::kLocal, item.local_key, item.remote_id, shown, "ok", verdict);
    if (!parked.fields.empty()) effects_.conflicts.push_back(std::move(parked));
  }
  if (FieldIssuesBlock(local_mapped, d.to_remote, item)) return Status::Ok();
  if (FieldIssuesBlock(remote_mapped, d.to_local, item)) return Status::Ok();
  const std::size_t before = remote_ops.size() + local_ops.size();
  BuildUpdates(item, local_mapped, remote_mapped, d.to_remote, d.to_local, remote_ops, local_ops);
  if (remote_ops.size() + local_ops.size() == before) {
    item.done = true;
    if (d.conflicts.empty()) ++report_.counts.unchanged;
  }
  return Status::Ok();
}

Status MappingPass::CommitIntents() {
  std::vector<state::Intent> intents = std::move(effects_.intents);
  effects_.intents.clear();
  for (auto& part : parts_) {
    for (auto& i : part.pass->effects_.intents) intents.push_back(std::move(i));
    part.pass->effects_.intents.clear();
  }
  if (intents.empty() || engine_.options_.dry_run) return Status::Ok();
  // R2: the GUID is on record before the request that uses it is sent.
  return engine_.store_.PutIntents(intents);
}

Status MappingPass::CommitWriteIntents(Side target, std::vector<PlannedOp>& ops) {
  if (engine_.options_.dry_run) return Status::Ok();
  std::vector<state::WriteIntent> intents;
  for (auto& p : ops) {
    if (p.create || p.op.kind != WriteOp::Kind::kUpdate || p.item->local_key.empty()) continue;
    MappingPass& owner = p.owner != nullptr ? *p.owner : *this;
    Item& item = *p.item;
    state::WriteIntent w;
    w.mapping = owner.m_.name;
    w.local_key = item.local_key;
    w.target = target;
    const Record& remote = item.remote ? item.remote->record : item.coupling->base_remote;
    if (target == Side::kRemote) {
      w.remote = mapping::RemoteReadBack(owner.m_, p.op.fields);
      for (const FieldMapping* f : p.fields) {
        if (!f->local.empty()) w.local[f->local] = Canonical(Get(item.local->record, f->local));
      }
    } else {
      for (const auto& [column, value] : p.op.fields) w.local[column] = Canonical(value);
      for (const FieldMapping* f : p.fields) {
        for (const auto& a : f->RemoteReadAttributes()) w.remote[a] = Canonical(Get(remote, a));
      }
    }
    w.expected_version = p.op.expected_version;
    item.write_intent = true;
    intents.push_back(std::move(w));
  }
  return engine_.store_.PutWriteIntents(intents);
}

Status MappingPass::CommitLocalCreateIntents(std::vector<PlannedOp>& ops) {
  if (engine_.options_.dry_run) return Status::Ok();
  std::vector<state::Intent> intents;
  for (const auto& p : ops) {
    if (!p.create || !p.item->remote) continue;
    state::Intent intent;
    intent.mapping = m_.name;
    intent.remote_id = p.op.origin_id;
    for (const auto& [column, value] : p.op.fields) intent.base_local[column] = Canonical(value);
    intent.base_remote = CanonicalRemote(p.item->remote->record);
    intents.push_back(std::move(intent));
  }
  return engine_.store_.PutLocalCreateIntents(intents);
}

Status MappingPass::RecoverLocalCreates() {
  if (engine_.options_.dry_run) return Status::Ok();
  CRMSYNC_ASSIGN_OR_RETURN(auto intents, engine_.store_.LocalCreateIntents(m_.name));
  if (intents.empty()) return Status::Ok();
  recovered_ = true;
  for (const auto& intent : intents) {
    effects_.local_creates_done.push_back(intent.remote_id);
    CRMSYNC_ASSIGN_OR_RETURN(auto key, engine_.journal_.FindByOrigin(m_.local.table, intent.remote_id, CallDeadline()));
    if (!key) continue;  // never made: decided again when its Dataverse record is read again
    CRMSYNC_ASSIGN_OR_RETURN(auto by_local, engine_.store_.CouplingByLocal(m_.name, *key));
    CRMSYNC_ASSIGN_OR_RETURN(auto by_remote, engine_.store_.CouplingByRemote(m_.name, intent.remote_id));
    if (by_local || by_remote) continue;  // coupled since (by hand or by its commit)
    // Coupled with the bases the create was made with and no version on
    // either side, so both sides are compared with those bases when next
    // read: an edit made on either side since the create is a change.
    Coupling c;
    c.mapping = m_.name;
    c.local_key = *key;
    c.remote_id = intent.remote_id;
    c.base_local = intent.base_local;
    c.base_remote = intent.base_remote;
    effects_.put.push_back(std::move(c));
    Audit("couple", Side::kLocal, *key, intent.remote_id, {}, "ok",
          "create of an interrupted pass found in the local store by its origin");
    ++report_.counts.coupled;
  }
  return Commit(std::nullopt, Side::kLocal);
}

Status MappingPass::RecoverWriteIntents() {
  if (engine_.options_.dry_run) return Status::Ok();
  CRMSYNC_ASSIGN_OR_RETURN(auto intents, engine_.store_.WriteIntents(m_.name));
  if (intents.empty()) return Status::Ok();
  recovered_ = true;
  std::map<std::string, Coupling> couplings;
  std::vector<std::string> ids[2];
  for (const auto& w : intents) {
    CRMSYNC_ASSIGN_OR_RETURN(auto c, engine_.store_.CouplingByLocal(m_.name, w.local_key));
    if (!c) continue;
    ids[w.target == Side::kLocal ? 0 : 1].push_back(w.target == Side::kLocal ? c->local_key : c->remote_id);
    couplings.emplace(w.local_key, std::move(*c));
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto locals, LookupByKeys(Side::kLocal, ids[0]));
  CRMSYNC_ASSIGN_OR_RETURN(auto remotes, LookupByKeys(Side::kRemote, ids[1]));
  std::set<std::string> changed;
  for (const auto& w : intents) {
    effects_.write_intents_done.push_back(w.local_key);
    auto c = couplings.find(w.local_key);
    if (c == couplings.end()) continue;
    const bool local = w.target == Side::kLocal;
    const auto& found = local ? locals : remotes;
    auto now = found.find(local ? c->second.local_key : c->second.remote_id);
    if (now == found.end()) continue;
    if (!WentThrough(w, now->second)) continue;
    for (const auto& [k, v] : w.local) c->second.base_local[k] = v;
    for (const auto& [k, v] : w.remote) c->second.base_remote[k] = v;
    changed.insert(w.local_key);
  }
  for (const auto& key : changed) effects_.put.push_back(couplings.at(key));
  return Commit(std::nullopt, Side::kLocal);
}

Status MappingPass::AddParts(std::vector<PlannedOp>& remote_ops) {
  if (parts_.empty() || remote_ops.empty()) return Status::Ok();
  std::vector<PlannedOp> out;
  std::map<std::string, std::size_t> parent_of;  // parent local key -> index in out
  std::vector<Value> keys;
  for (auto& p : remote_ops) {
    const bool parent = p.owner == this && p.op.kind != WriteOp::Kind::kDelete;
    out.push_back(std::move(p));
    if (!parent) continue;
    parent_of[out.back().item->local_key] = out.size() - 1;
    keys.push_back(Value::Text(out.back().item->local_key));
    // A parent created in this group is bound by its new GUID.
    resolver_.Overlay(m_.name, out.back().item->local_key, out.back().item->remote_id);
  }
  std::map<std::size_t, std::vector<PlannedOp>> children;
  for (auto& part : parts_) {
    MappingPass& pp = *part.pass;
    for (std::size_t start = 0; start < keys.size(); start += kLookupChunk) {
      LookupRequest r;
      r.entity = pp.m_.local.table;
      r.columns = pp.local_columns_;
      r.attribute = part.parent_column;
      r.values.assign(keys.begin() + static_cast<std::ptrdiff_t>(start),
                      keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), start + kLookupChunk)));
      r.max_records = 5000;
      for (;;) {
        CRMSYNC_ASSIGN_OR_RETURN(auto batch, engine_.local_.Lookup(r, CallDeadline()));
        for (auto& row : batch.changes) {
          if (!pp.m_.AppliesToLocal(row.record)) continue;
          const std::string parent_key = Get(row.record, part.parent_column).ToDisplayString();
          auto at = parent_of.find(parent_key);
          if (at == parent_of.end()) continue;
          CRMSYNC_ASSIGN_OR_RETURN(auto coupling, engine_.store_.CouplingByLocal(pp.m_.name, row.key));
          if (coupling && (coupling->status != Coupling::Status::kActive || coupling->local_version == row.version)) {
            continue;  // in step already
          }
          Item& child = pp.part_items_.emplace_back();
          child.source = Side::kLocal;
          child.local_key = row.key;
          child.local = std::move(row);
          if (coupling) {
            child.remote_id = coupling->remote_id;
            child.before = *coupling;
            child.coupling = std::move(coupling);
          } else {
            CRMSYNC_ASSIGN_OR_RETURN(auto intent, engine_.store_.IntentByLocal(pp.m_.name, child.local_key));
            if (intent) child.intent_guid = intent->remote_id;
            child.create_remote = true;
          }
          std::vector<PlannedOp> child_remote;
          std::vector<PlannedOp> child_local;
          CRMSYNC_RETURN_IF_ERROR(pp.Decide(child, child_remote, child_local));
          for (auto& op : child_remote) {
            op.owner = &pp;
            op.op.entity = pp.m_.remote.entity_set;
            children[at->second].push_back(std::move(op));
          }
        }
        if (!batch.more) break;
        r.cursor = batch.next_cursor;
      }
    }
  }
  // Each parent's op, then its parts, as one group (one change set: all or nothing).
  remote_ops.clear();
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto kids = children.find(i);
    if (kids != children.end()) out[i].op.group = m_.name + ":" + out[i].item->local_key;
    const std::string group = out[i].op.group;
    remote_ops.push_back(std::move(out[i]));
    if (kids == children.end()) continue;
    for (auto& op : kids->second) {
      op.op.group = group;
      remote_ops.push_back(std::move(op));
    }
  }
  return Status::Ok();
}

void MappingPass::ApplyRemote(PlannedOp& p, const WriteResult& r) {
  Item& item = *p.item;
  if (r.status.ok()) {
    const Record before =
        p.create ? Record{} : (item.remote ? CanonicalRemote(item.remote->record) : item.coupling->base_remote);
    Record worked_out;
    if (!p.read_back) worked_out = mapping::RemoteReadBack(m_, p.op.fields);
    const Record& predicted = p.read_back ? *p.read_back : worked_out;
    // What Dataverse says it stored, or else what the write predicts.
    Record now = !r.record.empty() ? CanonicalRemote(r.record) : before;
    if (r.record.empty()) {
      for (const auto& [name, value] : predicted) now[name] = value;
      for (const auto& c : remote_base_) now.try_emplace(c, Value());
    }
    std::vector<FieldChange> fields;
    fields.reserve(predicted.size());
    for (const auto& [name, value] : predicted) {
      const Value& stored_value = Get(now, name);
      if (p.create && stored_value.is_null()) continue;  // a create shows what it sets
      fields.push_back({name, p.create ? Value() : Get(before, name), stored_value});
    }
    Change current;
    current.key = item.remote_id;
    current.record = std::move(now);
    current.version = r.version;
    current.modified_at = engine_.clock_.Now();
    item.remote = std::move(current);
    item.remote_canonical = true;
    const Record& stored = item.remote->record;
    if (p.create) {
      Coupling c;
      c.mapping = m_.name;
      c.local_key = item.local_key;
      c.remote_id = item.remote_id;
      item.before = c;
      item.coupling = c;
      item.create_remote = false;
      effects_.intents_done.push_back(item.local_key);
      ++report_.counts.inserted;
      Audit("create", Side::kRemote, item.local_key, item.remote_id, fields, "ok");
    } else {
      ++report_.counts.modified;
      Audit("update", Side::kRemote, item.local_key, item.remote_id, fields, "ok");
    }
    // The fields just written are in step now, whatever happens next.
    std::vector<Record::value_type> local_base, remote_base;
    for (const FieldMapping* f : p.fields) {
      if (!f->local.empty()) local_base.emplace_back(f->local, Canonical(Get(item.local->record, f->local)));
      for (const auto& a : f->RemoteReadAttributes()) remote_base.emplace_back(a, Get(stored, a));
    }
    item.coupling->base_local.Assign(std::move(local_base));
    item.coupling->base_remote.Assign(std::move(remote_base));
    item.coupling->remote_version = r.version;
    item.wrote = true;
    item.dirty = true;
    return;
  }
  if (r.status.code() == StatusCode::kConflict && !p.create) {
    // R3: changed in Dataverse since this decision read it: read it again and decide again.
    auto fresh =
        engine_.remote_.Fetch(m_.remote.entity_set, m_.remote.key, item.remote_id, remote_columns_, CallDeadline());
    if (!fresh.ok()) {
      Fail(item, fresh.status(), Side::kRemote);
    } else if (!fresh->has_value()) {
      item.done = true;
      if (Status s = HandleDeleted(Side::kRemote, item.remote_id); !s.ok()) Fail(item, s, Side::kRemote);
    } else {
      item.remote = std::move(**fresh);
      item.remote_canonical = false;
      item.retry = true;
    }
    return;
  }
  if (r.status.code() == StatusCode::kNotFound && !p.create) {
    item.done = true;  // deleted in Dataverse meanwhile
    if (Status s = HandleDeleted(Side::kRemote, item.remote_id); !s.ok()) Fail(item, s, Side::kRemote);
    return;
  }
  Fail(item, r.status, Side::kRemote);
}

void MappingPass::ApplyLocal(PlannedOp& p, const WriteResult& r) {
  Item& item = *p.item;
  if (r.status.ok()) {
    const Record before = p.create || !item.local ? Record{} : item.local->record;
    Record now = before;
    const Record& written = !r.record.empty() ? r.record : p.op.fields;
    now.Assign({written.begin(), written.end()});
    std::vector<FieldChange> fields;
    for (const auto& [name, value] : p.op.fields) {
      if (p.create && Canonical(Get(now, name)).is_null()) continue;  // a create shows what it sets
      fields.push_back({name, Canonical(Get(before, name)), Canonical(Get(now, name))});
    }
    const std::string key = r.key.empty() ? p.op.key : r.key;
    Change current;
    current.key = key;
    current.record = now;
    current.version = r.version;
    current.modified_at = engine_.clock_.Now();
    item.local = std::move(current);
    if (p.create) {
      item.local_key = key;
      Coupling c;
      c.mapping = m_.name;
      c.local_key = key;
      c.remote_id = item.remote_id;
      item.before = c;
      item.coupling = c;
      item.create_local = false;
      effects_.local_creates_done.push_back(item.remote_id);
      ++report_.counts.inserted;
      Audit("create", Side::kLocal, key, item.remote_id, fields, "ok");
    } else {
      ++report_.counts.modified;
      Audit("update", Side::kLocal, key, item.remote_id, fields, "ok");
    }
    const Record& remote = item.remote ? item.remote->record : item.coupling->base_remote;
    std::vector<Record::value_type> local_base, remote_base;
    for (const FieldMapping* f : p.fields) {
      if (!f->local.empty()) local_base.emplace_back(f->local, Canonical(Get(now, f->local)));
      for (const auto& a : f->RemoteReadAttributes()) remote_base.emplace_back(a, Canonical(Get(remote, a)));
    }
    item.coupling->base_local.Assign(std::move(local_base));
    item.coupling->base_remote.Assign(std::move(remote_base));
    item.coupling->local_version = r.version;
    item.wrote = true;
    item.dirty = true;
    return;
  }
  if (r.status.code() == StatusCode::kConflict && !p.create) {
    // R3 locally: another program changed the row since it was read.
    auto fresh = engine_.local_.Fetch(m_.local.table, "", item.local_key, local_columns_, CallDeadline());
    if (!fresh.ok()) {
      Fail(item, fresh.status(), Side::kLocal);
    } else if (!fresh->has_value()) {
      item.done = true;  // deleted meanwhile: the journal brings the delete
    } else {
      item.local = std::move(**fresh);
      item.retry = true;
    }
    return;
  }
  if (r.status.code() == StatusCode::kNotFound && !p.create) {
    item.done = true;
    if (Status s = HandleDeleted(Side::kLocal, item.local_key); !s.ok()) Fail(item, s, Side::kLocal);
    return;
  }
  Fail(item, r.status, Side::kLocal);
}

Status MappingPass::Send(Side side, std::vector<PlannedOp>& ops) {
  if (ops.empty()) return Status::Ok();
  std::vector<WriteOp> batch = TakeOps(ops);
  WriteResults results = Execute(side, batch, CallDeadline());
  return ApplyResults(side, ops, batch, std::move(results));
}

std::vector<WriteOp> MappingPass::TakeOps(std::vector<PlannedOp>& ops) {
  std::vector<WriteOp> batch;
  batch.reserve(ops.size());
  for (auto& p : ops) batch.push_back(std::move(p.op));  // moved back by ApplyResults, for the results
  return batch;
}

MappingPass::WriteResults MappingPass::Execute(Side side, const std::vector<WriteOp>& batch, Deadline deadline) {
  if (batch.empty()) return std::vector<WriteResult>{};
  if (engine_.options_.dry_run) {
    std::vector<WriteResult> simulated;
    for (const auto& op : batch) {
      WriteResult r;
      r.key = op.key.empty() ? "(new from " + op.origin_id + ")" : op.key;
      simulated.push_back(std::move(r));
    }
    return simulated;
  }
  if (side == Side::kRemote) return engine_.remote_.Write(m_.remote.entity_set, batch, deadline);
  return engine_.local_.Write(m_.local.table, batch, deadline);
}

Status MappingPass::ApplyResults(Side side, std::vector<PlannedOp>& ops, std::vector<WriteOp>& batch,
                                 WriteResults results) {
  if (ops.empty()) return Status::Ok();
  for (std::size_t i = 0; i < ops.size(); ++i) ops[i].op = std::move(batch[i]);
  batch.clear();
  if (!results.ok()) {
    // Nothing is known about any op: every one is tried again later.
    for (auto& p : ops) (p.owner != nullptr ? *p.owner : *this).Fail(*p.item, results.status(), side);
    // This pass's page stops too when the ops were its parts' (Fail stops the owner's).
    if (LeavesTheCursor(results.status()) || results.status().code() == StatusCode::kBusy) incomplete_ = true;
    return Status::Ok();
  }
  if (results->size() != ops.size()) return Internal("a connector answered a different number of results than ops");
  for (std::size_t i = 0; i < ops.size(); ++i) {
    MappingPass& owner = ops[i].owner != nullptr ? *ops[i].owner : *this;
    if (side == Side::kRemote) {
      owner.ApplyRemote(ops[i], (*results)[i]);
    } else {
      owner.ApplyLocal(ops[i], (*results)[i]);
    }
    if (&owner != this && ops[i].item->retry) {
      // A part is not decided again with its parent: the next pass of its own mapping does it.
      owner.Fail(*ops[i].item, Status(StatusCode::kConflict, "changed while being written with its parent"),
                 Side::kRemote);
    }
  }
  return Status::Ok();
}

Status MappingPass::DecideAndWrite(std::vector<Item>& items, std::int64_t /*epoch*/, int first_round) {
  for (int round = first_round; round < kMaxRounds; ++round) {
    Round r;
    CRMSYNC_ASSIGN_OR_RETURN(bool any, BeginRound(items, r));
    if (!any) return Status::Ok();
    WriteResults results = Execute(Side::kRemote, r.remote_batch, CallDeadline());
    CRMSYNC_ASSIGN_OR_RETURN(bool again, FinishRound(r, std::move(results)));
    if (!again) return Status::Ok();
  }
  for (auto& item : items) {
    if (item.done) continue;
    Fail(item, Status(StatusCode::kConflict, "kept changing while being synced; tried again in the next pass"),
         item.source);
  }
  return Status::Ok();
}

Result<bool> MappingPass::BeginRound(std::vector<Item>& items, Round& round) {
  for (auto& item : items) {
    if (item.done) continue;
    item.retry = false;
    round.in_round.push_back(&item);
    CRMSYNC_RETURN_IF_ERROR(Decide(item, round.remote_ops, round.local_ops));
  }
  if (round.in_round.empty()) return false;
  CRMSYNC_RETURN_IF_ERROR(AddParts(round.remote_ops));
  CRMSYNC_RETURN_IF_ERROR(CommitIntents());
  CRMSYNC_RETURN_IF_ERROR(CommitWriteIntents(Side::kRemote, round.remote_ops));
  round.remote_batch = TakeOps(round.remote_ops);
  return true;
}

Result<bool> MappingPass::FinishRound(Round& round, WriteResults remote_results) {
  CRMSYNC_RETURN_IF_ERROR(ApplyResults(Side::kRemote, round.remote_ops, round.remote_batch, std::move(remote_results)));
  // Local writes of an item wait for its Dataverse write: after a conflict it is decided again.
  std::vector<PlannedOp> local_now;
  for (auto& p : round.local_ops) {
    if (!p.item->retry && !p.item->failed && !p.item->waiting && !(p.item->done && !p.create)) {
      local_now.push_back(std::move(p));
    }
  }
  CRMSYNC_RETURN_IF_ERROR(CommitWriteIntents(Side::kLocal, local_now));
  CRMSYNC_RETURN_IF_ERROR(CommitLocalCreateIntents(local_now));
  CRMSYNC_RETURN_IF_ERROR(Send(Side::kLocal, local_now));
  bool again = false;
  for (Item* item : round.in_round) {
    if (item->retry) {
      again = true;
    } else {
      item->done = true;
    }
  }
  return again;
}

void MappingPass::FinishItem(Item& item, std::int64_t epoch) {
  // A failed write may still have been applied (its answer lost): its intent
  // stays for the next pass to settle against what the target holds.
  if (item.write_intent && !item.failed) effects_.write_intents_done.push_back(item.local_key);
  if (!item.failed && !item.waiting && !listed_failures_.empty()) {
    // A record that failed before and went through now (mended on one side,
    // say) is no longer a failure, whichever side brought it this time.
    for (const auto& listed : {std::pair{Side::kLocal, item.local_key}, std::pair{Side::kRemote, item.remote_id}}) {
      if (!listed.second.empty() && listed_failures_.count(listed)) effects_.clear_failures.push_back(listed);
    }
  }
  if (!item.coupling) return;
  Coupling& c = *item.coupling;
  if (!item.failed && !item.waiting && item.local) {
    // In step: each side's base is what it holds now, but a parked field
    // keeps its old bases so the conflict stays visible until resolved.
    Record base_local = CanonicalLocal(item.local->record);
    Record base_remote = !item.remote            ? c.base_remote
                         : item.remote_canonical ? item.remote->record
                                                 : CanonicalRemote(item.remote->record);
    for (const FieldMapping* f : item.parked) {
      if (!f->local.empty()) base_local[f->local] = Get(item.before.base_local, f->local);
      for (const auto& a : f->RemoteReadAttributes()) base_remote[a] = Get(item.before.base_remote, a);
    }
    if (base_local != c.base_local || base_remote != c.base_remote) item.dirty = true;
    c.base_local = std::move(base_local);
    c.base_remote = std::move(base_remote);
    if (item.local->version != c.local_version) {
      c.local_version = item.local->version;
      item.dirty = true;
    }
    if (item.remote && item.remote->version != c.remote_version) {
      c.remote_version = item.remote->version;
      item.dirty = true;
    }
  }
  if (epoch != 0) {
    std::int64_t& seen = item.source == Side::kLocal ? c.local_seen : c.remote_seen;
    if (seen != epoch) {
      seen = epoch;
      item.dirty = true;
    }
  }
  // The item's last use: its coupling moves to the commit.
  if (item.dirty) effects_.put.push_back(std::move(c));
}

// ---------------------------------------------------------------------------
// Deletes.

Status MappingPass::HandleDeleted(Side deleted_on, const std::string& key) {
  state::StateStore& store = engine_.store_;
  auto coupling =
      deleted_on == Side::kLocal ? store.CouplingByLocal(m_.name, key) : store.CouplingByRemote(m_.name, key);
  CRMSYNC_RETURN_IF_ERROR(coupling.status());
  if (!*coupling) {
    // Not ours (the other mapping's row of a shared table, or never
    // synced); a create in flight for a deleted row is dropped.
    if (deleted_on == Side::kLocal && !engine_.options_.dry_run) {
      CRMSYNC_ASSIGN_OR_RETURN(auto intent, store.IntentByLocal(m_.name, key));
      if (intent) effects_.intents_done.push_back(key);
    }
    return Status::Ok();
  }
  return DeleteSeen(deleted_on, **coupling);
}

Status MappingPass::DeleteSeen(Side deleted_on, const Coupling& coupling) {
  const auto gone = deleted_on == Side::kLocal ? Coupling::Status::kLocalDeleted : Coupling::Status::kRemoteDeleted;
  if (coupling.status == gone) return Status::Ok();
  const std::string where = deleted_on == Side::kLocal ? "deleted locally" : "deleted in Dataverse";
  if (coupling.status != Coupling::Status::kActive) {
    effects_.uncouple.push_back(coupling.local_key);
    Audit("uncouple", deleted_on, coupling.local_key, coupling.remote_id, {}, "ok", "deleted on both sides");
    ++report_.counts.uncoupled;
    return Status::Ok();
  }
  const bool flows =
      deleted_on == Side::kLocal ? mapping::IncludesToRemote(m_.direction) : mapping::IncludesFromRemote(m_.direction);
  switch (m_.on_delete) {
    case mapping::DeletePolicy::kPropagate:
      if (flows) {
        // Held until the end of the pass, behind the mass-delete guard (R8).
        state::PendingDelete d;
        d.mapping = m_.name;
        d.local_key = coupling.local_key;
        d.remote_id = coupling.remote_id;
        d.target = state::Other(deleted_on);
        d.expected_version = deleted_on == Side::kLocal ? coupling.remote_version : coupling.local_version;
        effects_.pending.push_back(std::move(d));
        return Status::Ok();
      }
      [[fallthrough]];
    case mapping::DeletePolicy::kUncouple:
      effects_.uncouple.push_back(coupling.local_key);
      Audit("uncouple", deleted_on, coupling.local_key, coupling.remote_id, {}, "ok", where);
      ++report_.counts.uncoupled;
      return Status::Ok();
    case mapping::DeletePolicy::kIgnore: {
      Coupling kept = coupling;
      kept.status = gone;
      effects_.put.push_back(std::move(kept));
      ++report_.counts.skipped;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status MappingPass::ApplyPendingDeletes() {
  std::vector<state::PendingDelete> pending;
  if (engine_.options_.dry_run) {
    pending = dry_pending_;
  } else {
    CRMSYNC_ASSIGN_OR_RETURN(pending, engine_.store_.PendingDeletes(m_.name));
  }
  if (pending.empty()) return Status::Ok();
  CRMSYNC_ASSIGN_OR_RETURN(std::int64_t coupled, engine_.store_.CountCouplings(m_.name));
  const EngineOptions& o = engine_.options_;
  const auto n = static_cast<std::int64_t>(pending.size());
  const bool too_many =
      n > o.mass_delete_max_count ||
      (n > o.mass_delete_min_count && static_cast<double>(n) > o.mass_delete_max_share * static_cast<double>(coupled));
  if (too_many && !o.allow_mass_delete) {
    report_.mass_delete_held = true;
    const std::string message =
        m_.name + ": the pass would delete " + std::to_string(n) + " of " + std::to_string(coupled) +
        " coupled records, more than the guard allows (sync.mass_delete_max_share " +
        std::to_string(static_cast<int>(o.mass_delete_max_share * 100)) + "%, sync.mass_delete_max_count " +
        std::to_string(o.mass_delete_max_count) +
        "); nothing was deleted. If that is intended, run `crmsync sync --mapping " + m_.name + " --allow-mass-delete`";
    spdlog::error("{}", message);
    return Status(StatusCode::kAborted, message);
  }
  std::vector<Item> survivors;  // edited on the side a delete would have removed: re-created where deleted
  std::vector<connectors::WriteOp> ops[2];
  std::vector<const state::PendingDelete*> which[2];
  for (const auto& d : pending) {
    WriteOp op;
    op.kind = WriteOp::Kind::kDelete;
    op.key = d.target == Side::kRemote ? d.remote_id : d.local_key;
    op.expected_version = d.expected_version;
    const int s = d.target == Side::kLocal ? 0 : 1;
    ops[s].push_back(std::move(op));
    which[s].push_back(&d);
  }
  for (Side side : {Side::kRemote, Side::kLocal}) {
    const int s = side == Side::kLocal ? 0 : 1;
    if (ops[s].empty()) continue;
    Result<std::vector<WriteResult>> results = std::vector<WriteResult>(ops[s].size());
    if (!o.dry_run) {
      results = side == Side::kRemote ? engine_.remote_.Write(m_.remote.entity_set, ops[s], CallDeadline())
                                      : engine_.local_.Write(m_.local.table, ops[s], CallDeadline());
    }
    if (!results.ok()) return results.status().WithContext("deleting records of " + m_.name);
    for (std::size_t i = 0; i < ops[s].size(); ++i) {
      const state::PendingDelete& d = *which[s][i];
      const WriteResult& r = (*results)[i];
      if (r.status.ok() || r.status.code() == StatusCode::kNotFound) {
        effects_.uncouple.push_back(d.local_key);
        effects_.pending_done.push_back(d.local_key);
        Audit("delete", side, d.local_key, d.remote_id, {}, "ok");
        ++report_.counts.deleted;
        continue;
      }
      if (r.status.code() == StatusCode::kConflict) {
        // Changed on this side after the other side deleted it: the edit
        // wins (nothing lost, R1), and the record comes back where it was deleted.
        effects_.uncouple.push_back(d.local_key);
        effects_.pending_done.push_back(d.local_key);
        Audit("conflict", state::Other(side), d.local_key, d.remote_id, {}, "ok",
              std::string("deleted on one side, changed on the other: the changed record is kept and created again "
                          "where it was deleted"));
        ++report_.counts.conflicts;
        Item item;
        item.source = side;
        item.local_key = side == Side::kLocal ? d.local_key : "";
        item.remote_id = side == Side::kRemote ? d.remote_id : "";
        auto fresh = side == Side::kRemote
                         ? engine_.remote_.Fetch(m_.remote.entity_set, m_.remote.key, d.remote_id, remote_columns_,
                                                 CallDeadline())
                         : engine_.local_.Fetch(m_.local.table, "", d.local_key, local_columns_, CallDeadline());
        CRMSYNC_RETURN_IF_ERROR(fresh.status());
        if (!fresh->has_value()) continue;
        if (side == Side::kRemote) {
          item.remote = std::move(**fresh);
          item.remote_canonical = false;
          item.create_local = true;
        } else {
          item.local = std::move(**fresh);
          item.create_remote = true;
        }
        survivors.push_back(std::move(item));
        continue;
      }
      Item item;
      item.source = state::Other(side);
      item.local_key = d.local_key;
      item.remote_id = d.remote_id;
      Fail(item, r.status.WithContext("deleting"), side);
    }
  }
  CRMSYNC_RETURN_IF_ERROR(DecideAndWrite(survivors, 0));
  for (auto& item : survivors) FinishItem(item, 0);
  if (o.dry_run) dry_pending_.clear();
  return Commit(std::nullopt, Side::kLocal);
}

// ---------------------------------------------------------------------------
// Commit.

Status MappingPass::ApplyEffects() {
  state::StateStore& store = engine_.store_;
  std::set<std::pair<Side, std::string>> again;
  for (const auto& f : effects_.failures) again.emplace(f.source, f.record_key);
  for (const auto& w : effects_.park) again.emplace(w.source, w.record_key);
  for (const auto& [s, key] : effects_.clear_failures) {
    if (!again.count({s, key})) CRMSYNC_RETURN_IF_ERROR(store.ClearFailure(m_.name, s, key));
  }
  for (const auto& [s, key] : effects_.unpark) {
    if (!again.count({s, key})) CRMSYNC_RETURN_IF_ERROR(store.Unpark(m_.name, s, key));
  }
  for (const auto& key : effects_.uncouple) CRMSYNC_RETURN_IF_ERROR(store.DeleteCoupling(m_.name, key));
  for (const auto& c : effects_.put) CRMSYNC_RETURN_IF_ERROR(store.PutCoupling(c));
  CRMSYNC_RETURN_IF_ERROR(store.DeleteIntents(m_.name, effects_.intents_done));
  CRMSYNC_RETURN_IF_ERROR(store.DeleteWriteIntents(m_.name, effects_.write_intents_done));
  CRMSYNC_RETURN_IF_ERROR(store.DeleteLocalCreateIntents(m_.name, effects_.local_creates_done));
  for (const auto& f : effects_.failures) CRMSYNC_RETURN_IF_ERROR(store.RecordFailure(f));
  for (const auto& w : effects_.park) CRMSYNC_RETURN_IF_ERROR(store.Park(w));
  for (const auto& d : effects_.pending) CRMSYNC_RETURN_IF_ERROR(store.AddPendingDelete(d));
  for (const auto& key : effects_.pending_done) CRMSYNC_RETURN_IF_ERROR(store.RemovePendingDelete(m_.name, key));
  for (const auto& c : effects_.conflicts) CRMSYNC_RETURN_IF_ERROR(store.UpsertConflict(c).status());
  CRMSYNC_RETURN_IF_ERROR(store.AppendAudits(std::move(effects_.audit)));
  effects_ = Effects{};
  return Status::Ok();
}

Status MappingPass::Commit(std::optional<CursorState> cursor, Side side) {
  // Parts written with their parents commit with them.
  for (auto& part : parts_) {
    for (auto& item : part.pass->part_items_) {
      if (!item.failed && !item.waiting) part.pass->effects_.clear_failures.emplace_back(Side::kLocal, item.local_key);
      part.pass->FinishItem(item, 0);
    }
    part.pass->part_items_.clear();
    engine_.carried_[part.pass->m_.name] += part.pass->report_.counts;
    part.pass->report_.counts = state::JobCounts{};
    for (auto& w : part.pass->report_.plan) report_.plan.push_back(std::move(w));
    part.pass->report_.plan.clear();
  }
  if (engine_.options_.dry_run) {
    for (const auto& c : effects_.put) resolver_.Overlay(m_.name, c.local_key, c.remote_id);
    for (auto& d : effects_.pending) dry_pending_.push_back(std::move(d));
    effects_ = Effects{};
    for (auto& part : parts_) {
      for (const auto& c : part.pass->effects_.put) resolver_.Overlay(part.pass->m_.name, c.local_key, c.remote_id);
      part.pass->effects_ = Effects{};
    }
    return Status::Ok();
  }
  state::StateStore& store = engine_.store_;
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, store.Begin());
  CRMSYNC_RETURN_IF_ERROR(ApplyEffects());
  for (auto& part : parts_) CRMSYNC_RETURN_IF_ERROR(part.pass->ApplyEffects());
  if (cursor) CRMSYNC_RETURN_IF_ERROR(store.SetCursor(m_.name, side, *cursor));
  CRMSYNC_RETURN_IF_ERROR(tx.Commit());
  if (cursor && side == Side::kLocal) {
    // Lets the journal be pruned; a failure only delays pruning. So it waits
    // briefly for a store another program holds, not the whole busy
    // timeout: every mapping of a pass acknowledges, and the pass would wait
    // that long once per mapping.
    constexpr auto kAcknowledgeWait = std::chrono::milliseconds(250);
    if (Status s =
            engine_.journal_.Acknowledge(m_.name, cursor->cursor, Deadline::After(engine_.clock_, kAcknowledgeWait));
        !s.ok()) {
      spdlog::warn("{}: could not acknowledge the local journal position: {}", m_.name, s.ToString());
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Conflicts and coupling by hand.

Status MappingPass::ResolveConflict(const state::Conflict& conflict, Side keep) {
  state::StateStore& store = engine_.store_;
  CRMSYNC_ASSIGN_OR_RETURN(auto coupling, store.CouplingByLocal(m_.name, conflict.local_key));
  if (!coupling) {
    return NotFound("conflict " + std::to_string(conflict.id) + ": " + conflict.local_key + " is no longer coupled");
  }
  CRMSYNC_ASSIGN_OR_RETURN(
      auto local, engine_.local_.Fetch(m_.local.table, "", conflict.local_key, local_columns_, CallDeadline()));
  CRMSYNC_ASSIGN_OR_RETURN(auto remote, engine_.remote_.Fetch(m_.remote.entity_set, m_.remote.key, coupling->remote_id,
                                                              remote_columns_, CallDeadline()));
  if (!local || !remote) {
    return NotFound("conflict " + std::to_string(conflict.id) + ": the record was deleted on the " +
                    (local ? "Dataverse" : "local") + " side; the next pass handles the delete");
  }
  Item item;
  item.source = keep;
  item.local_key = conflict.local_key;
  item.remote_id = coupling->remote_id;
  item.local = std::move(*local);
  item.remote = std::move(*remote);
  item.before = *coupling;
  item.coupling = std::move(coupling);
  std::vector<const FieldMapping*> fields;
  std::vector<FieldChange> shown;
  for (const auto& cf : conflict.fields) {
    for (const auto& f : m_.fields) {
      if (f.Name() == cf.field) fields.push_back(&f);
    }
    shown.push_back({cf.field, cf.base, keep == Side::kLocal ? cf.local : cf.remote});
  }
  MappedRecord local_mapped = mapping::MapToRemote(m_, item.local->record, resolver_);
  CRMSYNC_RETURN_IF_ERROR(local_mapped.status);
  MappedRecord remote_mapped = mapping::MapToLocal(m_, item.remote->record, resolver_, &item.local->record);
  CRMSYNC_RETURN_IF_ERROR(remote_mapped.status);
  std::vector<PlannedOp> remote_ops;
  std::vector<PlannedOp> local_ops;
  const std::vector<const FieldMapping*> none;
  BuildUpdates(item, local_mapped, remote_mapped, keep == Side::kLocal ? fields : none,
               keep == Side::kRemote ? fields : none, remote_ops, local_ops);
  CRMSYNC_RETURN_IF_ERROR(Send(Side::kRemote, remote_ops));
  CRMSYNC_RETURN_IF_ERROR(Send(Side::kLocal, local_ops));
  if (item.retry || item.failed) {
    effects_ = Effects{};
    return Status(StatusCode::kConflict, "conflict " + std::to_string(conflict.id) +
                                             ": the record changed again meanwhile; run a sync and resolve again");
  }
  FinishItem(item, 0);
  if (!engine_.options_.dry_run) {
    Audit("resolve", state::Other(keep), item.local_key, item.remote_id, shown, "ok",
          "conflict " + std::to_string(conflict.id) + " resolved keeping the " + std::string(state::SideName(keep)) +
              " values");
  }
  CRMSYNC_RETURN_IF_ERROR(Commit(std::nullopt, Side::kLocal));
  return store.ResolveConflict(conflict.id, keep);
}

MappingReport MappingPass::CoupleByMatch() {
  if (m_.MatchColumns().empty()) {
    report_.status = InvalidArgument("mapping '" + m_.name + "' has no remote.match_on to couple by");
    return report_;
  }
  ReadRequest r;
  r.entity = m_.local.table;
  r.columns = local_columns_;
  r.max_changes = engine_.options_.page_size;
  for (;;) {
    auto batch = engine_.local_.ReadChanges(r, CallDeadline());
    if (!batch.ok()) {
      report_.status = batch.status();
      return report_;
    }
    std::vector<Item> items;
    for (auto& c : batch->changes) {
      if (c.kind != Change::Kind::kUpsert || !m_.AppliesToLocal(c.record)) continue;
      auto coupled = engine_.store_.CouplingByLocal(m_.name, c.key);
      if (!coupled.ok()) {
        report_.status = coupled.status();
        return report_;
      }
      if (*coupled) continue;
      Item item;
      item.source = Side::kLocal;
      item.local_key = c.key;
      item.local = std::move(c);
      items.push_back(std::move(item));
    }
    std::vector<Item*> pointers;
    pointers.reserve(items.size());
    for (auto& item : items) pointers.push_back(&item);
    report_.read_local += static_cast<std::int64_t>(items.size());
    if (Status s = MatchRemotely(pointers); !s.ok()) {
      report_.status = s;
      return report_;
    }
    for (auto& item : items) {
      // Coupled without values: the next pass merges the two records with null bases.
      if (item.coupling) effects_.put.push_back(*item.coupling);
    }
    if (Status s = Commit(std::nullopt, Side::kLocal); !s.ok()) {
      report_.status = s;
      return report_;
    }
    if (!batch->more) break;
    r.cursor = batch->next_cursor;
  }
  return report_;
}

}  // namespace crmsync::sync
