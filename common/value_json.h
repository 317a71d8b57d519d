// Conversions between Value/Record and JSON (nlohmann/json).
// JSON numbers become Integer when integral and in range, Decimal otherwise;
// arrays and objects are not field values and are refused.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "common/value.h"

namespace crmsync {

nlohmann::json ValueToJson(const Value& value);
Result<Value> ValueFromJson(const nlohmann::json& json);

nlohmann::json RecordToJson(const Record& record);

// The same JSON text as RecordToJson(record).dump() (members in key order),
// written directly, without building a json tree: the state store writes a
// record's bases and the audit log its fields for every synced record.
// With `skip_nulls`, null members are left out (readers treat an absent
// member as null).
std::string RecordToJsonText(const Record& record, bool skip_nulls = false);
// Appends one value / one string (quoted and escaped) as JSON.
void AppendJsonValue(std::string& out, const Value& value);
void AppendJsonString(std::string& out, std::string_view text);
// Every member of `object` becomes a field; fails naming the first bad member.
Result<Record> RecordFromJson(const nlohmann::json& object);

}  // namespace crmsync
