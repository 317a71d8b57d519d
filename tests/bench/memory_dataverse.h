// MemoryDataverse: an in-memory Dataverse side for engine_cpu_bench, the
// approach of tests/sync/fake_side.h (remote style) with indexes, so that
// the side itself costs next to nothing per record and the benchmark
// measures crmsync's own CPU:
//   - every write bumps a global version; a record's ETag is W/"<version>";
//   - ReadChanges("") returns every record in version order, then cursor =
//     the current version; ReadChanges(N) the records changed after N and
//     tombstones of those deleted after N; `max_changes` pages both;
//   - Lookup by key or by any attribute (case-insensitive, as Dataverse
//     compares text) through an index built on first use;
//   - creates need the engine's GUID (an existing key is kAlreadyExists);
//     expected_version mismatches are kConflict; updates of a missing
//     record kNotFound; deletes of a missing record succeed;
//   - "<nav>@odata.bind" is stored as "_<attribute>_value" holding the GUID
//     ("parentcustomerid_account" -> "_parentcustomerid_value"), and a
//     contact's fullname is "firstname lastname", as Dataverse computes it.
// Edit records "as a user would" with Put. `cpu_seconds()` is the thread CPU
// time spent inside this class's methods, so a benchmark can subtract it.
//
// Thread-safety: every method takes one mutex.
#pragma once

#include <time.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/value.h"
#include "connectors/connector.h"

namespace crmsync::bench {

class MemoryDataverse final : public connectors::Connector {
 public:
  struct Row {
    Record record;
    std::int64_t version = 0;
    std::chrono::system_clock::time_point modified{};
  };

  // --- benchmark controls
  // Creates or changes a record as a Dataverse user would (a new version).
  void Put(const std::string& entity, const std::string& key, const Record& fields) {
    std::lock_guard lock(mu_);
    Table& t = tables_[entity];
    Row& row = t.rows[key];
    for (const auto& [k, v] : fields) row.record[k] = v;
    Derive(entity, row.record);
    Touch(t, key, row);
  }
  std::size_t Count(const std::string& entity) const {
    std::lock_guard lock(mu_);
    auto it = tables_.find(entity);
    return it == tables_.end() ? 0 : it->second.rows.size();
  }
  // Keys of `entity`, in key order.
  std::vector<std::string> Keys(const std::string& entity) const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    auto it = tables_.find(entity);
    if (it == tables_.end()) return out;
    for (const auto& [k, r] : it->second.rows) out.push_back(k);
    std::sort(out.begin(), out.end());
    return out;
  }
  double cpu_seconds() const {
    std::lock_guard lock(mu_);
    return cpu_s_;
  }
  std::int64_t reads() const { return reads_; }
  std::int64_t writes() const { return writes_; }
  std::int64_t ops_written() const { return ops_; }

  // --- Connector
  Result<connectors::ChangeBatch> ReadChanges(const connectors::ReadRequest& request, Deadline) override {
    std::lock_guard lock(mu_);
    CpuScope cpu(cpu_s_);
    ++reads_;
    Table& t = tables_[request.entity];
    const bool full = request.cursor.empty();
    const std::int64_t after = full ? 0 : std::stoll(request.cursor);
    connectors::ChangeBatch batch;
    std::int64_t last = after;
    for (auto it = t.log.upper_bound(after); it != t.log.end(); ++it) {
      if (static_cast<int>(batch.changes.size()) >= request.max_changes) {
        batch.more = true;
        break;
      }
      last = it->first;
      const auto& [key, deleted] = it->second;
      if (deleted) {
        if (full) continue;
        connectors::Change c;
        c.kind = connectors::Change::Kind::kDelete;
        c.key = key;
        batch.changes.push_back(std::move(c));
        continue;
      }
      batch.changes.push_back(ToChange(key, t.rows.at(key), request.columns));
    }
    batch.next_cursor = std::to_string(batch.more ? last : std::max(after, clock_));
    return batch;
  }

  Result<std::optional<connectors::Change>> Fetch(const std::string& entity, const std::string&, const std::string& key,
                                                  const std::vector<std::string>& columns, Deadline) override {
    std::lock_guard lock(mu_);
    CpuScope cpu(cpu_s_);
    ++reads_;
    Table& t = tables_[entity];
    auto it = t.rows.find(key);
    if (it == t.rows.end()) return std::optional<connectors::Change>();
    return std::optional<connectors::Change>(ToChange(key, it->second, columns));
  }

  Result<connectors::ChangeBatch> Lookup(const connectors::LookupRequest& request, Deadline) override {
    std::lock_guard lock(mu_);
    CpuScope cpu(cpu_s_);
    ++reads_;
    Table& t = tables_[request.entity];
    std::set<std::string> hits;
    if (request.attribute.empty()) {
      for (const auto& v : request.values) {
        const std::string k = Lower(v.ToDisplayString());
        if (t.rows.count(k) > 0) hits.insert(k);
      }
    } else {
      const auto& index = IndexOf(t, request.attribute);
      for (const auto& v : request.values) {
        if (v.is_null()) continue;
        auto range = index.equal_range(Lower(v.ToDisplayString()));
        for (auto it = range.first; it != range.second; ++it) hits.insert(it->second);
      }
    }
    const std::size_t from = request.cursor.empty() ? 0 : std::stoul(request.cursor);
    connectors::ChangeBatch batch;
    std::size_t i = 0;
    for (const auto& key : hits) {
      if (i++ < from) continue;
      if (static_cast<int>(batch.changes.size()) >= request.max_records) {
        batch.more = true;
        break;
      }
      batch.changes.push_back(ToChange(key, t.rows.at(key), request.columns));
    }
    batch.next_cursor = batch.more ? std::to_string(from + batch.changes.size()) : "";
    return batch;
  }

  Result<std::vector<connectors::WriteResult>> Write(const std::string& entity,
                                                     std::span<const connectors::WriteOp> ops, Deadline) override {
    std::lock_guard lock(mu_);
    CpuScope cpu(cpu_s_);
    ++writes_;
    ops_ += static_cast<std::int64_t>(ops.size());
    std::vector<connectors::WriteResult> results;
    results.reserve(ops.size());
    for (const auto& op : ops) results.push_back(Apply(op.entity.empty() ? entity : op.entity, op));
    return results;
  }

 private:
  struct Table {
    std::unordered_map<std::string, Row> rows;
    std::map<std::int64_t, std::pair<std::string, bool>> log;  // version -> (key, deleted)
    std::unordered_map<std::string, std::int64_t> tombstones;  // key -> version of its delete
    // attribute -> lower-case value -> key; dropped on every write, rebuilt on use.
    std::map<std::string, std::unordered_multimap<std::string, std::string>> indexes;
  };

  // Adds the thread CPU time of its scope to a total.
  class CpuScope {
   public:
    explicit CpuScope(double& total) : total_(total), start_(Now()) {}
    ~CpuScope() { total_ += Now() - start_; }
    CpuScope(const CpuScope&) = delete;
    CpuScope& operator=(const CpuScope&) = delete;

   private:
    static double Now() {
      timespec ts{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
    }
    double& total_;
    double start_;
  };

  static std::string Lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  static std::string VersionText(std::int64_t v) { return "W/\"" + std::to_string(v) + "\""; }

  const std::unordered_multimap<std::string, std::string>& IndexOf(Table& t, const std::string& attribute) {
    auto it = t.indexes.find(attribute);
    if (it != t.indexes.end()) return it->second;
    auto& index = t.indexes[attribute];
    for (const auto& [key, row] : t.rows) {
      auto v = row.record.find(attribute);
      if (v != row.record.end() && !v->second.is_null()) index.emplace(Lower(v->second.ToDisplayString()), key);
    }
    return index;
  }

  void Touch(Table& t, const std::string& key, Row& row) {
    if (row.version != 0) t.log.erase(row.version);
    auto tomb = t.tombstones.find(key);
    if (tomb != t.tombstones.end()) {
      t.log.erase(tomb->second);
      t.tombstones.erase(tomb);
    }
    row.version = ++clock_;
    row.modified = std::chrono::system_clock::now();
    t.log[row.version] = {key, false};
    t.indexes.clear();
  }

  static void Derive(const std::string& entity, Record& record) {
    if (entity != "contacts") return;
    auto text = [&](const char* name) {
      auto it = record.find(name);
      return it == record.end() || it->second.is_null() ? std::string() : it->second.ToDisplayString();
    };
    const std::string first = text("firstname"), last = text("lastname");
    const std::string full = first.empty() ? last : last.empty() ? first : first + " " + last;
    record["fullname"] = full.empty() ? Value() : Value::Text(full);
  }

  // "parentcustomerid_account" -> "_parentcustomerid_value" (a customer lookup names its target), "x" -> "_x_value".
  static std::string BoundAttribute(std::string nav) {
    for (const char* target : {"_account", "_contact", "_systemuser"}) {
      if (nav.ends_with(target)) {
        nav.resize(nav.size() - std::string(target).size());
        break;
      }
    }
    return "_" + nav + "_value";
  }

  static void Store(const Record& fields, Record& into) {
    static const std::string kBind = "@odata.bind";
    for (const auto& [k, v] : fields) {
      if (!k.ends_with(kBind)) {
        into[k] = v;
        continue;
      }
      const std::string attribute = BoundAttribute(k.substr(0, k.size() - kBind.size()));
      if (v.is_null()) {
        into[attribute] = Value();
      } else {
        const std::string& ref = v.as_text();
        const auto open = ref.rfind('('), close = ref.rfind(')');
        into[attribute] = Value::Text(ref.substr(open + 1, close - open - 1));
      }
    }
  }

  connectors::Change ToChange(const std::string& key, const Row& row, const std::vector<std::string>& columns) const {
    connectors::Change c;
    c.key = key;
    c.version = VersionText(row.version);
    c.modified_at = row.modified;
    for (const auto& col : columns) {
      auto it = row.record.find(col);
      c.record[col] = it == row.record.end() ? Value() : it->second;
    }
    return c;
  }

  static void ReadBack(const Row& row, const connectors::WriteOp& op, connectors::WriteResult& r) {
    for (const auto& c : op.read_back) {
      auto it = row.record.find(c);
      r.record[c] = it == row.record.end() ? Value() : it->second;
    }
  }

  connectors::WriteResult Apply(const std::string& entity, const connectors::WriteOp& op) {
    using Kind = connectors::WriteOp::Kind;
    connectors::WriteResult r;
    r.key = op.key;
    Table& t = tables_[entity];
    auto existing = t.rows.find(op.key);
    if (!op.expected_version.empty() && op.kind != Kind::kCreate) {
      if (existing == t.rows.end()) {
        if (op.kind != Kind::kDelete) r.status = NotFound(op.key + " does not exist");
        return r;
      }
      if (VersionText(existing->second.version) != op.expected_version) {
        r.status = Status(StatusCode::kConflict, op.key + " changed since " + op.expected_version);
        return r;
      }
    }
    switch (op.kind) {
      case Kind::kCreate:
        if (existing != t.rows.end()) {
          r.status = Status(StatusCode::kAlreadyExists, op.key + " exists");
          return r;
        }
        [[fallthrough]];
      case Kind::kUpdate:
      case Kind::kUpsert: {
        if (existing == t.rows.end() && op.kind == Kind::kUpdate) {
          r.status = NotFound(op.key + " does not exist");
          return r;
        }
        Row& row = t.rows[op.key];
        Store(op.fields, row.record);
        Derive(entity, row.record);
        Touch(t, op.key, row);
        r.version = VersionText(row.version);
        ReadBack(row, op, r);
        return r;
      }
      case Kind::kDelete:
        if (existing != t.rows.end()) {
          t.log.erase(existing->second.version);
          t.rows.erase(existing);
          const std::int64_t v = ++clock_;
          t.log[v] = {op.key, true};
          t.tombstones[op.key] = v;
          t.indexes.clear();
        }
        return r;
      case Kind::kAssociate:
      case Kind::kDisassociate: return r;  // the bench's stores hold no links (no segments, no campaigns)
    }
    return r;
  }

  mutable std::mutex mu_;
  std::map<std::string, Table> tables_;
  std::int64_t clock_ = 0;
  double cpu_s_ = 0;
  std::int64_t reads_ = 0;
  std::int64_t writes_ = 0;
  std::int64_t ops_ = 0;
};

}  // namespace crmsync::bench
