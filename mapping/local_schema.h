// LocalSchema: the tables and columns of the local store, and the check of a
// mapping set against them (a mapping naming a table or column the store
// does not have would fail on every record, or worse, on some).
//
// Read once from SQLite (sqlite_master + table_info); the check itself is
// pure so tests can build a schema by hand.
//
// Thread-safety: a value type; ReadLocalSchema uses the connection it is given.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostic.h"
#include "common/result.h"
#include "common/sqlite.h"
#include "mapping/mapping_loader.h"

namespace crmsync::mapping {

struct LocalSchema {
  std::map<std::string, std::vector<std::string>> tables;  // table (or view) -> columns in order
};

// The local tables and columns a mapping may name: ASCII letters, digits and
// '_', not starting with a digit. They are spliced into SQL statements, so
// nothing that could end a name or quote one gets in.
bool IsSqlIdentifier(std::string_view name);

// crmsync's own tables in the local store (the change journal, ...) are named
// crmsync_*, in any case; no mapping may sync them.
bool IsCrmsyncTable(std::string_view table);

Result<LocalSchema> ReadLocalSchema(SqliteDb& db);
// Opens `path` read-only (never creating it) and reads its schema.
Result<LocalSchema> ReadLocalSchemaFile(const std::string& path);

// One diagnostic per unknown table (local.table) or column (local.key,
// local.filter, fields[].local), with a did-you-mean when one is close (never
// one of crmsync's own tables). Names the loader refused (not identifiers,
// crmsync's own tables) are not looked up again.
Diagnostics CheckLocalSchema(const MappingSet& set, const LocalSchema& schema);

// Reads the schema of the database at `path` and checks `set` against it; a
// database that cannot be opened is one diagnostic naming the file.
Diagnostics CheckLocalDatabase(const MappingSet& set, const std::string& path);

}  // namespace crmsync::mapping
