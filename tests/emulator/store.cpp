#include "tests/emulator/store.h"

#include <algorithm>

namespace crmsync::emulator {

Store::Store(const Metadata& metadata) {
  for (const auto& e : metadata.entities()) tables_[e->logical_name];
}

Store::Table& Store::TableOf(std::string_view logical) {
  auto it = tables_.find(logical);
  if (it == tables_.end()) it = tables_.emplace(std::string(logical), Table{}).first;
  return it->second;
}

const StoredRecord* Store::Find(std::string_view logical, std::string_view id) const {
  auto t = tables_.find(logical);
  if (t == tables_.end()) return nullptr;
  auto r = t->second.rows.find(id);
  return r == t->second.rows.end() ? nullptr : &r->second;
}

const Store::Rows& Store::RowsOf(std::string_view logical) const {
  static const Rows* const kEmpty = new Rows();
  auto t = tables_.find(logical);
  return t == tables_.end() ? *kEmpty : t->second.rows;
}

const std::deque<Tombstone>& Store::TombstonesOf(std::string_view logical) const {
  static const std::deque<Tombstone>* const kEmpty = new std::deque<Tombstone>();
  auto t = tables_.find(logical);
  return t == tables_.end() ? *kEmpty : t->second.tombstones;
}

void Store::Remember(std::string_view logical, std::string_view id, bool tombstone) {
  if (!undo_active_) return;
  UndoEntry e;
  e.logical = std::string(logical);
  e.id = std::string(id);
  if (const StoredRecord* r = Find(logical, id)) e.before = *r;
  e.added_tombstone = tombstone;
  undo_.push_back(std::move(e));
}

void Store::Put(std::string_view logical, StoredRecord record) {
  Remember(logical, record.id, false);
  Table& t = TableOf(logical);
  std::string id = record.id;
  t.rows.insert_or_assign(std::move(id), std::move(record));
}

bool Store::Erase(std::string_view logical, std::string_view id, std::chrono::system_clock::time_point when) {
  Table& t = TableOf(logical);
  auto it = t.rows.find(id);
  if (it == t.rows.end()) return false;
  Remember(logical, id, true);
  t.tombstones.push_back({std::string(id), NextVersion(), when});
  t.rows.erase(it);
  return true;
}

void Store::BeginUndo() {
  undo_active_ = true;
  undo_.clear();
}

void Store::CommitUndo() {
  undo_active_ = false;
  undo_.clear();
}

void Store::RollbackUndo() {
  undo_active_ = false;
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    Table& t = TableOf(it->logical);
    if (it->added_tombstone && !t.tombstones.empty()) t.tombstones.pop_back();
    if (it->before) {
      t.rows.insert_or_assign(it->id, *it->before);
    } else {
      t.rows.erase(it->id);
    }
  }
  undo_.clear();
}

void Store::Clear() {
  for (auto& [name, t] : tables_) {
    t.rows.clear();
    t.tombstones.clear();
  }
  undo_.clear();
  undo_active_ = false;
}

void Store::ExpireChangeTracking() {
  ct_floor_ = NextVersion();
}

void Store::PurgeTombstonesBefore(std::chrono::system_clock::time_point cutoff) {
  for (auto& [name, t] : tables_) {
    while (!t.tombstones.empty() && t.tombstones.front().when < cutoff) t.tombstones.pop_front();
  }
}

}  // namespace crmsync::emulator
