// Diagnostic: one problem found in an admin-edited file (config, mapping),
// printed as "FILE:LINE: PATH: message" so editors and people can jump to it.
// Validators collect every problem rather than stopping at the first.
#pragma once

#include <string>
#include <vector>

namespace crmsync {

struct Diagnostic {
  std::string file;
  int line = 0;      // 1-based; 0 when the problem is about the file as a whole
  std::string path;  // JSON path such as "dataverse.url" or "fields[2].lookup"; may be empty
  std::string message;

  std::string ToString() const;
};

using Diagnostics = std::vector<Diagnostic>;

// The closest of `candidates` to `word` (edit distance at most 2, or a
// case-insensitive match), or "" when none is close: for "did you mean".
std::string ClosestMatch(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace crmsync
