// ChangeQuery: the one SELECT shape the local connector reads records with.
// Each result row carries a record's key and requested columns and, joined in
// the same statement, the seq and changed_at of the row's latest journal row,
// the row's own modified_at and its crmsync_origin id. Reading N records is
// N steps of one prepared statement, not several queries per record.
//
// Callers append a WHERE clause (and ORDER BY / LIMIT) to select(); ?1 is the
// table name (BindTable), their own parameters start at ?2.
//
// Thread-safety: immutable after construction.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "connectors/connector.h"
#include "crm/schema.h"

namespace crmsync::local {

class ChangeQuery {
 public:
  // `columns` must be columns of `spec` (crm::CheckColumns); empty = every
  // column. Key columns are always read.
  ChangeQuery(const crm::TableSpec& spec, std::span<const std::string> columns);

  const crm::TableSpec& spec() const { return *spec_; }
  // "SELECT ... FROM "table" AS t LEFT JOIN ...", without WHERE.
  const std::string& select() const { return select_; }
  // The key columns of t in key order: t."no", or t."order_no", t."line_no".
  const std::string& key_list() const { return key_list_; }
  // "t."no" = ?2" (composite: one condition per key column, ?2, ?3, ...).
  const std::string& key_equals() const { return key_equals_; }

  void BindTable(SqliteStatement& st) const;

  // The current row of a statement prepared from select() as an upsert:
  // key, record, version (latest journal seq, "0" when pruned), modified_at
  // (the journal's changed_at, else the row's modified_at), origin_id.
  connectors::Change Decode(const SqliteStatement& st) const;

 private:
  const crm::TableSpec* spec_;
  std::vector<const crm::ColumnSpec*> wanted_;  // result columns 0..n-1
  std::vector<int> key_index_;                  // of each key column among wanted_
  std::string select_;
  std::string key_list_;
  std::string key_equals_;
};

// The SQL expression of a row's key text as the journal stores it: t."no",
// or json_array(t."order_no", t."line_no") for a composite key.
std::string KeyTextExpression(const crm::TableSpec& spec);

}  // namespace crmsync::local
