#include "crm/statement_cache.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace crmsync::crm {
namespace {

class StatementCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::Open(dir_.path() + "/c.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_.emplace(std::move(db).value());
    ASSERT_TRUE(db_->Exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3)").ok());
  }
  testing_support::TempDir dir_;
  std::optional<SqliteDb> db_;
};

TEST_F(StatementCacheTest, OneTextIsPreparedOnceAndComesBackReset) {
  StatementCache cache(*db_);
  for (int i = 1; i <= 3; ++i) {
    auto st = cache.Get("SELECT v FROM t WHERE v >= ? ORDER BY v");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    (*st)->Bind(1, i);
    ASSERT_TRUE(*(*st)->Step());
    EXPECT_EQ((*st)->ColumnInt(0), i);  // a fresh run with the new binding, not the old cursor
  }
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(StatementCacheTest, AStatementStillLentIsNotHandedOutTwice) {
  StatementCache cache(*db_);
  auto outer = cache.Get("SELECT v FROM t ORDER BY v");
  ASSERT_TRUE(outer.ok());
  ASSERT_TRUE(*(*outer)->Step());
  auto inner = cache.Get("SELECT v FROM t ORDER BY v");
  ASSERT_TRUE(inner.ok());
  ASSERT_TRUE(*(*inner)->Step());
  ASSERT_TRUE(*(*outer)->Step());
  EXPECT_EQ((*outer)->ColumnInt(0), 2);  // the outer read went on undisturbed
  EXPECT_EQ((*inner)->ColumnInt(0), 1);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(StatementCacheTest, ReturningAStatementEndsItsRead) {
  StatementCache cache(*db_);
  {
    auto st = cache.Get("SELECT v FROM t");
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE(*(*st)->Step());
  }
  // A read still open would make this fail with "database table is locked".
  EXPECT_TRUE(db_->Exec("DROP TABLE t").ok());
}

TEST_F(StatementCacheTest, BadSqlIsAnError) {
  StatementCache cache(*db_);
  auto st = cache.Get("SELEKT 1");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace crmsync::crm
