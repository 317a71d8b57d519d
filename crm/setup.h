// Marketing setup: the `setup` table's keys, what each means and which values
// it takes. The number series each table draws its numbers from, the
// defaults a new contact takes, and inheritance: which company fields a
// person contact takes from its company.
//
// Inheritance (the triggers of crm/migrations/0004_marketing_setup.sql, so
// every writer gets it): a person linked to a company takes the company's
// inherited fields it leaves empty; when a company's inherited field
// changes, its persons whose value was the company's old one follow, and a
// person whose value differs (it overrode the company's) keeps its own. A
// change made by inheritance is an ordinary change: journalled and synced.
//
// Thread-safety: free functions over the caller's connection.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/sqlite.h"

namespace crmsync::crm {

enum class SetupKind {
  kSeries,          // the code of a number series
  kSalesperson,     // a salesperson code, or empty
  kFlag,            // true or false
  kText,            // any text, or empty
  kCorrespondence,  // email or hard_copy, or empty
  kSalesCycle,      // a sales cycle code, or empty
};

struct SetupKey {
  std::string_view name;
  SetupKind kind;
  std::string_view help;
};

// Every key, in the order `crm setup show` prints them.
std::span<const SetupKey> SetupKeys();
const SetupKey* FindSetupKey(std::string_view name);

// One inheritance group: its setup flag and the contact columns it covers.
struct InheritedGroup {
  std::string_view flag;
  std::span<const std::string_view> columns;
};
std::span<const InheritedGroup> InheritedGroups();

struct SetupEntry {
  const SetupKey* key = nullptr;
  std::optional<std::string> value;  // nullopt: not set
};

// Every key with its value.
Result<std::vector<SetupEntry>> ReadSetup(SqliteDb& db);

// Sets `key` to `value` ("" clears a key that may be empty). kInvalidArgument
// naming the key and the value when either is not acceptable (an unknown
// key, a series or salesperson that does not exist, a flag that is not
// true/false); nothing is written then.
Status WriteSetup(SqliteDb& db, std::string_view key, std::string_view value);

}  // namespace crmsync::crm
