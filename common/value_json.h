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
// Every member of `object` becomes a field; fails naming the first bad member.
Result<Record> RecordFromJson(const nlohmann::json& object);

}  // namespace crmsync
