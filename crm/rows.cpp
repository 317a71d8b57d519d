#include "crm/rows.h"

#include "crm/number_series.h"
#include "crm/sales_cycle.h"
#include "crm/setup.h"

namespace crmsync::crm {

namespace {

std::string Quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

bool IsEmptyText(const Value& v) {
  return v.is_null() || (v.kind() == Value::Kind::kText && v.as_text().empty());
}

const Value* Get(const Record& row, std::string_view column) {
  auto it = row.find(column);
  return it == row.end() ? nullptr : &it->second;
}

// Checks names, read-only columns and value types; returns the coerced fields.
Result<Record> CoerceFields(const TableSpec& spec, const Record& fields) {
  Record out;
  for (const auto& [name, value] : fields) {
    const ColumnSpec* column = FindColumn(spec, name);
    if (column == nullptr) return InvalidArgument(std::string(spec.label) + " has no column '" + name + "'");
    if (column->read_only) return InvalidArgument(name + " is maintained by the store and cannot be written");
    CRMSYNC_ASSIGN_OR_RETURN(Value coerced, CoerceValue(*column, value));
    out.emplace(name, std::move(coerced));
  }
  return out;
}

Result<std::optional<std::string>> LookupText(StatementCache& statements, std::string_view sql, const Value& key) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, statements.Get(sql));
  st->Bind(1, key);
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st->ColumnText(0));
}

// "contact_no: contact 'CT000099' does not exist" and friends.
Status CheckReference(StatementCache& statements, const ColumnSpec& column, const Value& value) {
  if (value.is_null() || column.reference == Reference::kNone) return Status::Ok();
  const std::string field(column.name);
  const std::string shown = Quoted(value.ToDisplayString());
  const auto exists = [&](const char* sql, const char* label) -> Status {
    CRMSYNC_ASSIGN_OR_RETURN(auto found, LookupText(statements, sql, value));
    if (!found) return InvalidArgument(field + ": " + label + " " + shown + " does not exist");
    return Status::Ok();
  };
  switch (column.reference) {
    case Reference::kContact: return exists("SELECT no FROM contact WHERE no = ?", "contact");
    case Reference::kSalesperson: return exists("SELECT code FROM salesperson WHERE code = ?", "salesperson");
    case Reference::kOpportunity: return exists("SELECT no FROM opportunity WHERE no = ?", "opportunity");
    case Reference::kSalesOrder: return exists("SELECT no FROM sales_order WHERE no = ?", "sales order");
    case Reference::kInteractionTemplate:
      return exists("SELECT code FROM interaction_template WHERE code = ?", "interaction template");
    case Reference::kSalesCycle: return exists("SELECT code FROM sales_cycle WHERE code = ?", "sales cycle");
    case Reference::kCloseOpportunityCode:
      return exists("SELECT code FROM close_opportunity_code WHERE code = ?", "close opportunity code");
    case Reference::kCampaign: return exists("SELECT no FROM campaign WHERE no = ?", "campaign");
    case Reference::kSegment: return exists("SELECT no FROM segment WHERE no = ?", "segment");
    case Reference::kCompany: {
      CRMSYNC_ASSIGN_OR_RETURN(auto type, LookupText(statements, "SELECT type FROM contact WHERE no = ?", value));
      if (!type) return InvalidArgument(field + ": company " + shown + " does not exist");
      if (*type != "company")
        return InvalidArgument(field + ": company " + shown + " is a " + *type + ", not a company");
      return Status::Ok();
    }
    case Reference::kNone: break;
  }
  return Status::Ok();
}

// NOT NULL columns among `fields` must hold a value ("" counts as none).
Status CheckNotEmpty(const TableSpec& spec, const Record& fields) {
  for (const auto& [name, value] : fields) {
    if (FindColumn(spec, name)->not_null && IsEmptyText(value)) return InvalidArgument(name + " must not be empty");
  }
  return Status::Ok();
}

// Rules across fields of one row (`row` holds every column after the change).
Status CheckRow(StatementCache& statements, const TableSpec& spec, const Record& row, const Record& changed) {
  for (const auto& column : spec.columns) {
    if (column.required) {
      const Value* v = Get(row, column.name);
      if (v == nullptr || IsEmptyText(*v)) return InvalidArgument(std::string(column.name) + " is required");
    }
  }
  if (spec.table == Table::kContact) {
    const Value* type = Get(row, "type");
    const Value* company = Get(row, "company_no");
    const Value* no = Get(row, "no");
    if (company != nullptr && !company->is_null()) {
      if (type != nullptr && !type->is_null() && type->as_text() != "person") {
        return InvalidArgument("company_no: only a person can belong to a company, and this contact's type is " +
                               type->as_text());
      }
      if (no != nullptr && *no == *company) return InvalidArgument("company_no: a contact cannot belong to itself");
    }
  }
  if (spec.table == Table::kCampaign) {
    const Value* start = Get(row, "starting_date");
    const Value* end = Get(row, "ending_date");
    if (start != nullptr && end != nullptr && !start->is_null() && !end->is_null() &&
        end->as_text() < start->as_text()) {
      return InvalidArgument("ending_date " + Quoted(end->as_text()) + " is before starting_date " +
                             Quoted(start->as_text()));
    }
  }
  for (const auto& [name, value] : changed) {
    CRMSYNC_RETURN_IF_ERROR(CheckReference(statements, *FindColumn(spec, name), value));
  }
  return Status::Ok();
}

Result<bool> KeyExists(StatementCache& statements, const TableSpec& spec, const std::vector<Value>& parts) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st,
                           statements.Get("SELECT 1 FROM " + QuoteName(spec.name) + " WHERE " + KeyCondition(spec)));
  for (std::size_t i = 0; i < parts.size(); ++i) st->Bind(static_cast<int>(i) + 1, parts[i]);
  return st->Step();
}

std::vector<Value> KeyParts(const TableSpec& spec, const Record& row) {
  std::vector<Value> parts;
  for (const auto& k : spec.key_columns) {
    const Value* v = Get(row, k);
    parts.push_back(v == nullptr ? Value() : *v);
  }
  return parts;
}

Result<std::optional<std::string>> SetupValue(StatementCache& statements, std::string_view key) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, statements.Get("SELECT value FROM setup WHERE key = ?"));
  st->Bind(1, key);
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row || st->IsNull(0) || st->ColumnText(0).empty()) return std::optional<std::string>();
  return std::optional<std::string>(st->ColumnText(0));
}

// A new contact's inherited and default values, for the columns the insert
// does not give (a column given as null stays null): a person linked to a
// company takes the company's inherited fields (crm/setup.h), then setup's
// default country, language and correspondence type fill what is still
// missing. The default salesperson is InsertRow's, after this.
Status FillContactDefaults(StatementCache& statements, Record& row) {
  const Value* type = Get(row, "type");
  const Value* company = Get(row, "company_no");
  if (type != nullptr && type->kind() == Value::Kind::kText && type->as_text() == "person" && company != nullptr &&
      !IsEmptyText(*company)) {
    std::vector<std::string> inherited = {"type"};
    for (const auto& group : InheritedGroups()) {
      CRMSYNC_ASSIGN_OR_RETURN(auto flag, SetupValue(statements, group.flag));
      if (flag.value_or("") != "true") continue;
      for (std::string_view column : group.columns) {
        if (Get(row, column) == nullptr) inherited.emplace_back(column);
      }
    }
    // One read of the company; one that is not a company is left to the reference check.
    if (inherited.size() > 1 && company->kind() == Value::Kind::kText) {
      CRMSYNC_ASSIGN_OR_RETURN(auto from, ReadRow(statements, SpecOf(Table::kContact), company->as_text(), inherited));
      const Value* company_type = from ? Get(*from, "type") : nullptr;
      if (company_type != nullptr && company_type->kind() == Value::Kind::kText &&
          company_type->as_text() == "company") {
        for (std::size_t i = 1; i < inherited.size(); ++i) {
          const Value* v = Get(*from, inherited[i]);
          if (v != nullptr && !v->is_null()) row[inherited[i]] = *v;
        }
      }
    }
  }
  constexpr std::pair<std::string_view, std::string_view> kDefaults[] = {
      {"country_code", "default_country_code"},
      {"language_code", "default_language_code"},
      {"correspondence_type", "default_correspondence_type"},
  };
  for (const auto& [column, key] : kDefaults) {
    if (Get(row, column) != nullptr) continue;
    CRMSYNC_ASSIGN_OR_RETURN(auto value, SetupValue(statements, key));
    if (value) row[std::string(column)] = Value::Text(*value);
  }
  return Status::Ok();
}

// A new interaction's defaults, for the columns the insert does not give:
// its template's type, direction, duration and cost, and its contact's
// salesperson. kInvalidArgument when neither the insert nor a template
// gives the type (an unknown template is left to the reference check).
Status FillInteractionDefaults(StatementCache& statements, Record& row) {
  const Value* tmpl = Get(row, "template_code");
  bool template_unknown = false;
  if (tmpl != nullptr && !IsEmptyText(*tmpl)) {
    CRMSYNC_ASSIGN_OR_RETURN(
        auto st, statements.Get("SELECT type, direction, duration_min, cost FROM interaction_template WHERE code = ?"));
    st->Bind(1, *tmpl);
    CRMSYNC_ASSIGN_OR_RETURN(bool found, st->Step());
    template_unknown = !found;
    if (found) {
      constexpr std::string_view kFromTemplate[] = {"type", "direction", "duration_min", "cost"};
      for (int i = 0; i < 4; ++i) {
        if (Get(row, kFromTemplate[i]) == nullptr && !st->IsNull(i)) {
          row[std::string(kFromTemplate[i])] = st->ColumnValue(i);
        }
      }
    }
  }
  const Value* type = Get(row, "type");
  if (!template_unknown && (type == nullptr || IsEmptyText(*type))) {
    return InvalidArgument("type is required (email, letter, phone_call or meeting), unless template_code gives it");
  }
  const Value* contact = Get(row, "contact_no");
  if (Get(row, "salesperson_code") == nullptr && contact != nullptr && !IsEmptyText(*contact)) {
    CRMSYNC_ASSIGN_OR_RETURN(auto st, statements.Get("SELECT salesperson_code FROM contact WHERE no = ?"));
    st->Bind(1, *contact);
    CRMSYNC_ASSIGN_OR_RETURN(bool found, st->Step());
    if (found && !st->IsNull(0)) row["salesperson_code"] = st->ColumnValue(0);
  }
  return Status::Ok();
}

// A new opportunity's defaults, for the columns the insert does not give:
// its contact's salesperson (a person without one: its company's), and
// setup's default sales cycle, starting at that cycle's first stage.
Status FillOpportunityDefaults(StatementCache& statements, Record& row) {
  const Value* contact = Get(row, "contact_no");
  if (Get(row, "salesperson_code") == nullptr && contact != nullptr && !IsEmptyText(*contact)) {
    CRMSYNC_ASSIGN_OR_RETURN(
        auto st, statements.Get("SELECT coalesce(c.salesperson_code, (SELECT k.salesperson_code FROM contact k "
                                "WHERE k.no = c.company_no)) FROM contact c WHERE c.no = ?"));
    st->Bind(1, *contact);
    CRMSYNC_ASSIGN_OR_RETURN(bool found, st->Step());
    if (found && !st->IsNull(0)) row["salesperson_code"] = st->ColumnValue(0);
  }
  if (Get(row, "sales_cycle_code") == nullptr) {
    CRMSYNC_ASSIGN_OR_RETURN(auto code, SetupValue(statements, "default_sales_cycle_code"));
    if (code) row["sales_cycle_code"] = Value::Text(*code);
  }
  const Value* cycle = Get(row, "sales_cycle_code");
  if (cycle != nullptr && !IsEmptyText(*cycle) && Get(row, "current_stage") == nullptr) {
    CRMSYNC_ASSIGN_OR_RETURN(auto st,
                             statements.Get("SELECT min(stage) FROM sales_cycle_stage WHERE sales_cycle_code = ?"));
    st->Bind(1, *cycle);
    CRMSYNC_ASSIGN_OR_RETURN(bool found, st->Step());
    if (found && !st->IsNull(0)) row["current_stage"] = st->ColumnValue(0);
  }
  // Found again: the insertion above moves the row's fields (common/record.h).
  cycle = Get(row, "sales_cycle_code");
  const Value* stage = Get(row, "current_stage");
  if (cycle != nullptr && cycle->kind() == Value::Kind::kText && stage != nullptr &&
      stage->kind() == Value::Kind::kInteger) {
    CRMSYNC_ASSIGN_OR_RETURN(auto info, ReadStage(statements, cycle->as_text(), stage->as_integer()));
    if (!info) {
      return InvalidArgument("current_stage: sales cycle " + Quoted(cycle->as_text()) + " has no stage " +
                             std::to_string(stage->as_integer()));
    }
    // No field of the row is used after these insertions (they move its fields).
    if (Get(row, "completed_pct") == nullptr) row["completed_pct"] = Value::Integer(info->completed_pct);
    if (Get(row, "probability") == nullptr) {
      row["probability"] =
          Value::Integer(Probability(info->calculation, info->chances_of_success_pct, info->completed_pct));
    }
  }
  return Status::Ok();
}

// Fills the key of a new row: the series' next number, or an order line's next line_no.
Status AssignKey(StatementCache& statements, const TableSpec& spec, Record& row) {
  if (spec.key_columns.size() == 2) {
    // A numbered child row (order line, sales cycle stage, segment
    // criterion) takes its parent's last number + step; link rows must give
    // both parts.
    const std::string parent(spec.key_columns[0]);
    const std::string number(spec.key_columns[1]);
    for (const std::string& part : {parent, number}) {
      const Value* v = Get(row, part);
      if ((v == nullptr || IsEmptyText(*v)) &&
          (part == parent || FindColumn(spec, number)->type != ColumnType::kInteger)) {
        return InvalidArgument(part + " is required");
      }
    }
    const Value* given = Get(row, number);
    if (given != nullptr && !given->is_null()) return Status::Ok();
    const int step = spec.table == Table::kSalesOrderLine ? 10000 : 1;
    CRMSYNC_ASSIGN_OR_RETURN(
        auto st, statements.Get("SELECT coalesce(max(" + QuoteName(number) + "), 0) + " + std::to_string(step) +
                                " FROM " + QuoteName(spec.name) + " WHERE " + QuoteName(parent) + " = ?"));
    st->Bind(1, *Get(row, parent));
    CRMSYNC_ASSIGN_OR_RETURN(bool has_row, st->Step());
    if (!has_row) return Internal("max(" + number + ") returned no row");
    row[number] = Value::Integer(st->ColumnInt(0));
    return Status::Ok();
  }
  const std::string key_column(spec.key_columns[0]);
  CRMSYNC_ASSIGN_OR_RETURN(std::string series, SeriesCodeFor(statements, spec));
  const Value* given = Get(row, key_column);
  if (given != nullptr && !IsEmptyText(*given)) return CheckManualNo(statements, spec, series, given->as_text());
  if (series.empty())
    return InvalidArgument(key_column + " is required (" + std::string(spec.label) + " has no number series)");
  CRMSYNC_ASSIGN_OR_RETURN(std::string no, TakeNextNo(statements, spec, series));
  row[key_column] = Value::Text(std::move(no));
  return Status::Ok();
}

}  // namespace

Value ReadColumnValue(const SqliteStatement& st, int index, const ColumnSpec& column) {
  Value v = st.ColumnValue(index);
  if (column.type == ColumnType::kBool && v.kind() == Value::Kind::kInteger) return Value::Bool(v.as_integer() != 0);
  return v;
}

std::string QuoteName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  for (char c : name) {
    if (c == '"') out += '"';  // SQL doubles a quote inside a quoted identifier
    out += c;
  }
  out += '"';
  return out;
}

std::string KeyCondition(const TableSpec& spec) {
  std::string out;
  for (std::size_t i = 0; i < spec.key_columns.size(); ++i) {
    if (i > 0) out += " AND ";
    out += QuoteName(spec.key_columns[i]) + " = ?" + std::to_string(i + 1);
  }
  return out;
}

Status CheckColumns(const TableSpec& spec, std::span<const std::string> columns) {
  for (const auto& c : columns) {
    if (FindColumn(spec, c) == nullptr) return InvalidArgument(std::string(spec.label) + " has no column '" + c + "'");
  }
  return Status::Ok();
}

Result<std::string> InsertRow(SqliteDb& db, const TableSpec& spec, const Record& fields) {
  StatementCache statements(db);
  return InsertRow(statements, spec, fields);
}

Result<std::string> InsertRow(StatementCache& statements, const TableSpec& spec, const Record& fields) {
  CRMSYNC_ASSIGN_OR_RETURN(Record row, CoerceFields(spec, fields));
  if (spec.table == Table::kContact) CRMSYNC_RETURN_IF_ERROR(FillContactDefaults(statements, row));
  if (spec.table == Table::kInteraction) CRMSYNC_RETURN_IF_ERROR(FillInteractionDefaults(statements, row));
  if (spec.table == Table::kOpportunity) CRMSYNC_RETURN_IF_ERROR(FillOpportunityDefaults(statements, row));
  if (FindColumn(spec, "salesperson_code") != nullptr && Get(row, "salesperson_code") == nullptr) {
    CRMSYNC_ASSIGN_OR_RETURN(auto code, SetupValue(statements, "default_salesperson_code"));
    if (code) row["salesperson_code"] = Value::Text(*code);
  }
  if (spec.table == Table::kContact) {
    const Value* name = Get(row, "name");
    if (name == nullptr || IsEmptyText(*name)) {
      std::string derived;
      for (const char* part : {"first_name", "surname"}) {
        const Value* v = Get(row, part);
        if (v == nullptr || IsEmptyText(*v)) continue;
        if (!derived.empty()) derived += ' ';
        derived += v->as_text();
      }
      if (derived.empty()) return InvalidArgument("name is required (for a person: first_name and/or surname)");
      row["name"] = Value::Text(derived);
    }
  }
  // Check references and required values before taking a number: a failed
  // insert must not skip one.
  CRMSYNC_RETURN_IF_ERROR(CheckRow(statements, spec, row, row));
  CRMSYNC_RETURN_IF_ERROR(AssignKey(statements, spec, row));
  CRMSYNC_RETURN_IF_ERROR(CheckNotEmpty(spec, row));
  const std::vector<Value> key = KeyParts(spec, row);
  CRMSYNC_ASSIGN_OR_RETURN(bool exists, KeyExists(statements, spec, key));
  if (exists) {
    return Status(StatusCode::kAlreadyExists,
                  std::string(spec.label) + " " + Quoted(EncodeKey(spec, key)) + " already exists");
  }

  std::string names;
  std::string params;
  for (const auto& [name, value] : row) {
    if (!names.empty()) {
      names += ", ";
      params += ", ";
    }
    names += QuoteName(name);
    params += "?";
  }
  CRMSYNC_ASSIGN_OR_RETURN(
      auto st, statements.Get("INSERT INTO " + QuoteName(spec.name) + " (" + names + ") VALUES (" + params + ")"));
  int i = 1;
  for (const auto& [name, value] : row) st->Bind(i++, value);
  if (Status s = st->Run(); !s.ok()) {
    return s.WithContext("cannot add " + std::string(spec.label) + " " + Quoted(EncodeKey(spec, key)));
  }
  return EncodeKey(spec, key);
}

Result<std::string> UpdateRow(SqliteDb& db, const TableSpec& spec, std::string_view key, const Record& fields) {
  StatementCache statements(db);
  return UpdateRow(statements, spec, key, fields);
}

Result<std::string> UpdateRow(StatementCache& statements, const TableSpec& spec, std::string_view key,
                              const Record& fields) {
  CRMSYNC_ASSIGN_OR_RETURN(std::vector<Value> key_parts, DecodeKey(spec, key));
  CRMSYNC_ASSIGN_OR_RETURN(std::optional<Record> current, ReadRow(statements, spec, key));
  if (!current) return NotFound(std::string(spec.label) + " " + Quoted(key) + " does not exist");
  CRMSYNC_ASSIGN_OR_RETURN(Record changes, CoerceFields(spec, fields));
  if (changes.empty()) return std::string(key);
  CRMSYNC_RETURN_IF_ERROR(CheckNotEmpty(spec, changes));

  Record merged = *current;
  for (const auto& [name, value] : changes) merged[name] = value;
  if (spec.table == Table::kContact) {
    const Value* type = Get(merged, "type");
    if (changes.count("type") != 0 && type->as_text() != "company" && Get(*current, "type")->as_text() == "company") {
      CRMSYNC_ASSIGN_OR_RETURN(
          auto person, LookupText(statements, "SELECT no FROM contact WHERE company_no = ? LIMIT 1", key_parts[0]));
      if (person) {
        return InvalidArgument("type: contact " + Quoted(key) + " is the company of " + Quoted(*person) +
                               " and must stay a company");
      }
    }
  }
  CRMSYNC_RETURN_IF_ERROR(CheckRow(statements, spec, merged, changes));

  const std::vector<Value> new_key = KeyParts(spec, merged);
  const std::string new_key_text = EncodeKey(spec, new_key);
  if (new_key_text != key) {
    CRMSYNC_ASSIGN_OR_RETURN(bool taken, KeyExists(statements, spec, new_key));
    if (taken) {
      return Status(StatusCode::kAlreadyExists,
                    std::string(spec.label) + " " + Quoted(new_key_text) + " already exists");
    }
  }

  std::string sets;
  const int first_param = static_cast<int>(spec.key_columns.size()) + 1;
  int i = first_param;
  for (const auto& [name, value] : changes) {
    if (!sets.empty()) sets += ", ";
    sets += QuoteName(name) + " = ?" + std::to_string(i++);
  }
  CRMSYNC_ASSIGN_OR_RETURN(
      auto st, statements.Get("UPDATE " + QuoteName(spec.name) + " SET " + sets + " WHERE " + KeyCondition(spec)));
  for (std::size_t k = 0; k < key_parts.size(); ++k) st->Bind(static_cast<int>(k) + 1, key_parts[k]);
  i = first_param;
  for (const auto& [name, value] : changes) st->Bind(i++, value);
  if (Status s = st->Run(); !s.ok())
    return s.WithContext("cannot update " + std::string(spec.label) + " " + Quoted(key));
  return new_key_text;
}

Status DeleteRow(SqliteDb& db, const TableSpec& spec, std::string_view key) {
  StatementCache statements(db);
  return DeleteRow(statements, spec, key);
}

Status DeleteRow(StatementCache& statements, const TableSpec& spec, std::string_view key) {
  CRMSYNC_ASSIGN_OR_RETURN(std::vector<Value> key_parts, DecodeKey(spec, key));
  CRMSYNC_ASSIGN_OR_RETURN(bool exists, KeyExists(statements, spec, key_parts));
  if (!exists) return NotFound(std::string(spec.label) + " " + Quoted(key) + " does not exist");
  if (spec.table == Table::kContact) {
    // Opportunities and orders need their contact (NOT NULL): say so instead
    // of "FOREIGN KEY constraint failed".
    CRMSYNC_ASSIGN_OR_RETURN(auto st,
                             statements.Get("SELECT (SELECT count(*) FROM opportunity WHERE contact_no = ?1), "
                                            "(SELECT count(*) FROM sales_order WHERE sell_to_contact_no = ?1)"));
    st->Bind(1, key_parts[0]);
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (row && (st->ColumnInt(0) > 0 || st->ColumnInt(1) > 0)) {
      return InvalidArgument("contact " + Quoted(key) + " has " + std::to_string(st->ColumnInt(0)) +
                             " opportunities and " + std::to_string(st->ColumnInt(1)) +
                             " sales orders; delete them or move them to another contact first");
    }
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto st,
                           statements.Get("DELETE FROM " + QuoteName(spec.name) + " WHERE " + KeyCondition(spec)));
  for (std::size_t k = 0; k < key_parts.size(); ++k) st->Bind(static_cast<int>(k) + 1, key_parts[k]);
  if (Status s = st->Run(); !s.ok())
    return s.WithContext("cannot delete " + std::string(spec.label) + " " + Quoted(key));
  return Status::Ok();
}

Result<std::optional<Record>> ReadRow(SqliteDb& db, const TableSpec& spec, std::string_view key,
                                      std::span<const std::string> columns) {
  StatementCache statements(db);
  return ReadRow(statements, spec, key, columns);
}

Result<std::optional<Record>> ReadRow(StatementCache& statements, const TableSpec& spec, std::string_view key,
                                      std::span<const std::string> columns) {
  CRMSYNC_RETURN_IF_ERROR(CheckColumns(spec, columns));
  CRMSYNC_ASSIGN_OR_RETURN(std::vector<Value> key_parts, DecodeKey(spec, key));
  std::vector<const ColumnSpec*> wanted;
  for (const auto& c : spec.columns) {
    bool want = columns.empty() || IsKeyColumn(spec, c.name);
    for (const auto& name : columns) want = want || name == c.name;
    if (want) wanted.push_back(&c);
  }
  std::string list;
  for (const auto* c : wanted) list += (list.empty() ? "" : ", ") + QuoteName(c->name);
  CRMSYNC_ASSIGN_OR_RETURN(
      auto st, statements.Get("SELECT " + list + " FROM " + QuoteName(spec.name) + " WHERE " + KeyCondition(spec)));
  for (std::size_t k = 0; k < key_parts.size(); ++k) st->Bind(static_cast<int>(k) + 1, key_parts[k]);
  CRMSYNC_ASSIGN_OR_RETURN(bool found, st->Step());
  if (!found) return std::optional<Record>();
  Record row;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    row.emplace(std::string(wanted[i]->name), ReadColumnValue(*st, static_cast<int>(i), *wanted[i]));
  }
  return std::optional<Record>(std::move(row));
}

Result<std::vector<Record>> ListRows(SqliteDb& db, const TableSpec& spec, const ListQuery& query) {
  std::string list;
  for (const auto& c : spec.columns) list += (list.empty() ? "" : ", ") + QuoteName(c.name);
  std::string where;
  std::vector<Value> params;
  for (const auto& [name, value] : query.equals) {
    const ColumnSpec* column = FindColumn(spec, name);
    if (column == nullptr) return InvalidArgument(std::string(spec.label) + " has no column '" + name + "'");
    where += where.empty() ? " WHERE " : " AND ";
    if (value.is_null()) {
      where += QuoteName(name) + " IS NULL";
    } else {
      CRMSYNC_ASSIGN_OR_RETURN(Value coerced, CoerceValue(*column, value));
      where += QuoteName(name) + " = ?";
      params.push_back(std::move(coerced));
    }
  }
  if (!query.search.empty()) {
    std::string any;
    for (const auto& c : spec.columns) {
      if (c.type != ColumnType::kText) continue;
      any += (any.empty() ? "" : " OR ") + QuoteName(c.name) + " LIKE ? ESCAPE '\\'";
      std::string pattern;
      for (char ch : query.search) {
        if (ch == '%' || ch == '_' || ch == '\\') pattern += '\\';
        pattern += ch;
      }
      params.push_back(Value::Text("%" + pattern + "%"));
    }
    where += (where.empty() ? " WHERE (" : " AND (") + any + ")";
  }
  std::string order;
  for (const auto& k : spec.key_columns) order += (order.empty() ? "" : ", ") + QuoteName(k);
  std::string sql = "SELECT " + list + " FROM " + QuoteName(spec.name) + where + " ORDER BY " + order;
  if (query.limit > 0) sql += " LIMIT " + std::to_string(query.limit);
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare(sql));
  for (std::size_t i = 0; i < params.size(); ++i) st.Bind(static_cast<int>(i) + 1, params[i]);
  std::vector<Record> rows;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool has_row, st.Step());
    if (!has_row) break;
    Record row;
    for (std::size_t i = 0; i < spec.columns.size(); ++i) {
      row.emplace(std::string(spec.columns[i].name), ReadColumnValue(st, static_cast<int>(i), spec.columns[i]));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace crmsync::crm
