#include "tests/emulator/representation.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/time_format.h"
#include "tests/emulator/api_error.h"
#include "tests/emulator/http_message.h"
#include "tests/emulator/time_text.h"

namespace crmsync::emulator {

AnnotationFilter AnnotationFilter::FromPrefer(const std::vector<std::string>& prefer_values) {
  AnnotationFilter f;
  static constexpr std::string_view kKey = "odata.include-annotations=";
  for (const auto& v : prefer_values) {
    if (!v.starts_with(kKey)) continue;
    f.preference_ = v;
    std::string_view list = std::string_view(v).substr(kKey.size());
    if (list.size() >= 2 && list.front() == '"' && list.back() == '"') list = list.substr(1, list.size() - 2);
    std::size_t start = 0;
    while (start <= list.size()) {
      auto comma = list.find(',', start);
      if (comma == std::string_view::npos) comma = list.size();
      const std::string_view item = Trim(list.substr(start, comma - start));
      if (!item.empty()) f.patterns_.emplace_back(item);
      start = comma + 1;
    }
  }
  return f;
}

bool AnnotationFilter::Wants(std::string_view annotation) const {
  for (const auto& p : patterns_) {
    if (p == "*" || p == annotation) return true;
    if (p.size() > 1 && p.back() == '*' && annotation.starts_with(std::string_view(p).substr(0, p.size() - 1))) {
      return true;
    }
  }
  return false;
}

std::string ETagOf(const StoredRecord& r) {
  return "W/\"" + std::to_string(r.version) + "\"";
}

std::string FormatNumber(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(v));
  std::string s(buf);
  const auto dot = s.find('.');
  std::string whole = s.substr(0, dot);
  const std::string frac = dot == std::string::npos ? "" : s.substr(dot);
  std::string grouped;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  return (v < 0 ? "-" : "") + grouped + frac;
}

namespace {

std::string FormatDate(std::string_view text, bool with_time) {
  auto tp = ParseIsoSeconds(text);
  if (!tp) return std::string(text);
  const auto tt = static_cast<std::time_t>(*tp);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  if (with_time) {
    const int hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
    std::snprintf(buf, sizeof buf, "%d/%d/%d %d:%02d %s", tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900, hour12,
                  tm.tm_min, tm.tm_hour < 12 ? "AM" : "PM");
  } else {
    std::snprintf(buf, sizeof buf, "%d/%d/%d", tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900);
  }
  return buf;
}

std::string CurrencySymbol(const Store& store, const StoredRecord& record) {
  auto it = record.fields.find("transactioncurrencyid");
  if (it != record.fields.end() && it->is_string()) {
    if (const StoredRecord* c = store.Find("transactioncurrency", it->get_ref<const std::string&>())) {
      auto sym = c->fields.find("currencysymbol");
      if (sym != c->fields.end() && sym->is_string()) return sym->get<std::string>();
    }
  }
  return "";
}

std::size_t Utf8Length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool IsAddressPart(const std::string& name) {
  return name.starts_with("address1_") && name != "address1_composite";
}

}  // namespace

std::string FormatValue(const Metadata& metadata, const Store& store, const EntityDef& entity,
                        const StoredRecord& record, const AttributeDef& attr) {
  (void)entity;
  auto it = record.fields.find(attr.name);
  if (it == record.fields.end() || it->is_null()) return "";
  const nlohmann::json& v = *it;
  switch (attr.type) {
    case AttrType::kChoice:
    case AttrType::kState:
    case AttrType::kStatus: {
      const OptionDef* o = v.is_number_integer() ? attr.FindOption(v.get<int>()) : nullptr;
      return o == nullptr ? "" : o->label;
    }
    case AttrType::kBool: return v.is_boolean() && v.get<bool>() ? "Yes" : "No";
    case AttrType::kMoney: return v.is_number() ? CurrencySymbol(store, record) + FormatNumber(v.get<double>(), 2) : "";
    case AttrType::kDecimal: return v.is_number() ? FormatNumber(v.get<double>(), 2) : "";
    case AttrType::kInt: return v.is_number() ? FormatNumber(v.get<double>(), 0) : "";
    case AttrType::kDateTime: return v.is_string() ? FormatDate(v.get<std::string>(), true) : "";
    case AttrType::kDate: return v.is_string() ? FormatDate(v.get<std::string>(), false) : "";
    case AttrType::kLookup: {
      auto t = record.lookup_targets.find(attr.name);
      if (t == record.lookup_targets.end() || !v.is_string()) return "";
      const EntityDef* target = metadata.ByLogical(t->second);
      const StoredRecord* r = store.Find(t->second, v.get_ref<const std::string&>());
      if (target == nullptr || r == nullptr) return "";
      auto name = r->fields.find(target->primary_name);
      return name != r->fields.end() && name->is_string() ? name->get<std::string>() : "";
    }
    default: return "";
  }
}

nlohmann::ordered_json SerializeRecord(const Metadata& metadata, const Store& store, const EntityDef& entity,
                                       const StoredRecord& record, const std::vector<const AttributeDef*>* select,
                                       const AnnotationFilter& annotations) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["@odata.etag"] = ETagOf(record);
  std::vector<const AttributeDef*> columns;
  if (select == nullptr) {
    for (const auto& a : entity.attributes) {
      if (a.name != entity.primary_key) columns.push_back(&a);
    }
  } else {
    bool money = false;
    bool address = false;
    bool has_currency = false, has_composite = false;
    for (const AttributeDef* a : *select) {
      if (a->name == entity.primary_key) continue;
      columns.push_back(a);
      money = money || a->type == AttrType::kMoney;
      address = address || IsAddressPart(a->name);
      has_currency = has_currency || a->name == "transactioncurrencyid";
      has_composite = has_composite || a->name == "address1_composite";
    }
    if (money && !has_currency) {
      if (const AttributeDef* c = entity.Find("transactioncurrencyid")) columns.push_back(c);
    }
    if (address && !has_composite) {
      if (const AttributeDef* c = entity.Find("address1_composite")) columns.push_back(c);
    }
  }
  const bool want_formatted = annotations.Wants(kFormattedValue);
  for (const AttributeDef* a : columns) {
    const std::string key = a->ReadName();
    auto it = record.fields.find(a->name);
    const bool present = it != record.fields.end() && !it->is_null();
    if (present && annotations.any()) {
      if (want_formatted) {
        std::string f = FormatValue(metadata, store, entity, record, *a);
        if (!f.empty()) out[key + "@" + std::string(kFormattedValue)] = std::move(f);
      }
      if (a->is_lookup()) {
        auto t = record.lookup_targets.find(a->name);
        if (t != record.lookup_targets.end()) {
          if (annotations.Wants(kAssociatedNav))
            out[key + "@" + std::string(kAssociatedNav)] = entity.NavName(*a, t->second);
          if (annotations.Wants(kLookupLogicalName)) out[key + "@" + std::string(kLookupLogicalName)] = t->second;
        }
      }
    }
    out[key] = present ? nlohmann::ordered_json(*it) : nlohmann::ordered_json(nullptr);
  }
  out[entity.primary_key] = record.id;
  return out;
}

Status PayloadError(const EntityDef& entity, const std::string& detail) {
  return ApiError(400, "0x80048d19",
                  "Error identified in Payload provided by the user for Entity :'" + entity.entity_set +
                      "', For more information on this error please follow this help link "
                      "https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : "
                      "Microsoft.OData.ODataException: " +
                      detail);
}

Status LengthError(const EntityDef& entity, const AttributeDef& attr) {
  return ApiError(400, "0x80044331",
                  "A validation error occurred.  The length of the '" + attr.name + "' attribute of the '" +
                      entity.logical_name + "' entity exceeded the maximum allowed length of '" +
                      std::to_string(attr.max_length) + "'.");
}

std::string NormaliseGuid(std::string_view s) {
  if (s.size() == 38 && s.front() == '{' && s.back() == '}') s = s.substr(1, 36);
  if (s.size() != 36) return "";
  for (std::size_t i = 0; i < 36; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : std::isxdigit(static_cast<unsigned char>(s[i])) == 0) return "";
  }
  return ToLower(s);
}

namespace {

std::string LiteralText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

Status ConvertError(const EntityDef& entity, const nlohmann::json& v, const AttributeDef& a) {
  return PayloadError(entity, "Cannot convert the literal '" + LiteralText(v) + "' to the expected type '" +
                                  std::string(EdmTypeName(a.type)) + "'.");
}

Status RangeError(const EntityDef& entity, const AttributeDef& a, const nlohmann::json& v) {
  std::string accepted;
  if (a.min || a.max) {
    accepted = " Accepted Values: " + (a.min ? FormatNumber(*a.min, 0) : std::string("-inf")) + " to " +
               (a.max ? FormatNumber(*a.max, 0) : std::string("inf"));
  }
  return ApiError(400, "0x80044331",
                  "A validation error occurred.  The value " + LiteralText(v) + " of '" + a.name +
                      "' on record of type '" + entity.logical_name + "' is outside the valid range." + accepted);
}

Result<nlohmann::json> Normalise(const EntityDef& entity, const AttributeDef& a, const nlohmann::json& v) {
  if (v.is_null()) return nlohmann::json(nullptr);
  switch (a.type) {
    case AttrType::kString:
    case AttrType::kMemo:
      if (!v.is_string()) return ConvertError(entity, v, a);
      if (static_cast<int>(Utf8Length(v.get_ref<const std::string&>())) > a.max_length) return LengthError(entity, a);
      return v;
    case AttrType::kInt:
    case AttrType::kBigInt:
    case AttrType::kChoice:
    case AttrType::kState:
    case AttrType::kStatus: {
      if (!v.is_number()) return ConvertError(entity, v, a);
      const double d = v.get<double>();
      if (std::floor(d) != d) return ConvertError(entity, v, a);
      const bool int32 = a.type != AttrType::kBigInt;
      if (int32 && (d < -2147483648.0 || d > 2147483647.0)) return ConvertError(entity, v, a);
      const auto i = v.is_number_integer() ? v.get<std::int64_t>() : static_cast<std::int64_t>(d);
      if (a.is_option()) {
        if (a.FindOption(static_cast<int>(i)) == nullptr) {
          return ApiError(400, "0x80044331",
                          "A validation error occurred.  The value " + std::to_string(i) + " of '" + a.name +
                              "' on record of type '" + entity.logical_name + "' is outside the valid range.");
        }
      } else if ((a.min && static_cast<double>(i) < *a.min) || (a.max && static_cast<double>(i) > *a.max)) {
        return RangeError(entity, a, v);
      }
      return nlohmann::json(i);
    }
    case AttrType::kDecimal:
    case AttrType::kMoney:
    case AttrType::kDouble: {
      if (!v.is_number()) return ConvertError(entity, v, a);
      const double d = v.get<double>();
      const double limit = a.type == AttrType::kMoney ? 922337203685477.0 : 1e15;
      if ((a.min && d < *a.min) || (a.max && d > *a.max) || std::fabs(d) > limit) return RangeError(entity, a, v);
      if (v.is_number_integer()) return nlohmann::json(v.get<std::int64_t>());
      return nlohmann::json(d);
    }
    case AttrType::kBool:
      if (!v.is_boolean()) return ConvertError(entity, v, a);
      return v;
    case AttrType::kDateTime:
    case AttrType::kDate: {
      if (!v.is_string()) return ConvertError(entity, v, a);
      const std::string& s = v.get_ref<const std::string&>();
      if (a.type == AttrType::kDate && s.size() != 10) return ConvertError(entity, v, a);
      auto tp = ParseIsoSeconds(s);
      if (!tp) return ConvertError(entity, v, a);
      const std::string text = FormatIsoSeconds(*tp);
      if (text < "1753-01-01") return RangeError(entity, a, v);
      return nlohmann::json(a.type == AttrType::kDate ? text.substr(0, 10) : text);
    }
    case AttrType::kPrimaryKey:
    case AttrType::kGuid: {
      const std::string g = v.is_string() ? NormaliseGuid(v.get<std::string>()) : "";
      if (g.empty()) return ConvertError(entity, v, a);
      return nlohmann::json(g);
    }
    case AttrType::kLookup: return ConvertError(entity, v, a);
  }
  return v;
}

}  // namespace

Result<Payload> ParsePayload(const EntityDef& entity, const nlohmann::json& body, bool create) {
  if (!body.is_object()) {
    return PayloadError(entity, "A node of type '" + std::string(body.is_array() ? "StartArray" : "PrimitiveValue") +
                                    "' was read from the JSON reader when trying to read the start of an entry. A "
                                    "'StartObject' node was expected.");
  }
  Payload p;
  for (const auto& [key, value] : body.items()) {
    if (key.starts_with("@odata.")) continue;  // @odata.type, @odata.context, @odata.etag
    const auto at = key.find('@');
    if (at != std::string::npos) {
      const std::string name = key.substr(0, at);
      const std::string annotation = key.substr(at + 1);
      if (annotation != "odata.bind") continue;  // other instance annotations are ignored
      auto nav = entity.FindNav(name);
      if (!nav) {
        return PayloadError(entity, "An undeclared property '" + name +
                                        "' which only has property annotations in the payload but no property value "
                                        "was found in the payload. In OData, only declared navigation properties and "
                                        "declared named streams can be represented as properties without values.");
      }
      if (!value.is_null() && !value.is_string()) {
        return PayloadError(
            entity, "The value of the 'odata.bind' annotation of navigation property '" + name + "' must be a string.");
      }
      if (nav->attribute->read_only) {
        p.ignored.push_back(nav->attribute);
        continue;
      }
      p.binds.push_back({name, nav->attribute, nav->target, value.is_null() ? "" : value.get<std::string>()});
      continue;
    }
    const AttributeDef* a = entity.Find(key);
    if (a == nullptr) {
      const AttributeDef* read = entity.FindByReadName(key);
      if (read != nullptr && read->is_lookup()) {
        p.ignored.push_back(read);  // _x_value columns are read-only
        continue;
      }
      return PayloadError(entity, "Invalid property '" + key + "' was found in entity '" + entity.TypeName() + "'.");
    }
    if (a->is_lookup()) {
      // A navigation property: only null (clear) is a valid plain value.
      if (!value.is_null() || a->targets.size() != 1) {
        return PayloadError(entity,
                            "A node of type 'PrimitiveValue' was read from the JSON reader when trying to "
                            "read the contents of the navigation property '" +
                                key + "'; however, a 'StartObject' node or 'StartArray' node was expected.");
      }
      if (create || a->read_only) continue;
      p.binds.push_back({key, a, a->targets.front(), ""});
      continue;
    }
    if (a->read_only) {
      p.ignored.push_back(a);
      continue;
    }
    auto v = Normalise(entity, *a, value);
    if (!v.ok()) return v.status();
    p.values.emplace_back(a, std::move(v).value());
  }
  return p;
}

}  // namespace crmsync::emulator
