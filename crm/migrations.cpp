#include "crm/migrations.h"

#include <filesystem>

namespace crmsync::crm {

namespace internal {
// Defined in the generated migrations_sql.cpp (crm/CMakeLists.txt).
extern const char kMigration0001Core[];
extern const char kMigration0002ChangeCapture[];
extern const char kMigration0003SalespersonSeries[];
extern const char kMigration0004MarketingSetup[];
extern const char kMigration0005Interactions[];
extern const char kMigration0006SegmentsCampaignsSalesCycles[];
}  // namespace internal

namespace {

const Migration kMigrations[] = {
    {1, "0001_core.sql", internal::kMigration0001Core},
    {2, "0002_change_capture.sql", internal::kMigration0002ChangeCapture},
    {3, "0003_salesperson_series.sql", internal::kMigration0003SalespersonSeries},
    {4, "0004_marketing_setup.sql", internal::kMigration0004MarketingSetup},
    {5, "0005_interactions.sql", internal::kMigration0005Interactions},
    {6, "0006_segments_campaigns_sales_cycles.sql", internal::kMigration0006SegmentsCampaignsSalesCycles},
};

Status ApplyStep(SqliteDb& db, const Migration& step) {
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kImmediate));
  // Another process may have applied the step while we waited for the lock.
  CRMSYNC_ASSIGN_OR_RETURN(int current, SchemaVersion(db));
  if (current >= step.version) return Status::Ok();
  if (current != step.version - 1) {
    return Internal("local store is at schema v" + std::to_string(current) + ", cannot apply step v" +
                    std::to_string(step.version));
  }
  if (Status s = db.Exec(step.sql); !s.ok()) {
    return s.WithContext("migrating the local store to v" + std::to_string(step.version) + " (" +
                         std::string(step.name) + ")");
  }
  CRMSYNC_RETURN_IF_ERROR(db.Exec("PRAGMA user_version = " + std::to_string(step.version)));
  return tx.Commit();
}

}  // namespace

std::span<const Migration> Migrations() {
  return kMigrations;
}
int LatestSchemaVersion() {
  return kMigrations[std::size(kMigrations) - 1].version;
}

Result<int> SchemaVersion(SqliteDb& db) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("PRAGMA user_version"));
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Internal("PRAGMA user_version returned no row");
  return static_cast<int>(st.ColumnInt(0));
}

Result<MigrationReport> MigrateTo(SqliteDb& db, int target_version) {
  if (target_version < 0 || target_version > LatestSchemaVersion()) {
    return InvalidArgument("no schema version " + std::to_string(target_version));
  }
  MigrationReport report;
  CRMSYNC_ASSIGN_OR_RETURN(report.from_version, SchemaVersion(db));
  if (report.from_version > LatestSchemaVersion()) {
    return InvalidArgument("local store '" + db.path() + "' has schema v" + std::to_string(report.from_version) +
                           ", newer than this crmsync understands (v" + std::to_string(LatestSchemaVersion()) + ")");
  }
  if (report.from_version == 0) {
    CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT name FROM sqlite_master WHERE type = 'table' LIMIT 1"));
    CRMSYNC_ASSIGN_OR_RETURN(bool has_table, st.Step());
    if (has_table) {
      return InvalidArgument("'" + db.path() + "' holds tables (" + st.ColumnText(0) +
                             ") but no crmsync schema version: not a local CRM store");
    }
  }
  for (const auto& step : kMigrations) {
    if (step.version <= report.from_version || step.version > target_version) continue;
    CRMSYNC_RETURN_IF_ERROR(ApplyStep(db, step));
  }
  CRMSYNC_ASSIGN_OR_RETURN(report.to_version, SchemaVersion(db));
  return report;
}

Result<MigrationReport> CreateOrMigrate(const std::string& path) {
  std::error_code ec;
  const bool existed = std::filesystem::exists(path, ec);
  CRMSYNC_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::Open(path));
  CRMSYNC_ASSIGN_OR_RETURN(MigrationReport report, MigrateTo(db, LatestSchemaVersion()));
  report.created = !existed;
  return report;
}

}  // namespace crmsync::crm
