#include "mapping/value_conversion.h"

#include <gtest/gtest.h>

namespace crmsync::mapping {
namespace {

Value Text(const char* s) {
  return Value::Text(s);
}
Value Dec(const char* s) {
  return *Value::Decimal(s);
}

struct Case {
  const char* name;
  FieldType type;
  Value in;
  std::optional<Value> out;  // nullopt = an error whose message contains `error`
  const char* error = "";
};

void RunCases(const std::vector<Case>& cases, Result<Value> (*convert)(FieldType, const Value&)) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto got = convert(c.type, c.in);
    if (c.out) {
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(got->kind(), c.out->kind());
      EXPECT_EQ(*got, *c.out) << got->ToDisplayString();
    } else {
      ASSERT_FALSE(got.ok()) << got->ToDisplayString();
      EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(got.status().message(), c.error);
    }
  }
}

TEST(ValueConversionTest, ToRemote) {
  RunCases(
      {
          {"null stays null", FieldType::kInteger, Value::Null(), Value::Null()},
          {"auto passes text", FieldType::kAuto, Text("x"), Text("x")},
          {"auto passes numbers", FieldType::kAuto, Dec("1.50"), Dec("1.5")},
          {"text", FieldType::kText, Text("Contoso"), Text("Contoso")},
          {"empty text is null", FieldType::kText, Text(""), Value::Null()},
          {"number as text", FieldType::kText, Value::Integer(42), Text("42")},
          {"bool is not text", FieldType::kText, Value::Bool(true), std::nullopt, "true is not text"},
          {"integer", FieldType::kInteger, Value::Integer(7), Value::Integer(7)},
          {"integral decimal", FieldType::kInteger, Dec("10.0"), Value::Integer(10)},
          {"numeric text", FieldType::kInteger, Text("12"), Value::Integer(12)},
          {"fraction refused", FieldType::kInteger, Dec("12.5"), std::nullopt,
           "12.5 is not an integer (it has a fraction)"},
          {"word refused", FieldType::kInteger, Text("ten"), std::nullopt, "'ten' is not an integer"},
          {"huge refused", FieldType::kInteger, Text("99999999999999999999"), std::nullopt,
           "'99999999999999999999' is not an integer in range"},
          {"decimal", FieldType::kDecimal, Dec("2.500"), Dec("2.5")},
          {"decimal from integer", FieldType::kDecimal, Value::Integer(3), Dec("3")},
          {"decimal from text", FieldType::kDecimal, Text("0.125"), Dec("0.125")},
          {"decimal refuses words", FieldType::kDecimal, Text("1e3"), std::nullopt, "'1e3' is not a decimal number"},
          {"money", FieldType::kMoney, Dec("950.00"), Dec("950")},
          {"money four places", FieldType::kMoney, Dec("0.1234"), Dec("0.1234")},
          {"money five places refused", FieldType::kMoney, Dec("0.12345"), std::nullopt,
           "0.12345 has more than 4 decimal places; money keeps at most 4 and is never rounded"},
          {"money refuses bool", FieldType::kMoney, Value::Bool(false), std::nullopt,
           "false is not an amount of money"},
          {"boolean 1", FieldType::kBoolean, Value::Integer(1), Value::Bool(true)},
          {"boolean 0", FieldType::kBoolean, Value::Integer(0), Value::Bool(false)},
          {"boolean bool", FieldType::kBoolean, Value::Bool(true), Value::Bool(true)},
          {"boolean text", FieldType::kBoolean, Text("false"), Value::Bool(false)},
          {"boolean 2 refused", FieldType::kBoolean, Value::Integer(2), std::nullopt,
           "2 is not a boolean (0/1 or true/false)"},
          {"date", FieldType::kDate, Text("2025-03-31"), Text("2025-03-31")},
          {"date from date-time", FieldType::kDate, Text("2025-03-31T23:30:00-02:00"), Text("2025-04-01")},
          {"date refused", FieldType::kDate, Text("31/03/2025"), std::nullopt,
           "'31/03/2025' is not a date (YYYY-MM-DD)"},
          {"date not a number", FieldType::kDate, Value::Integer(20250331), std::nullopt,
           "20250331 is not a date (YYYY-MM-DD)"},
          {"datetime utc", FieldType::kDateTime, Text("2023-04-07T21:59:01Z"), Text("2023-04-07T21:59:01Z")},
          {"a day as a date-time", FieldType::kDateAsDateTime, Text("2025-03-31"), Text("2025-03-31T00:00:00Z")},
          {"a day as a date-time refused", FieldType::kDateAsDateTime, Text("31/03/2025"), std::nullopt,
           "'31/03/2025' is not a date (YYYY-MM-DD)"},
          {"datetime offset normalised", FieldType::kDateTime, Text("2021-04-04T12:00:00-08:00"),
           Text("2021-04-04T20:00:00Z")},
          {"datetime millis kept", FieldType::kDateTime, Text("2021-04-04T12:00:00.250Z"),
           Text("2021-04-04T12:00:00.250Z")},
          {"datetime date only is midnight", FieldType::kDateTime, Text("2021-04-04"), Text("2021-04-04T00:00:00Z")},
          {"datetime without zone refused", FieldType::kDateTime, Text("2021-04-04T12:00:00"), std::nullopt,
           "'2021-04-04T12:00:00' is not a date-time (YYYY-MM-DDTHH:MM:SSZ)"},
      },
      &ToRemoteValue);
}

TEST(ValueConversionTest, ToLocal) {
  RunCases(
      {
          {"null stays null", FieldType::kBoolean, Value::Null(), Value::Null()},
          {"boolean true is 1", FieldType::kBoolean, Value::Bool(true), Value::Integer(1)},
          {"boolean false is 0", FieldType::kBoolean, Value::Bool(false), Value::Integer(0)},
          {"boolean refuses text", FieldType::kBoolean, Text("yes"), std::nullopt,
           "'yes' is not a boolean (true/false)"},
          {"money number", FieldType::kMoney, Dec("5000000.0000"), Dec("5000000")},
          {"integer", FieldType::kInteger, Value::Integer(55), Value::Integer(55)},
          {"text", FieldType::kText, Text("Nancy"), Text("Nancy")},
          {"date", FieldType::kDate, Text("2023-04-07"), Text("2023-04-07")},
          {"datetime", FieldType::kDateTime, Text("2023-04-07T21:59:01+02:00"), Text("2023-04-07T19:59:01Z")},
          {"a date-time as its UTC day", FieldType::kDateAsDateTime, Text("2023-04-07T23:30:00-02:00"),
           Text("2023-04-08")},
      },
      &ToLocalValue);
}

TEST(ValueConversionTest, CountsAndTruncatesCharactersNotBytes) {
  EXPECT_EQ(CharacterCount("abc"), 3u);
  EXPECT_EQ(CharacterCount("Müller"), 6u);
  EXPECT_EQ(CharacterCount("日本"), 2u);
  EXPECT_EQ(TruncateCharacters("Müller", 2), "Mü");
  EXPECT_EQ(TruncateCharacters("日本語", 2), "日本");
  EXPECT_EQ(TruncateCharacters("abc", 5), "abc");
  EXPECT_EQ(TruncateCharacters("abc", 0), "");
}

}  // namespace
}  // namespace crmsync::mapping
