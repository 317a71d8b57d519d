#include "tests/emulator/metadata.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/json_text.h"

namespace crmsync::emulator {

const OptionDef* AttributeDef::FindOption(int v) const {
  for (const auto& o : options) {
    if (o.value == v) return &o;
  }
  return nullptr;
}

void EntityDef::Reindex() {
  index_.clear();
  for (std::size_t i = 0; i < attributes.size(); ++i) index_[attributes[i].name] = i;
}

const AttributeDef* EntityDef::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &attributes[it->second];
}

const AttributeDef* EntityDef::FindByReadName(std::string_view read_name) const {
  if (read_name.size() > 7 && read_name.front() == '_' && read_name.ends_with("_value")) {
    const AttributeDef* a = Find(read_name.substr(1, read_name.size() - 7));
    return a != nullptr && a->is_lookup() ? a : nullptr;
  }
  const AttributeDef* a = Find(read_name);
  return a != nullptr && !a->is_lookup() ? a : nullptr;
}

std::optional<NavTarget> EntityDef::FindNav(std::string_view nav) const {
  for (const auto& a : attributes) {
    if (a.nav_suffix.empty() || !nav.ends_with(a.nav_suffix)) continue;
    for (const auto& t : a.targets) {
      if (nav == NavName(a, t)) return NavTarget{&a, t};
    }
  }
  if (const AttributeDef* a = Find(nav); a != nullptr && a->is_lookup() && a->targets.size() == 1) {
    return NavTarget{a, a->targets.front()};
  }
  const auto us = nav.rfind('_');
  if (us == std::string_view::npos) return std::nullopt;
  const AttributeDef* a = Find(nav.substr(0, us));
  if (a == nullptr || !a->is_lookup() || a->targets.size() < 2 || !a->nav_suffix.empty()) return std::nullopt;
  const std::string_view target = nav.substr(us + 1);
  for (const auto& t : a->targets) {
    if (t == target) return NavTarget{a, t};
  }
  return std::nullopt;
}

std::string EntityDef::NavName(const AttributeDef& attr, std::string_view target) const {
  if (attr.targets.size() == 1) return attr.name;
  return attr.name + "_" + std::string(target) + attr.nav_suffix;
}

const CollectionNav* EntityDef::FindCollection(std::string_view name) const {
  for (const auto& c : collections) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const AlternateKey* EntityDef::FindKey(std::vector<std::string> names) const {
  std::sort(names.begin(), names.end());
  for (const auto& k : keys) {
    if (k.attributes == names) return &k;
  }
  return nullptr;
}

int EntityDef::DefaultStatus(int state) const {
  const AttributeDef* s = StatusAttr();
  if (s == nullptr) return -1;
  for (const auto& o : s->options) {
    if (o.state == state) return o.value;
  }
  return -1;
}

std::string_view EdmTypeName(AttrType t) {
  switch (t) {
    case AttrType::kString:
    case AttrType::kMemo: return "Edm.String";
    case AttrType::kInt:
    case AttrType::kChoice:
    case AttrType::kState:
    case AttrType::kStatus: return "Edm.Int32";
    case AttrType::kBigInt: return "Edm.Int64";
    case AttrType::kDecimal:
    case AttrType::kMoney: return "Edm.Decimal";
    case AttrType::kDouble: return "Edm.Double";
    case AttrType::kBool: return "Edm.Boolean";
    case AttrType::kDateTime: return "Edm.DateTimeOffset";
    case AttrType::kDate: return "Edm.Date";
    case AttrType::kPrimaryKey:
    case AttrType::kGuid:
    case AttrType::kLookup: return "Edm.Guid";
  }
  return "Edm.String";
}

namespace {

std::optional<AttrType> ParseType(std::string_view s) {
  static const std::pair<std::string_view, AttrType> kTypes[] = {
      {"string", AttrType::kString},   {"memo", AttrType::kMemo},       {"int", AttrType::kInt},
      {"bigint", AttrType::kBigInt},   {"decimal", AttrType::kDecimal}, {"money", AttrType::kMoney},
      {"double", AttrType::kDouble},   {"bool", AttrType::kBool},       {"datetime", AttrType::kDateTime},
      {"date", AttrType::kDate},       {"guid", AttrType::kGuid},       {"choice", AttrType::kChoice},
      {"state", AttrType::kState},     {"status", AttrType::kStatus},   {"lookup", AttrType::kLookup},
      {"customer", AttrType::kLookup}, {"owner", AttrType::kLookup},
  };
  for (const auto& [name, t] : kTypes) {
    if (name == s) return t;
  }
  return std::nullopt;
}

Result<AttributeDef> ParseAttribute(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string() || !j.contains("type") ||
      !j["type"].is_string()) {
    return InvalidArgument(where + ": an attribute needs a string \"name\" and \"type\"");
  }
  AttributeDef a;
  a.name = j["name"].get<std::string>();
  auto type = ParseType(j["type"].get<std::string>());
  if (!type) return InvalidArgument(where + ": unknown attribute type '" + j["type"].get<std::string>() + "'");
  a.type = *type;
  a.max_length = j.value("max_length", 0);
  if (a.max_length == 0 && a.type == AttrType::kString) a.max_length = 100;
  if (a.max_length == 0 && a.type == AttrType::kMemo) a.max_length = 2000;
  if (j.contains("min") && j["min"].is_number()) a.min = j["min"].get<double>();
  if (j.contains("max") && j["max"].is_number()) a.max = j["max"].get<double>();
  const std::string req = j.value("required", std::string("none"));
  a.required = req == "system"        ? Requirement::kSystem
               : req == "application" ? Requirement::kApplication
                                      : Requirement::kNone;
  a.read_only = j.value("read_only", false);
  a.create_only = j.value("create_only", false);
  a.valid_for_create = j.value("valid_for_create", true);
  if (j.contains("options") && j["options"].is_array()) {
    for (const auto& o : j["options"]) {
      if (!o.is_object() || !o.contains("value") || !o["value"].is_number_integer()) {
        return InvalidArgument(where + ": option needs an integer \"value\"");
      }
      a.options.push_back({o["value"].get<int>(), o.value("label", std::string()), o.value("state", -1)});
    }
  }
  a.nav_suffix = j.value("nav_suffix", std::string());
  if (j.contains("targets") && j["targets"].is_array()) {
    for (const auto& t : j["targets"]) {
      if (t.is_string()) a.targets.push_back(t.get<std::string>());
    }
  }
  if (a.is_lookup() && a.targets.empty()) return InvalidArgument(where + ": a lookup needs \"targets\"");
  if (a.is_option() && a.options.empty()) return InvalidArgument(where + ": a choice needs \"options\"");
  return a;
}

AttributeDef Simple(std::string name, AttrType type, bool read_only) {
  AttributeDef a;
  a.name = std::move(name);
  a.type = type;
  a.read_only = read_only;
  return a;
}

AttributeDef Lookup(std::string name, std::string target, bool read_only) {
  AttributeDef a = Simple(std::move(name), AttrType::kLookup, read_only);
  a.targets.push_back(std::move(target));
  return a;
}

}  // namespace

Result<std::shared_ptr<Metadata>> Metadata::LoadDefaults() {
  nlohmann::json doc;
  CRMSYNC_RETURN_IF_ERROR(ParseJsonText(DefaultEntitiesJson(), doc));
  auto m = std::make_shared<Metadata>();
  CRMSYNC_RETURN_IF_ERROR(m->Merge(doc));
  return m;
}

Status Metadata::Merge(const nlohmann::json& doc) {
  if (!doc.is_object() || !doc.contains("entities")) return Status::Ok();
  const auto& list = doc["entities"];
  if (!list.is_array()) return InvalidArgument("\"entities\" must be an array");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& e = list[i];
    const std::string where = "entities[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("logical_name") || !e["logical_name"].is_string()) {
      return InvalidArgument(where + ": needs a string \"logical_name\"");
    }
    const std::string logical = e["logical_name"].get<std::string>();
    EntityDef* def = nullptr;
    if (auto it = by_logical_.find(logical); it != by_logical_.end()) {
      def = it->second;
    } else {
      if (!e.contains("entity_set") || !e["entity_set"].is_string()) {
        return InvalidArgument(where + ": a new table needs \"entity_set\"");
      }
      entities_.push_back(std::make_unique<EntityDef>());
      def = entities_.back().get();
      def->logical_name = logical;
      def->entity_set = e["entity_set"].get<std::string>();
      def->primary_key = e.value("primary_key", logical + "id");
      def->primary_name = e.value("primary_name", std::string("name"));
      by_logical_[logical] = def;
      by_set_[def->entity_set] = def;
    }
    if (e.contains("named_keys")) def->named_keys = e.value("named_keys", true);
    if (e.contains("change_tracking")) def->change_tracking = e.value("change_tracking", true);
    if (e.contains("ownership")) {
      const std::string own = e.value("ownership", std::string("user"));
      def->has_owner = own == "user";
    }
    if (e.value("has_currency", false)) def->has_money = true;
    if (e.contains("default_state") && e["default_state"].is_number_integer()) {
      def->default_state = e["default_state"].get<int>();
    }
    if (e.contains("attributes") && e["attributes"].is_array()) {
      for (std::size_t k = 0; k < e["attributes"].size(); ++k) {
        auto attr = ParseAttribute(e["attributes"][k], where + ".attributes[" + std::to_string(k) + "]");
        if (!attr.ok()) return attr.status();
        auto existing = std::find_if(def->attributes.begin(), def->attributes.end(),
                                     [&](const AttributeDef& a) { return a.name == attr->name; });
        if (existing != def->attributes.end()) {
          *existing = std::move(attr).value();
        } else {
          def->attributes.push_back(std::move(attr).value());
        }
      }
    }
    if (e.contains("keys") && e["keys"].is_array()) {
      for (const auto& k : e["keys"]) {
        AlternateKey key;
        key.name = k.value("name", std::string("key"));
        if (k.contains("attributes") && k["attributes"].is_array()) {
          for (const auto& a : k["attributes"]) {
            if (a.is_string()) key.attributes.push_back(a.get<std::string>());
          }
        }
        if (key.attributes.empty()) return InvalidArgument(where + ": a key needs \"attributes\"");
        std::sort(key.attributes.begin(), key.attributes.end());
        def->keys.push_back(std::move(key));
      }
    }
    if (e.contains("collections") && e["collections"].is_array()) {
      for (const auto& c : e["collections"]) {
        def->collections.push_back(
            {c.value("name", std::string()), c.value("entity", std::string()), c.value("lookup", std::string())});
      }
    }
    def->Reindex();
  }
  if (doc.contains("many_to_many") && doc["many_to_many"].is_array()) {
    for (const auto& r : doc["many_to_many"]) {
      ManyToManyDef m{r.value("name", std::string()),    r.value("entity1", std::string()),
                      r.value("entity2", std::string()), r.value("intersect", std::string()),
                      r.value("lookup1", std::string()), r.value("lookup2", std::string())};
      if (m.name.empty()) return InvalidArgument("many_to_many: a relationship needs a \"name\"");
      many_to_many_.push_back(std::move(m));
    }
  }
  return Status::Ok();
}

const ManyToManyDef* Metadata::FindManyToMany(std::string_view logical, std::string_view name) const {
  for (const auto& m : many_to_many_) {
    if (m.name == name && (m.entity1 == logical || m.entity2 == logical)) return &m;
  }
  return nullptr;
}

Status Metadata::Finish() {
  for (auto& e : entities_) {
    for (const auto& a : e->attributes) {
      if (a.type == AttrType::kMoney) e->has_money = true;
    }
    std::vector<AttributeDef> common;
    auto add = [&](AttributeDef a) {
      if (e->Find(a.name) == nullptr) common.push_back(std::move(a));
    };
    AttributeDef pk = Simple(e->primary_key, AttrType::kPrimaryKey, false);
    pk.create_only = true;
    add(pk);
    if (e->has_money) {
      add(Lookup("transactioncurrencyid", "transactioncurrency", false));
      AttributeDef rate = Simple("exchangerate", AttrType::kDecimal, true);
      add(rate);
    }
    if (e->has_owner) add(Lookup("ownerid", "systemuser", false));
    add(Lookup("createdby", "systemuser", true));
    add(Lookup("modifiedby", "systemuser", true));
    add(Simple("createdon", AttrType::kDateTime, true));
    add(Simple("modifiedon", AttrType::kDateTime, true));
    AttributeDef overridden = Simple("overriddencreatedon", AttrType::kDateTime, false);
    overridden.create_only = true;
    add(overridden);
    add(Simple("versionnumber", AttrType::kBigInt, true));
    for (auto& a : common) e->attributes.push_back(std::move(a));
    std::vector<AttributeDef> bases;
    for (const auto& a : e->attributes) {
      if (a.type == AttrType::kMoney && !a.name.ends_with("_base") && e->Find(a.name + "_base") == nullptr) {
        bases.push_back(Simple(a.name + "_base", AttrType::kMoney, true));
      }
    }
    for (auto& a : bases) e->attributes.push_back(std::move(a));
    e->Reindex();
  }
  for (const auto& e : entities_) {
    for (const auto& a : e->attributes) {
      for (const auto& t : a.targets) {
        if (by_logical_.find(t) == by_logical_.end()) {
          return InvalidArgument("table '" + e->logical_name + "' column '" + a.name + "' targets unknown table '" + t +
                                 "'");
        }
      }
      if (a.type == AttrType::kStatus && e->StateAttr() == nullptr) {
        return InvalidArgument("table '" + e->logical_name + "' has statuscode without statecode");
      }
    }
    if (const AttributeDef* state = e->StateAttr();
        state != nullptr && state->FindOption(e->default_state) == nullptr) {
      return InvalidArgument("table '" + e->logical_name + "' has a default_state that is not a statecode");
    }
    for (const auto& k : e->keys) {
      for (const auto& a : k.attributes) {
        if (e->Find(a) == nullptr) {
          return InvalidArgument("table '" + e->logical_name + "' key '" + k.name + "' names unknown column '" + a +
                                 "'");
        }
      }
    }
  }
  for (const auto& m : many_to_many_) {
    const EntityDef* intersect = ByLogical(m.intersect);
    if (ByLogical(m.entity1) == nullptr || ByLogical(m.entity2) == nullptr || intersect == nullptr ||
        intersect->Find(m.lookup1) == nullptr || intersect->Find(m.lookup2) == nullptr) {
      return InvalidArgument("many_to_many '" + m.name + "' names an unknown table or column");
    }
  }
  return Status::Ok();
}

const EntityDef* Metadata::BySet(std::string_view entity_set) const {
  auto it = by_set_.find(entity_set);
  return it == by_set_.end() ? nullptr : it->second;
}

const EntityDef* Metadata::ByLogical(std::string_view logical_name) const {
  auto it = by_logical_.find(logical_name);
  return it == by_logical_.end() ? nullptr : it->second;
}

}  // namespace crmsync::emulator
