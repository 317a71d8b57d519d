#include "crm/rows.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace crmsync::crm {
namespace {

struct QuoteCase {
  std::string_view name;
  std::string_view quoted;
};

constexpr QuoteCase kQuoteCases[] = {
    {"no", R"("no")"},           {"sales_order_line", R"("sales_order_line")"},
    {R"(a"b)", R"("a""b")"},     {R"(")", R"("""")"},
    {R"(""x")", R"("""""x""")"}, {"two words", R"("two words")"},
    {"it's", R"("it's")"},       {"", R"("")"},
};

TEST(QuoteNameTest, QuotesAndDoublesEmbeddedQuotes) {
  for (const auto& c : kQuoteCases) EXPECT_EQ(QuoteName(c.name), c.quoted) << c.name;
}

// SQLite agrees: each quoted name creates and reads back exactly that column.
TEST(QuoteNameTest, SqliteReadsTheQuotedNameAsThatIdentifier) {
  testing_support::TempDir dir;
  auto db = SqliteDb::Open(dir.path() + "/q.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  for (const auto& c : kQuoteCases) {
    if (c.name.empty()) continue;  // SQLite refuses a zero-length identifier
    ASSERT_TRUE(db->Exec("DROP TABLE IF EXISTS t; CREATE TABLE t (" + QuoteName(c.name) + " TEXT)").ok()) << c.name;
    auto st = db->Prepare("SELECT " + QuoteName(c.name) + " FROM t");
    ASSERT_TRUE(st.ok()) << c.name << ": " << st.status().ToString();
    EXPECT_EQ(st->ColumnName(0), std::string(c.name));
  }
}

}  // namespace
}  // namespace crmsync::crm
