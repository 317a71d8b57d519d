// `crmsync sync [--mapping NAME]... [--full] [--allow-mass-delete] [--json]`
// and `crmsync plan [--mapping NAME]... [--full] [--json]`.
//
// sync runs one pass of every (or the named) mapping and exits: 0 when all
// went through; 1 when the pass ran but records failed or conflicted, or a
// mapping stopped (the mass-delete guard, throttling or a locked local store
// outlasting the retries); 2 bad config or mappings; 4 Dataverse unreachable
// (unavailable, timing out) or refusing our credentials; 5 another crmsync
// holds the state store.
// plan makes the same decisions with reads only and prints the writes a
// sync would make; it changes nothing anywhere.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "common/value_json.h"
#include "daemon/cli.h"
#include "daemon/sync_stack.h"

namespace crmsync::daemon {

namespace {

struct SyncOptions {
  std::vector<std::string> mappings;
  bool full = false;
  bool allow_mass_delete = false;
  bool json = false;
  bool no_progress = false;
};

// One line on a terminal, rewritten after every page; nothing elsewhere.
class TerminalProgress final : public sync::ProgressSink {
 public:
  void OnProgress(const std::string& mapping, state::Side, std::int64_t read, std::int64_t written) override {
    std::fprintf(stderr, "\r\033[K%s: %lld read, %lld written", mapping.c_str(), static_cast<long long>(read),
                 static_cast<long long>(written));
    std::fflush(stderr);
    shown_ = true;
  }
  ~TerminalProgress() override {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool shown_ = false;
};

nlohmann::json CountsJson(const state::JobCounts& c) {
  return {{"inserted", c.inserted},   {"modified", c.modified}, {"deleted", c.deleted}, {"unchanged", c.unchanged},
          {"skipped", c.skipped},     {"failed", c.failed},     {"coupled", c.coupled}, {"uncoupled", c.uncoupled},
          {"conflicts", c.conflicts}, {"waiting", c.waiting}};
}

nlohmann::json WriteJson(const sync::PlannedWrite& w) {
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& f : w.fields)
    fields[f.name] = {{"old", ValueToJson(f.old_value)}, {"new", ValueToJson(f.new_value)}};
  return {{"action", w.action},       {"side", state::SideName(w.side)},
          {"local_key", w.local_key}, {"remote_id", w.remote_id},
          {"fields", fields},         {"note", w.note}};
}

nlohmann::json ReportJson(const sync::RunReport& report, bool with_plan) {
  nlohmann::json mappings = nlohmann::json::array();
  for (const auto& m : report.mappings) {
    nlohmann::json j = {{"mapping", m.mapping},
                        {"status", m.status.ok() ? "ok" : std::string(StatusCodeName(m.status.code()))},
                        {"message", m.status.ok() ? "" : m.status.message()},
                        {"read_local", m.read_local},
                        {"read_remote", m.read_remote},
                        {"mass_delete_held", m.mass_delete_held},
                        {"counts", CountsJson(m.counts)}};
    if (with_plan) {
      nlohmann::json writes = nlohmann::json::array();
      for (const auto& w : m.plan) writes.push_back(WriteJson(w));
      j["writes"] = writes;
    }
    mappings.push_back(j);
  }
  return {{"run_id", report.run_id}, {"mappings", mappings}};
}

std::string Shown(const Value& v) {
  return v.kind() == Value::Kind::kText ? nlohmann::json(v.as_text()).dump() : v.ToDisplayString();
}

void PrintPlan(const sync::RunReport& report) {
  std::size_t total = 0;
  std::cout << "Plan: the writes `crmsync sync` would make now (nothing was written).\n";
  for (const auto& m : report.mappings) {
    std::cout << m.mapping << ":";
    if (m.plan.empty()) std::cout << " nothing to do";
    std::cout << "\n";
    for (const auto& w : m.plan) {
      ++total;
      const bool remote = w.side == state::Side::kRemote;
      std::cout << "  " << w.action << " " << (remote ? "Dataverse" : "local");
      if (w.action == "create") {
        std::cout << (remote ? " record from local " + w.local_key : " row from Dataverse " + w.remote_id);
      } else {
        std::cout << " " << (remote ? w.remote_id : w.local_key) << " ("
                  << (remote ? "local " + w.local_key : "Dataverse " + w.remote_id) << ")";
      }
      std::string sep = ": ";
      for (const auto& f : w.fields) {
        std::cout << sep << f.name << " ";
        if (w.action == "create") {
          std::cout << "= " << Shown(f.new_value);
        } else {
          std::cout << Shown(f.old_value) << " -> " << Shown(f.new_value);
        }
        sep = ", ";
      }
      if (!w.note.empty()) std::cout << " [" << w.note << "]";
      std::cout << "\n";
    }
    if (!m.status.ok()) std::cout << "  stops: " << m.status.message() << "\n";
  }
  std::cout << total << (total == 1 ? " write" : " writes") << " planned\n";
}

void PrintSummary(const sync::RunReport& report) {
  std::printf("%-20s %9s %9s %8s %8s %8s %9s %8s %7s %9s %8s  %s\n", "mapping", "read loc", "read dv", "created",
              "updated", "deleted", "unchanged", "coupled", "failed", "conflicts", "waiting", "status");
  for (const auto& m : report.mappings) {
    const auto& c = m.counts;
    std::printf(
        "%-20s %9lld %9lld %8lld %8lld %8lld %9lld %8lld %7lld %9lld %8lld  %s\n", m.mapping.c_str(),
        static_cast<long long>(m.read_local), static_cast<long long>(m.read_remote), static_cast<long long>(c.inserted),
        static_cast<long long>(c.modified), static_cast<long long>(c.deleted), static_cast<long long>(c.unchanged),
        static_cast<long long>(c.coupled), static_cast<long long>(c.failed), static_cast<long long>(c.conflicts),
        static_cast<long long>(c.waiting), m.status.ok() ? "ok" : m.status.message().c_str());
  }
  std::fflush(stdout);
}

// 4 when Dataverse could not be reached or refused us; 1 for other trouble,
// a throttled Dataverse (it answered) and a locked local store among them.
// The daemon's scheduler draws the same line (runner.cpp, Unreachable).
int ExitCodeOf(const sync::RunReport& report) {
  bool unreachable = false;
  for (const auto& m : report.mappings) {
    const StatusCode c = m.status.code();
    unreachable = unreachable || c == StatusCode::kUnauthenticated || c == StatusCode::kPermissionDenied ||
                  (IsRetryable(m.status) && c != StatusCode::kBusy && c != StatusCode::kThrottled);
  }
  if (unreachable) return kExitUnreachable;
  return report.AnyProblem() ? kExitRecordsFailed : kExitOk;
}

void Run(const SyncOptions& options, bool dry_run, CommandContext& context) {
  auto config = context.LoadConfigOrReport();
  if (!config) return;
  SyncStackError error;
  // A plan writes nothing, so it may run beside a daemon.
  auto stack = OpenSyncStack(*config, {.lock = !dry_run, .local = true, .dataverse = true, .mappings = true}, error);
  if (!stack) {
    for (const auto& d : error.diagnostics) std::cerr << d.ToString() << "\n";
    std::cerr << "crmsync " << (dry_run ? "plan" : "sync") << ": " << error.status.message() << "\n";
    context.exit_code = error.exit_code;
    return;
  }
  sync::EngineOptions engine_options = EngineOptionsFrom(*config);
  engine_options.command = dry_run ? "plan" : "sync";
  engine_options.dry_run = dry_run;
  engine_options.full = options.full;
  engine_options.allow_mass_delete = options.allow_mass_delete;
  auto engine = stack->MakeEngine(engine_options);
  TerminalProgress progress;
  if (!options.no_progress && !options.json && ::isatty(STDERR_FILENO) == 1) engine->set_progress(&progress);
  auto report = engine->Run(options.mappings);
  if (!report.ok()) {
    std::cerr << "crmsync " << (dry_run ? "plan" : "sync") << ": " << report.status().message() << "\n";
    context.exit_code = report.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRecordsFailed;
    return;
  }
  if (options.json) {
    std::cout << ReportJson(*report, dry_run).dump() << "\n";
  } else if (dry_run) {
    PrintPlan(*report);
  } else {
    PrintSummary(*report);
  }
  for (const auto& m : report->mappings) {
    if (!m.status.ok()) std::cerr << "crmsync: " << m.mapping << ": " << m.status.message() << "\n";
  }
  context.exit_code = ExitCodeOf(*report);
}

void AddShared(CLI::App* cmd, const std::shared_ptr<SyncOptions>& options) {
  cmd->add_option("--mapping", options->mappings, "only this mapping (repeatable); parents are not added for you");
  cmd->add_flag("--full", options->full,
                "read both sides from the start and reconcile by key (never creates twice; finds deletions)");
  cmd->add_flag("--json", options->json, "print one JSON document");
}

}  // namespace

void AddSyncCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<SyncOptions>();
  CLI::App* sync = app.add_subcommand(
      "sync", "one pass of every mapping (or the named ones), then exit; exit 1 if records failed or conflicted");
  AddShared(sync, options);
  sync->add_flag("--allow-mass-delete", options->allow_mass_delete,
                 "apply deletes even beyond sync.mass_delete_max_share / _max_count");
  sync->add_flag("--no-progress", options->no_progress, "no progress line, even on a terminal");
  sync->callback([options, &context] { Run(*options, false, context); });

  auto plan_options = std::make_shared<SyncOptions>();
  CLI::App* plan = app.add_subcommand(
      "plan",
      "dry run: print the creates, updates (old -> new), deletes and conflicts a sync would make; changes "
      "nothing anywhere");
  AddShared(plan, plan_options);
  plan->callback([plan_options, &context] { Run(*plan_options, true, context); });
}

}  // namespace crmsync::daemon
