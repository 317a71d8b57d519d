// Value: one field of a record, as the engine, the mapper and both connectors
// see it. Deliberately small: null, boolean, integer, decimal and text.
// Dates and date-times travel as text in ISO 8601 (the mapper converts).
//
// Decimals (money, quantities) are kept as canonical decimal text so no
// amount is ever rounded through binary floating point: "950.00" becomes
// "950", "-0.50" becomes "-0.5". Integers and decimals compare numerically,
// so Integer(950) == Decimal("950") (an echo of a write is recognised even
// when a side changes the number's representation).
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace crmsync {

class Value {
 public:
  enum class Kind { kNull, kBool, kInteger, kDecimal, kText };

  Value() = default;  // null
  static Value Null() { return {}; }
  static Value Bool(bool b);
  static Value Integer(std::int64_t i);
  // `text` must be a decimal number ("-12.50", "3", "1e3" is refused);
  // returns nullopt when it is not.
  static std::optional<Value> Decimal(std::string_view text);
  // Any finite double, spelled out (1e300 -> "1000...0"). Infinity and NaN
  // have no decimal form: they become the text "Infinity", "-Infinity" or
  // "NaN", which every numeric use refuses as not a number.
  static Value DecimalFromDouble(double d);
  static Value Text(std::string s);

  // Inline: asked for every field of every record (the variant's order is the enum's).
  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::kNull; }
  bool is_number() const { return kind() == Kind::kInteger || kind() == Kind::kDecimal; }

  // Accessors abort when the kind does not match (a bug, not bad data).
  bool as_bool() const;
  std::int64_t as_integer() const;
  const std::string& as_decimal() const;  // canonical text
  const std::string& as_text() const;

  // Canonical decimal text of a number (integer or decimal).
  std::string NumberText() const;

  // For logs, plans and the audit log: null, true/false, the number, or the text.
  std::string ToDisplayString() const;

  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  struct DecimalText {
    std::string text;
  };
  std::variant<std::monostate, bool, std::int64_t, DecimalText, std::string> v_;
};

// Canonicalises decimal text ("+007.500" -> "7.5"); nullopt when not a plain decimal.
std::optional<std::string> CanonicalDecimal(std::string_view text);

}  // namespace crmsync

// Records of values (common/record.h): nearly every user of one uses the other.
#include "common/record.h"  // IWYU pragma: export
