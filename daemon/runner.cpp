#include "daemon/runner.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stop_token>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/time_format.h"
#include "daemon/cli.h"
#include "daemon/local_change_watcher.h"
#include "daemon/signal_pipe.h"
#include "daemon/sync_stack.h"

namespace crmsync::daemon {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// What the daemon runs on between reloads: the config, the mappings and the
// Dataverse stack built from them. A job holds its generation, so a reload
// never pulls the mappings or the connector from under a pass in flight.
struct Generation {
  Config config;
  mapping::MappingSetLoad mappings;
  std::shared_ptr<DataverseStack> dataverse;

  int IntervalOf(const mapping::Mapping& m) const { return m.interval_s.value_or(config.interval_s); }
};

// Dataverse cannot be reached or refuses us: waiting, not retrying each
// mapping, is the answer. The same test as `crmsync sync`'s exit code 4.
bool Unreachable(const Status& s) {
  const StatusCode c = s.code();
  return c == StatusCode::kUnauthenticated || c == StatusCode::kPermissionDenied ||
         (IsRetryable(s) && c != StatusCode::kBusy && c != StatusCode::kThrottled);
}

std::string OutcomeOf(const Status& s, const state::JobCounts& counts) {
  if (!s.ok()) return std::string(StatusCodeName(s.code()));
  return counts.failed > 0 || counts.conflicts > 0 ? "records_failed" : "ok";
}

std::string Seconds(milliseconds d) {
  return std::to_string((d.count() + 999) / 1000) + " s";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

struct Job {
  enum class Kind { kProbe, kPass };
  Kind kind = Kind::kProbe;
  std::vector<std::string> mappings;  // kPass: parents first
  std::vector<std::string> reasons;   // kPass: why each is due (first pass, local change, retry, interval)
  std::shared_ptr<const Generation> generation;
};

struct MappingOutcome {
  std::string mapping;
  Status status;
  state::JobCounts counts;
};

struct JobResult {
  Job::Kind kind = Job::Kind::kProbe;
  Status probe;                          // kProbe
  std::vector<MappingOutcome> outcomes;  // kPass: the mappings that ran, in order
};

struct Schedule {
  Steady::time_point next_due{};
  bool local_pending = false;
  int failures = 0;     // passes in a row stopped by a transient error
  bool passed = false;  // a pass of it ran since the daemon started
};

// Tells the main loop that the pass is alive: its stall clock restarts.
class ProgressClock final : public sync::ProgressSink {
 public:
  explicit ProgressClock(std::atomic<Steady::rep>& last) : last_(last) {}
  void OnProgress(const std::string&, state::Side, std::int64_t, std::int64_t) override {
    last_.store(Steady::now().time_since_epoch().count());
  }

 private:
  std::atomic<Steady::rep>& last_;
};

class Runner {
 public:
  Runner(const Config& config, const RunnerOptions& options, RunnerStatus& status, SystemdNotifier& notifier)
      : initial_config_(config), options_(options), status_(status), notifier_(notifier) {}

  ~Runner() {
    // The worker borrows the stack and generations: it goes first.
    if (worker_.joinable()) {
      stop_.request_stop();
      worker_cv_.notify_all();
      worker_.join();
    }
    generation_.reset();
    stack_.reset();
    if (event_fd_ >= 0) close(event_fd_);
  }

  int Run();

 private:
  // Main loop.
  int Start();
  void Loop();
  void OnJobResult(const JobResult& result);
  void ScheduleMappings(bool all_due_now);
  void MaybeSubmit();
  void CheckLocalChanges();
  void Reload();
  bool ApplyReload();  // true when the new config and mappings were taken
  int Stop();
  void UpdateHealth();
  void ShowIdle();
  void ReportDataverse();
  milliseconds Backoff(int attempt, std::optional<milliseconds> retry_after = std::nullopt);
  void Submit(Job job);
  bool WorkerBusy();

  // Worker thread.
  void Work(const std::stop_token& stop);
  JobResult RunJob(const Job& job);
  void Poke();

  const Config initial_config_;
  const RunnerOptions options_;
  RunnerStatus& status_;
  SystemdNotifier& notifier_;
  SystemClock clock_;
  std::stop_source stop_;

  std::unique_ptr<SyncStack> stack_;
  std::shared_ptr<const Generation> generation_;
  std::optional<LocalChangeWatcher> watcher_;
  std::unique_ptr<SignalPipe> signals_;
  int event_fd_ = -1;
  std::mt19937 random_{std::random_device{}()};

  // Main loop state.
  std::map<std::string, Schedule> schedule_;
  bool connected_ = false;   // Dataverse answered the last probe or pass
  bool ready_sent_ = false;  // READY=1 went out
  int probe_failures_ = 0;
  Steady::time_point probe_due_{};
  std::string probe_problem_;  // why Dataverse is not answering
  std::string reload_note_;    // the last reload was rejected
  Steady::time_point next_local_check_{};
  Steady::time_point next_watchdog_{};
  std::string showing_mapping_;  // the mapping whose pass STATUS= names

  // Shared with the worker, under mutex_.
  std::mutex mutex_;
  std::condition_variable_any worker_cv_;
  std::optional<Job> job_;
  bool job_running_ = false;
  std::optional<JobResult> result_;
  std::string current_mapping_;
  std::string current_reason_;
  std::atomic<Steady::rep> last_progress_{0};
  std::jthread worker_;
};

int Runner::Run() {
  status_.SetStarted(clock_.Now());
  if (const int code = Start(); code != kExitOk) return code;
  Loop();
  return Stop();
}

int Runner::Start() {
  notifier_.Status("Starting: opening the stores and loading the mappings");
  auto signals = SignalPipe::Install();
  if (!signals.ok()) {
    std::cerr << "crmsync run: " << signals.status().message() << "\n";
    return kExitUsage;
  }
  signals_ = std::move(signals).value();
  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) {
    std::cerr << "crmsync run: eventfd failed\n";
    return kExitUsage;
  }
  SyncStackError error;
  stack_ = OpenSyncStack(initial_config_, {}, error, stop_.get_token());
  if (!stack_) {
    for (const auto& d : error.diagnostics) std::cerr << d.ToString() << "\n";
    std::cerr << "crmsync run: " << error.status.message() << "\n";
    return error.exit_code;
  }
  auto watcher = LocalChangeWatcher::Open(initial_config_.local_database);
  if (!watcher.ok()) {
    std::cerr << "crmsync run: watching the local CRM store: " << watcher.status().message() << "\n";
    return kExitUsage;
  }
  watcher_.emplace(std::move(watcher).value());
  auto generation = std::make_shared<Generation>();
  generation->config = initial_config_;
  generation->mappings = std::move(stack_->mappings);
  generation->dataverse = std::make_shared<DataverseStack>(std::move(stack_->dataverse));
  generation_ = std::move(generation);
  ScheduleMappings(true);
  status_.SetReady(false, "connecting to Dataverse");
  spdlog::info("crmsync run: {} mappings, interval {} s; state store {} (locked by this process)",
               generation_->mappings.set.mappings().size(), initial_config_.interval_s, initial_config_.state_database);
  if (options_.on_started) {
    if (Status s = options_.on_started(initial_config_); !s.ok()) {
      std::cerr << "crmsync run: " << s.message() << "\n";
      return kExitUsage;
    }
  }
  // The worker heeds the daemon's stop source (shared with the engine and the transport), not the jthread's own.
  worker_ = std::jthread([this] { Work(stop_.get_token()); });
  return kExitOk;
}

// Due times for the current generation's mappings: new ones (all of them
// at start) at once, the others keep theirs, re-timed to a changed interval.
void Runner::ScheduleMappings(bool all_due_now) {
  std::map<std::string, Schedule> next;
  std::vector<std::pair<std::string, int>> names;
  const auto now = Steady::now();
  for (const auto& m : generation_->mappings.set.mappings()) {
    names.emplace_back(m.name, generation_->IntervalOf(m));
    auto old = schedule_.find(m.name);
    Schedule s = old != schedule_.end() && !all_due_now ? old->second : Schedule{};
    if (old == schedule_.end() || all_due_now) {
      s.next_due = now;
    } else if (s.failures == 0) {
      s.next_due = std::min(s.next_due, now + std::chrono::seconds(generation_->IntervalOf(m)));
    }
    next.emplace(m.name, s);
  }
  schedule_ = std::move(next);
  status_.SetMappings(names);
}

void Runner::Loop() {
  const auto interval = notifier_.watchdog_interval();
  const auto watchdog_every = interval ? std::chrono::duration_cast<milliseconds>(*interval / 2) : milliseconds(0);
  next_watchdog_ = Steady::now();
  probe_due_ = Steady::now();
  for (;;) {
    const auto now = Steady::now();
    UpdateHealth();
    if (interval && now >= next_watchdog_) {
      // Only while healthy: a stuck pass makes systemd restart us.
      if (status_.Snapshot().healthy) notifier_.Watchdog();
      next_watchdog_ = now + watchdog_every;
    }
    if (now >= next_local_check_) {
      CheckLocalChanges();
      next_local_check_ = now + options_.local_check;
    }
    MaybeSubmit();

    // Sleep until a signal, a worker event or the next timer.
    Steady::time_point wake = next_local_check_;
    if (interval) wake = std::min(wake, next_watchdog_);
    const int timeout_ms = static_cast<int>(
        std::clamp<long long>(std::chrono::duration_cast<milliseconds>(wake - Steady::now()).count(), 0, 60000));
    pollfd fds[2] = {{signals_->fd(), POLLIN, 0}, {event_fd_, POLLIN, 0}};
    (void)poll(fds, 2, timeout_ms);  // EINTR: just go round again
    if ((fds[1].revents & POLLIN) != 0) {
      std::uint64_t count = 0;
      (void)!read(event_fd_, &count, sizeof count);
      std::optional<JobResult> result;
      std::string mapping;
      std::string reason;
      {
        std::lock_guard lock(mutex_);
        result.swap(result_);
        mapping = current_mapping_;
        reason = current_reason_;
      }
      if (!mapping.empty() && mapping != showing_mapping_) {
        std::string line = "Syncing ";
        line.append(mapping).append(" (").append(reason).append(")");
        notifier_.Status(line);
        status_.SetActivity(notifier_.last_status());
      }
      showing_mapping_ = mapping;
      if (result) OnJobResult(*result);
    }
    if ((fds[0].revents & POLLIN) != 0) {
      bool stop = false;
      bool reload = false;
      for (int signo : signals_->Drain()) {
        stop = stop || signo == SIGTERM || signo == SIGINT;
        reload = reload || signo == SIGHUP;
      }
      if (stop) return;
      if (reload) Reload();
    }
  }
}

void Runner::UpdateHealth() {
  bool running = false;
  {
    std::lock_guard lock(mutex_);
    running = job_running_;
  }
  // A page read or write may take up to the engine's call timeout
  // (retries included); longer without progress means the pass is stuck.
  const auto limit = sync::EngineOptions{}.call_timeout + std::chrono::seconds(60);
  const auto last = Steady::time_point(Steady::duration(last_progress_.load()));
  const bool stuck = running && Steady::now() - last > limit;
  status_.SetHealthy(!stuck,
                     stuck ? "a pass has made no progress for over " +
                                 std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit).count()) + " s"
                           : "");
}

milliseconds Runner::Backoff(int attempt, std::optional<milliseconds> retry_after) {
  std::uniform_real_distribution<double> draw(0.0, 1.0);
  // Full jitter can draw ~0: wait at least the base, so an outage is not hammered.
  return std::max(options_.backoff.base, BackoffDelay(options_.backoff, attempt, draw(random_), retry_after));
}

bool Runner::WorkerBusy() {
  std::lock_guard lock(mutex_);
  return job_running_ || job_.has_value();
}

void Runner::Submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    job_ = std::move(job);
  }
  worker_cv_.notify_all();
}

void Runner::MaybeSubmit() {
  if (WorkerBusy()) return;
  const auto now = Steady::now();
  if (!connected_) {
    if (now < probe_due_) return;
    notifier_.Status("Connecting to Dataverse at " + generation_->config.dataverse.url);
    status_.SetActivity(notifier_.last_status());
    Submit({.kind = Job::Kind::kProbe, .mappings = {}, .reasons = {}, .generation = generation_});
    return;
  }
  std::vector<std::string> due;
  std::vector<std::string> reasons;
  for (const auto& m : generation_->mappings.set.mappings()) {
    Schedule& s = schedule_[m.name];
    const bool local = s.local_pending && s.failures == 0;
    if (now >= s.next_due || local) {
      due.push_back(m.name);
      reasons.push_back(!s.passed                   ? "first pass"
                        : local && now < s.next_due ? "local change"
                        : s.failures > 0            ? "retry"
                                                    : "interval");
      s.local_pending = false;
      s.passed = true;
    }
  }
  if (due.empty()) return;
  spdlog::debug("passes of {} ({})", JoinNames(due), JoinNames(reasons));
  Submit({.kind = Job::Kind::kPass, .mappings = due, .reasons = reasons, .generation = generation_});
}

void Runner::CheckLocalChanges() {
  auto tables = watcher_->ChangedTables();
  if (!tables.ok()) {
    // Not fatal: the interval still runs every mapping; say so once per problem.
    spdlog::warn("watching the local CRM store: {}", tables.status().ToString());
    return;
  }
  if (tables->empty()) return;
  for (const auto& m : generation_->mappings.set.mappings()) {
    if (tables->count(m.local.table) > 0) schedule_[m.name].local_pending = true;
  }
}

void Runner::OnJobResult(const JobResult& result) {
  const auto now = Steady::now();
  if (result.kind == Job::Kind::kProbe) {
    ReportDataverse();
    if (result.probe.ok()) {
      if (probe_failures_ > 0) spdlog::info("Dataverse answers again");
      connected_ = true;
      probe_failures_ = 0;
      probe_problem_.clear();
      status_.SetReady(true, "");
      const std::string line = "Ready: " + std::to_string(schedule_.size()) + " mappings; first passes running";
      if (!ready_sent_) {
        notifier_.Ready(line);
        ready_sent_ = true;
      }
      status_.SetActivity(notifier_.last_status());
      return;
    }
    const milliseconds wait = Backoff(probe_failures_++, result.probe.retry_after());
    probe_due_ = now + wait;
    probe_problem_ = result.probe.message();
    spdlog::error("Dataverse at {}: {}; next try in {}", generation_->config.dataverse.url, result.probe.ToString(),
                  Seconds(wait));
    status_.SetReady(false, "Dataverse: " + result.probe.message());
    const std::string line = "Waiting for Dataverse: " + result.probe.message() + "; next try in " + Seconds(wait);
    if (!ready_sent_) {
      // Up and waiting the outage out: systemd should not fail the start.
      notifier_.Ready(line);
      ready_sent_ = true;
    } else {
      notifier_.Status(line);
    }
    status_.SetActivity(notifier_.last_status());
    return;
  }
  showing_mapping_.clear();
  for (const auto& o : result.outcomes) {
    auto it = schedule_.find(o.mapping);
    if (it == schedule_.end()) continue;  // removed by a reload while it ran
    Schedule& s = it->second;
    const mapping::Mapping* m = generation_->mappings.set.Find(o.mapping);
    const auto interval = std::chrono::seconds(m != nullptr ? generation_->IntervalOf(*m) : initial_config_.interval_s);
    if (o.status.code() == StatusCode::kCancelled) {
      s.next_due = now;  // stopped by shutdown; due again at the next start anyway
    } else if (Unreachable(o.status)) {
      connected_ = false;
      s.next_due = now;  // resumes as soon as a probe gets an answer
      const milliseconds wait = Backoff(probe_failures_++, o.status.retry_after());
      probe_due_ = now + wait;
      probe_problem_ = o.status.message();
      status_.SetReady(false, "Dataverse: " + o.status.message());
      notifier_.Status("Dataverse unreachable: " + o.status.message() + "; next try in " + Seconds(wait));
      status_.SetActivity(notifier_.last_status());
    } else if (IsRetryable(o.status)) {
      const milliseconds wait = Backoff(s.failures++, o.status.retry_after());
      s.next_due = now + wait;
      spdlog::warn("{}: next pass in {}", o.mapping, Seconds(wait));
    } else {
      s.failures = 0;
      s.next_due = now + interval;
    }
    status_.SetNextPass(
        o.mapping, clock_.Now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(s.next_due - now),
        s.failures);
  }
  ReportDataverse();
  if (connected_) ShowIdle();
}

// The token's expiry and the transport's counters, for the status endpoint.
void Runner::ReportDataverse() {
  const DataverseStack& dv = *generation_->dataverse;
  status_.SetTokenExpiry(dv.tokens->token_expires_at());
  const dataverse::TransportCounters c = dv.transport->counters();
  status_.SetDataverseCounters(dv.transport.get(), c.sent, c.retried, c.throttled);
}

void Runner::ShowIdle() {
  const auto now = Steady::now();
  std::string next;
  auto soonest = Steady::time_point::max();
  for (const auto& [name, s] : schedule_) {
    if (s.next_due < soonest) {
      soonest = s.next_due;
      next = name;
    }
  }
  std::string line = "Idle: watching the local store";
  if (!next.empty()) {
    const auto at = clock_.Now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(soonest - now);
    line += "; next pass " + next + " at " + FormatUtc(at);
  }
  if (!reload_note_.empty()) line += "; " + reload_note_;
  notifier_.Status(line);
  status_.SetActivity(notifier_.last_status());
}

void Runner::Reload() {
  const std::string previous = notifier_.last_status();
  notifier_.Status("Reloading the config and mappings");
  status_.SetActivity(notifier_.last_status());
  spdlog::info("SIGHUP: reloading {}", options_.config_path);
  const bool applied = ApplyReload();
  status_.CountReload(applied);
  if (connected_ && !WorkerBusy()) {
    ShowIdle();
  } else {
    notifier_.Status(applied || reload_note_.empty() ? previous : previous + "; " + reload_note_);
    status_.SetActivity(notifier_.last_status());
  }
}

bool Runner::ApplyReload() {
  const auto reject = [&](const Diagnostics& problems, const std::string& what) {
    for (const auto& d : problems) spdlog::error("{}", d.ToString());
    spdlog::error("reload rejected: {} ({} problem{}); running on the previous config and mappings", what,
                  problems.size(), problems.size() == 1 ? "" : "s");
    reload_note_ = "last reload rejected (" + what + ", see the log)";
    return false;
  };
  ConfigLoad load = LoadConfig(options_.config_path);
  if (!load.config) return reject(load.diagnostics, "the config has problems");
  mapping::MappingSetLoad mappings =
      mapping::LoadMappingsForRun(load.config->mappings_dir, load.config->local_database);
  if (!mappings.ok()) return reject(mappings.diagnostics, "the mappings have problems");
  auto dataverse = MakeDataverseStack(*load.config, clock_, stop_.get_token());
  if (!dataverse.ok()) {
    return reject({{options_.config_path, 0, "dataverse", dataverse.status().message()}}, "Dataverse setup failed");
  }
  if (load.config->local_database != initial_config_.local_database ||
      load.config->state_database != initial_config_.state_database) {
    spdlog::warn("reload: local.database and state.database take effect at the next start; the stores stay open");
  }
  auto generation = std::make_shared<Generation>();
  generation->config = std::move(*load.config);
  generation->mappings = std::move(mappings);
  generation->dataverse = std::make_shared<DataverseStack>(std::move(dataverse).value());
  const bool dataverse_changed = generation->config.dataverse != generation_->config.dataverse;
  generation_ = std::move(generation);
  ScheduleMappings(false);
  reload_note_.clear();
  spdlog::info("reload applied: {} mappings", generation_->mappings.set.mappings().size());
  // New credentials or another organisation: ask Dataverse before the next pass.
  if (dataverse_changed) {
    connected_ = false;
    probe_due_ = Steady::now();
  }
  return true;
}

int Runner::Stop() {
  notifier_.Stopping("Stopping: finishing the batch in flight");
  status_.SetActivity(notifier_.last_status());
  status_.SetReady(false, "stopping");
  spdlog::info("stopping: finishing the batch in flight (at most {} s)", options_.stop_timeout.count());
  {
    // A job not yet picked up is simply not run.
    std::lock_guard lock(mutex_);
    job_.reset();
  }
  stop_.request_stop();
  worker_cv_.notify_all();
  const auto until = Steady::now() + options_.stop_timeout;
  for (;;) {
    if (!WorkerBusy()) break;
    const auto left = std::chrono::duration_cast<milliseconds>(until - Steady::now());
    if (left.count() <= 0) {
      // As safe as a crash: nothing uncommitted counts, the next start reads it again.
      spdlog::error("the batch in flight did not stop within {} s; abandoning it (it is read again at the next start)",
                    options_.stop_timeout.count());
      std::fflush(nullptr);
      std::_Exit(kExitOk);
    }
    if (notifier_.watchdog_interval()) notifier_.Watchdog();
    pollfd fd = {event_fd_, POLLIN, 0};
    (void)poll(&fd, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    std::uint64_t count = 0;
    (void)!read(event_fd_, &count, sizeof count);
  }
  worker_.join();
  spdlog::info("stopped");
  return kExitOk;
}

// ---------------------------------------------------------------------------
// Worker thread.

void Runner::Poke() {
  const std::uint64_t one = 1;
  (void)!write(event_fd_, &one, sizeof one);
}

void Runner::Work(const std::stop_token& stop) {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      if (!worker_cv_.wait(lock, stop, [&] { return job_.has_value(); })) return;
      job = std::move(*job_);
      job_.reset();
      job_running_ = true;
    }
    last_progress_.store(Steady::now().time_since_epoch().count());
    JobResult result = RunJob(job);
    {
      std::lock_guard lock(mutex_);
      job_running_ = false;
      current_mapping_.clear();
      result_ = std::move(result);
    }
    Poke();
    if (stop.stop_requested()) return;
  }
}

JobResult Runner::RunJob(const Job& job) {
  const Generation& g = *job.generation;
  JobResult result;
  result.kind = job.kind;
  if (job.kind == Job::Kind::kProbe) {
    const auto deadline = Deadline::After(clock_, options_.probe_timeout);
    auto answer = g.dataverse->connector->WhoAmI(deadline);
    result.probe = answer.ok() ? Status::Ok() : answer.status();
    return result;
  }
  sync::EngineOptions engine_options = EngineOptionsFrom(g.config);
  engine_options.command = "run";
  // One engine for the job: it carries counts of order lines written with
  // their orders over to the lines' own mapping.
  sync::Engine engine(g.mappings.set, *stack_->store, *stack_->local, *stack_->local, *g.dataverse->connector, clock_,
                      engine_options);
  const std::stop_token stop = stop_.get_token();
  engine.set_stop(stop);
  ProgressClock progress(last_progress_);
  engine.set_progress(&progress);
  for (std::size_t i = 0; i < job.mappings.size(); ++i) {
    const std::string& name = job.mappings[i];
    if (stop.stop_requested()) break;
    {
      std::lock_guard lock(mutex_);
      current_mapping_ = name;
      current_reason_ = job.reasons[i];
    }
    Poke();
    last_progress_.store(Steady::now().time_since_epoch().count());
    status_.PassStarted(name, clock_.Now());
    MappingOutcome outcome{.mapping = name, .status = Status::Ok(), .counts = {}};
    auto report = engine.Run({name});
    if (!report.ok()) {
      outcome.status = report.status();
      spdlog::error("{}: {}", name, report.status().ToString());
    } else if (!report->mappings.empty()) {
      outcome.status = report->mappings.front().status;
      outcome.counts = report->mappings.front().counts;
    }
    status_.PassEnded(name, clock_.Now(), outcome.counts, outcome.status, OutcomeOf(outcome.status, outcome.counts));
    const bool unreachable = Unreachable(outcome.status);
    result.outcomes.push_back(std::move(outcome));
    // The rest would only wait out the same outage, one timeout each.
    if (unreachable) break;
  }
  return result;
}

}  // namespace

int RunDaemon(const Config& config, const RunnerOptions& options, RunnerStatus& status, SystemdNotifier& notifier) {
  Runner runner(config, options, status, notifier);
  return runner.Run();
}

}  // namespace crmsync::daemon
