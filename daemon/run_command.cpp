// `crmsync run`: the daemon in the foreground (daemon/runner.h), with its
// --help explaining scheduling, signals and the systemd protocol.
#include <CLI/CLI.hpp>

#include "daemon/cli.h"
#include "daemon/runner.h"

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
    context.exit_code = RunDaemon(*config, options, status, notifier);
  });
}

}  // namespace crmsync::daemon
