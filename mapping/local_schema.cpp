#include "mapping/local_schema.h"

#include <algorithm>
#include <cctype>

#include "common/json_text.h"

namespace crmsync::mapping {

namespace {

std::string DidYouMean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string guess = ClosestMatch(word, candidates);
  return guess.empty() ? "" : "; did you mean '" + guess + "'?";
}

}  // namespace

bool IsSqlIdentifier(std::string_view name) {
  const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (name.empty() || !letter(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

bool IsCrmsyncTable(std::string_view table) {
  constexpr std::string_view kPrefix = "crmsync_";
  if (table.size() < kPrefix.size()) return false;
  for (std::size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(table[i])) != kPrefix[i]) return false;
  }
  return true;
}

Result<LocalSchema> ReadLocalSchema(SqliteDb& db) {
  auto stmt = db.Prepare(
      "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
      "WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid");
  if (!stmt.ok()) return stmt.status();
  LocalSchema schema;
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    schema.tables[stmt->ColumnText(0)].push_back(stmt->ColumnText(1));
  }
  return schema;
}

Result<LocalSchema> ReadLocalSchemaFile(const std::string& path) {
  SqliteOpenOptions options;
  options.create = false;
  options.read_only = true;
  options.wal = false;  // a read-only connection must not try to switch the journal mode
  auto db = SqliteDb::Open(path, options);
  if (!db.ok()) return db.status();
  return ReadLocalSchema(*db);
}

Diagnostics CheckLocalSchema(const MappingSet& set, const LocalSchema& schema) {
  Diagnostics out;
  std::vector<std::string> table_names;
  for (const auto& [name, columns] : schema.tables) {
    if (!IsCrmsyncTable(name)) table_names.push_back(name);
  }
  for (const Mapping& m : set.mappings()) {
    const auto problem = [&](const std::string& pointer, const std::string& message) {
      out.push_back({m.source_file, m.lines.LineOf(pointer), PointerToPath(pointer), message});
    };
    if (!IsSqlIdentifier(m.local.table) || IsCrmsyncTable(m.local.table)) continue;
    const auto table = schema.tables.find(m.local.table);
    if (table == schema.tables.end()) {
      problem("/local/table",
              "no table '" + m.local.table + "' in the local store" + DidYouMean(m.local.table, table_names));
      continue;
    }
    const std::vector<std::string>& columns = table->second;
    const auto check = [&](const std::string& pointer, const std::string& column) {
      if (!IsSqlIdentifier(column) || std::find(columns.begin(), columns.end(), column) != columns.end()) return;
      problem(pointer, "no column '" + column + "' in table '" + m.local.table + "'" + DidYouMean(column, columns));
    };
    for (std::size_t i = 0; i < m.local.key.size(); ++i) {
      check(m.local.key.size() == 1 ? "/local/key" : AppendPointer("/local/key", i), m.local.key[i]);
    }
    for (const auto& [column, value] : m.local.filter) check(AppendPointer("/local/filter", column), column);
    for (const FieldMapping& f : m.fields) {
      const auto open = f.path.find('[');
      check("/fields/" + f.path.substr(open + 1, f.path.size() - open - 2) + "/local", f.local);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.file != b.file ? a.file < b.file : a.line < b.line;
  });
  return out;
}

Diagnostics CheckLocalDatabase(const MappingSet& set, const std::string& path) {
  auto schema = ReadLocalSchemaFile(path);
  if (!schema.ok()) return {Diagnostic{path, 0, "", "cannot read the local store: " + schema.status().message()}};
  return CheckLocalSchema(set, *schema);
}

}  // namespace crmsync::mapping
