#include "daemon/status_report.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "common/deadline.h"
#include "common/time_format.h"

namespace crmsync::daemon {

namespace {

using nlohmann::json;

json CountsJson(const state::JobCounts& c) {
  return {{"inserted", c.inserted},   {"modified", c.modified}, {"deleted", c.deleted}, {"unchanged", c.unchanged},
          {"skipped", c.skipped},     {"failed", c.failed},     {"coupled", c.coupled}, {"uncoupled", c.uncoupled},
          {"conflicts", c.conflicts}, {"waiting", c.waiting}};
}

}  // namespace

json JobRunJson(const state::JobRun& j) {
  return {{"id", j.id},           {"run_id", j.run_id},         {"mapping", j.mapping},
          {"command", j.command}, {"started_at", j.started_at}, {"finished_at", j.finished_at},
          {"outcome", j.outcome}, {"message", j.message},       {"counts", CountsJson(j.counts)}};
}

Result<json> BuildStatusDocument(const StatusInputs& in) {
  state::StateStore& store = in.store;
  json mappings = json::array();
  for (const auto& m : in.mappings.mappings()) {
    json j = {{"mapping", m.name}, {"version", m.version}};
    auto runs = store.JobRuns("", m.name, 1);
    auto success = store.LastSuccess(m.name);
    auto failures = store.Failures(m.name);
    auto conflicts = store.OpenConflicts(m.name);
    auto waiting = store.Waiting(m.name);
    auto pending = store.PendingDeletes(m.name);
    auto coupled = store.CountCouplings(m.name);
    auto local = store.Cursor(m.name, state::Side::kLocal);
    auto remote = store.Cursor(m.name, state::Side::kRemote);
    for (const Status& s : {runs.status(), success.status(), failures.status(), conflicts.status(), waiting.status(),
                            pending.status(), coupled.status(), local.status(), remote.status()}) {
      if (!s.ok()) return s;
    }
    j["last_run"] = runs->empty() ? json(nullptr) : JobRunJson(runs->front());
    j["last_success_at"] = *success ? json((*success)->finished_at) : json(nullptr);
    j["coupled"] = *coupled;
    j["pending_local_changes"] = nullptr;
    if (in.journal != nullptr) {
      auto pending_local =
          in.journal->PendingChanges(m.local.table, local->cursor, Deadline::After(in.clock, std::chrono::seconds(30)));
      if (pending_local.ok()) j["pending_local_changes"] = *pending_local;
    }
    j["failed"] = failures->size();
    j["conflicts"] = conflicts->size();
    j["waiting_for_parent"] = waiting->size();
    j["deletes_held"] = pending->size();
    j["cursors"] = {{"local", {{"updated_at", local->updated_at}, {"full_read", local->full_epoch != 0}}},
                    {"remote", {{"updated_at", remote->updated_at}, {"full_read", remote->full_epoch != 0}}}};
    mappings.push_back(j);
  }
  return json{{"daemon",
               {{"running", in.daemon_pid.has_value()}, {"pid", in.daemon_pid ? json(*in.daemon_pid) : json(nullptr)}}},
              {"state_database", in.state_database},
              {"mappings", mappings}};
}

void ApplyStatusToMetrics(const json& document, status::MetricsSnapshot& metrics) {
  const auto it = document.find("mappings");
  if (it == document.end() || !it->is_array()) return;
  for (const json& m : *it) {
    if (!m.is_object() || !m.contains("mapping") || !m["mapping"].is_string()) continue;
    const std::string name = m["mapping"].get<std::string>();
    status::MappingMetrics* target = nullptr;
    for (auto& existing : metrics.mappings) {
      if (existing.mapping == name) target = &existing;
    }
    if (target == nullptr) {
      metrics.mappings.push_back(status::MappingMetrics{.mapping = name});
      target = &metrics.mappings.back();
    }
    const auto count = [&](const char* key) -> std::optional<std::int64_t> {
      const auto v = m.find(key);
      if (v == m.end() || !v->is_number_integer()) return std::nullopt;
      return v->get<std::int64_t>();
    };
    target->pending_local_changes = count("pending_local_changes");
    target->failures = count("failed").value_or(0);
    target->conflicts = count("conflicts").value_or(0);
    target->waiting_for_parent = count("waiting_for_parent").value_or(0);
    target->last_success_unix.reset();
    if (const auto s = m.find("last_success_at"); s != m.end() && s->is_string()) {
      if (const auto t = ParseUtc(s->get<std::string>())) {
        target->last_success_unix = std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
      }
    }
  }
}

}  // namespace crmsync::daemon
