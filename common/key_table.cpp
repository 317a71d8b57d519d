#include "common/key_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/diagnostic.h"
#include "common/json_text.h"

namespace crmsync {

namespace {

using nlohmann::json;

bool IsStrings(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
}

std::string Quote(std::string_view s) {
  std::string out = "'";
  out += s;
  out += '\'';
  return out;
}

// Whole numbers without a fraction ("5000", not "5000.0"); others as %g.
std::string FormatNumber(double n) {
  if (std::floor(n) == n && std::fabs(n) < 1e15) return std::to_string(static_cast<long long>(n));
  char text[32];
  std::snprintf(text, sizeof text, "%g", n);
  return text;
}

std::vector<std::string> MemberNames(std::span<const KeySpec> table, std::string_view parent) {
  std::vector<std::string> names;
  for (const KeySpec& k : table) {
    if (ParentPointer(k.pointer) == parent) names.emplace_back(KeyName(k.pointer));
  }
  return names;
}

// Round one: unknown keys, types and missing required keys of `object` (at
// `rel` within the table's object, `abs` within the document), into `good`.
void CheckShape(const json& object, const std::string& abs, const std::string& rel, std::span<const KeySpec> table,
                const KeyProblem& report, json& good) {
  good = json::object();
  for (const auto& [name, value] : object.items()) {
    const std::string child_rel = AppendPointer(rel, name);
    const std::string child_abs = AppendPointer(abs, name);
    const KeySpec* spec = FindKey(table, child_rel);
    if (spec == nullptr) {
      report(child_abs, "unknown key " + Quote(name) + DidYouMean(name, MemberNames(table, rel)));
      continue;
    }
    if (!KeyTypeMatches(spec->type, value)) {
      report(child_abs, "must be " + std::string(KeyTypeName(spec->type)) + ", not " + DescribeJsonType(value));
      continue;
    }
    if (spec->type == KeyType::kObject && HasDeclaredMembers(table, child_rel)) {
      CheckShape(value, child_abs, child_rel, table, report, good[name]);
    } else {
      good[name] = value;
    }
  }
  for (const KeySpec& k : table) {
    if (k.required && ParentPointer(k.pointer) == rel && !object.contains(std::string(KeyName(k.pointer)))) {
      report(abs, "missing required key " + Quote(KeyName(k.pointer)));
    }
  }
}

// Round two for one key whose shape is right: "" when its value passes.
std::string ConstraintProblem(const KeySpec& k, const json& value) {
  // (json::empty() is false for every string, so strings are asked themselves.)
  if (k.non_empty &&
      ((value.is_string() && value.get_ref<const std::string&>().empty()) || (value.is_array() && value.empty()))) {
    return "must not be empty";
  }
  if (!k.allowed.empty() && value.is_string()) {
    const std::string text = value.get<std::string>();
    if (std::find(k.allowed.begin(), k.allowed.end(), text) == k.allowed.end()) {
      std::string choices;
      if (k.allowed.size() == 2) {
        choices = std::string(k.allowed[0]) + " or " + std::string(k.allowed[1]);
      } else {
        choices = "one of ";
        for (std::size_t i = 0; i < k.allowed.size(); ++i) {
          if (i > 0) choices += ", ";
          choices += k.allowed[i];
        }
      }
      return "must be " + choices + ", not " + Quote(text) + DidYouMean(text, k.allowed);
    }
  }
  if ((k.min || k.max) && value.is_number()) {
    const double n = value.get<double>();
    if ((k.min && n < *k.min) || (k.max && n > *k.max)) {
      if (k.min && k.max) {
        return "must be between " + FormatNumber(*k.min) + " and " + FormatNumber(*k.max) + ", not " + value.dump();
      }
      return (k.min ? "must be at least " + FormatNumber(*k.min) : "must be at most " + FormatNumber(*k.max)) +
             ", not " + value.dump();
    }
  }
  return "";
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kObject: return "an object";
    case KeyType::kArray: return "an array";
    case KeyType::kString: return "a string";
    case KeyType::kNullableString: return "a string or null";
    case KeyType::kStrings: return "an array of strings";
    case KeyType::kStringOrStrings: return "a string or an array of strings";
    case KeyType::kStringOrObject: return "a string or an object";
    case KeyType::kScalar: return "a string, number, boolean or null";
    case KeyType::kBoolean: return "true or false";
    case KeyType::kInteger: return "an integer";
    case KeyType::kNumber: return "a number";
  }
  return "?";
}

bool KeyTypeMatches(KeyType type, const json& v) {
  switch (type) {
    case KeyType::kObject: return v.is_object();
    case KeyType::kArray: return v.is_array();
    case KeyType::kString: return v.is_string();
    case KeyType::kNullableString: return v.is_string() || v.is_null();
    case KeyType::kStrings: return IsStrings(v);
    case KeyType::kStringOrStrings: return v.is_string() || IsStrings(v);
    case KeyType::kStringOrObject: return v.is_string() || v.is_object();
    case KeyType::kScalar: return !v.is_array() && !v.is_object();
    case KeyType::kBoolean: return v.is_boolean();
    case KeyType::kInteger: return v.is_number_integer();
    case KeyType::kNumber: return v.is_number();
  }
  return false;
}

std::string DescribeJsonType(const json& v) {
  if (v.is_array() && !v.empty() && IsStrings(v)) return "an array of strings";
  return JsonTypeName(v);
}

std::string_view KeyName(std::string_view pointer) {
  const auto slash = pointer.rfind('/');
  return slash == std::string_view::npos ? pointer : pointer.substr(slash + 1);
}

std::string_view ParentPointer(std::string_view pointer) {
  const auto slash = pointer.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : pointer.substr(0, slash);
}

const KeySpec* FindKey(std::span<const KeySpec> table, std::string_view pointer) {
  for (const KeySpec& k : table) {
    if (k.pointer == pointer) return &k;
  }
  return nullptr;
}

bool HasDeclaredMembers(std::span<const KeySpec> table, std::string_view pointer) {
  return std::any_of(table.begin(), table.end(), [&](const KeySpec& k) { return ParentPointer(k.pointer) == pointer; });
}

std::string JoinChoices(std::span<const std::string_view> words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

std::string DescribeConstraints(const KeySpec& key) {
  if (!key.allowed.empty()) return JoinChoices(key.allowed);
  if (key.min && key.max) return FormatNumber(*key.min) + " to " + FormatNumber(*key.max);
  if (key.min) return "at least " + FormatNumber(*key.min);
  if (key.max) return "at most " + FormatNumber(*key.max);
  return "";
}

std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates) {
  return DidYouMean(word, std::vector<std::string>(candidates.begin(), candidates.end()));
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string guess = ClosestMatch(std::string(word), candidates);
  return guess.empty() ? "" : "; did you mean " + Quote(guess) + "?";
}

json CheckKeys(const json& object, const std::string& pointer, std::span<const KeySpec> table,
               const KeyProblem& report) {
  json good;
  CheckShape(object, pointer, "", table, report, good);
  for (const KeySpec& k : table) {
    const json::json_pointer at{std::string(k.pointer)};
    if (!good.contains(at)) continue;
    const json& value = good.at(at);
    const std::string abs = pointer + std::string(k.pointer);
    if (std::string problem = ConstraintProblem(k, value); !problem.empty()) {
      report(abs, problem);
      good.at(at.parent_pointer()).erase(std::string(KeyName(k.pointer)));
      continue;
    }
    if (k.check == nullptr) continue;
    if (value.is_string()) {
      if (std::string problem = k.check(value.get<std::string>()); !problem.empty()) report(abs, problem);
    } else if (value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string()) continue;
        if (std::string problem = k.check(value[i].get<std::string>()); !problem.empty()) {
          report(AppendPointer(abs, i), problem);
        }
      }
    }
  }
  return good;
}

}  // namespace crmsync
