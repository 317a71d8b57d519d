#include "mapping/canonical.h"

namespace crmsync::mapping {

namespace {

constexpr std::string_view kBindSuffix = "@odata.bind";

// "/accounts(78914942-...)" or an absolute URL ending so -> the id inside the parentheses.
std::string IdOfBind(const Value& bind) {
  if (bind.kind() != Value::Kind::kText) return "";
  const std::string& text = bind.as_text();
  const auto open = text.rfind('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  return text.substr(open + 1, close - open - 1);
}

}  // namespace

Value Canonical(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kNull: return value;
    case Value::Kind::kBool: return Value::Integer(value.as_bool() ? 1 : 0);
    case Value::Kind::kText: return value.as_text().empty() ? Value::Null() : value;
    case Value::Kind::kInteger:
    case Value::Kind::kDecimal: return value;
  }
  return value;
}

bool CanonicalEqual(const Value& a, const Value& b) {
  return Canonical(a) == Canonical(b);
}

Record CanonicalRecord(const Record& record, std::span<const std::string> names) {
  Record out;
  for (const auto& name : names) {
    const auto it = record.find(name);
    // Names given in order go at the end without a search; others are found their place.
    out.emplace_hint(out.end(), name, it == record.end() ? Value::Null() : Canonical(it->second));
  }
  return out;
}

Record RemoteReadBack(const Mapping& m, const Record& written) {
  Record out;
  for (const auto& [name, value] : written) {
    if (!name.ends_with(kBindSuffix)) {
      out[name] = Canonical(value);
      continue;
    }
    const std::string nav = name.substr(0, name.size() - kBindSuffix.size());
    for (const auto& f : m.fields) {
      if (!f.is_lookup()) continue;
      for (const auto& target : f.lookup) {
        if (target.nav != nav) continue;
        out[f.remote_read] = value.is_null() ? Value::Null() : Value::Text(IdOfBind(value));
      }
    }
  }
  return out;
}

std::vector<std::string> RemoteOutputKeys(const FieldMapping& f) {
  std::vector<std::string> out;
  if (f.is_lookup()) {
    for (const auto& target : f.lookup) out.push_back(target.nav + std::string(kBindSuffix));
    return out;
  }
  return f.remote;
}

}  // namespace crmsync::mapping
