// local_connector_bench: CPU cost per record of the local connector's bulk
// paths, against a fresh store in a temporary folder. Not a test: it prints
// microseconds per record and exits 0 unless a call fails.
//
//   local_connector_bench [RECORDS]   (default 10000)
//
// Measured: Write of creates and of updates (batches of 5,000, read_back of
// the mapped columns, as a pass sends them), ReadChanges as a full read and
// as a journal read (pages of 5,000), and Lookup by key (pages of 5,000).
// Build in Release (cmake -DCMAKE_BUILD_TYPE=Release) for meaningful numbers.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/clock.h"
#include "connectors/local/local_connector.h"
#include "crm/migrations.h"
#include "tests/support/temp_dir.h"

namespace {

using crmsync::Deadline;
using crmsync::Record;
using crmsync::Value;
using crmsync::connectors::ChangeBatch;
using crmsync::connectors::LookupRequest;
using crmsync::connectors::ReadRequest;
using crmsync::connectors::WriteOp;
using crmsync::local::LocalConnector;

constexpr int kBatch = 5000;
const std::vector<std::string> kColumns = {"type", "name", "email", "city", "phone"};

[[noreturn]] void Fail(const std::string& what, const crmsync::Status& status) {
  std::fprintf(stderr, "%s failed: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

double CpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Wall time and this process's CPU time (user + system), which the budget
// speaks of and which other load on the machine disturbs less.
class Timer {
 public:
  Timer() : start_(std::chrono::steady_clock::now()), cpu_start_(CpuMicros()) {}
  double WallMicros() const {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start_).count();
  }
  double CpuMicrosSince() const { return CpuMicros() - cpu_start_; }

 private:
  std::chrono::steady_clock::time_point start_;
  double cpu_start_;
};

void Report(const char* what, const Timer& timer, std::size_t records) {
  const double cpu = timer.CpuMicrosSince();
  const double wall = timer.WallMicros();
  const auto n = static_cast<double>(records);
  std::printf("%-26s %7zu records  cpu %8.1f ms %7.2f us/record  wall %8.1f ms %7.2f us/record\n", what, records,
              cpu / 1000.0, cpu / n, wall / 1000.0, wall / n);
}

// Every page of a read from `cursor`; returns the cursor after the last page.
std::string ReadAll(LocalConnector& connector, const std::string& cursor, std::size_t& records,
                    std::vector<std::pair<std::string, std::string>>* keys_and_versions = nullptr) {
  ReadRequest request;
  request.entity = "contact";
  request.columns = kColumns;
  request.cursor = cursor;
  request.max_changes = kBatch;
  for (;;) {
    auto batch = connector.ReadChanges(request, Deadline::Never());
    if (!batch.ok()) Fail("ReadChanges", batch.status());
    records += batch->changes.size();
    if (keys_and_versions != nullptr) {
      for (const auto& c : batch->changes) keys_and_versions->emplace_back(c.key, c.version);
    }
    request.cursor = batch->next_cursor;
    if (!batch->more) return request.cursor;
  }
}

void WriteAll(LocalConnector& connector, const std::vector<WriteOp>& ops, const char* what) {
  for (std::size_t start = 0; start < ops.size(); start += kBatch) {
    const std::size_t n = std::min<std::size_t>(kBatch, ops.size() - start);
    auto results = connector.Write("contact", std::span<const WriteOp>(ops.data() + start, n), Deadline::Never());
    if (!results.ok()) Fail(what, results.status());
    for (const auto& r : *results) {
      if (!r.status.ok()) Fail(what, r.status);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int records = argc > 1 ? std::atoi(argv[1]) : 10000;
  if (records < 1) {
    std::fprintf(stderr, "usage: local_connector_bench [RECORDS]\n");
    return 2;
  }
  crmsync::testing_support::TempDir dir;
  const std::string path = dir.path() + "/crm.db";
  if (auto migrated = crmsync::crm::CreateOrMigrate(path); !migrated.ok()) Fail("CreateOrMigrate", migrated.status());
  auto opened = LocalConnector::Open(path);
  if (!opened.ok()) Fail("Open", opened.status());
  LocalConnector& connector = **opened;

  std::vector<WriteOp> creates;
  for (int i = 0; i < records; ++i) {
    WriteOp op;
    op.kind = WriteOp::Kind::kCreate;
    op.fields = {{"type", Value::Text(i % 2 ? "person" : "company")},
                 {"name", Value::Text("Contact " + std::to_string(i))},
                 {"email", Value::Text("c" + std::to_string(i) + "@example.com")},
                 {"city", Value::Text("Leeds")}};
    op.read_back = kColumns;
    creates.push_back(std::move(op));
  }
  Timer create_timer;
  WriteAll(connector, creates, "Write creates");
  Report("Write creates", create_timer, creates.size());

  std::size_t full_records = 0;
  std::vector<std::pair<std::string, std::string>> keys;
  Timer full_timer;
  const std::string cursor = ReadAll(connector, "", full_records, &keys);
  Report("ReadChanges full read", full_timer, full_records);

  std::vector<WriteOp> updates;
  for (const auto& [key, version] : keys) {
    WriteOp op;
    op.kind = WriteOp::Kind::kUpdate;
    op.key = key;
    op.expected_version = version;
    op.fields = {{"city", Value::Text("York")}, {"phone", Value::Text("0113 496 0000")}};
    op.read_back = kColumns;
    updates.push_back(std::move(op));
  }
  Timer update_timer;
  WriteAll(connector, updates, "Write updates");
  Report("Write updates", update_timer, updates.size());

  std::size_t journal_records = 0;
  Timer journal_timer;
  ReadAll(connector, cursor, journal_records);
  Report("ReadChanges journal read", journal_timer, journal_records);

  LookupRequest lookup;
  lookup.entity = "contact";
  lookup.columns = kColumns;
  for (const auto& [key, version] : keys) lookup.values.push_back(Value::Text(key));
  lookup.max_records = kBatch;
  std::size_t found = 0;
  Timer lookup_timer;
  for (;;) {
    auto batch = connector.Lookup(lookup, Deadline::Never());
    if (!batch.ok()) Fail("Lookup", batch.status());
    found += batch->changes.size();
    lookup.cursor = batch->next_cursor;
    if (!batch->more) break;
  }
  Report("Lookup by key", lookup_timer, found);
  return 0;
}
