#include "status/metrics.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <system_error>

#include "common/sqlite.h"

namespace crmsync::status {

namespace {

// One metric family: its HELP and TYPE lines, then each sample.
class Family {
 public:
  Family(std::string& out, std::string_view name, std::string_view type, std::string_view help)
      : out_(out), name_(name) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += EscapeHelp(help);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  void Sample(Labels labels, double value) {
    out_ += name_;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [key, label_value] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += key;
        out_ += "=\"";
        out_ += EscapeLabelValue(label_value);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += FormatSampleValue(value);
    out_ += '\n';
  }

 private:
  std::string& out_;
  std::string_view name_;
};

double AsDouble(std::int64_t v) {
  return static_cast<double>(v);
}

// A per-mapping gauge, with a sample only where `get` knows a value.
void MappingGauge(std::string& out, const MetricsSnapshot& s, std::string_view name, std::string_view help,
                  const std::function<std::optional<double>(const MappingMetrics&)>& get) {
  Family f(out, name, "gauge", help);
  for (const auto& m : s.mappings) {
    if (auto v = get(m)) f.Sample({{"mapping", m.mapping}}, *v);
  }
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Counts up to 2^53 are exact in a double and read best without a fraction
  // or an exponent (std::to_chars would write 1e+06).
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return std::to_string(static_cast<long long>(value));
  }
  std::array<char, 64> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes; keeps the scrape parseable
  return {buf.data(), end};
}

void SetLagFromLastSuccess(MetricsSnapshot& snapshot, std::chrono::system_clock::time_point now) {
  const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  for (auto& m : snapshot.mappings) {
    if (!m.last_success_unix) {
      m.lag_seconds.reset();
      continue;
    }
    m.lag_seconds = std::max(0.0, now_s - AsDouble(*m.last_success_unix));
  }
}

Result<ProcessStats> ReadProcessStats(const std::string& proc_dir) {
  ProcessStats stats;
  // statm's second field is the resident set in pages; one small read,
  // cheaper than parsing /proc/self/status.
  const std::string statm = proc_dir + "/statm";
  std::ifstream in(statm);
  long long size_pages = 0;
  long long resident_pages = 0;
  if (!(in >> size_pages >> resident_pages)) return Status(StatusCode::kIo, "cannot read " + statm);
  const long page = sysconf(_SC_PAGESIZE);
  stats.resident_memory_bytes = resident_pages * (page > 0 ? page : 4096);

  const std::string fd_dir = proc_dir + "/fd";
  std::error_code ec;
  std::filesystem::directory_iterator it(fd_dir, ec);
  if (ec) return Status(StatusCode::kIo, "cannot list " + fd_dir + ": " + ec.message());
  std::int64_t n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return Status(StatusCode::kIo, "cannot list " + fd_dir + ": " + ec.message());
    ++n;
  }
  // The listing holds a descriptor of its own while it runs; it is not the process'.
  if (proc_dir == "/proc/self" && n > 0) --n;
  stats.open_fds = n;
  return stats;
}

std::string RenderPrometheus(const MetricsSnapshot& s, const std::optional<ProcessStats>& process) {
  std::string out;
  out.reserve(1024 + s.mappings.size() * 1536);

  Family(out, "crmsync_ready", "gauge", "1 when Dataverse accepted the credentials and the stores are open")
      .Sample({}, s.ready ? 1 : 0);

  {
    Family f(out, "crmsync_passes_total", "counter", "Passes of a mapping since the daemon started, by outcome");
    for (const auto& m : s.mappings) {
      for (const auto& [outcome, n] : m.passes) f.Sample({{"mapping", m.mapping}, {"outcome", outcome}}, AsDouble(n));
    }
  }
  {
    Family f(out, "crmsync_records_total", "counter", "Records handled by passes since the daemon started, by outcome");
    for (const auto& m : s.mappings) {
      const auto& c = m.records;
      const std::pair<std::string_view, std::int64_t> outcomes[] = {
          {"inserted", c.inserted},   {"modified", c.modified}, {"deleted", c.deleted}, {"unchanged", c.unchanged},
          {"skipped", c.skipped},     {"failed", c.failed},     {"coupled", c.coupled}, {"uncoupled", c.uncoupled},
          {"conflicts", c.conflicts}, {"waiting", c.waiting}};
      for (const auto& [outcome, n] : outcomes) {
        f.Sample({{"mapping", m.mapping}, {"outcome", outcome}}, AsDouble(n));
      }
    }
  }
  MappingGauge(out, s, "crmsync_last_success_timestamp_seconds",
               "When the last successful pass of a mapping ended, in seconds since the epoch",
               [](const MappingMetrics& m) -> std::optional<double> {
                 if (!m.last_success_unix) return std::nullopt;
                 return AsDouble(*m.last_success_unix);
               });
  MappingGauge(out, s, "crmsync_lag_seconds", "How far a mapping is behind: seconds since its last successful pass",
               [](const MappingMetrics& m) { return m.lag_seconds; });
  MappingGauge(out, s, "crmsync_pending_local_changes", "Local changes journalled but not yet read by a pass",
               [](const MappingMetrics& m) -> std::optional<double> {
                 if (!m.pending_local_changes) return std::nullopt;
                 return AsDouble(*m.pending_local_changes);
               });
  MappingGauge(out, s, "crmsync_failed_records", "Records in the error queue (crmsync errors list)",
               [](const MappingMetrics& m) -> std::optional<double> { return AsDouble(m.failures); });
  MappingGauge(out, s, "crmsync_open_conflicts", "Conflicts waiting for a resolution (crmsync conflicts list)",
               [](const MappingMetrics& m) -> std::optional<double> { return AsDouble(m.conflicts); });
  MappingGauge(out, s, "crmsync_waiting_for_parent", "Records parked until their parent record is coupled",
               [](const MappingMetrics& m) -> std::optional<double> { return AsDouble(m.waiting_for_parent); });

  Family(out, "crmsync_dataverse_requests_total", "counter", "HTTP requests sent to Dataverse, retries included")
      .Sample({}, AsDouble(s.requests));
  Family(out, "crmsync_dataverse_throttled_total", "counter",
         "Dataverse answers 429 Too Many Requests (service protection limits)")
      .Sample({}, AsDouble(s.throttled));
  Family(out, "crmsync_dataverse_retries_total", "counter", "Dataverse requests repeated after a transient failure")
      .Sample({}, AsDouble(s.retries));
  {
    Family f(out, "crmsync_token_expiry_timestamp_seconds", "gauge",
             "When the Dataverse access token expires, in seconds since the epoch");
    if (s.token_expiry_unix) f.Sample({}, AsDouble(*s.token_expiry_unix));
  }

  if (process) {
    Family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes")
        .Sample({}, AsDouble(process->resident_memory_bytes));
    Family(out, "process_open_fds", "gauge", "Number of open file descriptors").Sample({}, AsDouble(process->open_fds));
    if (process->sqlite_memory_bytes) {
      Family(out, "crmsync_sqlite_memory_bytes", "gauge",
             "Memory SQLite holds for the state and local stores (page caches, statements), in bytes")
          .Sample({}, AsDouble(*process->sqlite_memory_bytes));
    }
  }
  return out;
}

std::string RenderPrometheus(const MetricsSnapshot& snapshot) {
  auto process = ReadProcessStats();
  if (process.ok()) process->sqlite_memory_bytes = SqliteMemoryInUse();
  return RenderPrometheus(snapshot, process.ok() ? std::optional<ProcessStats>(*process) : std::nullopt);
}

}  // namespace crmsync::status
