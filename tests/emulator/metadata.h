// Metadata: the emulator's entity definitions (tables, columns, types, lengths,
// requirement levels, lookups and their targets, alternate keys).
//
// Built once from the embedded entities.json plus the optional --config file,
// then read-only: safe to share between threads without locking.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "common/status.h"

namespace crmsync::emulator {

enum class AttrType {
  kPrimaryKey,
  kString,
  kMemo,
  kInt,
  kBigInt,
  kDecimal,
  kMoney,
  kDouble,
  kBool,
  kDateTime,
  kDate,
  kGuid,
  kChoice,
  kState,
  kStatus,
  kLookup,  // also Customer and Owner: one or more target tables
};

enum class Requirement { kNone, kApplication, kSystem };

struct OptionDef {
  int value = 0;
  std::string label;
  int state = -1;  // for status options: the state they belong to
};

struct AttributeDef {
  std::string name;
  AttrType type = AttrType::kString;
  int max_length = 0;  // strings and memos
  std::optional<double> min, max;
  Requirement required = Requirement::kNone;
  bool read_only = false;            // computed or system-maintained
  bool create_only = false;          // settable on create only
  bool valid_for_create = true;      // false: not settable on create
  std::vector<OptionDef> options;    // choice, state, status
  std::vector<std::string> targets;  // lookups: target logical names
  // Several targets: navigation properties are "<name>_<target><nav_suffix>"
  // (activities' regardingobjectid_contact_phonecall).
  std::string nav_suffix;

  bool is_lookup() const { return type == AttrType::kLookup; }
  bool is_option() const { return type == AttrType::kChoice || type == AttrType::kState || type == AttrType::kStatus; }
  const OptionDef* FindOption(int v) const;
  // "_<name>_value" for lookups, the name otherwise.
  std::string ReadName() const { return is_lookup() ? "_" + name + "_value" : name; }
};

struct AlternateKey {
  std::string name;
  std::vector<std::string> attributes;  // sorted
};

struct CollectionNav {
  std::string name;    // e.g. order_details
  std::string entity;  // logical name of the related table
  std::string lookup;  // the lookup on the related table pointing back here
};

// Where a single-valued navigation property leads.
struct NavTarget {
  const AttributeDef* attribute = nullptr;
  std::string target;  // logical name
};

class EntityDef {
 public:
  std::string logical_name;
  std::string entity_set;
  std::string primary_key;
  std::string primary_name;
  bool named_keys = true;  // false: systemusers(<guid>) only
  bool change_tracking = true;
  bool has_owner = true;
  bool has_money = false;
  int default_state = 0;                 // statecode of a new record (appointments: 3 Scheduled)
  std::vector<AttributeDef> attributes;  // in declaration order
  std::vector<AlternateKey> keys;
  std::vector<CollectionNav> collections;

  const AttributeDef* Find(std::string_view name) const;
  // Finds by read name: "name", or "_x_value" for a lookup x. Null if unknown.
  const AttributeDef* FindByReadName(std::string_view read_name) const;
  // Single-valued navigation properties: "x" (one target) or "x_<target>" (several).
  std::optional<NavTarget> FindNav(std::string_view nav) const;
  // Navigation property name for lookup `attr` pointing at `target`.
  std::string NavName(const AttributeDef& attr, std::string_view target) const;
  const CollectionNav* FindCollection(std::string_view name) const;
  const AlternateKey* FindKey(std::vector<std::string> attribute_names) const;
  std::string TypeName() const { return "Microsoft.Dynamics.CRM." + logical_name; }
  const AttributeDef* StateAttr() const { return Find("statecode"); }
  const AttributeDef* StatusAttr() const { return Find("statuscode"); }
  // Default status of `state` (first status option of that state), -1 if none.
  int DefaultStatus(int state) const;

  void Reindex();

 private:
  std::map<std::string, std::size_t, std::less<>> index_;
};

// A many-to-many relationship through an intersect table (listmember,
// campaignitem): both tables see it as a collection navigation property
// named `name` (lists(id)/listcontact_association, contacts(id)/...).
struct ManyToManyDef {
  std::string name;       // e.g. listcontact_association
  std::string entity1;    // list
  std::string entity2;    // contact
  std::string intersect;  // listmember
  std::string lookup1;    // the intersect's lookup to entity1: listid
  std::string lookup2;    // the intersect's lookup to entity2: entityid
};

// Edm type name of an attribute type for error messages ("Edm.String").
std::string_view EdmTypeName(AttrType t);

class Metadata {
 public:
  // The embedded defaults (entities.json).
  static Result<std::shared_ptr<Metadata>> LoadDefaults();
  // Merges the "entities" array of `doc` (same shape as entities.json): new
  // tables are added, attributes of existing tables added or replaced.
  Status Merge(const nlohmann::json& doc);
  // Adds the common columns and indexes; call after the last Merge.
  Status Finish();

  const EntityDef* BySet(std::string_view entity_set) const;
  const EntityDef* ByLogical(std::string_view logical_name) const;
  const std::vector<std::unique_ptr<EntityDef>>& entities() const { return entities_; }
  // The relationship `name` seen from table `logical`, or null.
  const ManyToManyDef* FindManyToMany(std::string_view logical, std::string_view name) const;
  const std::vector<ManyToManyDef>& many_to_many() const { return many_to_many_; }

 private:
  std::vector<ManyToManyDef> many_to_many_;
  std::vector<std::unique_ptr<EntityDef>> entities_;
  std::map<std::string, EntityDef*, std::less<>> by_set_;
  std::map<std::string, EntityDef*, std::less<>> by_logical_;
};

// The embedded entities.json text.
std::string_view DefaultEntitiesJson();

}  // namespace crmsync::emulator
