// FakeSide: an in-memory side for engine unit tests, implementing both the
// Connector and the ChangeJournal interfaces with the behaviour the engine
// relies on and nothing else:
//   - every write bumps a global version; a record's version is its last
//     change's number, as text ("local" style) or as W/"n" ("remote" style);
//   - ReadChanges("") returns every record, then cursor = the current
//     version; ReadChanges(N) returns records changed after N (coalesced, in
//     version order) and tombstones of records deleted after N;
//   - creates without a key get "K<n>" (local style); a create of an
//     existing key fails kAlreadyExists (remote style) unless origin_id
//     matches an earlier create (local style: the existing row is returned);
//   - expected_version mismatches answer kConflict; updates of a missing
//     record kNotFound; deletes of a missing record succeed;
//   - associate / disassociate keep a set of (record, target) links per
//     relationship; both are repeat-safe, and associate needs both records.
// Tests edit records "as a user would" with Put/Erase, count requests,
// expire cursors, inject failures and run a hook before each write.
// Thread-safety: the Connector and ChangeJournal methods and Put/Erase take
// one (recursive) mutex, as the engine may write one page from a thread of
// its own while it reads the next; the other test controls are for between passes.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/value.h"
#include "connectors/change_journal.h"
#include "connectors/connector.h"

namespace crmsync::sync::testing {

class FakeSide final : public connectors::Connector, public connectors::ChangeJournal {
 public:
  enum class Style { kLocal, kRemote };
  explicit FakeSide(Style style) : style_(style) {}

  struct Row {
    Record record;
    std::int64_t version = 0;
    std::chrono::system_clock::time_point modified{};
    std::string origin_id;
  };

  // --- test controls
  // Creates or replaces a record as a user would (a new version).
  void Put(const std::string& entity, const std::string& key, Record record,
           std::chrono::system_clock::time_point when = {}) {
    std::lock_guard lock(mu_);
    Row& row = rows_[entity][key];
    for (auto& [k, v] : record) row.record[k] = v;
    row.version = ++clock_;
    row.modified = when;
    deleted_[entity].erase(key);
  }
  void Erase(const std::string& entity, const std::string& key) {
    std::lock_guard lock(mu_);
    rows_[entity].erase(key);
    deleted_[entity][key] = ++clock_;
  }
  const Row* Get(const std::string& entity, const std::string& key) const {
    auto t = rows_.find(entity);
    if (t == rows_.end()) return nullptr;
    auto r = t->second.find(key);
    return r == t->second.end() ? nullptr : &r->second;
  }
  std::size_t Count(const std::string& entity) const {
    auto t = rows_.find(entity);
    return t == rows_.end() ? 0 : t->second.size();
  }
  std::map<std::string, Row> Rows(const std::string& entity) const {
    auto t = rows_.find(entity);
    return t == rows_.end() ? std::map<std::string, Row>{} : t->second;
  }
  // Every cursor handed out before now is refused with kCursorExpired.
  void ExpireCursors() { expired_below_ = clock_ + 1; }
  // The next `n` Write calls fail as a whole with `status`.
  void FailWrites(int n, Status status) {
    fail_writes_ = n;
    fail_status_ = std::move(status);
  }
  // The next Write call with an op holding a field of `value` fails as a
  // whole with `status`: the call a given record is in, whichever of the
  // pages written at once reaches this side first.
  void FailWriteHolding(std::string value, Status status) {
    fail_holding_ = std::move(value);
    fail_status_ = std::move(status);
  }
  // The next Write call is applied, but its answer is lost: the caller gets `status`.
  void LoseNextAnswer(Status status) {
    lose_answer_ = true;
    fail_status_ = std::move(status);
  }
  // Remote style: a field "<nav>@odata.bind" is stored as `attribute`
  // ("_parentcustomerid_value") holding the GUID, as Dataverse does.
  void BindAs(const std::string& nav, const std::string& attribute) { binds_[nav + "@odata.bind"] = attribute; }
  // A full read (cursor "") leaves this record out, as a server's paging may
  // for a record changed while a read spanning pages ran.
  void HideFromFullReads(const std::string& key) { hidden_from_full_reads_.insert(key); }
  // Runs before every Write call is applied (to change a record meanwhile).
  void BeforeWrite(std::function<void()> hook) { before_write_ = std::move(hook); }

  // The ops of every Write call, in order.
  std::vector<std::vector<connectors::WriteOp>> calls;
  // The (record, target) pairs linked through `relationship`.
  std::set<std::pair<std::string, std::string>> Links(const std::string& relationship) const {
    std::lock_guard lock(mu_);
    const auto it = links_.find(relationship);
    return it == links_.end() ? std::set<std::pair<std::string, std::string>>{} : it->second;
  }
  int writes() const { return writes_; }    // Write calls
  int ops_written() const { return ops_; }  // operations in them
  int reads() const { return reads_; }      // ReadChanges, Fetch and Lookup calls
  void ResetCounters() { writes_ = ops_ = reads_ = 0; }
  std::map<std::string, std::string> acknowledged;           // reader -> cursor
  std::vector<std::chrono::milliseconds> acknowledge_waits;  // what was left of each Acknowledge's deadline

  // --- Connector
  Result<connectors::ChangeBatch> ReadChanges(const connectors::ReadRequest& request, Deadline) override {
    std::lock_guard lock(mu_);
    ++reads_;
    connectors::ChangeBatch batch;
    std::int64_t after = 0;
    if (!request.cursor.empty()) {
      after = std::stoll(request.cursor);
      if (after < expired_below_) return Status(StatusCode::kCursorExpired, "cursor " + request.cursor + " expired");
    }
    std::vector<std::pair<std::int64_t, connectors::Change>> out;
    for (const auto& [key, row] : rows_[request.entity]) {
      if (request.cursor.empty() && hidden_from_full_reads_.count(key) > 0) continue;
      if (row.version > after) out.emplace_back(row.version, ToChange(key, row, request.columns));
    }
    if (!request.cursor.empty()) {
      for (const auto& [key, version] : deleted_[request.entity]) {
        if (version > after) {
          connectors::Change c;
          c.kind = connectors::Change::Kind::kDelete;
          c.key = key;
          out.emplace_back(version, std::move(c));
        }
      }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::int64_t last = request.cursor.empty() ? clock_ : std::max(after, clock_);
    if (static_cast<int>(out.size()) > request.max_changes) {
      out.resize(static_cast<std::size_t>(request.max_changes));
      last = out.back().first;
      batch.more = true;
    }
    for (auto& [v, c] : out) batch.changes.push_back(std::move(c));
    batch.next_cursor = std::to_string(last);
    return batch;
  }

  Result<std::optional<connectors::Change>> Fetch(const std::string& entity, const std::string&, const std::string& key,
                                                  const std::vector<std::string>& columns, Deadline) override {
    std::lock_guard lock(mu_);
    ++reads_;
    const Row* row = Get(entity, key);
    if (row == nullptr) return std::optional<connectors::Change>();
    return std::optional<connectors::Change>(ToChange(key, *row, columns));
  }

  Result<connectors::ChangeBatch> Lookup(const connectors::LookupRequest& request, Deadline) override {
    std::lock_guard lock(mu_);
    ++reads_;
    connectors::ChangeBatch batch;
    for (const auto& [key, row] : rows_[request.entity]) {
      bool hit = false;
      for (const auto& v : request.values) {
        if (request.attribute.empty()) {
          hit = hit || v.ToDisplayString() == key;
        } else {
          auto it = row.record.find(request.attribute);
          hit = hit || (it != row.record.end() && Lower(it->second.ToDisplayString()) == Lower(v.ToDisplayString()) &&
                        !it->second.is_null());
        }
      }
      if (hit) batch.changes.push_back(ToChange(key, row, request.columns));
    }
    return batch;
  }

  Result<std::vector<connectors::WriteResult>> Write(const std::string& entity,
                                                     std::span<const connectors::WriteOp> ops, Deadline) override {
    std::lock_guard lock(mu_);
    ++writes_;
    ops_ += static_cast<int>(ops.size());
    calls.emplace_back(ops.begin(), ops.end());
    if (before_write_) {
      auto hook = std::move(before_write_);
      before_write_ = nullptr;
      hook();
    }
    if (fail_writes_ > 0) {
      --fail_writes_;
      return fail_status_;
    }
    if (!fail_holding_.empty() && std::any_of(ops.begin(), ops.end(), [&](const connectors::WriteOp& op) {
          return std::any_of(op.fields.begin(), op.fields.end(),
                             [&](const auto& field) { return field.second.ToDisplayString() == fail_holding_; });
        })) {
      fail_holding_.clear();
      return fail_status_;
    }
    std::vector<connectors::WriteResult> results;
    for (const auto& op : ops) results.push_back(Apply(op.entity.empty() ? entity : op.entity, op));
    if (lose_answer_) {
      lose_answer_ = false;
      return fail_status_;
    }
    return results;
  }

  // --- ChangeJournal
  Status Acknowledge(const std::string& reader, const std::string& cursor, Deadline deadline) override {
    std::lock_guard lock(mu_);
    acknowledged[reader] = cursor;
    acknowledge_waits.push_back(deadline.Remaining());
    return Status::Ok();
  }
  Status ForgetReader(const std::string& reader, Deadline) override {
    std::lock_guard lock(mu_);
    acknowledged.erase(reader);
    return Status::Ok();
  }
  Result<std::int64_t> PendingChanges(const std::string& entity, const std::string& cursor, Deadline) override {
    std::lock_guard lock(mu_);
    const std::int64_t after = cursor.empty() ? 0 : std::stoll(cursor);
    std::int64_t n = 0;
    for (const auto& [key, row] : rows_[entity]) n += row.version > after ? 1 : 0;
    return n;
  }
  Result<std::optional<std::string>> FindByOrigin(const std::string& entity, const std::string& origin_id,
                                                  Deadline) override {
    std::lock_guard lock(mu_);
    for (const auto& [key, row] : rows_[entity]) {
      if (row.origin_id == origin_id) return std::optional<std::string>(key);
    }
    return std::optional<std::string>();
  }

 private:
  static std::string Lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  std::string VersionText(std::int64_t v) const {
    return style_ == Style::kRemote ? "W/\"" + std::to_string(v) + "\"" : std::to_string(v);
  }
  connectors::Change ToChange(const std::string& key, const Row& row, const std::vector<std::string>& columns) const {
    connectors::Change c;
    c.key = key;
    c.version = VersionText(row.version);
    if (row.modified != std::chrono::system_clock::time_point{}) c.modified_at = row.modified;
    c.origin_id = row.origin_id;
    for (const auto& col : columns) {
      auto it = row.record.find(col);
      c.record[col] = it == row.record.end() ? Value() : it->second;
    }
    return c;
  }
  connectors::WriteResult Apply(const std::string& entity, const connectors::WriteOp& op) {
    connectors::WriteResult r;
    r.key = op.key;
    auto& table = rows_[entity];
    auto existing = table.find(op.key);
    if (!op.expected_version.empty() && op.kind != connectors::WriteOp::Kind::kCreate) {
      if (existing == table.end()) {
        if (op.kind == connectors::WriteOp::Kind::kDelete) return r;
        r.status = NotFound(op.key + " does not exist");
        return r;
      }
      if (VersionText(existing->second.version) != op.expected_version) {
        r.status = Status(StatusCode::kConflict, op.key + " changed since " + op.expected_version);
        return r;
      }
    }
    switch (op.kind) {
      case connectors::WriteOp::Kind::kCreate: {
        if (!op.origin_id.empty()) {
          for (const auto& [key, row] : table) {
            if (row.origin_id == op.origin_id) {
              r.key = key;
              r.version = VersionText(row.version);
              return r;
            }
          }
        }
        std::string key = op.key;
        if (key.empty()) key = "K" + std::to_string(++next_key_);
        if (table.count(key) > 0) {
          r.status = Status(StatusCode::kAlreadyExists, key + " exists");
          return r;
        }
        Row row;
        row.record = Stored(op.fields);
        row.version = ++clock_;
        row.origin_id = op.origin_id;
        table[key] = row;
        deleted_[entity].erase(key);
        r.key = key;
        r.version = VersionText(row.version);
        Readback(table[key], op, r);
        return r;
      }
      case connectors::WriteOp::Kind::kUpdate:
      case connectors::WriteOp::Kind::kUpsert: {
        if (existing == table.end() && op.kind == connectors::WriteOp::Kind::kUpdate) {
          r.status = NotFound(op.key + " does not exist");
          return r;
        }
        Row& row = table[op.key];
        for (const auto& [k, v] : Stored(op.fields)) row.record[k] = v;
        row.version = ++clock_;
        r.version = VersionText(row.version);
        Readback(row, op, r);
        return r;
      }
      case connectors::WriteOp::Kind::kDelete:
        if (existing != table.end()) {
          table.erase(existing);
          deleted_[entity][op.key] = ++clock_;
        }
        return r;
      case connectors::WriteOp::Kind::kAssociate:
        // As Dataverse: both records must exist; linking a linked pair is a success.
        if (existing == table.end() || rows_[op.target_entity].count(op.target_key) == 0) {
          r.status = NotFound(op.key + " or " + op.target_key + " does not exist");
          return r;
        }
        links_[op.relationship].emplace(op.key, op.target_key);
        return r;
      case connectors::WriteOp::Kind::kDisassociate: links_[op.relationship].erase({op.key, op.target_key}); return r;
    }
    return r;
  }
  Record Stored(const Record& fields) const {
    Record out;
    for (const auto& [k, v] : fields) {
      auto b = binds_.find(k);
      if (b == binds_.end()) {
        out[k] = v;
      } else if (v.is_null()) {
        out[b->second] = Value();
      } else {
        const std::string& t = v.as_text();
        out[b->second] = Value::Text(t.substr(t.find('(') + 1, t.size() - t.find('(') - 2));
      }
    }
    return out;
  }
  static void Readback(const Row& row, const connectors::WriteOp& op, connectors::WriteResult& r) {
    for (const auto& c : op.read_back) {
      auto it = row.record.find(c);
      r.record[c] = it == row.record.end() ? Value() : it->second;
    }
  }

  Style style_;
  std::map<std::string, std::map<std::string, Row>> rows_;
  std::map<std::string, std::map<std::string, std::int64_t>> deleted_;
  std::int64_t clock_ = 0;
  std::int64_t next_key_ = 0;
  std::int64_t expired_below_ = 0;
  std::map<std::string, std::set<std::pair<std::string, std::string>>> links_;
  int fail_writes_ = 0;
  std::string fail_holding_;
  bool lose_answer_ = false;
  Status fail_status_;
  std::function<void()> before_write_;
  std::set<std::string> hidden_from_full_reads_;
  mutable std::recursive_mutex mu_;
  std::map<std::string, std::string> binds_;
  int writes_ = 0;
  int ops_ = 0;
  int reads_ = 0;
};

}  // namespace crmsync::sync::testing
