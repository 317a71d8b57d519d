// Reading admin-edited JSON files (config, mappings): comments allowed,
// errors that point at a line.
//
// nlohmann/json keeps no source positions, so JsonLineIndex scans the text
// once and remembers the line of every member key and array element, keyed
// by JSON pointer ("/fields/2/lookup"). Validation code looks lines up by the
// pointer of the value it complains about.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/diagnostic.h"
#include "common/status.h"

namespace crmsync {

// Parses JSON with // and /* */ comments into `out`. On a syntax error the
// Status message is "LINE: message" (1-based line) and `*error_line` is set.
Status ParseJsonText(std::string_view text, nlohmann::json& out, int* error_line = nullptr);

// The same for an admin-edited file: on a syntax error, the Diagnostic
// ("FILE:LINE: invalid JSON: ..."), ready to report with the others.
std::optional<Diagnostic> ParseJsonFile(const std::string& file, std::string_view text, nlohmann::json& out);

class JsonLineIndex {
 public:
  // Scans `text` (assumed to be valid JSON with comments; on malformed text
  // the index is partial, never wrong for what it holds).
  static JsonLineIndex Build(std::string_view text);

  // Line of the member or element at `pointer`; for an unknown pointer the
  // line of its nearest known ancestor; 1 for the root.
  int LineOf(std::string_view pointer) const;

 private:
  std::map<std::string, int, std::less<>> lines_;
};

// "/fields/2/lookup" -> "fields[2].lookup"; "" -> "$" (the whole document).
std::string PointerToPath(std::string_view pointer);

// "an integer", "a number", "a string", "a boolean", "null", "an array",
// "an object": for "must be X, not Y" messages.
std::string JsonTypeName(const nlohmann::json& value);

// Appends one reference token to a JSON pointer, escaping '~' and '/'.
std::string AppendPointer(std::string_view pointer, std::string_view token);
std::string AppendPointer(std::string_view pointer, std::size_t index);

}  // namespace crmsync
