// Runner: `crmsync run`, the long-running daemon loop.
//
// Two threads. The main loop owns scheduling, signals (SignalPipe), the
// local change watcher and every systemd notification; one worker thread
// runs the jobs the main loop hands it, one at a time: a probe (WhoAmI,
// which also obtains the first token) or a pass over the due mappings,
// parents first, one Engine::Run per mapping so each mapping's start and
// end are its own. One worker means two passes of one mapping never overlap
// (and the engine's "one Run at a time" holds).
//
// When a mapping is due: its interval (the mapping's interval_s, else the
// config's) after its last pass ended; or, within about a second, when the
// local journal shows a change to its table; or at once after a start, a
// reconnection or a reload that added it. A pass that stops on a transient
// error backs off (common/backoff.h) instead; one that finds Dataverse
// unreachable or refusing our credentials makes the daemon not ready and
// stops all passes until a probe, backed off the same way, gets an answer.
// Nothing is lost meanwhile: cursors only move with committed work, so the
// next pass resumes where the last commit left off.
//
// Signals: SIGTERM and SIGINT stop the engine through its stop token (the
// batch in flight finishes or is abandoned uncommitted), then Run() returns
// 0; a pass that does not stop within the stop timeout is abandoned by
// exiting at once, which is as safe as a crash (R1, R2). SIGHUP re-reads the
// config and mappings; a bad new set is logged problem by problem
// (FILE:LINE: PATH: message) and the old one kept.
//
// STATUS= lines (systemctl status shows the latest; the README's operations
// section lists them for admins):
//   Starting: opening the stores and loading the mappings
//   Connecting to Dataverse at URL            a WhoAmI probe (the first token) in flight
//   Ready: N mappings; first passes running   with READY=1, once the first probe succeeded
//   Waiting for Dataverse: WHY; next try in N s
//                                             the probe failed (with READY=1 the first time)
//   Syncing MAPPING (first pass|local change|retry|interval)
//   Dataverse unreachable: WHY; next try in N s
//                                             a pass found it so; passes paused, not ready
//   Idle: watching the local store; next pass MAPPING at TIME[; last reload rejected (WHAT, see the log)]
//   Reloading the config and mappings
//   Stopping: finishing the batch in flight   with STOPPING=1
//
// Ownership: owns the sync stack (the state store's instance lock for its
// whole life), the worker and the signal handlers; borrows the status and
// notifier, which must outlive it.
// Thread-safety: Run() once, from the thread that made the Runner.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/backoff.h"
#include "common/status.h"
#include "daemon/config.h"
#include "daemon/runner_status.h"
#include "daemon/systemd_notifier.h"

namespace crmsync::daemon {

struct RunnerOptions {
  std::string config_path;  // re-read on SIGHUP
  // How often the local journal is looked at: the latency of local changes.
  std::chrono::milliseconds local_check{250};
  // How long SIGTERM waits for the batch in flight before abandoning it.
  std::chrono::seconds stop_timeout{30};
  // A probe's deadline: short, so READY=1 is not held back by an outage.
  std::chrono::seconds probe_timeout{10};
  // Between probes of an unreachable Dataverse, and between the passes of a
  // mapping that keeps stopping on transient errors.
  BackoffPolicy backoff{.base = std::chrono::milliseconds(1000), .cap = std::chrono::milliseconds(300000)};
  // Called once the stores are open (the instance lock held) and the config
  // and mappings are valid, before the first pass and before READY=1: where
  // the status endpoint starts. A Status that is not ok ends the daemon
  // with exit code 2 and its message.
  std::function<Status(const Config&)> on_started;
};

// Runs the daemon until SIGTERM or SIGINT; returns the exit code
// (interface.md): 0 after a clean stop, 2 for a bad config or mappings at
// start, 5 when another process holds the state store.
int RunDaemon(const Config& config, const RunnerOptions& options, RunnerStatus& status, SystemdNotifier& notifier);

}  // namespace crmsync::daemon
