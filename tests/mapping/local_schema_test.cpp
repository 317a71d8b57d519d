#include "mapping/local_schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/mapping/mapping_test_util.h"
#include "tests/support/temp_dir.h"

namespace crmsync::mapping {
namespace {

using ::testing::ElementsAre;
using testing::PathMessages;

TEST(LocalSchemaTest, ReadsTablesAndColumnsInOrder) {
  testing_support::TempDir dir;
  testing::CreateLocalStore(dir.path() + "/crm.db");
  auto schema = ReadLocalSchemaFile(dir.path() + "/crm.db");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->tables.size(), 10u);
  EXPECT_THAT(schema->tables.at("salesperson"), ElementsAre("code", "name", "email", "phone", "job_title", "blocked"));
  EXPECT_THAT(schema->tables.at("sales_order_line"), ElementsAre("order_no", "line_no", "description", "quantity",
                                                                 "unit_price", "line_discount_pct", "line_amount"));
}

TEST(LocalSchemaTest, MissingDatabaseIsReportedAndNotCreated) {
  testing_support::TempDir dir;
  const std::string path = dir.path() + "/none.db";
  EXPECT_FALSE(ReadLocalSchemaFile(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  const auto diagnostics = CheckLocalDatabase(MappingSet{}, path);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].file, path);
  EXPECT_EQ(diagnostics[0].message.rfind("cannot read the local store: ", 0), 0u) << diagnostics[0].message;
}

TEST(LocalSchemaTest, ReportsUnknownTablesAndColumnsWithSuggestions) {
  LocalSchema schema;
  schema.tables["contact"] = {"no", "type", "name", "company_no"};
  schema.tables["sales_order_line"] = {"order_no", "line_no", "description"};
  const auto load = ParseMappingSet({
      {"a.json", R"({"name": "a", "local": {"table": "contacts", "key": "no"},
        "remote": {"entity_set": "accounts", "key": "accountid"}, "fields": [{"local": "nmae", "remote": "name"}]})"},
      {"b.json", R"({"name": "b", "local": {"table": "contact", "key": "number", "filter": {"typ": "company"}},
        "remote": {"entity_set": "accounts", "key": "accountid"},
        "fields": [{"local": "nmae", "remote": "name"}, {"remote": "x", "constant": 1, "direction": "to_remote"}]})"},
      {"c.json", R"({"name": "c", "local": {"table": "sales_order_line", "key": ["order_no", "line"]},
        "remote": {"entity_set": "salesorderdetails", "key": "salesorderdetailid"},
        "fields": [{"local": "description", "remote": "productdescription"}]})"},
  });
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(PathMessages(CheckLocalSchema(load.set, schema)),
            (std::vector<std::string>{
                "local.table: no table 'contacts' in the local store; did you mean 'contact'?",
                "local.key: no column 'number' in table 'contact'",
                "local.filter.typ: no column 'typ' in table 'contact'; did you mean 'type'?",
                "fields[0].local: no column 'nmae' in table 'contact'; did you mean 'name'?",
                "local.key[1]: no column 'line' in table 'sales_order_line'",
            }));
}

TEST(LocalSchemaTest, IdentifiersAndCrmsyncsOwnTables) {
  EXPECT_TRUE(IsSqlIdentifier("sales_order_line"));
  EXPECT_TRUE(IsSqlIdentifier("_x9"));
  EXPECT_FALSE(IsSqlIdentifier(""));
  EXPECT_FALSE(IsSqlIdentifier("9x"));
  EXPECT_FALSE(IsSqlIdentifier("a b"));
  EXPECT_FALSE(IsSqlIdentifier("a\"b"));
  EXPECT_FALSE(IsSqlIdentifier("caf\xc3\xa9"));
  EXPECT_TRUE(IsCrmsyncTable("crmsync_journal"));
  EXPECT_TRUE(IsCrmsyncTable("CRMSYNC_anything"));
  EXPECT_FALSE(IsCrmsyncTable("crmsync"));
  EXPECT_FALSE(IsCrmsyncTable("my_crmsync_journal"));
}

// The loader reports names that are not identifiers and crmsync's own tables;
// the schema check neither repeats that nor suggests crmsync's tables.
TEST(LocalSchemaTest, LeavesRefusedNamesToTheLoaderAndNeverSuggestsCrmsyncTables) {
  LocalSchema schema;
  schema.tables["contact"] = {"no", "name"};
  schema.tables["crmsync_journal"] = {"seq", "table_name"};
  const auto load = ParseMappingSet({
      {"a.json", R"({"name": "a", "local": {"table": "crmsync_journal", "key": "seq"},
        "remote": {"entity_set": "notes", "key": "noteid"}, "fields": [{"local": "nope", "remote": "subject"}]})"},
      {"b.json", R"({"name": "b", "local": {"table": "contact", "key": "no"},
        "remote": {"entity_set": "accounts", "key": "accountid"}, "fields": [{"local": "na me", "remote": "name"}]})"},
      {"c.json", R"({"name": "c", "local": {"table": "crmsync_journals", "key": "seq"},
        "remote": {"entity_set": "notes", "key": "noteid"}, "fields": [{"local": "subject", "remote": "subject"}]})"},
  });
  EXPECT_EQ(PathMessages(load.diagnostics),
            (std::vector<std::string>{
                "local.table: 'crmsync_journal' is one of crmsync's own tables; a mapping cannot sync it",
                "fields[0].local: must be an SQL identifier (letters, digits and '_', not starting with a digit), not "
                "'na me'",
                "local.table: 'crmsync_journals' is one of crmsync's own tables; a mapping cannot sync it",
            }));
  EXPECT_EQ(PathMessages(CheckLocalSchema(load.set, schema)), std::vector<std::string>{});
}

TEST(LocalSchemaTest, NeverSuggestsCrmsyncTables) {
  LocalSchema schema;
  schema.tables["contact"] = {"no", "name"};
  schema.tables["crmsync_journal"] = {"seq"};
  const auto load = ParseMappingSet({
      {"a.json", R"({"name": "a", "local": {"table": "crmsyncjournal", "key": "seq"},
        "remote": {"entity_set": "notes", "key": "noteid"}, "fields": [{"local": "seq", "remote": "subject"}]})"},
  });
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(PathMessages(CheckLocalSchema(load.set, schema)),
            std::vector<std::string>{"local.table: no table 'crmsyncjournal' in the local store"});
}

}  // namespace
}  // namespace crmsync::mapping
