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

// execve's argv and envp: `argv`, and the current environment with the
// `env` entries ("NAME=value") added or overriding. Owns the strings the
// pointers point into, so it is neither copied nor moved.
class ExecVectors {
 public:
  ExecVectors(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  ExecVectors(const ExecVectors&) = delete;
  ExecVectors& operator=(const ExecVectors&) = delete;
  char* const* argv() const { return argp_.data(); }
  char* const* envp() const { return envp_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<std::string> env_;
  std::vector<char*> argp_;
  std::vector<char*> envp_;
};

// `env` entries ("NAME=value") are added to (or override) the current environment.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                         const std::vector<std::string>& env = {});

}  // namespace crmsync::testing_support
