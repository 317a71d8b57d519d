#include "daemon/local_change_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/sqlite.h"
#include "crm/store.h"
#include "tests/support/temp_dir.h"

namespace crmsync::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class LocalChangeWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = crm::Store::Open(path_, true);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto db = SqliteDb::Open(path_, {.create = false});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    writer_.emplace(std::move(db).value());
  }
  void Write(const std::string& sql) { ASSERT_TRUE(writer_->Exec(sql).ok()) << sql; }

  testing_support::TempDir dir_;
  std::string path_ = dir_.path() + "/crm.db";
  std::optional<SqliteDb> writer_;  // another program's connection
};

TEST_F(LocalChangeWatcherTest, NamesTheTablesChangedSinceTheLastLook) {
  Write("INSERT INTO contact (no, type, name) VALUES ('C1', 'company', 'Before')");
  auto watcher = LocalChangeWatcher::Open(path_);
  ASSERT_TRUE(watcher.ok()) << watcher.status().ToString();
  EXPECT_THAT(*watcher->ChangedTables(), IsEmpty()) << "changes before the start are the first pass's";
  Write("UPDATE contact SET name = 'After' WHERE no = 'C1'");
  Write("INSERT INTO salesperson (code, name) VALUES ('SP', 'Sam')");
  EXPECT_THAT(*watcher->ChangedTables(), ElementsAre("contact", "salesperson"));
  EXPECT_THAT(*watcher->ChangedTables(), IsEmpty());
  // Pruning the journal does not hide later changes.
  Write("DELETE FROM crmsync_journal");
  Write("DELETE FROM contact WHERE no = 'C1'");
  EXPECT_THAT(*watcher->ChangedTables(), ElementsAre("contact"));
}

}  // namespace
}  // namespace crmsync::daemon
