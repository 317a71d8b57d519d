#include "common/sqlite.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace crmsync {
namespace {

TEST(SqliteTest, OpensInWalModeAndRoundTripsValues) {
  testing_support::TempDir dir;
  auto db = SqliteDb::Open(dir.path() + "/t.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto mode = db->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(*mode->Step());
  EXPECT_EQ(mode->ColumnText(0), "wal");

  ASSERT_TRUE(db->Exec("CREATE TABLE t (a INTEGER, b TEXT, c REAL, d)").ok());
  auto insert = db->Prepare("INSERT INTO t VALUES (?, ?, ?, ?)");
  ASSERT_TRUE(insert.ok());
  insert->Bind(1, Value::Integer(7)).Bind(2, Value::Text("x")).Bind(3, *Value::Decimal("12.50")).Bind(4, Value());
  ASSERT_TRUE(insert->Run().ok());

  auto select = db->Prepare("SELECT a, b, c, d FROM t");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(*select->Step());
  EXPECT_EQ(select->ColumnValue(0), Value::Integer(7));
  EXPECT_EQ(select->ColumnValue(1), Value::Text("x"));
  EXPECT_EQ(select->ColumnValue(2), *Value::Decimal("12.5"));
  EXPECT_TRUE(select->ColumnValue(3).is_null());
  EXPECT_FALSE(*select->Step());
}

TEST(SqliteTest, ConstraintErrorsMapToStableCodes) {
  testing_support::TempDir dir;
  auto db = SqliteDb::Open(dir.path() + "/t.db");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db->Exec("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER CHECK (n > 0))").ok());
  ASSERT_TRUE(db->Exec("INSERT INTO t VALUES ('a', 1)").ok());
  EXPECT_EQ(db->Exec("INSERT INTO t VALUES ('a', 2)").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(db->Exec("INSERT INTO t VALUES ('b', -1)").code(), StatusCode::kInvalidArgument);
  auto bad = db->Prepare("SELEKT 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(SqliteTest, TransactionRollsBackUnlessCommitted) {
  testing_support::TempDir dir;
  auto db = SqliteDb::Open(dir.path() + "/t.db");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db->Exec("CREATE TABLE t (n INTEGER)").ok());
  {
    auto tx = SqliteTransaction::Begin(*db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1)").ok());
  }  // dropped: rolled back
  {
    auto tx = SqliteTransaction::Begin(*db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  auto count = db->Prepare("SELECT group_concat(n) FROM t");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE(*count->Step());
  EXPECT_EQ(count->ColumnText(0), "2");
}

TEST(SqliteTest, SecondWriterGetsBusyAfterTimeout) {
  testing_support::TempDir dir;
  const std::string path = dir.path() + "/t.db";
  auto a = SqliteDb::Open(path);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->Exec("CREATE TABLE t (n INTEGER)").ok());
  auto b = SqliteDb::Open(path, {.busy_timeout = std::chrono::milliseconds(50)});
  ASSERT_TRUE(b.ok());
  auto tx = SqliteTransaction::Begin(*a);
  ASSERT_TRUE(tx.ok());
  auto tx2 = SqliteTransaction::Begin(*b);
  ASSERT_FALSE(tx2.ok());
  EXPECT_EQ(tx2.status().code(), StatusCode::kBusy);
}

TEST(SqliteTest, OpeningANonDatabaseFailsClearly) {
  testing_support::TempDir dir;
  const std::string path = dir.path() + "/not.db";
  dir.WriteFile("not.db", std::string(4096, 'x'));
  auto db = SqliteDb::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(db.status().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace crmsync
