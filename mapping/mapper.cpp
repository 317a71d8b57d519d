#include "mapping/mapper.h"

#include <algorithm>

#include "mapping/value_conversion.h"

namespace crmsync::mapping {

namespace {

constexpr std::string_view kLogicalNameAnnotation = "@Microsoft.Dynamics.CRM.lookuplogicalname";

class Mapper {
 public:
  explicit Mapper(CouplingResolver& resolver) : resolver_(resolver) {}

  void Issue(const FieldMapping& f, FieldIssue::Kind kind, std::string message) {
    out_.issues.push_back({f.Name(), kind, std::move(message)});
  }

  // The resolver could not answer: nothing is known about the record.
  void Failed(const FieldMapping& f, const Status& status) {
    if (out_.status.ok()) out_.status = status.WithContext("resolving " + f.Name());
  }

  // Applies max_length to text; false when the field must be left out.
  bool CheckLength(const FieldMapping& f, Value& v) {
    if (!f.max_length || v.kind() != Value::Kind::kText) return true;
    const auto max = static_cast<std::size_t>(*f.max_length);
    const std::size_t n = CharacterCount(v.as_text());
    if (n <= max) return true;
    if (f.truncate) {
      v = Value::Text(TruncateCharacters(v.as_text(), max));
      return true;
    }
    Issue(f, FieldIssue::Kind::kTooLong,
          "is " + std::to_string(n) + " characters long; at most " + std::to_string(max) + " allowed");
    return false;
  }

  // Applies an unmapped policy; false when the field must be left out.
  bool Unmapped(const FieldMapping& f, const UnmappedPolicy& policy, const Value& value,
                const std::vector<std::string>& targets, bool to_remote) {
    switch (policy.action) {
      case UnmappedPolicy::Action::kError:
        Issue(f, FieldIssue::Kind::kUnmappedValue,
              std::string(to_remote ? "local" : "remote") + " value '" + value.ToDisplayString() +
                  "' has no entry in the value map");
        return false;
      case UnmappedPolicy::Action::kNull:
        for (const auto& t : targets) Set(t, Value::Null());
        return true;
      case UnmappedPolicy::Action::kKeep:
        for (const auto& t : targets) Set(t, value);
        return true;
      case UnmappedPolicy::Action::kDefault:
        for (std::size_t i = 0; i < targets.size() && i < policy.default_values.size(); ++i) {
          Set(targets[i], policy.default_values[i]);
        }
        return true;
    }
    return false;
  }

  void FieldToRemote(const FieldMapping& f, const Record& row) {
    if (f.constant) {
      Set(f.remote[0], *f.constant);
      return;
    }
    const auto it = row.find(f.local);
    if (it == row.end()) return;
    const Value& value = it->second;
    if (value.is_null() && f.omit_null) return;

    if (f.is_lookup()) {
      // An empty foreign key (easy to write in SQL) means "no parent", not a parent named "".
      const bool no_parent = value.is_null() || (value.kind() == Value::Kind::kText && value.as_text().empty());
      if (no_parent && f.omit_null) return;
      if (no_parent) {
        // Clearing one navigation property of a polymorphic lookup clears the lookup.
        Set(f.lookup[0].nav + "@odata.bind", Value::Null());
        return;
      }
      const std::string key = value.ToDisplayString();
      for (const auto& target : f.lookup) {
        auto id = resolver_.RemoteIdFor(target.mapping, key);
        if (!id.ok()) {
          Failed(f, id.status());
          return;
        }
        if (id->has_value()) {
          Set(target.nav + "@odata.bind", Value::Text("/" + target.entity_set + "(" + **id + ")"));
          return;
        }
      }
      if (std::none_of(f.lookup.begin(), f.lookup.end(), [](const LookupTarget& t) { return t.creates_remote; })) {
        // Only Dataverse creates these parents (salespeople are its users):
        // an uncoupled one never arrives, so leave the field to Dataverse.
        Issue(f, FieldIssue::Kind::kNotApplicable,
              "'" + key + "' is not coupled to a Dataverse record in " + TargetNames(f) +
                  ", which only reads from Dataverse; left for Dataverse to set");
        return;
      }
      Issue(f, FieldIssue::Kind::kWaitingForParent,
            "waiting for parent: '" + key + "' is not coupled yet in " + TargetNames(f) + "");
      return;
    }

    if (f.values) {
      if (value.is_null()) {
        for (const auto& r : f.remote) Set(r, Value::Null());
        return;
      }
      if (const auto* remote = f.values->FindToRemote(value.ToDisplayString())) {
        for (std::size_t i = 0; i < f.remote.size() && i < remote->size(); ++i) Set(f.remote[i], (*remote)[i]);
        return;
      }
      Unmapped(f, f.values->unmapped_to_remote, value, f.remote, true);
      return;
    }

    Put(f, ToRemoteValue(f.type, value), f.remote[0]);
  }

  void FieldToLocal(const FieldMapping& f, const Record& record, const Record* current_local) {
    if (f.constant) {
      Set(f.local, *f.constant);
      return;
    }

    if (f.is_lookup()) {
      const auto it = record.find(f.remote_read);
      if (it == record.end()) return;
      if (it->second.is_null()) {
        if (!f.omit_null) Set(f.local, Value::Null());
        return;
      }
      const std::string id = it->second.ToDisplayString();
      std::vector<const LookupTarget*> candidates;
      const auto annotation = record.find(f.remote_read + std::string(kLogicalNameAnnotation));
      for (const auto& target : f.lookup) {
        if (annotation == record.end() || annotation->second.ToDisplayString() == target.logical_name) {
          candidates.push_back(&target);
        }
      }
      if (candidates.empty()) {
        Issue(f, FieldIssue::Kind::kNotApplicable,
              "points at a " + annotation->second.ToDisplayString() + " record, not at " + TargetNames(f) +
                  "; left unchanged");
        return;
      }
      for (const LookupTarget* target : candidates) {
        auto key = resolver_.LocalKeyFor(target->mapping, id);
        if (!key.ok()) {
          Failed(f, key.status());
          return;
        }
        if (key->has_value()) {
          Set(f.local, Value::Text(**key));
          return;
        }
      }
      Issue(f, FieldIssue::Kind::kWaitingForParent,
            "waiting for parent: " + id + " is not coupled yet in " + TargetNames(f));
      return;
    }

    if (f.values) {
      std::vector<Value> read;
      std::size_t absent = 0;
      bool all_null = true;
      for (const auto& r : f.remote) {
        const auto it = record.find(r);
        if (it == record.end()) {
          ++absent;
          read.push_back(Value::Null());
        } else {
          all_null = all_null && it->second.is_null();
          read.push_back(it->second);
        }
      }
      if (absent == f.remote.size()) return;
      if (absent > 0) {
        Issue(f, FieldIssue::Kind::kBadValue, "needs all of its remote attributes; some are missing from the record");
        return;
      }
      if (all_null) {
        if (!f.omit_null) Set(f.local, Value::Null());
        return;
      }
      const std::string key = ValueKey(read);
      if (const auto* locals = f.values->FindFromRemote(key)) {
        Value chosen = locals->front();
        if (current_local != nullptr) {
          if (const auto cur = current_local->find(f.local); cur != current_local->end()) {
            for (const auto& candidate : *locals) {
              if (candidate.ToDisplayString() == cur->second.ToDisplayString()) chosen = cur->second;
            }
          }
        }
        Set(f.local, std::move(chosen));
        return;
      }
      Value joined = read.size() == 1 ? read[0] : Value::Text(key);
      Unmapped(f, f.values->unmapped_from_remote, joined, {f.local}, false);
      return;
    }

    const auto it = record.find(f.remote[0]);
    if (it == record.end()) return;
    Put(f, ToLocalValue(f.type, it->second), f.local);
  }

  // Stores a converted value under `target`, or records why it cannot be.
  void Put(const FieldMapping& f, Result<Value> converted, const std::string& target) {
    if (!converted.ok()) {
      Issue(f, FieldIssue::Kind::kBadValue, converted.status().message());
      return;
    }
    Value v = std::move(converted).value();
    if (v.is_null() && f.omit_null) return;
    if (!CheckLength(f, v)) return;
    Set(target, std::move(v));
  }

  MappedRecord Take() {
    out_.fields.Assign(std::move(set_));
    return std::move(out_);
  }

 private:
  static std::string TargetNames(const FieldMapping& f) {
    std::string out;
    for (std::size_t i = 0; i < f.lookup.size(); ++i) {
      if (i > 0) out += i + 1 == f.lookup.size() ? " or " : ", ";
      out += "'" + f.lookup[i].mapping + "'";
    }
    return out;
  }

  // The mapped fields, in the mapping's order; sorted into out_ once, by Take.
  void Set(std::string name, Value value) { set_.emplace_back(std::move(name), std::move(value)); }

  CouplingResolver& resolver_;
  MappedRecord out_;
  std::vector<Record::value_type> set_;
};

}  // namespace

std::string_view FieldIssueKindName(FieldIssue::Kind kind) {
  switch (kind) {
    case FieldIssue::Kind::kTooLong: return "too_long";
    case FieldIssue::Kind::kUnmappedValue: return "unmapped_value";
    case FieldIssue::Kind::kWaitingForParent: return "waiting_for_parent";
    case FieldIssue::Kind::kBadValue: return "bad_value";
    case FieldIssue::Kind::kNotApplicable: return "not_applicable";
  }
  return "?";
}

bool MappedRecord::failed() const {
  if (!status.ok()) return false;
  for (const auto& i : issues) {
    if (i.kind == FieldIssue::Kind::kTooLong || i.kind == FieldIssue::Kind::kUnmappedValue ||
        i.kind == FieldIssue::Kind::kBadValue) {
      return true;
    }
  }
  return false;
}

bool MappedRecord::waiting_for_parent() const {
  if (!status.ok() || failed()) return false;
  for (const auto& i : issues) {
    if (i.kind == FieldIssue::Kind::kWaitingForParent) return true;
  }
  return false;
}

MappedRecord MapToRemote(const Mapping& mapping, const Record& local_row, CouplingResolver& resolver) {
  Mapper m(resolver);
  for (const auto& f : mapping.fields) {
    if (f.ToRemote()) m.FieldToRemote(f, local_row);
  }
  return m.Take();
}

MappedRecord MapToLocal(const Mapping& mapping, const Record& remote_record, CouplingResolver& resolver,
                        const Record* current_local) {
  Mapper m(resolver);
  for (const auto& f : mapping.fields) {
    if (f.FromRemote()) m.FieldToLocal(f, remote_record, current_local);
  }
  MappedRecord out = m.Take();
  for (const auto& [column, value] : mapping.local.filter) out.fields[column] = value;
  return out;
}

}  // namespace crmsync::mapping
