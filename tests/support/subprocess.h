// RunProcess: runs a program to completion, feeding stdin and capturing
// stdout and stderr, for tests that exercise the real binaries.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace crmsync::testing_support {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal (then `signal` is set)
  int signal = 0;
  std::string out;
  std::string err;
};

// `env` entries ("NAME=value") are added to (or override) the current environment.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                         const std::vector<std::string>& env = {});

}  // namespace crmsync::testing_support
