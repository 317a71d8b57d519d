// The journal triggers of schema v2 (crm/migrations/0002_change_capture.sql):
// what other programs' writes leave in crmsync_journal.
#include <gtest/gtest.h>

#include "crm/migrations.h"
#include "crm/store.h"
#include "tests/crm/crm_test_util.h"
#include "tests/support/temp_dir.h"

namespace crmsync::crm {
namespace {

using testing::QueryRows;
using testing::QueryText;
using testing::RunSqlite3;

class ChangeCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/crm.db";
    ASSERT_TRUE(CreateOrMigrate(path_).ok());
    auto db = SqliteDb::Open(path_);
    ASSERT_TRUE(db.ok());
    db_.emplace(std::move(db).value());
    Sql(R"sql(
      INSERT INTO contact (no, type, name) VALUES ('CT000001', 'company', 'Contoso Ltd');
      INSERT INTO contact (no, type, first_name, surname, company_no) VALUES ('CT000002', 'person', 'Ann', 'Lee', 'CT000001');
      INSERT INTO sales_order (no, sell_to_contact_no) VALUES ('SO000001', 'CT000001');
      INSERT INTO sales_order_line (order_no, line_no, description, quantity, unit_price) VALUES ('SO000001', 10000, 'Van', 1, 100);
      INSERT INTO sales_order_line (order_no, line_no, description, quantity, unit_price) VALUES ('SO000001', 20000, 'Car', 1, 50);
    )sql");
    ClearJournal();
  }

  // Runs SQL through the sqlite3 program, as another local program would.
  void Sql(const std::string& sql) {
    auto r = RunSqlite3(path_, sql);
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  void ClearJournal() { ASSERT_TRUE(db_->Exec("DELETE FROM crmsync_journal").ok()); }
  std::string Journal() { return QueryRows(*db_, "SELECT table_name, key, op FROM crmsync_journal ORDER BY seq"); }

  testing_support::TempDir dir_;
  std::string path_;
  std::optional<SqliteDb> db_;
};

TEST_F(ChangeCaptureTest, InsertsAreJournalledOnceWithTheFilledInValues) {
  Sql("INSERT INTO contact (no, type, first_name, surname) VALUES ('CT000010', 'person', 'Bo', 'Ek');"
      "INSERT INTO sales_order_line (order_no, line_no, description, quantity, unit_price, line_discount_pct)"
      " VALUES ('SO000001', 30000, 'Bus', 3, 19.99, 10);");
  EXPECT_EQ(Journal(), "contact|CT000010|insert\nsales_order_line|[\"SO000001\",30000]|insert\n");
  EXPECT_EQ(QueryText(*db_, "SELECT name FROM contact WHERE no = 'CT000010'"), "Bo Ek");
  EXPECT_EQ(QueryText(*db_, "SELECT line_amount FROM sales_order_line WHERE line_no = 30000"), "53.97");
}

TEST_F(ChangeCaptureTest, AnUpdateIsJournalledAsOneUpdate) {
  ASSERT_TRUE(db_->Exec("UPDATE contact SET modified_at = '2000-01-01T00:00:00Z' WHERE no = 'CT000002'").ok());
  ClearJournal();
  Sql("UPDATE contact SET email = 'ann@contoso.com' WHERE no = 'CT000002';");
  EXPECT_EQ(Journal(), "contact|CT000002|update\n");
  EXPECT_NE(QueryText(*db_, "SELECT modified_at FROM contact WHERE no = 'CT000002'"), "2000-01-01T00:00:00Z");
}

TEST_F(ChangeCaptureTest, ADeleteIsJournalledWithItsCascades) {
  Sql("DELETE FROM sales_order WHERE no = 'SO000001';");
  EXPECT_EQ(Journal(),
            "sales_order_line|[\"SO000001\",10000]|delete\n"
            "sales_order_line|[\"SO000001\",20000]|delete\n"
            "sales_order|SO000001|delete\n");
}

TEST_F(ChangeCaptureTest, AKeyChangeIsADeleteOfTheOldKeyAndAnInsertOfTheNew) {
  ASSERT_TRUE(db_->Exec("INSERT INTO crmsync_origin (table_name, key, origin_id) VALUES ('contact', 'CT000002', "
                        "'6f1c0f7e-0000-0000-0000-000000000001')")
                  .ok());
  Sql("UPDATE contact SET no = 'CT000099' WHERE no = 'CT000002';");
  EXPECT_EQ(Journal(), "contact|CT000002|delete\ncontact|CT000099|insert\n");
  EXPECT_EQ(QueryText(*db_, "SELECT key FROM crmsync_origin WHERE origin_id = '6f1c0f7e-0000-0000-0000-000000000001'"),
            "CT000099");
}

TEST_F(ChangeCaptureTest, AKeyChangeCascadesToReferencingRowsAndTheirJournal) {
  Sql("UPDATE sales_order SET no = 'SO000100' WHERE no = 'SO000001';");
  EXPECT_EQ(Journal(),
            "sales_order_line|[\"SO000001\",10000]|delete\n"
            "sales_order_line|[\"SO000100\",10000]|insert\n"
            "sales_order_line|[\"SO000001\",20000]|delete\n"
            "sales_order_line|[\"SO000100\",20000]|insert\n"
            "sales_order|SO000001|delete\n"
            "sales_order|SO000100|insert\n");
  ClearJournal();
  Sql("UPDATE contact SET no = 'CT000100' WHERE no = 'CT000001';");
  EXPECT_EQ(Journal(),
            "sales_order|SO000100|update\n"
            "contact|CT000002|update\n"
            "contact|CT000001|delete\n"
            "contact|CT000100|insert\n");
  EXPECT_EQ(QueryText(*db_, "SELECT company_no FROM contact WHERE no = 'CT000002'"), "CT000100");
}

TEST_F(ChangeCaptureTest, ALineUpdateRecomputesTheAmountUnlessGiven) {
  Sql("UPDATE sales_order_line SET quantity = 4 WHERE line_no = 10000;");
  EXPECT_EQ(QueryText(*db_, "SELECT line_amount FROM sales_order_line WHERE line_no = 10000"), "400");
  Sql("UPDATE sales_order_line SET quantity = 5, line_amount = 450 WHERE line_no = 10000;");
  EXPECT_EQ(QueryText(*db_, "SELECT line_amount FROM sales_order_line WHERE line_no = 10000"), "450");
  EXPECT_EQ(Journal(), "sales_order_line|[\"SO000001\",10000]|update\nsales_order_line|[\"SO000001\",10000]|update\n");
}

TEST_F(ChangeCaptureTest, ARolledBackChangeLeavesNoJournalRow) {
  auto r = RunSqlite3(path_, "BEGIN; UPDATE contact SET city = 'Leeds'; ROLLBACK;");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Journal(), "");
}

TEST_F(ChangeCaptureTest, TheSchemaRejectsWhatMakesNoSense) {
  const char* bad[] = {
      "INSERT INTO contact (no, type, name) VALUES ('X1', 'robot', 'R2');",
      "INSERT INTO contact (no, type) VALUES ('X2', 'company');",
      "INSERT INTO contact (no, type, name, company_no) VALUES ('X3', 'person', 'P', 'CT000002');",
      "INSERT INTO contact (no, type, name, company_no) VALUES ('X4', 'company', 'C', 'CT000001');",
      "UPDATE contact SET type = 'person' WHERE no = 'CT000001';",
      "INSERT INTO opportunity (no, description, contact_no, status) VALUES ('OP1', 'x', 'CT000001', 'done');",
      "INSERT INTO opportunity (no, description, contact_no) VALUES ('OP2', 'x', 'CT000099');",
      "INSERT INTO opportunity (no, description, contact_no, probability) VALUES ('OP3', 'x', 'CT000001', 101);",
      "INSERT INTO opportunity (no, description, contact_no, estimated_close_date) VALUES ('OP4', 'x', 'CT000001', "
      "'2026-02-30');",
      "INSERT INTO sales_order (no, sell_to_contact_no, status) VALUES ('SO9', 'CT000001', 'shipped');",
      "INSERT INTO sales_order_line (order_no, line_no, description, line_discount_pct) VALUES ('SO000001', 1, 'x', "
      "120);",
      "INSERT INTO salesperson (code, name, blocked) VALUES ('AB', 'A B', 2);",
      "DELETE FROM contact WHERE no = 'CT000001';",
  };
  for (const char* sql : bad) {
    auto r = RunSqlite3(path_, sql);
    EXPECT_NE(r.exit_code, 0) << sql;
  }
  EXPECT_EQ(Journal(), "");
}

}  // namespace
}  // namespace crmsync::crm
