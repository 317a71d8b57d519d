#include "crm/migrations.h"

#include <gtest/gtest.h>

#include "crm/schema.h"
#include "crm/store.h"
#include "tests/crm/crm_test_util.h"
#include "tests/support/temp_dir.h"

namespace crmsync::crm {
namespace {

using testing::QueryRows;
using testing::QueryText;

// Data a program could have written at schema v1 (no journal yet).
constexpr const char* kV1Data = R"sql(
INSERT INTO salesperson (code, name, email) VALUES ('JR', 'Jo Roberts', 'jo@example.com');
INSERT INTO contact (no, type, name, city, salesperson_code) VALUES ('CT000001', 'company', 'Contoso Ltd', 'Leeds', 'JR');
INSERT INTO contact (no, type, first_name, surname, company_no) VALUES ('CT000002', 'person', 'Ann', 'Lee', 'CT000001');
INSERT INTO opportunity (no, description, contact_no, status, estimated_value, probability)
  VALUES ('OP000001', 'Fleet renewal', 'CT000001', 'in_progress', 12500.5, 40);
INSERT INTO sales_order (no, sell_to_contact_no, order_date, opportunity_no) VALUES ('SO000001', 'CT000001', '2026-01-15', 'OP000001');
INSERT INTO sales_order_line (order_no, line_no, description, quantity, unit_price, line_discount_pct)
  VALUES ('SO000001', 10000, 'Van', 2, 1000, 10);
UPDATE number_series SET last_no_used = 'CT000002' WHERE code = 'CONTACT';
)sql";

// The whole schema as text, for comparing a migrated store with a fresh one.
std::string SchemaText(SqliteDb& db) {
  return QueryRows(db, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name");
}

TEST(MigrationsTest, StepsAreNumberedOneByOne) {
  int expected = 1;
  for (const auto& step : Migrations()) {
    EXPECT_EQ(step.version, expected++) << step.name;
    EXPECT_FALSE(step.sql.empty()) << step.name;
  }
  EXPECT_EQ(LatestSchemaVersion(), expected - 1);
  EXPECT_GE(LatestSchemaVersion(), 2);
}

TEST(MigrationsTest, CreatesAFreshStoreAtTheLatestVersion) {
  testing_support::TempDir dir;
  const std::string path = dir.path() + "/crm.db";
  auto report = CreateOrMigrate(path);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->created);
  EXPECT_EQ(report->from_version, 0);
  EXPECT_EQ(report->to_version, LatestSchemaVersion());

  auto again = CreateOrMigrate(path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->created);
  EXPECT_FALSE(again->migrated());

  auto db = SqliteDb::Open(path);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(QueryText(*db, "SELECT starting_no FROM number_series WHERE code = 'CONTACT'"), "CT000001");
  EXPECT_EQ(QueryText(*db, "SELECT value FROM setup WHERE key = 'sales_order_nos'"), "SALESORDER");
}

// Builds a store at every earlier version k (steps 1..k), with data where the
// tables exist, migrates it to the latest and checks the data survived, the
// schema equals a freshly created one and change capture works.
TEST(MigrationsTest, MigratesFromEveryEarlierVersion) {
  testing_support::TempDir dir;
  const std::string fresh_path = dir.path() + "/fresh.db";
  ASSERT_TRUE(CreateOrMigrate(fresh_path).ok());
  auto fresh = SqliteDb::Open(fresh_path);
  ASSERT_TRUE(fresh.ok());
  const std::string fresh_schema = SchemaText(*fresh);

  for (int k = 0; k < LatestSchemaVersion(); ++k) {
    SCOPED_TRACE("from v" + std::to_string(k));
    const std::string path = dir.path() + "/v" + std::to_string(k) + ".db";
    {
      auto db = SqliteDb::Open(path);
      ASSERT_TRUE(db.ok());
      auto built = MigrateTo(*db, k);
      ASSERT_TRUE(built.ok()) << built.status().ToString();
      ASSERT_EQ(*SchemaVersion(*db), k);
      if (k >= 1) {
        ASSERT_TRUE(db->Exec(kV1Data).ok());
      }
    }
    auto report = CreateOrMigrate(path);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->from_version, k);
    EXPECT_EQ(report->to_version, LatestSchemaVersion());

    auto db = SqliteDb::Open(path);
    ASSERT_TRUE(db.ok());
    EXPECT_EQ(SchemaText(*db), fresh_schema);
    if (k >= 1) {
      EXPECT_EQ(QueryRows(*db, "SELECT no, type, name, company_no FROM contact ORDER BY no"),
                "CT000001|company|Contoso Ltd|\nCT000002|person|Ann Lee|CT000001\n");
      EXPECT_EQ(QueryText(*db, "SELECT estimated_value FROM opportunity WHERE no = 'OP000001'"), "12500.5");
      EXPECT_EQ(QueryText(*db, "SELECT line_amount FROM sales_order_line"), "1800");
      EXPECT_EQ(QueryText(*db, "SELECT last_no_used FROM number_series WHERE code = 'CONTACT'"), "CT000002");
    }
    // Change capture works on the migrated store, and numbering continues.
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto added = store->Add(Table::kContact, {{"type", Value::Text("company")}, {"name", Value::Text("Fabrikam")}});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    EXPECT_EQ(*added, k >= 1 ? "CT000003" : "CT000001");
    // (Data written at v2 or later was journalled when it was written.)
    EXPECT_EQ(QueryRows(store->db(), k >= 2 ? "SELECT table_name, key, op FROM crmsync_journal WHERE seq = "
                                              "(SELECT max(seq) FROM crmsync_journal)"
                                            : "SELECT table_name, key, op FROM crmsync_journal"),
              "contact|" + *added + "|insert\n");
  }
}

TEST(MigrationsTest, RefusesANewerStore) {
  testing_support::TempDir dir;
  const std::string path = dir.path() + "/crm.db";
  ASSERT_TRUE(CreateOrMigrate(path).ok());
  {
    auto db = SqliteDb::Open(path);
    ASSERT_TRUE(db->Exec("PRAGMA user_version = 99").ok());
  }
  auto report = CreateOrMigrate(path);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("v99"), std::string::npos) << report.status().message();
}

TEST(MigrationsTest, RefusesADatabaseThatIsNotACrmStore) {
  testing_support::TempDir dir;
  const std::string path = dir.path() + "/other.db";
  {
    auto db = SqliteDb::Open(path);
    ASSERT_TRUE(db->Exec("CREATE TABLE invoices (id INTEGER)").ok());
  }
  auto report = CreateOrMigrate(path);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("not a local CRM store"), std::string::npos);
}

// A failing step leaves the store at the previous version, untouched.
TEST(MigrationsTest, AFailedStepRollsBack) {
  testing_support::TempDir dir;
  const std::string path = dir.path() + "/crm.db";
  auto db = SqliteDb::Open(path);
  ASSERT_TRUE(MigrateTo(*db, 1).ok());
  // A table named like one step 2 creates makes step 2 fail half-way.
  ASSERT_TRUE(db->Exec("CREATE TABLE crmsync_origin (x)").ok());
  auto report = MigrateTo(*db, LatestSchemaVersion());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(*SchemaVersion(*db), 1);
  EXPECT_EQ(QueryText(*db, "SELECT count(*) FROM sqlite_master WHERE name = 'crmsync_journal'"), "0");
  EXPECT_EQ(QueryText(*db, "SELECT count(*) FROM sqlite_master WHERE name = 'contact_touch_update'"), "1");
}

// The code's description of the tables (crm/schema.h) matches the SQL.
TEST(MigrationsTest, SchemaDescriptionMatchesTheDatabase) {
  testing_support::TempDir dir;
  const std::string path = dir.path() + "/crm.db";
  ASSERT_TRUE(CreateOrMigrate(path).ok());
  auto db = SqliteDb::Open(path);
  for (const auto& spec : Tables()) {
    SCOPED_TRACE(std::string(spec.name));
    std::string expected;
    for (const auto& c : spec.columns) expected += std::string(c.name) + "|" + (c.not_null ? "1" : "0") + "\n";
    EXPECT_EQ(QueryRows(*db, "SELECT name, \"notnull\" FROM pragma_table_info('" + std::string(spec.name) + "')"),
              expected);
    std::string keys;
    for (const auto& k : spec.key_columns) keys += std::string(k) + "\n";
    EXPECT_EQ(
        QueryRows(*db, "SELECT name FROM pragma_table_info('" + std::string(spec.name) + "') WHERE pk > 0 ORDER BY pk"),
        keys);
  }
}

}  // namespace
}  // namespace crmsync::crm
