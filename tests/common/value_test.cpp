#include "common/value.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "common/value_json.h"

namespace crmsync {
namespace {

struct DecimalCase {
  const char* in;
  const char* canonical;  // nullptr: refused
};

class CanonicalDecimalTest : public ::testing::TestWithParam<DecimalCase> {};

TEST_P(CanonicalDecimalTest, Canonicalises) {
  auto got = CanonicalDecimal(GetParam().in);
  if (GetParam().canonical == nullptr) {
    EXPECT_FALSE(got.has_value()) << GetParam().in;
  } else {
    ASSERT_TRUE(got.has_value()) << GetParam().in;
    EXPECT_EQ(*got, GetParam().canonical);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, CanonicalDecimalTest,
                         ::testing::Values(DecimalCase{"950.00", "950"}, DecimalCase{"-0.50", "-0.5"},
                                           DecimalCase{"+007.500", "7.5"}, DecimalCase{"-0.000", "0"},
                                           DecimalCase{"0", "0"}, DecimalCase{".5", "0.5"},
                                           DecimalCase{"12345678901234567890.123", "12345678901234567890.123"},
                                           DecimalCase{"1e3", nullptr}, DecimalCase{"", nullptr},
                                           DecimalCase{"1.2.3", nullptr}, DecimalCase{"-", nullptr},
                                           DecimalCase{"12a", nullptr}));

TEST(ValueTest, IntegerAndDecimalCompareNumerically) {
  EXPECT_EQ(Value::Integer(950), *Value::Decimal("950.00"));
  EXPECT_NE(Value::Integer(950), *Value::Decimal("950.01"));
  EXPECT_NE(Value::Integer(1), Value::Text("1"));
  EXPECT_NE(Value::Null(), Value::Text(""));
  EXPECT_EQ(Value::Null(), Value());
  EXPECT_NE(Value::Bool(true), Value::Integer(1));
}

TEST(ValueTest, DecimalFromDoubleIsShortestRoundTrip) {
  EXPECT_EQ(Value::DecimalFromDouble(950.0).as_decimal(), "950");
  EXPECT_EQ(Value::DecimalFromDouble(0.1).as_decimal(), "0.1");
  EXPECT_EQ(Value::DecimalFromDouble(-1234.5678).as_decimal(), "-1234.5678");
}

// Found by tests/fuzz/odata_page_fuzz: a record with a number of 80 digits
// aborted the process, since the fixed-notation text of a double above about
// 1e63 did not fit DecimalFromDouble's buffer.
TEST(ValueTest, ANonFiniteDoubleBecomesTextInsteadOfAborting) {
  // SQLite keeps 9e999 in a REAL column as infinity: reading such a row must not end the process.
  EXPECT_EQ(Value::DecimalFromDouble(std::numeric_limits<double>::infinity()), Value::Text("Infinity"));
  EXPECT_EQ(Value::DecimalFromDouble(-std::numeric_limits<double>::infinity()), Value::Text("-Infinity"));
  EXPECT_EQ(Value::DecimalFromDouble(std::numeric_limits<double>::quiet_NaN()), Value::Text("NaN"));
}

TEST(ValueTest, DecimalFromDoubleSpellsOutTheLargestAndSmallestDoublesInsteadOfAborting) {
  // Every digit of the double's value in fixed notation, which reads back as the same double.
  const auto spelled = [](double d) {
    const std::string text = Value::DecimalFromDouble(d).as_decimal();
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), d) << text;
    return text;
  };
  EXPECT_EQ(spelled(1e70).size(), 71u);
  const std::string largest = spelled(std::numeric_limits<double>::max());
  EXPECT_EQ(largest.size(), 309u);
  EXPECT_EQ(largest.substr(0, 17), "17976931348623157");
  EXPECT_EQ(spelled(-std::numeric_limits<double>::max()), "-" + largest);
  const std::string smallest = spelled(std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(smallest.substr(0, 2 + 323), "0." + std::string(323, '0'));
  auto parsed = ValueFromJson(nlohmann::json::parse(std::string(80, '8')));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->as_decimal().size(), 80u);
}

TEST(ValueJsonTest, RoundTripsEveryKind) {
  const auto j = nlohmann::json::parse(R"({"a":null,"b":true,"c":42,"d":950.5,"e":"text","f":9.0})");
  auto record = RecordFromJson(j);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->at("a").kind(), Value::Kind::kNull);
  EXPECT_EQ(record->at("b").as_bool(), true);
  EXPECT_EQ(record->at("c").as_integer(), 42);
  EXPECT_EQ(record->at("d").as_decimal(), "950.5");
  EXPECT_EQ(record->at("e").as_text(), "text");
  EXPECT_EQ(record->at("f"), Value::Integer(9));
  EXPECT_EQ(RecordToJson(*record).dump(), R"({"a":null,"b":true,"c":42,"d":950.5,"e":"text","f":9})");
}

TEST(ValueJsonTest, RefusesNestedValuesNamingTheMember) {
  auto record = RecordFromJson(nlohmann::json::parse(R"({"ok":1,"bad":[1]})"));
  ASSERT_FALSE(record.ok());
  EXPECT_NE(record.status().message().find("'bad'"), std::string::npos);
}

}  // namespace
}  // namespace crmsync

namespace crmsync {
namespace {

TEST(ValueJsonTextTest, WritesWhatNlohmannWrites) {
  const Record r{{"a", Value::Text("plain")},
                 {"b", Value::Text("quote \" backslash \\ tab \t newline \n ctrl \x01 unicode \xc3\xa9")},
                 {"c", Value::Integer(-42)},
                 {"d", *Value::Decimal("12.50")},
                 {"e", Value::Bool(true)},
                 {"f", Value::Null()},
                 {"g", *Value::Decimal("123456789012345678901234567890")}};
  EXPECT_EQ(RecordToJsonText(r), RecordToJson(r).dump());
  EXPECT_EQ(RecordToJsonText(r, true).find("\"f\""), std::string::npos);
  EXPECT_EQ(RecordToJsonText({}), "{}");
}

}  // namespace
}  // namespace crmsync
