// KeySpec tables: the one way crmsync declares the keys of an admin-edited
// JSON file (the config, mapping files) and checks a document against them
// (style.md lesson 6: every key has a type, a default and one line of help).
//
// A table is a constexpr array of KeySpec. Each key is named by its JSON
// pointer relative to the object the table describes ("/dataverse/url",
// "/local/table"; "/name" for a top-level member). An object key that has
// keys of its own below it in the table is checked member by member; one
// without is free-form (a value map, a filter), left to the caller.
//
// CheckKeys reports every problem, never only the first, through a callback
// that turns a pointer into a Diagnostic (FILE:LINE: PATH: message), so each
// file type keeps its own way of naming paths. Problems come in two rounds:
// first the shape, in the order the members stand (unknown keys with a
// did-you-mean, wrong types, missing required keys, each object after its
// members); then the values, in table order (empty where not allowed, not one
// of the allowed words, out of range, and each key's own string check).
//
// Thread-safety: pure functions over immutable tables.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace crmsync {

// The JSON shape a key accepts.
enum class KeyType {
  kObject,
  kArray,
  kString,
  kNullableString,   // a string or null
  kStrings,          // ["a", "b"]
  kStringOrStrings,  // "a" or ["a", "b"]
  kStringOrObject,
  kScalar,  // string, number, boolean or null
  kBoolean,
  kInteger,
  kNumber,
};

// A check of a string value beyond its type (an identifier, a URL): "" when
// the value is fine, else the message ("must be ..., not 'x'"). For a key
// holding several strings it is applied to each and reported at the element.
using StringCheck = std::string (*)(std::string_view value);

struct KeySpec {
  std::string_view pointer = {};  // relative to the table's object: "/dataverse/url"
  KeyType type = KeyType::kString;
  bool required = false;
  // The default as JSON text, as a commented config writes it ("8",
  // "\"info\"", "null", "{}"); "" when the key has none (required keys, or
  // keys whose absence means something of its own).
  std::string_view default_json = {};
  std::string_view help = {};  // one line, for people

  // Value constraints, checked once the type is right.
  bool non_empty = false;                          // strings and arrays: "must not be empty"
  std::span<const std::string_view> allowed = {};  // strings: one of these words
  std::optional<double> min = {};                  // numbers
  std::optional<double> max = {};
  StringCheck check = nullptr;
};

// "a string", "an array of strings", "true or false": what "must be X" says.
std::string_view KeyTypeName(KeyType type);
bool KeyTypeMatches(KeyType type, const nlohmann::json& value);

// JsonTypeName, but "an array of strings" for a non-empty array holding only
// strings: for "must be X, not Y" messages.
std::string DescribeJsonType(const nlohmann::json& value);

// The last reference token of a pointer: "/dataverse/url" -> "url".
std::string_view KeyName(std::string_view pointer);
// Everything before it: "/dataverse/url" -> "/dataverse"; "/url" -> "".
std::string_view ParentPointer(std::string_view pointer);

const KeySpec* FindKey(std::span<const KeySpec> table, std::string_view pointer);
// Whether the table declares keys below `pointer` (it is not free-form).
bool HasDeclaredMembers(std::span<const KeySpec> table, std::string_view pointer);

// "trace, debug, info, warn, error or off".
std::string JoinChoices(std::span<const std::string_view> words);
// What a key's constraints allow, for help texts: "1 to 5000", "at least 0",
// "PS256 or RS256"; "" when it has none.
std::string DescribeConstraints(const KeySpec& key);
// "; did you mean 'x'?" when a candidate is close to `word`, else "".
std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates);
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

// Receives one problem: the (absolute) JSON pointer of the value it is about
// and the message.
using KeyProblem = std::function<void(const std::string& pointer, const std::string& message)>;

// Checks `object`, the value at `pointer` in its document, against `table`
// and reports each problem. Returns a copy of `object` that holds only the
// members whose type is right and whose value passed the constraints (empty,
// allowed words, range), recursively, so later checks can read it without
// testing types again. A value that only fails its StringCheck stays in: its
// shape is right, and the checks that count or compare values need it.
nlohmann::json CheckKeys(const nlohmann::json& object, const std::string& pointer, std::span<const KeySpec> table,
                         const KeyProblem& report);

}  // namespace crmsync
