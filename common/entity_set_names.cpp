#include "common/entity_set_names.h"

#include <utility>

namespace crmsync {

std::string LogicalNameOfEntitySet(std::string_view entity_set) {
  // Dataverse's own plural forms for the tables we know; a plain English
  // plural rule for the rest (custom tables usually just add "s").
  static constexpr std::pair<std::string_view, std::string_view> kKnown[] = {
      {"accounts", "account"},
      {"contacts", "contact"},
      {"opportunities", "opportunity"},
      {"salesorders", "salesorder"},
      {"salesorderdetails", "salesorderdetail"},
      {"systemusers", "systemuser"},
      {"teams", "team"},
      {"transactioncurrencies", "transactioncurrency"},
      {"pricelevels", "pricelevel"},
      {"products", "product"},
      {"uoms", "uom"},
  };
  for (const auto& [set, logical] : kKnown) {
    if (set == entity_set) return std::string(logical);
  }
  std::string s(entity_set);
  if (s.size() > 3 && s.ends_with("ies")) return s.substr(0, s.size() - 3) + "y";
  if (s.size() > 1 && s.ends_with("s")) return s.substr(0, s.size() - 1);
  return s;
}

std::string DefaultPrimaryKeyOfEntitySet(std::string_view entity_set) {
  static constexpr std::string_view kActivities[] = {"activitypointers", "phonecalls", "emails", "appointments",
                                                     "letters",          "tasks",      "faxes"};
  for (const auto& set : kActivities) {
    if (set == entity_set) return "activityid";
  }
  return LogicalNameOfEntitySet(entity_set) + "id";
}

}  // namespace crmsync
