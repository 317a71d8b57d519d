#include "crm/number_series.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>

#include "crm/store.h"
#include "tests/crm/crm_test_util.h"
#include "tests/support/temp_dir.h"

namespace crmsync::crm {
namespace {

using testing::QueryRows;
using testing::QueryText;

TEST(IncrementNoTest, KeepsTheWidthOfTheDigits) {
  EXPECT_EQ(*IncrementNo("CT000001", 1), "CT000002");
  EXPECT_EQ(*IncrementNo("CT000009", 1), "CT000010");
  EXPECT_EQ(*IncrementNo("CT000099", 1), "CT000100");
  EXPECT_EQ(*IncrementNo("SO-2026-0998", 5), "SO-2026-1003");
  EXPECT_EQ(*IncrementNo("7", 1), "8");
  EXPECT_EQ(*IncrementNo("A00", 10), "A10");
}

TEST(IncrementNoTest, FailsWithoutDigitsOrRoom) {
  EXPECT_EQ(IncrementNo("CONTACT", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(IncrementNo("CT9999", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(IncrementNo("CT01", 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(IncrementNo("CT01", 0).status().code(), StatusCode::kInvalidArgument);
}

TEST(CompareNoTest, OrdersByLengthThenText) {
  EXPECT_LT(CompareNo("CT000009", "CT000010"), 0);
  EXPECT_GT(CompareNo("CT1000", "CT999"), 0);
  EXPECT_EQ(CompareNo("CT5", "CT5"), 0);
}

class NumberSeriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(dir_.path() + "/crm.db", /*create_if_missing=*/true);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_.emplace(std::move(store).value());
  }
  Result<std::string> AddCompany(const std::string& no = "") {
    Record r{{"type", Value::Text("company")}, {"name", Value::Text("Company")}};
    if (!no.empty()) r["no"] = Value::Text(no);
    return store_->Add(Table::kContact, r);
  }
  testing_support::TempDir dir_;
  std::optional<Store> store_;
};

TEST_F(NumberSeriesTest, NewRecordsTakeTheNextNumberOfTheirSeries) {
  EXPECT_EQ(*AddCompany(), "CT000001");
  EXPECT_EQ(*AddCompany(), "CT000002");
  auto op =
      store_->Add(Table::kOpportunity, {{"description", Value::Text("Deal")}, {"contact_no", Value::Text("CT000001")}});
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  EXPECT_EQ(*op, "OP000001");
  auto so = store_->Add(Table::kSalesOrder, {{"sell_to_contact_no", Value::Text("CT000002")}});
  ASSERT_TRUE(so.ok()) << so.status().ToString();
  EXPECT_EQ(*so, "SO000001");
  EXPECT_EQ(QueryText(store_->db(), "SELECT last_no_used FROM number_series WHERE code = 'CONTACT'"), "CT000002");
  // Salespeople too (schema v3): a Dataverse user arriving without a code gets one.
  auto sp = store_->Add(Table::kSalesperson, {{"name", Value::Text("Dana Lee")}});
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  EXPECT_EQ(*sp, "SP0001");
}

TEST_F(NumberSeriesTest, ARecordMayBringItsOwnNumberAndTheSeriesSkipsIt) {
  EXPECT_EQ(*AddCompany("CT000002"), "CT000002");
  EXPECT_EQ(*AddCompany(), "CT000001");
  EXPECT_EQ(*AddCompany(), "CT000003");  // CT000002 was taken by hand
  EXPECT_EQ(AddCompany("CT000003").status().code(), StatusCode::kAlreadyExists);
}

TEST_F(NumberSeriesTest, IncrementAndEndingNumberAreHonoured) {
  ASSERT_TRUE(store_->db()
                  .Exec("UPDATE number_series SET starting_no = 'K08', ending_no = 'K12', increment_by = 2 "
                        "WHERE code = 'CONTACT'")
                  .ok());
  EXPECT_EQ(*AddCompany(), "K08");
  EXPECT_EQ(*AddCompany(), "K10");
  EXPECT_EQ(*AddCompany(), "K12");
  auto past = AddCompany();
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(past.status().message(), "number series 'CONTACT' is exhausted: next number K14 is past ending_no K12");
}

TEST_F(NumberSeriesTest, ManualNumbersCanBeRefused) {
  ASSERT_TRUE(store_->db().Exec("UPDATE number_series SET allow_manual = 0 WHERE code = 'CONTACT'").ok());
  auto manual = AddCompany("X1");
  ASSERT_FALSE(manual.ok());
  EXPECT_EQ(manual.status().message(), "no 'X1': number series 'CONTACT' does not allow numbers given by hand");
}

TEST_F(NumberSeriesTest, AFailedInsertDoesNotUseUpANumber) {
  auto bad = store_->Add(Table::kContact, {{"type", Value::Text("robot")}, {"name", Value::Text("R2")}});
  ASSERT_FALSE(bad.ok());
  auto bad_ref = store_->Add(
      Table::kContact,
      {{"type", Value::Text("person")}, {"name", Value::Text("P")}, {"company_no", Value::Text("CT000404")}});
  ASSERT_FALSE(bad_ref.ok());
  EXPECT_EQ(*AddCompany(), "CT000001");
}

TEST_F(NumberSeriesTest, AMissingSeriesIsReported) {
  ASSERT_TRUE(store_->db().Exec("UPDATE setup SET value = 'NOPE' WHERE key = 'contact_nos'").ok());
  auto r = AddCompany();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "number series 'NOPE' (setup contact_nos) does not exist");
}

TEST_F(NumberSeriesTest, OrderLinesAreNumberedInStepsOfTenThousand) {
  ASSERT_TRUE(AddCompany().ok());
  auto so = store_->Add(Table::kSalesOrder, {{"sell_to_contact_no", Value::Text("CT000001")}});
  ASSERT_TRUE(so.ok());
  const Record line{{"order_no", Value::Text(*so)}, {"description", Value::Text("x")}};
  EXPECT_EQ(*store_->Add(Table::kSalesOrderLine, line), "[\"SO000001\",10000]");
  EXPECT_EQ(*store_->Add(Table::kSalesOrderLine, line), "[\"SO000001\",20000]");
  Record given = line;
  given["line_no"] = Value::Integer(25000);
  EXPECT_EQ(*store_->Add(Table::kSalesOrderLine, given), "[\"SO000001\",25000]");
  EXPECT_EQ(*store_->Add(Table::kSalesOrderLine, line), "[\"SO000001\",35000]");
}

// Two real processes insert 200 contacts each at the same time: every number
// is taken exactly once and the numbers are contiguous.
TEST(NumberSeriesConcurrencyTest, TwoProcessesNeverGetTheSameNumber) {
  testing_support::TempDir dir;
  const std::string path = dir.path() + "/crm.db";
  ASSERT_TRUE(CreateOrMigrate(path).ok());
  constexpr int kPerProcess = 200;
  // Both children wait on a pipe so they start inserting together.
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(gate[1]);
      char c;
      (void)!::read(gate[0], &c, 1);
      const std::string count = std::to_string(kPerProcess);
      ::execl(CRM_INSERT_HELPER, CRM_INSERT_HELPER, path.c_str(), count.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    children.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);  // EOF releases both
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto db = SqliteDb::Open(path);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(QueryText(*db, "SELECT count(*) FROM contact"), std::to_string(2 * kPerProcess));
  EXPECT_EQ(QueryText(*db, "SELECT count(DISTINCT no) FROM contact"), std::to_string(2 * kPerProcess));
  EXPECT_EQ(QueryText(*db, "SELECT min(no) FROM contact"), "CT000001");
  EXPECT_EQ(QueryText(*db, "SELECT max(no) FROM contact"), "CT000400");
  // Both processes wrote (each tags its contacts with its pid in city).
  EXPECT_EQ(QueryText(*db, "SELECT count(DISTINCT city) FROM contact"), "2");
  EXPECT_EQ(QueryText(*db, "SELECT count(*) FROM crmsync_journal WHERE op = 'insert'"),
            std::to_string(2 * kPerProcess));
}

}  // namespace
}  // namespace crmsync::crm
