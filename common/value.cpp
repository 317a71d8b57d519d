#include "common/value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace crmsync {

std::optional<std::string> CanonicalDecimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  std::size_t i = 0;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    i = 1;
  }
  std::string integer_part;
  std::string fraction_part;
  bool seen_dot = false;
  bool seen_digit = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (seen_dot) return std::nullopt;
      seen_dot = true;
    } else if (c >= '0' && c <= '9') {
      seen_digit = true;
      (seen_dot ? fraction_part : integer_part) += c;
    } else {
      return std::nullopt;
    }
  }
  if (!seen_digit) return std::nullopt;
  const auto first_nonzero = integer_part.find_first_not_of('0');
  integer_part = first_nonzero == std::string::npos ? "0" : integer_part.substr(first_nonzero);
  while (!fraction_part.empty() && fraction_part.back() == '0') fraction_part.pop_back();
  std::string out;
  if (negative && !(integer_part == "0" && fraction_part.empty())) out += '-';
  out += integer_part;
  if (!fraction_part.empty()) out += "." + fraction_part;
  return out;
}

Value Value::Bool(bool b) {
  Value v;
  v.v_ = b;
  return v;
}

Value Value::Integer(std::int64_t i) {
  Value v;
  v.v_ = i;
  return v;
}

std::optional<Value> Value::Decimal(std::string_view text) {
  auto canonical = CanonicalDecimal(text);
  if (!canonical) return std::nullopt;
  Value v;
  v.v_ = DecimalText{std::move(*canonical)};
  return v;
}

Value Value::DecimalFromDouble(double d) {
  // Shortest text that round-trips: 950.0 -> "950", 0.1 -> "0.1". Fixed
  // notation spells every digit: 309 before the point for the largest double
  // (1.8e308), 324 after it for the smallest (5e-324); a number Dataverse or
  // the local store sends may be either, so the buffer holds them all.
  char buf[2 + std::numeric_limits<double>::max_exponent10 + 1 - std::numeric_limits<double>::min_exponent10 +
           std::numeric_limits<double>::max_digits10 + 8];
  if (!std::isfinite(d)) {
    // No decimal form (SQLite stores 9e999 as a REAL infinity): text, which
    // every numeric use refuses with an error naming the record and field.
    return Text(std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity"));
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  if (ec != std::errc()) std::abort();  // the buffer holds every finite double
  return *Decimal(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

Value Value::Text(std::string s) {
  Value v;
  v.v_ = std::move(s);
  return v;
}

bool Value::as_bool() const {
  return std::get<bool>(v_);
}
std::int64_t Value::as_integer() const {
  return std::get<std::int64_t>(v_);
}
const std::string& Value::as_decimal() const {
  return std::get<DecimalText>(v_).text;
}
const std::string& Value::as_text() const {
  return std::get<std::string>(v_);
}

std::string Value::NumberText() const {
  if (kind() == Kind::kInteger) return std::to_string(as_integer());
  return as_decimal();
}

std::string Value::ToDisplayString() const {
  switch (kind()) {
    case Kind::kNull: return "null";
    case Kind::kBool: return as_bool() ? "true" : "false";
    case Kind::kInteger:
    case Kind::kDecimal: return NumberText();
    case Kind::kText: return as_text();
  }
  std::abort();
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.NumberText() == b.NumberText();
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kNull: return true;
    case Value::Kind::kBool: return a.as_bool() == b.as_bool();
    case Value::Kind::kText: return a.as_text() == b.as_text();
    default: return false;  // numbers handled above
  }
}

}  // namespace crmsync
