// Store: the emulator's in-memory tables (records keyed by lower-case GUID),
// the global version counter, deletion tombstones for change tracking and an
// undo log so a $batch change set can be rolled back.
//
// Not synchronised by itself: callers hold mutex() - shared for reads, unique
// for writes (the WebApi does this). Owns its records.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/emulator/metadata.h"

namespace crmsync::emulator {

struct StoredRecord {
  std::string id;
  std::int64_t version = 0;
  // Column name -> JSON value as Dataverse serialises it; lookups hold the GUID
  // string (their table is in lookup_targets). Includes the primary key,
  // createdon, modifiedon and versionnumber.
  nlohmann::json fields = nlohmann::json::object();
  std::map<std::string, std::string> lookup_targets;
};

struct Tombstone {
  std::string id;
  std::int64_t version = 0;  // the version the deletion consumed
  std::chrono::system_clock::time_point when;
};

class Store {
 public:
  using Rows = std::map<std::string, StoredRecord, std::less<>>;

  explicit Store(const Metadata& metadata);

  std::shared_mutex& mutex() const { return mutex_; }

  // --- callers hold mutex() (shared) ---
  const StoredRecord* Find(std::string_view logical, std::string_view id) const;
  const Rows& RowsOf(std::string_view logical) const;
  const std::deque<Tombstone>& TombstonesOf(std::string_view logical) const;
  std::int64_t CurrentVersion() const { return version_; }
  // Delta tokens below this version are expired.
  std::int64_t ChangeTrackingFloor() const { return ct_floor_; }

  // --- callers hold mutex() (unique) ---
  std::int64_t NextVersion() { return ++version_; }
  void Put(std::string_view logical, StoredRecord record);
  // Removes a record and leaves a tombstone; false when it did not exist.
  bool Erase(std::string_view logical, std::string_view id, std::chrono::system_clock::time_point when);
  // Change sets: every Put/Erase after BeginUndo is recorded until Commit or Rollback.
  void BeginUndo();
  void CommitUndo();
  void RollbackUndo();
  // Drops every record and tombstone (versions keep growing).
  void Clear();
  // Makes every delta token issued so far expire.
  void ExpireChangeTracking();
  void PurgeTombstonesBefore(std::chrono::system_clock::time_point cutoff);

 private:
  struct Table {
    Rows rows;
    std::deque<Tombstone> tombstones;
  };
  struct UndoEntry {
    std::string logical;
    std::string id;
    std::optional<StoredRecord> before;  // nullopt: the record did not exist
    bool added_tombstone = false;
  };
  Table& TableOf(std::string_view logical);
  void Remember(std::string_view logical, std::string_view id, bool tombstone);

  mutable std::shared_mutex mutex_;
  std::map<std::string, Table, std::less<>> tables_;
  std::int64_t version_ = 1000000;
  std::int64_t ct_floor_ = 0;
  bool undo_active_ = false;
  std::vector<UndoEntry> undo_;
};

}  // namespace crmsync::emulator
