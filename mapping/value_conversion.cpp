#include "mapping/value_conversion.h"

#include <charconv>

#include "common/time_format.h"

namespace crmsync::mapping {

namespace {

std::string Quoted(const Value& v) {
  return v.kind() == Value::Kind::kText ? "'" + v.as_text() + "'" : v.ToDisplayString();
}

Status Bad(const Value& v, std::string_view what) {
  return InvalidArgument(Quoted(v) + " is not " + std::string(what));
}

// A decimal Value from a number or numeric text; nullopt otherwise.
std::optional<Value> AsDecimal(const Value& v) {
  if (v.is_number()) return Value::Decimal(v.NumberText());
  if (v.kind() == Value::Kind::kText) return Value::Decimal(v.as_text());
  return std::nullopt;
}

Result<Value> ToInteger(const Value& v) {
  if (v.kind() == Value::Kind::kInteger) return v;
  const auto d = AsDecimal(v);
  if (!d) return Bad(v, "an integer");
  const std::string& text = d->as_decimal();
  if (text.find('.') != std::string::npos) return Bad(v, "an integer (it has a fraction)");
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) return Bad(v, "an integer in range");
  return Value::Integer(out);
}

Result<Value> ToDecimal(const Value& v, bool money) {
  const auto d = AsDecimal(v);
  if (!d) return Bad(v, money ? "an amount of money" : "a decimal number");
  if (money) {
    const std::string& text = d->as_decimal();
    const auto dot = text.find('.');
    if (dot != std::string::npos && text.size() - dot - 1 > 4) {
      return InvalidArgument(Quoted(v) + " has more than 4 decimal places; money keeps at most 4 and is never rounded");
    }
  }
  return *d;
}

std::optional<bool> AsBool(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kBool: return v.as_bool();
    case Value::Kind::kInteger:
      if (v.as_integer() == 0 || v.as_integer() == 1) return v.as_integer() == 1;
      return std::nullopt;
    case Value::Kind::kDecimal:
      if (v.as_decimal() == "0" || v.as_decimal() == "1") return v.as_decimal() == "1";
      return std::nullopt;
    case Value::Kind::kText:
      if (v.as_text() == "true" || v.as_text() == "1") return true;
      if (v.as_text() == "false" || v.as_text() == "0") return false;
      return std::nullopt;
    default: return std::nullopt;
  }
}

Result<Value> ToText(const Value& v) {
  if (v.kind() == Value::Kind::kText) return v.as_text().empty() ? Value::Null() : v;
  if (v.is_number()) return Value::Text(v.NumberText());
  return Bad(v, "text");
}

Result<Value> ToDate(const Value& v) {
  if (v.kind() != Value::Kind::kText) return Bad(v, "a date (YYYY-MM-DD)");
  const auto t = ParseUtc(v.as_text());
  if (!t) return Bad(v, "a date (YYYY-MM-DD)");
  return Value::Text(FormatUtc(*t).substr(0, 10));
}

Result<Value> ToDateTime(const Value& v) {
  if (v.kind() != Value::Kind::kText) return Bad(v, "a date-time (YYYY-MM-DDTHH:MM:SSZ)");
  const auto t = ParseUtc(v.as_text());
  if (!t) return Bad(v, "a date-time (YYYY-MM-DDTHH:MM:SSZ)");
  const bool millis = std::chrono::floor<std::chrono::seconds>(*t) != *t;
  return Value::Text(FormatUtc(*t, millis));
}

// The conversions shared by both directions; booleans differ.
Result<Value> Convert(FieldType type, const Value& v) {
  switch (type) {
    case FieldType::kAuto: return v;
    case FieldType::kText: return ToText(v);
    case FieldType::kInteger: return ToInteger(v);
    case FieldType::kDecimal: return ToDecimal(v, false);
    case FieldType::kMoney: return ToDecimal(v, true);
    case FieldType::kDate: return ToDate(v);
    case FieldType::kDateTime: return ToDateTime(v);
    case FieldType::kDateAsDateTime:  // direction-specific, handled by the callers
    case FieldType::kBoolean: break;
  }
  std::abort();  // booleans and date_as_datetime are handled by the callers
}

}  // namespace

Result<Value> ToRemoteValue(FieldType type, const Value& local) {
  if (local.is_null()) return local;
  if (type == FieldType::kBoolean) {
    const auto b = AsBool(local);
    if (!b) return Bad(local, "a boolean (0/1 or true/false)");
    return Value::Bool(*b);
  }
  if (type == FieldType::kDateAsDateTime) {
    // The day as Dataverse's DateTimeOffset wants it: its first second, UTC.
    CRMSYNC_ASSIGN_OR_RETURN(Value day, ToDate(local));
    return Value::Text(day.as_text() + "T00:00:00Z");
  }
  return Convert(type, local);
}

Result<Value> ToLocalValue(FieldType type, const Value& remote) {
  if (remote.is_null()) return remote;
  if (type == FieldType::kBoolean) {
    const auto b = AsBool(remote);
    if (!b) return Bad(remote, "a boolean (true/false)");
    return Value::Integer(*b ? 1 : 0);
  }
  if (type == FieldType::kDateAsDateTime) return ToDate(remote);  // the UTC day of the date-time
  return Convert(type, remote);
}

std::size_t CharacterCount(std::string_view utf8) {
  std::size_t count = 0;
  for (const char c : utf8) {
    // Count every byte that does not continue a multi-byte sequence.
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string TruncateCharacters(std::string_view utf8, std::size_t max_characters) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    if ((static_cast<unsigned char>(utf8[i]) & 0xC0) != 0x80) {
      if (count == max_characters) return std::string(utf8.substr(0, i));
      ++count;
    }
  }
  return std::string(utf8);
}

}  // namespace crmsync::mapping
