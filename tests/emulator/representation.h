// Representation: records to Web API JSON (selected columns, @odata.etag,
// lookup _x_value columns, formatted values and lookup annotations when
// asked) and Web API JSON payloads to validated column values (types, lengths,
// ranges, options, @odata.bind references) with Dataverse's error codes.
//
// Functions only; callers hold the store lock while serialising.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "tests/emulator/metadata.h"
#include "tests/emulator/store.h"

namespace crmsync::emulator {

// Which instance annotations a client asked for with
// Prefer: odata.include-annotations="..." (comma list, '*' wildcards).
class AnnotationFilter {
 public:
  static AnnotationFilter FromPrefer(const std::vector<std::string>& prefer_values);
  bool Wants(std::string_view annotation) const;
  bool any() const { return !patterns_.empty(); }
  // The preference as received, for Preference-Applied ("" when none).
  const std::string& preference() const { return preference_; }

 private:
  std::vector<std::string> patterns_;
  std::string preference_;
};

inline constexpr std::string_view kFormattedValue = "OData.Community.Display.V1.FormattedValue";
inline constexpr std::string_view kLookupLogicalName = "Microsoft.Dynamics.CRM.lookuplogicalname";
inline constexpr std::string_view kAssociatedNav = "Microsoft.Dynamics.CRM.associatednavigationproperty";

std::string ETagOf(const StoredRecord& r);  // W/"<versionnumber>"

// Serialises `record`; `select` null means every column. Annotations precede their property.
nlohmann::ordered_json SerializeRecord(const Metadata& metadata, const Store& store, const EntityDef& entity,
                                       const StoredRecord& record, const std::vector<const AttributeDef*>* select,
                                       const AnnotationFilter& annotations);

// The formatted value of one column ("$20,000.00", "Active", "4/7/2023 2:59 PM"), empty when none.
std::string FormatValue(const Metadata& metadata, const Store& store, const EntityDef& entity,
                        const StoredRecord& record, const AttributeDef& attr);

// A "<nav>@odata.bind" member of a payload.
struct BindRef {
  std::string nav;
  const AttributeDef* attr = nullptr;  // the lookup column
  std::string target;                  // logical name the nav leads to
  std::string ref;                     // "/accounts(<id>)", "$1", absolute URL ...; empty when clearing
};

struct Payload {
  std::vector<std::pair<const AttributeDef*, nlohmann::json>> values;  // normalised; null clears
  std::vector<BindRef> binds;
  std::vector<const AttributeDef*> ignored;  // read-only columns the client sent
};

// Validates a create (create = true) or update payload for `entity`.
Result<Payload> ParsePayload(const EntityDef& entity, const nlohmann::json& body, bool create);

// Errors of section 8.1 used by the writers.
Status PayloadError(const EntityDef& entity, const std::string& detail);  // 400 0x80048d19
Status LengthError(const EntityDef& entity, const AttributeDef& attr);    // 400 0x80044331

// Lower-case GUID text when `s` is a GUID (braces allowed), else empty.
std::string NormaliseGuid(std::string_view s);

// Number text as Dataverse shows it in formatted values: 1234.5 -> "1,234.50".
std::string FormatNumber(double v, int decimals);

}  // namespace crmsync::emulator
