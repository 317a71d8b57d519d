// The broken mapping files of tests/mapping/broken: each case is NAME.json
// or a folder NAME/ of files validated as one set, with NAME.expected holding
// the exact lines `crmsync mapping validate` prints, file names relative to
// the broken folder. Every case is validated against a local store with the
// default schema (tests/mapping/local_schema.sql).
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/mapping/mapping_test_util.h"

namespace crmsync::mapping::testing {

struct BrokenCase {
  std::string name;
  std::vector<std::string> files;  // relative to BrokenDir()
  std::vector<std::string> expected;
};

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

inline std::vector<BrokenCase> BrokenCases() {
  namespace fs = std::filesystem;
  std::vector<BrokenCase> cases;
  for (const auto& entry : fs::directory_iterator(BrokenDir())) {
    const fs::path p = entry.path();
    BrokenCase c;
    if (entry.is_directory()) {
      c.name = p.filename().string();
      for (const auto& inner : fs::directory_iterator(p)) {
        if (inner.path().extension() == ".json") c.files.push_back(c.name + "/" + inner.path().filename().string());
      }
      std::sort(c.files.begin(), c.files.end());
    } else if (p.extension() == ".json") {
      c.name = p.stem().string();
      c.files.push_back(p.filename().string());
    } else {
      continue;
    }
    c.expected = Lines(ReadText(BrokenDir() + "/" + c.name + ".expected"));
    cases.push_back(std::move(c));
  }
  std::sort(cases.begin(), cases.end(), [](const BrokenCase& a, const BrokenCase& b) { return a.name < b.name; });
  return cases;
}

}  // namespace crmsync::mapping::testing
