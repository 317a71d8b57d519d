#include "common/value_json.h"

#include <nlohmann/json.hpp>

namespace crmsync {

nlohmann::json ValueToJson(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kNull: return nullptr;
    case Value::Kind::kBool: return value.as_bool();
    case Value::Kind::kInteger: return value.as_integer();
    case Value::Kind::kDecimal: {
      // Emit the canonical text as a JSON number without a round trip
      // through double where the text is integral.
      const std::string& t = value.as_decimal();
      if (t.find('.') == std::string::npos) {
        try {
          return std::stoll(t);
        } catch (const std::exception&) {
          // fall through: larger than int64
        }
      }
      return nlohmann::json::parse(t);
    }
    case Value::Kind::kText: return value.as_text();
  }
  return nullptr;
}

Result<Value> ValueFromJson(const nlohmann::json& json) {
  switch (json.type()) {
    case nlohmann::json::value_t::null: return Value::Null();
    case nlohmann::json::value_t::boolean: return Value::Bool(json.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::Integer(json.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = json.get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(INT64_MAX)) return Value::Integer(static_cast<std::int64_t>(u));
      return *Value::Decimal(std::to_string(u));
    }
    case nlohmann::json::value_t::number_float: return Value::DecimalFromDouble(json.get<double>());
    case nlohmann::json::value_t::string: return Value::Text(json.get<std::string>());
    default: return InvalidArgument("expected a scalar JSON value, got " + std::string(json.type_name()));
  }
}

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  // Runs that need no escape (nearly all text) are appended whole.
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;  // UTF-8 passes through, as nlohmann writes it
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

void AppendJsonValue(std::string& out, const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kNull: out += "null"; return;
    case Value::Kind::kBool: out += value.as_bool() ? "true" : "false"; return;
    case Value::Kind::kInteger: out += std::to_string(value.as_integer()); return;
    case Value::Kind::kDecimal: out += ValueToJson(value).dump(); return;  // rare: keep one number formatter
    case Value::Kind::kText: AppendJsonString(out, value.as_text()); return;
  }
}

std::string RecordToJsonText(const Record& record, bool skip_nulls) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : record) {
    if (skip_nulls && value.is_null()) continue;
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, name);
    out += ':';
    AppendJsonValue(out, value);
  }
  out += '}';
  return out;
}

nlohmann::json RecordToJson(const Record& record) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : record) out[name] = ValueToJson(value);
  return out;
}

Result<Record> RecordFromJson(const nlohmann::json& object) {
  if (!object.is_object()) return InvalidArgument("expected a JSON object");
  Record record;
  for (const auto& [name, member] : object.items()) {
    auto value = ValueFromJson(member);
    if (!value.ok()) return value.status().WithContext("member '" + name + "'");
    record.emplace(name, std::move(value).value());
  }
  return record;
}

}  // namespace crmsync
