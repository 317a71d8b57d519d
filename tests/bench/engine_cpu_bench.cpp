// engine_cpu_bench: crmsync's own CPU outside HTTP, per record. A benchmark,
// not a test: it prints a table and the command that reproduces it.
//
//   engine_cpu_bench [--records 20000] [--runs 3] [--changed-pct 1] [--phase all|push|echo|idle|change]
//
// sync::Engine runs in this process with the default mappings
// (systemd/mappings.d), the real local connector over a local store of N
// person contacts, the real SQLite state store (both files in a temporary
// folder), and an in-memory Dataverse side (memory_dataverse.h). Measured
// per phase with CLOCK_PROCESS_CPUTIME_ID (user + system, every thread),
// less the CPU spent inside the in-memory side:
//   push    the initial pass: N creates in Dataverse, N couplings;
//   echo    the pass after it: nothing changed by anyone, but Dataverse's
//           changes since the push's cursor are the N records it created,
//           which the engine must recognise as its own (R4) and skip;
//   idle    the pass after that: nothing to read;
//   change  a pass after --changed-pct % of the records changed, half in the
//           local store and half in Dataverse (as a user would).
// Filling the store and making the changes is not measured.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "connectors/local/local_connector.h"
#include "crm/rows.h"
#include "crm/schema.h"
#include "crm/statement_cache.h"
#include "crm/store.h"
#include "mapping/mapping_loader.h"
#include "state/sqlite_state_store.h"
#include "sync/engine.h"
#include "tests/bench/bench_data.h"
#include "tests/bench/bench_process.h"
#include "tests/bench/memory_dataverse.h"
#include "tests/support/temp_dir.h"

namespace crmsync::bench {
namespace {

double ProcessCpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "engine_cpu_bench: " << message << "\n";
  std::exit(1);
}

struct PhaseResult {
  double cpu_s = 0;   // crmsync's, the in-memory side's taken out
  double side_s = 0;  // the in-memory side's
  double wall_s = 0;
  std::int64_t records = 0;  // records the pass covers (N)
  std::int64_t changed = 0;  // records changed before it
  std::int64_t written = 0;  // inserted + modified on both sides
};

struct Bench {
  const mapping::MappingSet* mappings = nullptr;
  state::SqliteStateStore* store = nullptr;
  local::LocalConnector* local = nullptr;
  MemoryDataverse* remote = nullptr;
  SystemClock clock;

  PhaseResult Pass(std::int64_t records, std::int64_t changed) {
    sync::Engine engine(*mappings, *store, *local, *local, *remote, clock);
    const double side0 = remote->cpu_seconds();
    const double cpu0 = ProcessCpu();
    const auto wall0 = std::chrono::steady_clock::now();
    auto report = engine.Run({});
    const auto wall1 = std::chrono::steady_clock::now();
    const double cpu1 = ProcessCpu();
    if (!report.ok()) Die("the pass failed: " + report.status().ToString());
    PhaseResult r;
    r.side_s = remote->cpu_seconds() - side0;
    r.cpu_s = cpu1 - cpu0 - r.side_s;
    r.wall_s = std::chrono::duration<double>(wall1 - wall0).count();
    r.records = records;
    r.changed = changed;
    for (const auto& m : report->mappings) {
      if (!m.status.ok()) Die("mapping " + m.mapping + " stopped: " + m.status.ToString());
      if (m.counts.failed > 0 || m.counts.conflicts > 0) {
        Die("mapping " + m.mapping + ": " + std::to_string(m.counts.failed) + " failed, " +
            std::to_string(m.counts.conflicts) + " conflicts");
      }
      r.written += m.counts.inserted + m.counts.modified;
    }
    return r;
  }
};

int Main(int argc, char** argv) {
  int records = 20000, runs = 3;
  double changed_pct = 1;
  std::string phase = "all";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--records") {
      records = std::atoi(argv[i + 1]);
    } else if (a == "--runs") {
      runs = std::atoi(argv[i + 1]);
    } else if (a == "--changed-pct") {
      changed_pct = std::atof(argv[i + 1]);
    } else if (a == "--phase") {
      phase = argv[i + 1];
    } else {
      std::cerr
          << "usage: engine_cpu_bench [--records N] [--runs N] [--changed-pct P] [--phase all|push|echo|idle|change]\n";
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);  // the per-mapping summary lines would bury the table
  const int changed = std::max(2, static_cast<int>(records * changed_pct / 100));
  std::printf(
      "engine_cpu_bench: %d person contacts, %d runs, %d changed (%.1f%%) in the change pass (load before: "
      "%.2f)\n",
      records, runs, changed, changed_pct, LoadAverage());
  std::vector<double> push_us, echo_us, idle_us, change_us, change_per_changed_us, push_side, push_wall, echo_wall,
      idle_wall, change_wall;
  for (int run = 1; run <= runs; ++run) {
    testing_support::TempDir dir;
    const std::string crm_db = dir.path() + "/crm.db";
    if (const Status s = FillLocal(crm_db, records, 0); !s.ok()) Die("filling the local store: " + s.ToString());
    auto mappings = mapping::LoadMappingsForRun(std::string(CRMSYNC_SOURCE_DIR) + "/systemd/mappings.d", crm_db);
    if (!mappings.ok()) Die("mappings: " + mappings.diagnostics.front().ToString());
    SystemClock clock;
    auto store = state::SqliteStateStore::Open(dir.path() + "/state.db", clock);
    if (!store.ok()) Die(store.status().ToString());
    auto local = local::LocalConnector::Open(crm_db);
    if (!local.ok()) Die(local.status().ToString());
    MemoryDataverse remote;
    Bench b;
    b.mappings = &mappings.set;
    b.store = store->get();
    b.local = local->get();
    b.remote = &remote;

    const PhaseResult push = b.Pass(records, records);
    if (remote.Count("contacts") != static_cast<std::size_t>(records)) {
      Die("after the push Dataverse holds " + std::to_string(remote.Count("contacts")) + " contacts, not " +
          std::to_string(records));
    }
    push_us.push_back(push.cpu_s * 1e6 / records);
    push_side.push_back(push.side_s);
    push_wall.push_back(push.wall_s);
    std::printf("  run %d push:   %.3f s CPU (in-memory side %.3f s), %.3f s wall, %lld written\n", run, push.cpu_s,
                push.side_s, push.wall_s, static_cast<long long>(push.written));
    if (phase == "push") continue;

    const PhaseResult echo = b.Pass(records, 0);
    echo_us.push_back(echo.cpu_s * 1e6 / records);
    echo_wall.push_back(echo.wall_s);
    std::printf("  run %d echo:   %.3f s CPU (in-memory side %.3f s), %.3f s wall, %lld written\n", run, echo.cpu_s,
                echo.side_s, echo.wall_s, static_cast<long long>(echo.written));
    if (phase == "echo") continue;

    const PhaseResult idle = b.Pass(records, 0);
    idle_us.push_back(idle.cpu_s * 1e6 / records);
    idle_wall.push_back(idle.wall_s);
    std::printf("  run %d idle:   %.3f s CPU (in-memory side %.3f s), %.3f s wall, %lld written\n", run, idle.cpu_s,
                idle.side_s, idle.wall_s, static_cast<long long>(idle.written));
    if (phase == "idle") continue;

    // Half the changes in the local store, half in Dataverse, on distinct records.
    {
      auto crm = crm::Store::Open(crm_db);
      if (!crm.ok()) Die(crm.status().ToString());
      const Status s = crm->InTransaction([&](SqliteDb& db) -> Status {
        crm::StatementCache statements(db);
        const auto& spec = crm::SpecOf(crm::Table::kContact);
        auto rows = crm::ListRows(db, spec, {});
        if (!rows.ok()) return rows.status();
        const int local_changes = changed / 2;
        const std::size_t step = std::max<std::size_t>(1, rows->size() / static_cast<std::size_t>(local_changes));
        int done = 0;
        for (std::size_t i = 0; i < rows->size() && done < local_changes; i += step, ++done) {
          CRMSYNC_ASSIGN_OR_RETURN(
              std::string key, crm::UpdateRow(statements, spec, (*rows)[i].at("no").ToDisplayString(),
                                              {{"job_title", Value::Text("Changed locally " + std::to_string(i))}}));
          (void)key;
        }
        return Status::Ok();
      });
      if (!s.ok()) Die("local changes: " + s.ToString());
      const auto keys = remote.Keys("contacts");
      const int remote_changes = changed - changed / 2;
      const std::size_t step = std::max<std::size_t>(1, keys.size() / static_cast<std::size_t>(remote_changes));
      // Offset by half a step so the remote changes miss the local ones (keys are GUIDs: any order is random).
      int done = 0;
      for (std::size_t i = step / 2; i < keys.size() && done < remote_changes; i += step, ++done) {
        remote.Put("contacts", keys[i], {{"telephone1", Value::Text("+44 1632 960" + std::to_string(i % 1000))}});
      }
    }
    const PhaseResult change = b.Pass(records, changed);
    change_us.push_back(change.cpu_s * 1e6 / records);
    change_per_changed_us.push_back(change.cpu_s * 1e6 / changed);
    change_wall.push_back(change.wall_s);
    std::printf("  run %d change: %.3f s CPU (in-memory side %.3f s), %.3f s wall, %lld written\n", run, change.cpu_s,
                change.side_s, change.wall_s, static_cast<long long>(change.written));
  }
  std::printf(
      "\ncrmsync's CPU outside HTTP, %d person contacts (median of %d runs; the in-memory side's CPU taken "
      "out)\n",
      records, runs);
  std::printf(
      "| pass | CPU µs per record (of N) | CPU µs per changed record | wall s |\n| --- | ---: | ---: | ---: |\n");
  std::printf("| initial push of N | %.1f | %.1f | %.2f |\n", Median(push_us), Median(push_us), Median(push_wall));
  if (!echo_us.empty()) {
    std::printf("| next pass: N echoes of the push read back, no write | %.2f | - | %.2f |\n", Median(echo_us),
                Median(echo_wall));
  }
  if (!idle_us.empty())
    std::printf("| idle pass: nothing to read | %.2f | - | %.2f |\n", Median(idle_us), Median(idle_wall));
  if (!change_us.empty()) {
    std::printf("| pass with %d changed | %.2f | %.1f | %.2f |\n", changed, Median(change_us),
                Median(change_per_changed_us), Median(change_wall));
  }
  std::printf("(target <= 20 µs per record; in-memory side during the push: %.3f s; load average now %.2f)\n",
              Median(push_side), LoadAverage());
  std::printf("reproduce: %s\n", CommandLine(argc, argv).c_str());
  return 0;
}

}  // namespace
}  // namespace crmsync::bench

int main(int argc, char** argv) {
  return crmsync::bench::Main(argc, argv);
}
