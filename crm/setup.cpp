#include "crm/setup.h"

#include <array>

namespace crmsync::crm {

namespace {

using K = SetupKind;

constexpr SetupKey kKeys[] = {
    {"contact_nos", K::kSeries, "number series of new contacts"},
    {"salesperson_nos", K::kSeries, "number series of new salespeople"},
    {"opportunity_nos", K::kSeries, "number series of new opportunities"},
    {"sales_order_nos", K::kSeries, "number series of new sales orders"},
    {"campaign_nos", K::kSeries, "number series of new campaigns"},
    {"segment_nos", K::kSeries, "number series of new segments"},
    {"interaction_nos", K::kSeries, "number series of new interactions"},
    {"default_salesperson_code", K::kSalesperson,
     "salesperson of a new contact, opportunity or order that names none (and inherits none)"},
    {"default_country_code", K::kText, "country/region code of a new contact that names none"},
    {"default_language_code", K::kText, "language code of a new contact that names none"},
    {"default_correspondence_type", K::kCorrespondence, "correspondence type of a new contact: email or hard_copy"},
    {"inherit_salesperson", K::kFlag, "a person takes its company's salesperson_code"},
    {"inherit_address", K::kFlag, "a person takes its company's address, address_2, city, post_code and county"},
    {"inherit_phone", K::kFlag, "a person takes its company's phone"},
    {"inherit_country", K::kFlag, "a person takes its company's country_code"},
    {"inherit_language", K::kFlag, "a person takes its company's language_code"},
    {"default_sales_cycle_code", K::kSalesCycle, "sales cycle of a new opportunity that names none"},
};

constexpr std::string_view kSalespersonColumns[] = {"salesperson_code"};
constexpr std::string_view kAddressColumns[] = {"address", "address_2", "city", "post_code", "county"};
constexpr std::string_view kPhoneColumns[] = {"phone"};
constexpr std::string_view kCountryColumns[] = {"country_code"};
constexpr std::string_view kLanguageColumns[] = {"language_code"};

constexpr InheritedGroup kGroups[] = {
    {"inherit_salesperson", kSalespersonColumns},
    {"inherit_address", kAddressColumns},
    {"inherit_phone", kPhoneColumns},
    {"inherit_country", kCountryColumns},
    {"inherit_language", kLanguageColumns},
};

std::string KnownKeys() {
  std::string out;
  for (const auto& k : kKeys) {
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

Result<bool> Exists(SqliteDb& db, const char* sql, std::string_view value) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare(sql));
  st.Bind(1, value);
  return st.Step();
}

Status CheckValue(SqliteDb& db, const SetupKey& key, std::string_view value) {
  const std::string what = "setup " + std::string(key.name) + ": '" + std::string(value) + "'";
  switch (key.kind) {
    case K::kSeries: {
      if (value.empty()) return InvalidArgument("setup " + std::string(key.name) + " needs a number series code");
      CRMSYNC_ASSIGN_OR_RETURN(bool found, Exists(db, "SELECT 1 FROM number_series WHERE code = ?", value));
      if (!found) return InvalidArgument(what + " is not a number series (table number_series)");
      return Status::Ok();
    }
    case K::kSalesperson: {
      if (value.empty()) return Status::Ok();
      CRMSYNC_ASSIGN_OR_RETURN(bool found, Exists(db, "SELECT 1 FROM salesperson WHERE code = ?", value));
      if (!found) return InvalidArgument(what + " is not a salesperson");
      return Status::Ok();
    }
    case K::kSalesCycle: {
      if (value.empty()) return Status::Ok();
      CRMSYNC_ASSIGN_OR_RETURN(bool found, Exists(db, "SELECT 1 FROM sales_cycle WHERE code = ?", value));
      if (!found) return InvalidArgument(what + " is not a sales cycle");
      return Status::Ok();
    }
    case K::kFlag:
      if (value == "true" || value == "false") return Status::Ok();
      return InvalidArgument(what + " must be true or false");
    case K::kCorrespondence:
      if (value.empty() || value == "email" || value == "hard_copy") return Status::Ok();
      return InvalidArgument(what + " must be email or hard_copy");
    case K::kText: return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace

std::span<const SetupKey> SetupKeys() {
  return kKeys;
}

const SetupKey* FindSetupKey(std::string_view name) {
  for (const auto& k : kKeys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::span<const InheritedGroup> InheritedGroups() {
  return kGroups;
}

Result<std::vector<SetupEntry>> ReadSetup(SqliteDb& db) {
  std::vector<SetupEntry> out;
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT value FROM setup WHERE key = ?"));
  for (const auto& k : kKeys) {
    st.Reset();
    st.Bind(1, k.name);
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
    SetupEntry e;
    e.key = &k;
    if (row && !st.IsNull(0) && !st.ColumnText(0).empty()) e.value = st.ColumnText(0);
    out.push_back(std::move(e));
  }
  return out;
}

Status WriteSetup(SqliteDb& db, std::string_view key, std::string_view value) {
  const SetupKey* k = FindSetupKey(key);
  if (k == nullptr) return InvalidArgument("setup has no key '" + std::string(key) + "' (keys: " + KnownKeys() + ")");
  CRMSYNC_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kImmediate));
  CRMSYNC_RETURN_IF_ERROR(CheckValue(db, *k, value));
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("INSERT INTO setup (key, value) VALUES (?, ?) "
                                               "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  st.Bind(1, key);
  if (value.empty()) {
    st.Bind(2, Value());
  } else {
    st.Bind(2, value);
  }
  CRMSYNC_RETURN_IF_ERROR(st.Run());
  return tx.Commit();
}

}  // namespace crmsync::crm
