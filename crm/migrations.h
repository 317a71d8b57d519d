// Schema versions of the local CRM store and the steps between them.
//
// Each step is an SQL file in crm/migrations/ compiled into the binary. The
// store's version is PRAGMA user_version (0 = empty file). Migrating applies
// every missing step in order, each in its own BEGIN IMMEDIATE transaction
// that re-reads the version first, so two processes migrating one file at
// once apply each step exactly once, and a failed step leaves the store at
// the previous version. Released steps are never edited; a change is a new
// step. (A future step that rebuilds a table must turn foreign keys off
// around its transaction, which this runner would then have to support.)
//
// Thread-safety: free functions; a SqliteDb is used by one thread at a time.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/sqlite.h"

namespace crmsync::crm {

struct Migration {
  int version;            // the schema version after this step
  std::string_view name;  // file name, e.g. "0001_core.sql"
  std::string_view sql;
};

// Every step, ordered by version (1, 2, ...).
std::span<const Migration> Migrations();
int LatestSchemaVersion();

struct MigrationReport {
  bool created = false;  // the file did not exist before
  int from_version = 0;
  int to_version = 0;
  bool migrated() const { return from_version != to_version; }
};

Result<int> SchemaVersion(SqliteDb& db);

// Brings `db` to `target_version` (<= LatestSchemaVersion()). Fails with
// kInvalidArgument when the store is newer than this program or when a
// version-0 database already holds tables (not a crmsync store).
Result<MigrationReport> MigrateTo(SqliteDb& db, int target_version);

// Creates the store at `path` if missing and migrates it to the latest
// version. Existing data is never touched except by the migration steps.
Result<MigrationReport> CreateOrMigrate(const std::string& path);

}  // namespace crmsync::crm
