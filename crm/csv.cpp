#include "crm/csv.h"

namespace crmsync::crm {

Result<std::vector<CsvRow>> ParseCsv(std::string_view text) {
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  bool in_quotes = false;
  bool field_started = false;
  int line = 1;
  row.line = 1;
  const auto end_field = [&] {
    row.fields.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  const auto end_row = [&] {
    end_field();
    // A blank line is not a row.
    if (!(row.fields.size() == 1 && row.fields[0].empty())) rows.push_back(std::move(row));
    row = CsvRow{};
    row.line = line;
  };
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte order mark (spreadsheets)
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (field_started && !field.empty()) {
          return InvalidArgument("line " + std::to_string(line) + ": a quote inside an unquoted field");
        }
        in_quotes = true;
        field_started = true;
        break;
      case ',': end_field(); break;
      case '\r': break;
      case '\n':
        ++line;
        end_row();
        break;
      default: field += c; field_started = true;
    }
  }
  if (in_quotes) return InvalidArgument("line " + std::to_string(row.line) + ": a quoted field is not closed");
  if (!field.empty() || !row.fields.empty()) end_row();
  return rows;
}

std::string FormatCsvRow(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    const std::string& f = fields[i];
    if (f.find_first_of(",\"\r\n") == std::string::npos) {
      out += f;
      continue;
    }
    out += '"';
    for (char c : f) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    out += '"';
  }
  return out + "\n";
}

Result<std::string> ExportCsv(Store& store, Table table, const ListQuery& query) {
  const TableSpec& spec = SpecOf(table);
  std::vector<std::string> header;
  for (const auto& c : spec.columns) header.emplace_back(c.name);
  std::string out = FormatCsvRow(header);
  CRMSYNC_ASSIGN_OR_RETURN(std::vector<Record> rows, store.List(table, query));
  for (const auto& row : rows) {
    std::vector<std::string> fields;
    for (const auto& name : header) {
      const Value& v = row.at(name);
      fields.push_back(v.is_null() ? std::string() : v.ToDisplayString());
    }
    out += FormatCsvRow(fields);
  }
  return out;
}

Result<ImportReport> ImportCsv(Store& store, Table table, std::string_view text) {
  const TableSpec& spec = SpecOf(table);
  CRMSYNC_ASSIGN_OR_RETURN(std::vector<CsvRow> rows, ParseCsv(text));
  if (rows.empty()) return InvalidArgument("the file is empty: the first row must name the columns");
  const std::vector<std::string>& header = rows[0].fields;
  ImportReport report;
  std::vector<const ColumnSpec*> columns;
  for (const auto& name : header) {
    const ColumnSpec* column = FindColumn(spec, name);
    if (column == nullptr) {
      report.errors.push_back("line 1: " + std::string(spec.label) + " has no column '" + name + "'");
    }
    columns.push_back(column);
  }
  if (!report.errors.empty()) return report;

  Status status = store.InTransaction([&](SqliteDb& db) -> Status {
    for (std::size_t r = 1; r < rows.size(); ++r) {
      const CsvRow& row = rows[r];
      const std::string where = "line " + std::to_string(row.line) + ": ";
      if (row.fields.size() != header.size()) {
        report.errors.push_back(where + std::to_string(row.fields.size()) + " fields, the header has " +
                                std::to_string(header.size()));
        continue;
      }
      Record fields;
      std::string error;
      for (std::size_t i = 0; i < header.size() && error.empty(); ++i) {
        if (columns[i]->read_only || row.fields[i].empty()) continue;
        auto value = ParseFieldText(*columns[i], row.fields[i]);
        if (!value.ok()) {
          error = value.status().message();
        } else {
          fields[header[i]] = std::move(value).value();
        }
      }
      if (!error.empty()) {
        report.errors.push_back(where + error);
        continue;
      }
      // SQLite undoes a failed statement on its own; the rows before stay
      // pending in this transaction so later rows can refer to them.
      auto key = InsertRow(db, spec, fields);
      if (!key.ok()) {
        if (key.status().code() == StatusCode::kBusy || key.status().code() == StatusCode::kIo) return key.status();
        report.errors.push_back(where + key.status().message());
        continue;
      }
      report.keys.push_back(*key);
    }
    // All or nothing: a non-ok Status rolls the transaction back.
    if (!report.errors.empty()) return Status(StatusCode::kCancelled, "import has errors");
    return Status::Ok();
  });
  if (!status.ok() && status.code() != StatusCode::kCancelled) return status;
  if (!report.errors.empty()) report.keys.clear();
  return report;
}

}  // namespace crmsync::crm
