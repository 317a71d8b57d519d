#include "crm/csv.h"

#include <gtest/gtest.h>

#include "crm/text_io.h"
#include "tests/support/temp_dir.h"

namespace crmsync::crm {
namespace {

TEST(CsvTest, ParsesQuotesCommasLineBreaksAndBlankLines) {
  auto rows = ParseCsv("\xEF\xBB\xBFno,name\r\nA,\"Tailspin, Inc.\"\n\nB,\"two\nlines \"\"quoted\"\"\"\nC,\n");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].fields, (std::vector<std::string>{"no", "name"}));
  EXPECT_EQ((*rows)[1].fields, (std::vector<std::string>{"A", "Tailspin, Inc."}));
  EXPECT_EQ((*rows)[2].line, 4);
  EXPECT_EQ((*rows)[2].fields, (std::vector<std::string>{"B", "two\nlines \"quoted\""}));
  EXPECT_EQ((*rows)[3].line, 6);
  EXPECT_EQ((*rows)[3].fields, (std::vector<std::string>{"C", ""}));
}

TEST(CsvTest, RejectsBrokenQuoting) {
  EXPECT_EQ(ParseCsv("a,\"open\n").status().message(), "line 1: a quoted field is not closed");
  EXPECT_FALSE(ParseCsv("a,b\"c\n").ok());
}

TEST(CsvTest, FormatsWhatParsesBack) {
  const std::vector<std::string> fields = {"plain", "with, comma", "with \"quote\"", "two\nlines", ""};
  auto rows = ParseCsv(FormatCsvRow(fields));
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].fields, fields);
}

TEST(CsvTest, ImportIsAllOrNothingAndReportsEveryBadRow) {
  testing_support::TempDir dir;
  auto store = Store::Open(dir.path() + "/crm.db", true);
  ASSERT_TRUE(store.ok());
  auto report = ImportCsv(*store, Table::kContact,
                          "type,name,first_name,company_no,created_at\n"
                          "company,Contoso,,,2020-01-01T00:00:00Z\n"
                          "person,,Ann,CT000001,\n"
                          "robot,R2,,,\n"
                          "person,,,,\n"
                          "person,Bo\n");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->errors,
            (std::vector<std::string>{"line 4: type 'robot' is not one of person, company",
                                      "line 5: name is required (for a person: first_name and/or surname)",
                                      "line 6: 2 fields, the header has 5"}));
  EXPECT_TRUE(report->keys.empty());
  EXPECT_TRUE(store->List(Table::kContact)->empty());

  auto unknown = ImportCsv(*store, Table::kContact, "type,colour\n");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->errors, std::vector<std::string>{"line 1: contact has no column 'colour'"});

  // Later rows may refer to earlier ones.
  auto good =
      ImportCsv(*store, Table::kContact, "type,name,first_name,company_no\ncompany,Contoso,,\nperson,,Ann,CT000001\n");
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->errors.empty());
  EXPECT_EQ(good->keys, (std::vector<std::string>{"CT000001", "CT000002"}));
}

TEST(TextIoTest, KeysAsPeopleTypeThem) {
  const TableSpec& line = SpecOf(Table::kSalesOrderLine);
  EXPECT_EQ(*KeyFromText(line, {"SO000001", "10000"}), "[\"SO000001\",10000]");
  EXPECT_EQ(KeyForPeople(line, "[\"SO000001\",10000]"), "SO000001 10000");
  EXPECT_EQ(KeyFromText(line, {"SO000001"}).status().message(), "sales order line key needs 2 parts, got 1");
  EXPECT_EQ(*KeyFromText(SpecOf(Table::kContact), {"CT000001"}), "CT000001");
  EXPECT_EQ(DecodeKey(line, "SO000001").status().code(), StatusCode::kInvalidArgument);
}

TEST(TextIoTest, FieldsAreTypedByColumn) {
  auto fields = FieldsFromText(SpecOf(Table::kOpportunity),
                               {{"probability", "40"}, {"estimated_value", "1250.50"}, {"salesperson_code", ""}});
  ASSERT_TRUE(fields.ok());
  EXPECT_EQ(fields->at("probability"), Value::Integer(40));
  EXPECT_EQ(fields->at("estimated_value"), *Value::Decimal("1250.5"));
  EXPECT_TRUE(fields->at("salesperson_code").is_null());
}

}  // namespace
}  // namespace crmsync::crm
