// `crmsync run`: the daemon in the foreground (daemon/runner.h), with its
// --help explaining scheduling, signals and the systemd protocol.
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <mutex>

#include <nlohmann/json.hpp>

#include "daemon/cli.h"
#include "daemon/runner.h"
#include "daemon/status_report.h"
#include "daemon/sync_stack.h"
#include "status/status_server.h"

namespace crmsync::daemon {

namespace {

constexpr const char* kRunHelp =
    "the daemon, in the foreground (systemd Type=notify): keeps every mapping in step until SIGTERM";

constexpr const char* kRunFooter = R"(
Scheduling: each mapping runs every interval_s seconds (the mapping file's interval_s, else the
config's), parents first; a change to a mapped local table (by any program: its triggers journal
it) starts that mapping's pass within about a second; Dataverse changes arrive with the next
interval. Two passes of one mapping never overlap.

Outages: when Dataverse cannot be reached or refuses the credentials, passes pause, the daemon
reports not ready, and it asks again with capped exponential backoff (1 s to 5 min); nothing is
lost, since cursors move only with committed work.

Signals: SIGTERM or SIGINT finishes (or abandons, uncommitted) the batch in flight and exits 0,
within --stop-timeout; SIGHUP re-reads the config and mappings, and keeps the old ones when the
new ones have problems (each logged as FILE:LINE: PATH: message).

systemd: READY=1 once the stores are open, the config and mappings are valid and Dataverse gave a
token (or, during an outage, with a STATUS= saying it is waiting); STATUS= says what it is doing;
WATCHDOG=1 at half of WatchdogSec= while healthy (no pass stuck); STOPPING=1 on shutdown.

The state store stays locked while it runs: a second crmsync that needs it exits 5.
Exit codes: 0 stopped by a signal; 2 bad usage, config or mappings at start; 5 another process
holds the state store.)";

// What the status endpoint shows of the running daemon. The runner's state
// comes from its thread-safe snapshot; the queues and last runs come from
// the state store over a read-only connection of this request's own (the
// engine's store serves one thread at a time), as `crmsync status` reads
// them. Requests are answered one at a time: a scrape is cheap, and two at
// once would only open two connections.
class DaemonStatusSource final : public status::StatusSource {
 public:
  DaemonStatusSource(const Config& config, const RunnerStatus& runner) : config_(config), runner_(runner) {}

  status::Probe Health() override {
    const RunnerSnapshot s = runner_.Snapshot();
    return {s.healthy, s.healthy ? "" : s.reason};
  }
  status::Probe Readiness() override {
    const RunnerSnapshot s = runner_.Snapshot();
    return {s.ready, s.ready ? "" : (s.reason.empty() ? s.activity : s.reason)};
  }
  std::string StatusJson() override {
    std::lock_guard lock(mutex_);
    auto document = Document();
    if (!document.ok()) return nlohmann::json{{"error", document.status().ToString()}}.dump();
    return document->dump();
  }
  status::MetricsSnapshot Metrics() override {
    std::lock_guard lock(mutex_);
    status::MetricsSnapshot m;
    if (auto document = Document(); document.ok()) ApplyStatusToMetrics(*document, m);
    const RunnerSnapshot s = runner_.Snapshot();
    for (const auto& run : s.mappings) {
      status::MappingMetrics* found = nullptr;
      for (auto& mm : m.mappings) found = mm.mapping == run.mapping ? &mm : found;
      if (found == nullptr) {
        m.mappings.push_back({});
        found = &m.mappings.back();
        found->mapping = run.mapping;
      }
      found->passes = run.passes_by_outcome;
      found->records = run.records_total;
      if (run.last_success) {
        found->last_success_unix =
            std::chrono::duration_cast<std::chrono::seconds>(run.last_success->time_since_epoch()).count();
      }
    }
    m.requests = s.requests;
    m.retries = s.retries;
    m.throttled = s.throttled;
    if (s.token_expiry) {
      m.token_expiry_unix =
          std::chrono::duration_cast<std::chrono::seconds>(s.token_expiry->time_since_epoch()).count();
    }
    m.ready = s.ready;
    status::SetLagFromLastSuccess(m, std::chrono::system_clock::now());
    return m;
  }

 private:
  Result<nlohmann::json> Document() {
    SyncStackError error;
    auto stack = OpenSyncStack(
        config_, {.lock = false, .local = false, .dataverse = false, .mappings = true, .local_schema = false}, error);
    if (!stack) return error.status;
    auto journal = local::LocalConnector::Open(config_.local_database);
    return BuildStatusDocument({.store = *stack->store,
                                .mappings = stack->mappings.set,
                                .journal = journal.ok() ? journal->get() : nullptr,
                                .state_database = config_.state_database,
                                .daemon_pid = static_cast<int>(getpid()),
                                .clock = clock_});
  }

  const Config config_;
  const RunnerStatus& runner_;
  const SystemClock clock_;
  std::mutex mutex_;
};

}  // namespace

void AddRunCommand(CLI::App& app, CommandContext& context) {
  auto stop_timeout_s = std::make_shared<int>(30);
  CLI::App* run = app.add_subcommand("run", kRunHelp);
  run->footer(kRunFooter);
  run->add_option("--stop-timeout", *stop_timeout_s,
                  "seconds SIGTERM waits for the batch in flight before abandoning it (keep below TimeoutStopSec=)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  run->callback([&context, stop_timeout_s] {
    auto config = context.LoadConfigOrReport();
    if (!config) return;
    RunnerOptions options;
    options.config_path = context.ConfigPath();
    options.stop_timeout = std::chrono::seconds(*stop_timeout_s);
    RunnerStatus status;
    SystemdNotifier notifier;
    // The status endpoint: started once the stores are open and the config
    // valid, stopped before the runner's state it reads goes away.
    DaemonStatusSource source(*config, status);
    status::StatusServer server(source);
    options.on_started = [&server](const Config& started) -> Status {
      if (started.status_listen.empty()) return Status::Ok();
      CRMSYNC_RETURN_IF_ERROR(server.Start(started.status_listen).WithContext("status_listen"));
      spdlog::info("status endpoint on http://{}:{}/ (healthz, readyz, status, metrics)",
                   status::ParseListenAddress(started.status_listen)->host, server.port());
      return Status::Ok();
    };
    context.exit_code = RunDaemon(*config, options, status, notifier);
    server.Stop();
  });
}

}  // namespace crmsync::daemon
