#include "sync/engine.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "common/time_format.h"
#include "mapping/canonical.h"
#include "state/audit_chain.h"
#include "sync/association_pass.h"
#include "sync/mapping_pass.h"

namespace crmsync::sync {

bool RunReport::AnyProblem() const {
  for (const auto& m : mappings) {
    if (!m.status.ok() || m.counts.failed > 0 || m.counts.conflicts > 0 || m.mass_delete_held) return true;
  }
  return false;
}

std::string NewRunId(const Clock& clock) {
  unsigned char bytes[4];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%02x%02x%02x%02x", bytes[0], bytes[1], bytes[2], bytes[3]);
  std::string time = FormatUtc(clock.Now());
  std::erase(time, ':');
  std::erase(time, '-');
  return "run-" + time + "-" + suffix;
}

namespace {

// The audit row of a coupling made or undone by hand.
state::AuditEntry ByHand(const mapping::Mapping& m, const std::string& action, const std::string& local_key,
                         const std::string& remote_id, const Clock& clock) {
  state::AuditEntry e;
  e.run_id = NewRunId(clock);
  e.mapping = m.name;
  e.mapping_version = m.version;
  e.action = action;
  e.side = "both";
  e.local_key = local_key;
  e.remote_id = remote_id;
  e.fields = "{\"@note\":\"" + action + "d by hand\"}";
  e.outcome = "ok";
  return e;
}

}  // namespace

Engine::Engine(const mapping::MappingSet& mappings, state::StateStore& store, connectors::Connector& local,
               connectors::ChangeJournal& journal, connectors::Connector& remote, const Clock& clock,
               EngineOptions options)
    : mappings_(mappings),
      store_(store),
      local_(local),
      journal_(journal),
      remote_reachability_(remote, clock, options.unanswered_call_timeout),
      remote_(remote_reachability_),
      clock_(clock),
      options_(std::move(options)) {}

Result<RunReport> Engine::Run(const std::vector<std::string>& names) {
  const auto unknown =
      std::find_if(names.begin(), names.end(), [&](const std::string& n) { return mappings_.Find(n) == nullptr; });
  if (unknown != names.end()) {
    std::string known;
    for (const auto& n : mappings_.Names()) known += (known.empty() ? "" : ", ") + n;
    return InvalidArgument("no mapping named '" + *unknown + "' (mappings: " + known + ")");
  }
  RunReport report;
  report.run_id = NewRunId(clock_);
  StateCouplingResolver resolver(store_);
  std::vector<const mapping::Mapping*> order;
  for (const auto& m : mappings_.mappings()) {
    if (names.empty() || std::find(names.begin(), names.end(), m.name) != names.end()) order.push_back(&m);
  }
  // Reads ahead never outlive the run (they wait for their read when dropped).
  struct DropReadsAhead {
    Engine& engine;
    ~DropReadsAhead() { engine.read_ahead_.clear(); }
  } drop_reads_ahead{*this};
  for (std::size_t at = 0; at < order.size(); ++at) {
    const mapping::Mapping& m = *order[at];
    if (stop_.stop_requested()) break;
    ReadAhead(order, at);
    state::JobRun job;
    job.run_id = report.run_id;
    job.mapping = m.name;
    job.command = options_.command;
    if (!options_.dry_run) {
      CRMSYNC_ASSIGN_OR_RETURN(job.id, store_.StartJob(job));
    }
    MappingReport mapping_report;
    if (m.association) {
      mapping_report = AssociationPass(*this, m, report.run_id, resolver).Run();
    } else {
      mapping_report = MappingPass(*this, m, report.run_id, resolver).Run();
    }
    read_ahead_.erase(m.name);  // not taken: recovery ran first, or the cursor moved
    if (auto carried = carried_.find(m.name); carried != carried_.end()) {
      mapping_report.counts += carried->second;
      carried_.erase(carried);
    }
    if (!mapping_report.status.ok()) {
      spdlog::error("{}: {}", m.name, mapping_report.status.ToString());
    }
    spdlog::info(
        "{}: read {} local and {} Dataverse changes; {} created, {} updated, {} deleted, {} unchanged, "
        "{} coupled, {} failed, {} conflicts, {} waiting",
        m.name, mapping_report.read_local, mapping_report.read_remote, mapping_report.counts.inserted,
        mapping_report.counts.modified, mapping_report.counts.deleted, mapping_report.counts.unchanged,
        mapping_report.counts.coupled, mapping_report.counts.failed, mapping_report.counts.conflicts,
        mapping_report.counts.waiting);
    if (!options_.dry_run) {
      job.counts = mapping_report.counts;
      job.outcome = mapping_report.status.ok()                               ? "ok"
                    : mapping_report.status.code() == StatusCode::kCancelled ? "stopped"
                                                                             : "failed";
      job.message = mapping_report.status.ok() ? "" : mapping_report.status.message();
      if (Status s = store_.FinishJob(job); !s.ok()) return s.WithContext("recording the job run");
    }
    report.mappings.push_back(std::move(mapping_report));
  }
  return report;
}

void Engine::ReadAhead(const std::vector<const mapping::Mapping*>& order, std::size_t at) {
  // A few mappings ahead: most read nothing, and each read is one round trip.
  constexpr std::size_t kDepth = 4;
  for (std::size_t next = at + 1; next < order.size() && next <= at + kDepth; ++next) {
    const mapping::Mapping& m = *order[next];
    if (read_ahead_.count(m.name) > 0) continue;
    bool eligible = true;
    for (std::size_t running = at; running < next && eligible; ++running) {
      eligible = ReadAheadEligible(m, *order[running]);
    }
    if (!eligible) continue;
    // The cursor the pass will read from (MappingPass::ReadSideFrom): none
    // for a full read, or when the mapping changed since its cursor was made.
    auto cursor = store_.Cursor(m.name, state::Side::kRemote);
    if (!cursor.ok()) continue;  // the pass meets the error itself
    const bool from_start = options_.full || (!cursor->cursor.empty() && cursor->mapping_version != m.version);
    auto ahead = std::make_unique<RemoteReadAhead>();
    ahead->Start(remote_, m.name, RemoteReadRequest(m, from_start ? "" : cursor->cursor, options_.page_size),
                 Deadline::After(clock_, options_.call_timeout));
    read_ahead_.emplace(m.name, std::move(ahead));
  }
}

std::optional<connectors::ChangeBatch> Engine::TakeReadAhead(const std::string& mapping,
                                                             const connectors::ReadRequest& request) {
  auto it = read_ahead_.find(mapping);
  if (it == read_ahead_.end()) return std::nullopt;
  auto batch = it->second->Take(mapping, request);
  read_ahead_.erase(it);
  return batch;
}

Status Engine::ResolveConflict(std::int64_t conflict_id, state::Side keep) {
  CRMSYNC_ASSIGN_OR_RETURN(auto conflict, store_.ConflictById(conflict_id));
  if (!conflict || conflict->status != "open")
    return NotFound("no open conflict with id " + std::to_string(conflict_id));
  const mapping::Mapping* m = mappings_.Find(conflict->mapping);
  if (m == nullptr)
    return NotFound("conflict " + std::to_string(conflict_id) + " belongs to mapping '" + conflict->mapping +
                    "', which no longer exists");
  StateCouplingResolver resolver(store_);
  MappingPass pass(*this, *m, NewRunId(clock_), resolver);
  return pass.ResolveConflict(*conflict, keep);
}

Result<MappingReport> Engine::CoupleByMatch(const std::string& mapping_name) {
  const mapping::Mapping* m = mappings_.Find(mapping_name);
  if (m == nullptr) return InvalidArgument("no mapping named '" + mapping_name + "'");
  if (m->association) {
    return InvalidArgument("mapping '" + mapping_name +
                           "' links records: its rows are coupled by the records they link, not by hand");
  }
  StateCouplingResolver resolver(store_);
  MappingPass pass(*this, *m, NewRunId(clock_), resolver);
  MappingReport report = pass.CoupleByMatch();
  if (!report.status.ok()) return report.status;
  return report;
}

Status Engine::Couple(const std::string& mapping_name, const std::string& local_key, const std::string& remote_id) {
  const mapping::Mapping* m = mappings_.Find(mapping_name);
  if (m == nullptr) return InvalidArgument("no mapping named '" + mapping_name + "'");
  if (m->association) {
    return InvalidArgument("mapping '" + mapping_name +
                           "' links records: its rows are coupled by the records they link, not by hand");
  }
  const Deadline deadline = Deadline::After(clock_, options_.call_timeout);
  CRMSYNC_ASSIGN_OR_RETURN(auto local, local_.Fetch(m->local.table, "", local_key, m->LocalReadColumns(), deadline));
  if (!local) return NotFound(m->local.table + " '" + local_key + "' does not exist");
  if (!m->AppliesToLocal(local->record)) {
    return InvalidArgument(m->local.table + " '" + local_key + "' does not belong to mapping '" + m->name +
                           "' (local.filter)");
  }
  CRMSYNC_ASSIGN_OR_RETURN(
      auto remote, remote_.Fetch(m->remote.entity_set, m->remote.key, remote_id, m->RemoteSelectColumns(), deadline));
  if (!remote) return NotFound(m->remote.entity_set + "(" + remote_id + ") does not exist in Dataverse");
  CRMSYNC_ASSIGN_OR_RETURN(auto by_local, store_.CouplingByLocal(m->name, local_key));
  if (by_local) {
    return Status(StatusCode::kAlreadyExists,
                  local_key + " is already coupled to " + by_local->remote_id + "; uncouple it first");
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto by_remote, store_.CouplingByRemote(m->name, remote->key));
  if (by_remote) {
    return Status(StatusCode::kAlreadyExists,
                  remote->key + " is already coupled to " + by_remote->local_key + "; uncouple it first");
  }
  state::Coupling c;
  c.mapping = m->name;
  c.local_key = local_key;
  c.remote_id = remote->key;
  const state::AuditEntry e = ByHand(*m, "couple", local_key, remote->key, clock_);
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, store_.Begin());
  CRMSYNC_RETURN_IF_ERROR(store_.PutCoupling(c));
  CRMSYNC_RETURN_IF_ERROR(store_.AppendAudit(e).status());
  return tx.Commit();
}

Status Engine::Uncouple(const std::string& mapping_name, const std::string& local_key) {
  const mapping::Mapping* m = mappings_.Find(mapping_name);
  if (m == nullptr) return InvalidArgument("no mapping named '" + mapping_name + "'");
  if (m->association) {
    return InvalidArgument("mapping '" + mapping_name +
                           "' links records: its rows are coupled by the records they link, not by hand");
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto coupling, store_.CouplingByLocal(m->name, local_key));
  if (!coupling) return NotFound(local_key + " is not coupled in mapping '" + m->name + "'");
  const state::AuditEntry e = ByHand(*m, "uncouple", local_key, coupling->remote_id, clock_);
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, store_.Begin());
  CRMSYNC_RETURN_IF_ERROR(store_.DeleteCoupling(m->name, local_key));
  CRMSYNC_RETURN_IF_ERROR(store_.AppendAudit(e).status());
  return tx.Commit();
}

}  // namespace crmsync::sync
