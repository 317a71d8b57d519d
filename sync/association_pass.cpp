#include "sync/association_pass.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/time_format.h"
#include "common/value_json.h"
#include "sync/pass_outcomes.h"

namespace crmsync::sync {

namespace {

using connectors::LookupRequest;
using connectors::ReadRequest;
using connectors::WriteOp;
using state::Coupling;
using state::CursorState;

}  // namespace

AssociationPass::AssociationPass(Engine& engine, const mapping::Mapping& mapping, std::string run_id,
                                 StateCouplingResolver& resolver)
    : engine_(engine), m_(mapping), a_(*mapping.association), run_id_(std::move(run_id)), resolver_(resolver) {
  report_.mapping = m_.name;
}

std::string AssociationPass::LinkId(const std::string& parent_id, const std::string& member_id) {
  return nlohmann::json::array({parent_id, member_id}).dump();
}

std::optional<std::pair<std::string, std::string>> AssociationPass::ParseLinkId(const std::string& link_id) {
  const auto j = nlohmann::json::parse(link_id, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array() || j.size() != 2 || !j[0].is_string() || !j[1].is_string()) return std::nullopt;
  return std::pair{j[0].get<std::string>(), j[1].get<std::string>()};
}

Deadline AssociationPass::CallDeadline() const {
  return Deadline::After(engine_.clock_, engine_.options_.call_timeout);
}

MappingReport AssociationPass::Run() {
  Status s = RetryParked();
  if (s.ok()) s = ReadLocal();
  if (s.ok()) s = RetryParked();  // rows that waited for an end coupled in this pass
  report_.status = std::move(s);
  return report_;
}

void AssociationPass::Audit(const std::string& action, const std::string& local_key, const std::string& link_id,
                            const std::string& outcome, const std::string& note) {
  std::string fields = "{";
  AppendJsonString(fields, "@note");
  fields += ':';
  AppendJsonString(fields, note);
  fields += '}';
  state::AuditEntry e;
  e.run_id = run_id_;
  e.mapping = m_.name;
  e.mapping_version = m_.version;
  e.action = action;
  e.side = std::string(state::SideName(Side::kRemote));
  e.local_key = local_key;
  e.remote_id = link_id;
  e.fields = std::move(fields);
  e.outcome = outcome;
  effects_.audit.push_back(std::move(e));
  if (engine_.options_.dry_run && outcome == "ok") {
    report_.plan.push_back({m_.name, action, Side::kRemote, local_key, link_id, {}, note});
  }
}

void AssociationPass::Fail(const Item& item, const Status& status) {
  state::Failure f;
  f.mapping = m_.name;
  f.source = Side::kLocal;
  f.record_key = item.local_key;
  f.local_key = item.local_key;
  f.remote_id = item.link ? LinkId(item.parent_id, item.member_id) : item.unlink_id;
  f.code = std::string(StatusCodeName(status.code()));
  f.remote_code = status.remote_code();
  f.http_status = status.http_status();
  f.message = status.message();
  f.transient = LeavesTheCursor(status);
  if (f.transient) incomplete_ = true;
  effects_.failures.push_back(f);
  ++report_.counts.failed;
  if (!f.transient) {
    Audit("quarantine", item.local_key, f.remote_id, f.code, status.message());
    spdlog::warn("{}: {} failed: {}", m_.name, item.local_key, status.ToString());
  }
}

Result<std::string> AssociationPass::ResolveEnd(const mapping::AssociationEnd& end, const Record& row, bool& never,
                                                std::string& why) {
  const mapping::Mapping* target = engine_.mappings_.Find(end.lookup);
  const auto value = row.find(end.local);
  if (target == nullptr || value == row.end() || value->second.is_null() || target->local.key.size() != 1) {
    never = true;
    why = end.local + " names no record of mapping '" + end.lookup + "'";
    return std::string();
  }
  CRMSYNC_ASSIGN_OR_RETURN(std::string key, target->EncodeLocalKey({{target->local.key[0], value->second}}));
  CRMSYNC_ASSIGN_OR_RETURN(auto id, resolver_.RemoteIdFor(end.lookup, key));
  if (id) return *id;
  // Not coupled: it waits for its mapping, unless that mapping never couples it.
  CRMSYNC_ASSIGN_OR_RETURN(
      auto record, engine_.local_.Fetch(target->local.table, "", key, target->LocalReadColumns(), CallDeadline()));
  if (!record) {
    never = true;
    why = target->local.table + " '" + key + "' does not exist";
  } else if (!target->AppliesToLocal(record->record)) {
    never = true;
    why = target->local.table + " '" + key + "' is not a record of mapping '" + end.lookup +
          "' (its local.filter), so it cannot be linked";
  } else {
    why = end.local + ": " + target->local.table + " '" + key + "' is not coupled in mapping '" + end.lookup + "' yet";
  }
  return std::string();
}

Status AssociationPass::Decide(const Change& change, Item& item) {
  item.local_key = change.key;
  CRMSYNC_ASSIGN_OR_RETURN(item.coupling, engine_.store_.CouplingByLocal(m_.name, item.local_key));
  bool wanted = change.kind == Change::Kind::kUpsert && m_.AppliesToLocal(change.record);
  if (wanted) {
    bool never = false;
    std::string why;
    CRMSYNC_ASSIGN_OR_RETURN(item.parent_id, ResolveEnd(a_.parent, change.record, never, why));
    if (!never && !item.parent_id.empty()) {
      CRMSYNC_ASSIGN_OR_RETURN(item.member_id, ResolveEnd(a_.member, change.record, never, why));
    }
    if (never) {
      spdlog::info("{}: {} skipped: {}", m_.name, item.local_key, why);
      ++report_.counts.skipped;
      effects_.unpark.push_back(item.local_key);
      wanted = false;
    } else if (item.parent_id.empty() || item.member_id.empty()) {
      effects_.park.push_back({m_.name, Side::kLocal, item.local_key, why, ""});
      if (waiting_.insert(item.local_key).second) ++report_.counts.waiting;  // once, however often it is tried
      return Status::Ok();                                                   // the link as it stands waits with the row
    }
  }
  const std::string link_id = wanted ? LinkId(item.parent_id, item.member_id) : "";
  if (item.coupling && item.coupling->remote_id == link_id) {
    ++report_.counts.unchanged;  // an echo, or a column that is not an end changed (R4)
    effects_.unpark.push_back(item.local_key);
    return Status::Ok();
  }
  if (item.coupling) {
    if (!wanted && m_.on_delete != mapping::DeletePolicy::kPropagate) {
      effects_.uncouple.push_back(item.local_key);
      ++report_.counts.uncoupled;
      Audit("uncouple", item.local_key, item.coupling->remote_id, "ok",
            "row gone; on_delete " + std::string(mapping::DeletePolicyName(m_.on_delete)) + " keeps the link");
    } else {
      item.unlink_id = item.coupling->remote_id;
    }
  }
  item.link = wanted;
  if (!wanted) item.parent_id.clear();
  return Status::Ok();
}

Status AssociationPass::Write(std::vector<Item>& items) {
  std::vector<WriteOp> ops;
  std::vector<std::pair<Item*, bool>> op_items;  // the item of each op, and whether it links
  const auto op_for = [&](const std::string& parent, const std::string& member, WriteOp::Kind kind) {
    WriteOp op;
    op.kind = kind;
    op.entity = m_.remote.entity_set;
    op.key = parent;
    op.relationship = a_.relationship;
    op.target_entity = a_.member.entity_set;
    op.target_key = member;
    return op;
  };
  for (auto& item : items) {
    if (!item.unlink_id.empty()) {
      const auto ends = ParseLinkId(item.unlink_id);
      if (!ends) {
        Fail(item, InvalidArgument("the state store holds '" + item.unlink_id + "' as this link, which is not one"));
        item.failed = true;
        continue;
      }
      ops.push_back(op_for(ends->first, ends->second, WriteOp::Kind::kDisassociate));
      op_items.emplace_back(&item, false);
    }
    if (item.link) {
      ops.push_back(op_for(item.parent_id, item.member_id, WriteOp::Kind::kAssociate));
      op_items.emplace_back(&item, true);
    }
  }
  if (ops.empty()) return Status::Ok();
  std::vector<connectors::WriteResult> results(ops.size());
  if (!engine_.options_.dry_run) {
    auto written = engine_.remote_.Write(m_.remote.entity_set, ops, CallDeadline());
    if (!written.ok()) {
      if (!LeavesTheCursor(written.status())) return written.status().WithContext("writing links of " + m_.name);
      for (auto& r : results) r.status = written.status();
    } else {
      results = std::move(written).value();
    }
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    Item& item = *op_items[i].first;
    if (!results[i].status.ok() && !item.failed) {
      item.failed = true;
      Fail(item, results[i].status);
    }
  }
  for (auto& item : items) {
    if (item.failed || (item.unlink_id.empty() && !item.link)) continue;
    const std::string what = a_.relationship + " of " + m_.remote.entity_set;
    if (!item.unlink_id.empty()) {
      Audit("delete", item.local_key, item.unlink_id, "ok", "unlinked through " + what);
      ++report_.counts.deleted;
      if (!item.link) effects_.uncouple.push_back(item.local_key);
    }
    if (item.link) {
      Coupling c;
      c.mapping = m_.name;
      c.local_key = item.local_key;
      c.remote_id = LinkId(item.parent_id, item.member_id);
      Audit("create", item.local_key, c.remote_id, "ok", "linked through " + what);
      ++report_.counts.inserted;
      effects_.put.push_back(std::move(c));
    }
    effects_.clear_failures.push_back(item.local_key);
    effects_.unpark.push_back(item.local_key);
  }
  return Status::Ok();
}

Status AssociationPass::ProcessPage(std::vector<Change> changes, std::optional<CursorState> cursor) {
  std::vector<Item> items(changes.size());
  for (std::size_t i = 0; i < changes.size(); ++i) CRMSYNC_RETURN_IF_ERROR(Decide(changes[i], items[i]));
  CRMSYNC_RETURN_IF_ERROR(Write(items));
  if (incomplete_) cursor.reset();  // the page is read again; what went through is committed
  return Commit(cursor);
}

Status AssociationPass::Commit(std::optional<CursorState> cursor) {
  if (engine_.options_.dry_run) {
    effects_ = Effects{};
    return Status::Ok();
  }
  state::StateStore& store = engine_.store_;
  std::set<std::string> again;
  for (const auto& f : effects_.failures) again.insert(f.record_key);
  for (const auto& w : effects_.park) again.insert(w.record_key);
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, store.Begin());
  for (const auto& key : effects_.clear_failures) {
    if (!again.count(key)) CRMSYNC_RETURN_IF_ERROR(store.ClearFailure(m_.name, Side::kLocal, key));
  }
  for (const auto& key : effects_.unpark) {
    if (!again.count(key)) CRMSYNC_RETURN_IF_ERROR(store.Unpark(m_.name, Side::kLocal, key));
  }
  for (const auto& key : effects_.uncouple) CRMSYNC_RETURN_IF_ERROR(store.DeleteCoupling(m_.name, key));
  for (const auto& c : effects_.put) CRMSYNC_RETURN_IF_ERROR(store.PutCoupling(c));
  for (const auto& f : effects_.failures) CRMSYNC_RETURN_IF_ERROR(store.RecordFailure(f));
  for (const auto& w : effects_.park) CRMSYNC_RETURN_IF_ERROR(store.Park(w));
  CRMSYNC_RETURN_IF_ERROR(store.AppendAudits(std::move(effects_.audit)));
  if (cursor) CRMSYNC_RETURN_IF_ERROR(store.SetCursor(m_.name, Side::kLocal, *cursor));
  CRMSYNC_RETURN_IF_ERROR(tx.Commit());
  effects_ = Effects{};
  if (cursor) {
    if (Status s = engine_.journal_.Acknowledge(m_.name, cursor->cursor, CallDeadline()); !s.ok()) {
      spdlog::warn("{}: could not acknowledge the local journal position: {}", m_.name, s.ToString());
    }
  }
  return Status::Ok();
}

Result<std::map<std::string, connectors::Change>> AssociationPass::LocalRows(const std::vector<std::string>& keys) {
  LookupRequest r;
  r.entity = m_.local.table;
  r.columns = m_.LocalReadColumns();
  for (const auto& key : keys) r.values.push_back(Value::Text(key));
  r.max_records = kLookupChunk;
  std::map<std::string, Change> found;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(auto batch, engine_.local_.Lookup(r, CallDeadline()));
    for (auto& c : batch.changes) found[c.key] = std::move(c);
    if (!batch.more) return found;
    r.cursor = batch.next_cursor;
  }
}

Status AssociationPass::RetryParked() {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  CRMSYNC_ASSIGN_OR_RETURN(auto failures, engine_.store_.FailuresToRetry(m_.name));
  for (const auto& f : failures) {
    if (seen.insert(f.record_key).second) keys.push_back(f.record_key);
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto waiting, engine_.store_.Waiting(m_.name));
  for (const auto& w : waiting) {
    if (seen.insert(w.record_key).second) keys.push_back(w.record_key);
  }
  for (std::size_t start = 0; start < keys.size(); start += kLookupChunk) {
    const std::size_t end = std::min(keys.size(), start + kLookupChunk);
    CRMSYNC_ASSIGN_OR_RETURN(auto found, LocalRows({keys.begin() + static_cast<std::ptrdiff_t>(start),
                                                    keys.begin() + static_cast<std::ptrdiff_t>(end)}));
    std::vector<Change> changes;
    for (std::size_t i = start; i < end; ++i) {
      auto it = found.find(keys[i]);
      if (it != found.end()) {
        changes.push_back(std::move(it->second));
      } else {
        Change gone;
        gone.kind = Change::Kind::kDelete;
        gone.key = keys[i];
        changes.push_back(std::move(gone));
      }
      effects_.clear_failures.push_back(keys[i]);
      effects_.unpark.push_back(keys[i]);
    }
    CRMSYNC_RETURN_IF_ERROR(ProcessPage(std::move(changes), std::nullopt));
    if (incomplete_) return Status(StatusCode::kUnavailable, m_.name + ": stopped after a transient failure");
  }
  return Status::Ok();
}

Status AssociationPass::ReadLocal() {
  state::StateStore& store = engine_.store_;
  CRMSYNC_ASSIGN_OR_RETURN(CursorState cs, store.Cursor(m_.name, Side::kLocal));
  if (engine_.options_.full) cs = CursorState{};
  bool full = cs.cursor.empty() || cs.full_epoch != 0;
  if (cs.cursor.empty()) cs.full_epoch = 1;  // a full read in progress, also when resumed by a later pass
  std::int64_t written = 0;
  for (;;) {
    if (engine_.stop_.stop_requested()) return Status(StatusCode::kCancelled, "stopping");
    ReadRequest r;
    r.entity = m_.local.table;
    r.columns = m_.LocalReadColumns();
    r.cursor = cs.cursor;
    r.max_changes = engine_.options_.page_size;
    auto batch = engine_.local_.ReadChanges(r, CallDeadline());
    if (!batch.ok()) {
      if (batch.status().code() == StatusCode::kCursorExpired && !cs.cursor.empty()) {
        spdlog::warn("{}: the local cursor is no longer accepted ({}); reading every row again", m_.name,
                     batch.status().message());
        cs = CursorState{};
        cs.full_epoch = 1;
        full = true;
        continue;
      }
      return batch.status().WithContext("reading local changes of " + m_.name);
    }
    report_.read_local += static_cast<std::int64_t>(batch->changes.size());
    CursorState next;
    next.cursor = batch->next_cursor;
    next.mapping_version = m_.version;
    // A full read is over when its last page is committed: its cursor is then the journal position it began at.
    next.full_epoch = batch->more ? cs.full_epoch : 0;
    CRMSYNC_RETURN_IF_ERROR(ProcessPage(std::move(batch->changes), next));
    if (incomplete_) {
      return Status(
          StatusCode::kUnavailable,
          m_.name + ": stopped after a transient failure; the next pass resumes from the last page committed");
    }
    cs = next;
    written = report_.counts.inserted + report_.counts.deleted;
    if (engine_.progress_ != nullptr) engine_.progress_->OnProgress(m_.name, Side::kLocal, report_.read_local, written);
    if (!batch->more) break;
  }
  if (!full) return Status::Ok();
  // Links whose rows are gone: a full read shows only the rows there are.
  std::string after;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(auto couplings, store.ListCouplings(m_.name, after, kLookupChunk));
    if (couplings.empty()) break;
    after = couplings.back().local_key;
    std::vector<std::string> keys;
    keys.reserve(couplings.size());
    for (const auto& c : couplings) keys.push_back(c.local_key);
    CRMSYNC_ASSIGN_OR_RETURN(auto there, LocalRows(keys));
    std::vector<Change> gone;
    for (const auto& c : couplings) {
      if (there.count(c.local_key)) continue;
      Change d;
      d.kind = Change::Kind::kDelete;
      d.key = c.local_key;
      gone.push_back(std::move(d));
    }
    if (gone.empty()) continue;
    CRMSYNC_RETURN_IF_ERROR(ProcessPage(std::move(gone), std::nullopt));
    if (incomplete_) return Status(StatusCode::kUnavailable, m_.name + ": stopped after a transient failure");
  }
  return Status::Ok();
}

}  // namespace crmsync::sync
