#include "connectors/local/change_query.h"

#include "common/time_format.h"
#include "crm/rows.h"

namespace crmsync::local {

std::string KeyTextExpression(const crm::TableSpec& spec) {
  if (spec.key_columns.size() == 1) return "t." + crm::QuoteName(spec.key_columns[0]);
  std::string parts;
  for (const auto& k : spec.key_columns) parts += (parts.empty() ? "" : ", ") + ("t." + crm::QuoteName(k));
  return "json_array(" + parts + ")";
}

ChangeQuery::ChangeQuery(const crm::TableSpec& spec, std::span<const std::string> columns) : spec_(&spec) {
  for (const auto& c : spec.columns) {
    bool want = columns.empty() || crm::IsKeyColumn(spec, c.name);
    for (const auto& name : columns) want = want || name == c.name;
    if (want) wanted_.push_back(&c);
  }
  int param = 2;  // ?1 is the table name
  for (const auto& k : spec.key_columns) {
    for (std::size_t i = 0; i < wanted_.size(); ++i) {
      if (wanted_[i]->name == k) key_index_.push_back(static_cast<int>(i));
    }
    key_list_ += (key_list_.empty() ? "" : ", ") + ("t." + crm::QuoteName(k));
    key_equals_ += (key_equals_.empty() ? "" : " AND ") + ("t." + crm::QuoteName(k)) + " = ?" + std::to_string(param++);
  }
  const std::string key_text = KeyTextExpression(spec);
  std::string list;
  for (const auto* c : wanted_) list += (list.empty() ? "" : ", ") + ("t." + crm::QuoteName(c->name));
  list += crm::FindColumn(spec, "modified_at") != nullptr ? ", t.\"modified_at\"" : ", NULL";
  // The latest journal row by its seq (one index probe of
  // crmsync_journal_table_key, then the primary key); the origin as a scalar
  // subquery, so a key with two origin rows cannot duplicate a record.
  select_ = "SELECT " + list + ", j.seq, j.changed_at, (SELECT o.origin_id FROM crmsync_origin AS o WHERE " +
            "o.table_name = ?1 AND o.key = " + key_text + " LIMIT 1) FROM " + crm::QuoteName(spec.name) +
            " AS t LEFT JOIN crmsync_journal AS j ON j.seq = (SELECT max(seq) FROM crmsync_journal WHERE " +
            "table_name = ?1 AND key = " + key_text + ")";
}

void ChangeQuery::BindTable(SqliteStatement& st) const {
  st.Bind(1, spec_->name);
}

connectors::Change ChangeQuery::Decode(const SqliteStatement& st) const {
  connectors::Change change;
  change.kind = connectors::Change::Kind::kUpsert;
  const int n = static_cast<int>(wanted_.size());
  for (int i = 0; i < n; ++i)
    change.record.emplace(std::string(wanted_[static_cast<std::size_t>(i)]->name),
                          crm::ReadColumnValue(st, i, *wanted_[static_cast<std::size_t>(i)]));
  std::vector<Value> parts;
  parts.reserve(key_index_.size());
  for (int index : key_index_) parts.push_back(st.ColumnValue(index));
  change.key = crm::EncodeKey(*spec_, parts);
  if (st.IsNull(n + 1)) {
    change.version = "0";  // the journal no longer holds a change of this row
    if (!st.IsNull(n)) change.modified_at = ParseUtc(st.ColumnText(n));
  } else {
    change.version = std::to_string(st.ColumnInt(n + 1));
    change.modified_at = ParseUtc(st.ColumnText(n + 2));
  }
  if (!st.IsNull(n + 3)) change.origin_id = st.ColumnText(n + 3);
  return change;
}

}  // namespace crmsync::local
