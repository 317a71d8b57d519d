// The verbs that read or act on the state store: `status [--json]`,
// `log [--since TIME] [--mapping NAME] [--json]`, `conflicts list|resolve`,
// `errors list|retry`, `couple`, `uncouple` and `couple --match`.
//
// Reading verbs never take the state store's lock, so they work beside a
// running daemon. `errors retry` and a `conflicts resolve` while a daemon
// runs only mark rows; the next pass acts on them. Writing verbs (couple,
// uncouple, resolve when no daemon runs) take the lock: exit 5 when another
// crmsync holds it.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "common/value_json.h"
#include "connectors/local/local_connector.h"
#include "daemon/cli.h"
#include "daemon/status_report.h"
#include "daemon/sync_stack.h"

namespace crmsync::daemon {

namespace {

using nlohmann::json;

// The state store alone, read-only in spirit (no lock).
std::unique_ptr<SyncStack> OpenForReading(CommandContext& context, std::optional<Config>& config,
                                          bool with_mappings = false) {
  config = context.LoadConfigOrReport();
  if (!config) return nullptr;
  SyncStackError error;
  auto stack = OpenSyncStack(
      *config, {.lock = false, .local = false, .dataverse = false, .mappings = with_mappings, .local_schema = false},
      error);
  if (!stack) {
    for (const auto& d : error.diagnostics) std::cerr << d.ToString() << "\n";
    std::cerr << "crmsync: " << error.status.message() << "\n";
    context.exit_code = error.exit_code;
  }
  return stack;
}

std::unique_ptr<SyncStack> OpenForWriting(CommandContext& context, std::optional<Config>& config) {
  config = context.LoadConfigOrReport();
  if (!config) return nullptr;
  SyncStackError error;
  auto stack = OpenSyncStack(*config, {}, error);
  if (!stack) {
    for (const auto& d : error.diagnostics) std::cerr << d.ToString() << "\n";
    std::cerr << "crmsync: " << error.status.message() << "\n";
    context.exit_code = error.exit_code;
  }
  return stack;
}

bool Check(const Status& s, CommandContext& context, const char* verb) {
  if (s.ok()) return true;
  std::cerr << "crmsync " << verb << ": " << s.message() << "\n";
  switch (s.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists: context.exit_code = kExitUsage; break;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnavailable:
    case StatusCode::kTimeout:
    case StatusCode::kThrottled: context.exit_code = kExitUnreachable; break;
    default: context.exit_code = kExitRecordsFailed;
  }
  return false;
}

// --- status ----------------------------------------------------------------

void RunStatus(bool as_json, CommandContext& context) {
  std::optional<Config> config;
  auto stack = OpenForReading(context, config, true);
  if (!stack) return;
  const auto holder = state::InstanceLock::Holder(config->state_database);
  // Pending local changes come from the journal; status still answers without the local store.
  auto journal = local::LocalConnector::Open(config->local_database);
  const SystemClock clock;
  auto document = BuildStatusDocument({.store = *stack->store,
                                       .mappings = stack->mappings.set,
                                       .journal = journal.ok() ? journal->get() : nullptr,
                                       .state_database = config->state_database,
                                       .daemon_pid = holder,
                                       .clock = clock});
  if (!Check(document.status(), context, "status")) return;
  const json& out = *document;
  const json& mappings = out["mappings"];
  if (as_json) {
    std::cout << out.dump() << "\n";
    return;
  }
  std::cout << "crmsync " << (holder ? "daemon running, pid " + std::to_string(*holder) : "not running")
            << "; state store " << config->state_database << "\n";
  std::printf("%-20s %-9s %-24s %8s %8s %7s %9s %8s %6s  %s\n", "mapping", "last run", "last success", "coupled",
              "pending", "failed", "conflicts", "waiting", "held", "last counts");
  for (const auto& j : mappings) {
    const json& run = j["last_run"];
    std::string counts = "-";
    if (!run.is_null()) {
      const json& c = run["counts"];
      counts = std::to_string(c["inserted"].get<long long>()) + " created, " +
               std::to_string(c["modified"].get<long long>()) + " updated, " +
               std::to_string(c["deleted"].get<long long>()) + " deleted";
    }
    const std::string pending =
        j["pending_local_changes"].is_null() ? "-" : std::to_string(j["pending_local_changes"].get<long long>());
    std::printf("%-20s %-9s %-24s %8lld %8s %7zu %9zu %8zu %6zu  %s\n", j["mapping"].get<std::string>().c_str(),
                run.is_null() ? "never" : run["outcome"].get<std::string>().c_str(),
                j["last_success_at"].is_null() ? "-" : j["last_success_at"].get<std::string>().c_str(),
                j["coupled"].get<long long>(), pending.c_str(), j["failed"].get<std::size_t>(),
                j["conflicts"].get<std::size_t>(), j["waiting_for_parent"].get<std::size_t>(),
                j["deletes_held"].get<std::size_t>(), counts.c_str());
  }
}

// --- log -------------------------------------------------------------------

void RunLog(const std::string& since, const std::string& mapping, int limit, bool as_json, CommandContext& context) {
  std::optional<Config> config;
  auto stack = OpenForReading(context, config);
  if (!stack) return;
  auto runs = stack->store->JobRuns(since, mapping, limit);
  if (!Check(runs.status(), context, "log")) return;
  if (as_json) {
    for (const auto& r : *runs) std::cout << JobRunJson(r).dump() << "\n";
    return;
  }
  std::printf("%-24s %-20s %-11s %8s %8s %8s %9s %8s %7s %9s\n", "started", "mapping", "outcome", "created", "updated",
              "deleted", "unchanged", "skipped", "failed", "conflicts");
  for (const auto& r : *runs) {
    const auto& c = r.counts;
    std::printf("%-24s %-20s %-11s %8lld %8lld %8lld %9lld %8lld %7lld %9lld\n", r.started_at.c_str(),
                r.mapping.c_str(), r.outcome.c_str(), static_cast<long long>(c.inserted),
                static_cast<long long>(c.modified), static_cast<long long>(c.deleted),
                static_cast<long long>(c.unchanged), static_cast<long long>(c.skipped),
                static_cast<long long>(c.failed), static_cast<long long>(c.conflicts));
    if (!r.message.empty()) std::printf("    %s\n", r.message.c_str());
  }
}

// --- conflicts -------------------------------------------------------------

std::string Shown(const Value& v) {
  return v.kind() == Value::Kind::kText ? json(v.as_text()).dump() : v.ToDisplayString();
}

void RunConflictsList(bool as_json, CommandContext& context) {
  std::optional<Config> config;
  auto stack = OpenForReading(context, config);
  if (!stack) return;
  auto conflicts = stack->store->OpenConflicts("");
  if (!Check(conflicts.status(), context, "conflicts list")) return;
  if (as_json) {
    json out = json::array();
    for (const auto& c : *conflicts) {
      json fields = json::array();
      for (const auto& f : c.fields) {
        fields.push_back({{"field", f.field},
                          {"base", ValueToJson(f.base)},
                          {"local", ValueToJson(f.local)},
                          {"remote", ValueToJson(f.remote)}});
      }
      out.push_back({{"id", c.id},
                     {"mapping", c.mapping},
                     {"local_key", c.local_key},
                     {"remote_id", c.remote_id},
                     {"fields", fields},
                     {"resolve_requested", c.resolve_requested ? json(c.resolution) : json(nullptr)},
                     {"created_at", c.created_at},
                     {"updated_at", c.updated_at}});
    }
    std::cout << out.dump() << "\n";
    return;
  }
  if (conflicts->empty()) {
    std::cout << "no open conflicts\n";
    return;
  }
  for (const auto& c : *conflicts) {
    std::cout << "#" << c.id << " " << c.mapping << " local " << c.local_key << " / Dataverse " << c.remote_id
              << " (since " << c.created_at << ")"
              << (c.resolve_requested ? " - resolution keeping " + c.resolution + " requested" : "") << "\n";
    for (const auto& f : c.fields) {
      std::cout << "    " << f.field << ": local " << Shown(f.local) << ", Dataverse " << Shown(f.remote) << " (was "
                << Shown(f.base) << ")\n";
    }
  }
  std::cout << "resolve with: crmsync conflicts resolve ID --keep local|remote\n";
}

void RunConflictsResolve(std::int64_t id, const std::string& keep_text, CommandContext& context) {
  const auto keep = state::ParseSide(keep_text);
  std::optional<Config> config = context.LoadConfigOrReport();
  if (!config) return;
  if (state::InstanceLock::Holder(config->state_database)) {
    // A daemon runs: ask it to resolve on its next pass.
    config.reset();
    auto stack = OpenForReading(context, config);
    if (!stack) return;
    if (!Check(stack->store->RequestResolution(id, *keep), context, "conflicts resolve")) return;
    std::cout << "conflict " << id << ": the running daemon resolves it keeping the " << keep_text
              << " values on its next pass\n";
    return;
  }
  auto stack = OpenForWriting(context, config);
  if (!stack) return;
  auto engine = stack->MakeEngine(EngineOptionsFrom(*config));
  if (!Check(engine->ResolveConflict(id, *keep), context, "conflicts resolve")) return;
  std::cout << "conflict " << id << " resolved: the " << keep_text << " values were written to the "
            << (*keep == state::Side::kLocal ? "Dataverse" : "local") << " side\n";
}

// --- errors ----------------------------------------------------------------

void RunErrorsList(bool as_json, CommandContext& context) {
  std::optional<Config> config;
  auto stack = OpenForReading(context, config);
  if (!stack) return;
  auto failures = stack->store->Failures("");
  if (!Check(failures.status(), context, "errors list")) return;
  if (as_json) {
    json out = json::array();
    for (const auto& f : *failures) {
      out.push_back({{"id", f.id},
                     {"mapping", f.mapping},
                     {"source", state::SideName(f.source)},
                     {"local_key", f.local_key},
                     {"remote_id", f.remote_id},
                     {"code", f.code},
                     {"dataverse_code", f.remote_code},
                     {"http_status", f.http_status},
                     {"message", f.message},
                     {"transient", f.transient},
                     {"retry_requested", f.retry_requested},
                     {"attempts", f.attempts},
                     {"first_seen", f.first_seen},
                     {"last_seen", f.last_seen}});
    }
    std::cout << out.dump() << "\n";
    return;
  }
  if (failures->empty()) {
    std::cout << "no failed records\n";
    return;
  }
  for (const auto& f : *failures) {
    std::cout << "#" << f.id << " " << f.mapping << " " << (f.source == state::Side::kLocal ? "local " : "Dataverse ")
              << f.record_key << ": " << f.code << (f.remote_code.empty() ? "" : " (" + f.remote_code + ")") << " "
              << f.message << " [" << f.attempts << (f.attempts == 1 ? " attempt" : " attempts") << ", last "
              << f.last_seen << (f.transient ? ", retried every pass" : "")
              << (f.retry_requested ? ", retry requested" : "") << "]\n";
  }
  std::cout << "retry with: crmsync errors retry ID (or --all)\n";
}

void RunErrorsRetry(std::int64_t id, bool all, CommandContext& context) {
  if ((id == 0) == !all) {
    std::cerr << "crmsync errors retry: give an ID or --all\n";
    context.exit_code = kExitUsage;
    return;
  }
  std::optional<Config> config;
  auto stack = OpenForReading(context, config);
  if (!stack) return;
  auto n = stack->store->RequestRetry(all ? 0 : id);
  if (!Check(n.status(), context, "errors retry")) return;
  std::cout << *n << (*n == 1 ? " record" : " records")
            << " marked for retry: the next pass (crmsync sync, or the running daemon) tries again\n";
}

// --- couple / uncouple ------------------------------------------------------

void RunCouple(const std::vector<std::string>& args, bool match, CommandContext& context) {
  if ((match && args.size() != 1) || (!match && args.size() != 3)) {
    std::cerr << "crmsync couple: usage: couple MAPPING LOCAL_KEY REMOTE_ID, or couple --match MAPPING\n";
    context.exit_code = kExitUsage;
    return;
  }
  std::optional<Config> config;
  auto stack = OpenForWriting(context, config);
  if (!stack) return;
  auto engine = stack->MakeEngine(EngineOptionsFrom(*config));
  if (match) {
    auto report = engine->CoupleByMatch(args[0]);
    if (!Check(report.status(), context, "couple --match")) return;
    std::cout << args[0] << ": " << report->counts.coupled << " coupled by match_on, " << report->counts.failed
              << " ambiguous (see `crmsync errors list`); the next sync merges their values\n";
    if (report->counts.failed > 0) context.exit_code = kExitRecordsFailed;
    return;
  }
  if (!Check(engine->Couple(args[0], args[1], args[2]), context, "couple")) return;
  std::cout << args[0] << ": " << args[1] << " coupled to " << args[2] << "; the next sync merges their values\n";
}

void RunUncouple(const std::string& mapping, const std::string& key, CommandContext& context) {
  std::optional<Config> config;
  auto stack = OpenForWriting(context, config);
  if (!stack) return;
  auto engine = stack->MakeEngine(EngineOptionsFrom(*config));
  if (!Check(engine->Uncouple(mapping, key), context, "uncouple")) return;
  std::cout << mapping << ": " << key << " uncoupled; neither record was changed\n";
}

}  // namespace

void AddStateCommands(CLI::App& app, CommandContext& context) {
  auto json_status = std::make_shared<bool>(false);
  CLI::App* status = app.add_subcommand(
      "status", "per mapping: last run, counts, failed records, open conflicts, waiting records, cursor age; daemon");
  status->add_flag("--json", *json_status, "print one JSON document (the same as the daemon's /status)");
  status->callback([json_status, &context] { RunStatus(*json_status, context); });

  struct LogOptions {
    std::string since;
    std::string mapping;
    int limit = 50;
    bool json = false;
  };
  auto log = std::make_shared<LogOptions>();
  CLI::App* log_cmd = app.add_subcommand("log", "job runs, newest first: start, end, outcome and counts");
  log_cmd->add_option("--since", log->since, "runs started at or after this UTC time (2026-12-01T00:00:00Z)");
  log_cmd->add_option("--mapping", log->mapping, "only this mapping");
  log_cmd->add_option("--limit", log->limit, "at most this many runs")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  log_cmd->add_flag("--json", log->json, "one JSON object per line");
  log_cmd->callback([log, &context] { RunLog(log->since, log->mapping, log->limit, log->json, context); });

  CLI::App* conflicts = app.add_subcommand("conflicts", "records changed on both sides (conflict policy manual)");
  conflicts->require_subcommand(1);
  auto conflicts_json = std::make_shared<bool>(false);
  CLI::App* clist = conflicts->add_subcommand("list", "open conflicts with each field's local, remote and old value");
  clist->add_flag("--json", *conflicts_json, "print one JSON array");
  clist->callback([conflicts_json, &context] { RunConflictsList(*conflicts_json, context); });
  auto resolve_id = std::make_shared<std::int64_t>(0);
  auto resolve_keep = std::make_shared<std::string>();
  CLI::App* resolve =
      conflicts->add_subcommand("resolve", "write the kept side's values to the other side and close the conflict");
  resolve->add_option("ID", *resolve_id, "the conflict's id (conflicts list)")->required();
  resolve->add_option("--keep", *resolve_keep, "local or remote")
      ->required()
      ->check(CLI::IsMember({"local", "remote"}));
  resolve->callback([resolve_id, resolve_keep, &context] { RunConflictsResolve(*resolve_id, *resolve_keep, context); });

  CLI::App* errors = app.add_subcommand("errors", "records that failed, with Dataverse's code and message");
  errors->require_subcommand(1);
  auto errors_json = std::make_shared<bool>(false);
  CLI::App* elist = errors->add_subcommand("list", "failed records, oldest first");
  elist->add_flag("--json", *errors_json, "print one JSON array");
  elist->callback([errors_json, &context] { RunErrorsList(*errors_json, context); });
  auto retry_id = std::make_shared<std::int64_t>(0);
  auto retry_all = std::make_shared<bool>(false);
  CLI::App* retry = errors->add_subcommand("retry", "try failed records again in the next pass");
  retry->add_option("ID", *retry_id, "the failure's id (errors list)");
  retry->add_flag("--all", *retry_all, "every failed record");
  retry->callback([retry_id, retry_all, &context] { RunErrorsRetry(*retry_id, *retry_all, context); });

  auto couple_args = std::make_shared<std::vector<std::string>>();
  auto couple_match = std::make_shared<bool>(false);
  CLI::App* couple = app.add_subcommand(
      "couple", "couple MAPPING LOCAL_KEY REMOTE_ID by hand, or --match MAPPING: couple by match_on values");
  couple->add_option("ARGS", *couple_args, "MAPPING LOCAL_KEY REMOTE_ID, or MAPPING with --match");
  couple->add_flag("--match", *couple_match, "couple the mapping's uncoupled records by their match_on values");
  couple->callback([couple_args, couple_match, &context] { RunCouple(*couple_args, *couple_match, context); });

  auto uncouple_mapping = std::make_shared<std::string>();
  auto uncouple_key = std::make_shared<std::string>();
  CLI::App* uncouple = app.add_subcommand("uncouple", "forget that a local record and a Dataverse record are one");
  uncouple->add_option("MAPPING", *uncouple_mapping, "mapping name")->required();
  uncouple->add_option("LOCAL_KEY", *uncouple_key, "local key")->required();
  uncouple->callback(
      [uncouple_mapping, uncouple_key, &context] { RunUncouple(*uncouple_mapping, *uncouple_key, context); });
}

}  // namespace crmsync::daemon
