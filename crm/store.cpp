#include "crm/store.h"

#include <filesystem>

namespace crmsync::crm {

Result<Store> Store::Open(const std::string& path, bool create_if_missing) {
  std::error_code ec;
  const bool existed = std::filesystem::exists(path, ec);
  if (!existed && !create_if_missing) {
    return NotFound("local CRM store '" + path + "' does not exist (create it with `crmsync init`)");
  }
  CRMSYNC_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::Open(path));
  CRMSYNC_ASSIGN_OR_RETURN(MigrationReport report, MigrateTo(db, LatestSchemaVersion()));
  report.created = !existed;
  return Store(std::move(db), report);
}

Status Store::InTransaction(const std::function<Status(SqliteDb&)>& body) {
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db_, SqliteTransaction::Mode::kImmediate));
  CRMSYNC_RETURN_IF_ERROR(body(db_));
  return tx.Commit();
}

Result<std::string> Store::Add(Table table, const Record& fields) {
  std::string key;
  CRMSYNC_RETURN_IF_ERROR(InTransaction([&](SqliteDb& db) -> Status {
    CRMSYNC_ASSIGN_OR_RETURN(key, InsertRow(db, SpecOf(table), fields));
    return Status::Ok();
  }));
  return key;
}

Result<Record> Store::Get(Table table, std::string_view key) {
  const TableSpec& spec = SpecOf(table);
  CRMSYNC_ASSIGN_OR_RETURN(std::optional<Record> row, ReadRow(db_, spec, key));
  if (!row) return NotFound(std::string(spec.label) + " '" + std::string(key) + "' does not exist");
  return std::move(*row);
}

Result<std::vector<Record>> Store::List(Table table, const ListQuery& query) {
  return ListRows(db_, SpecOf(table), query);
}

Result<std::string> Store::Update(Table table, std::string_view key, const Record& fields) {
  std::string new_key;
  CRMSYNC_RETURN_IF_ERROR(InTransaction([&](SqliteDb& db) -> Status {
    CRMSYNC_ASSIGN_OR_RETURN(new_key, UpdateRow(db, SpecOf(table), key, fields));
    return Status::Ok();
  }));
  return new_key;
}

Status Store::Delete(Table table, std::string_view key) {
  return InTransaction([&](SqliteDb& db) { return DeleteRow(db, SpecOf(table), key); });
}

}  // namespace crmsync::crm
