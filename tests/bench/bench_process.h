// Helpers of the benchmarks in tests/bench: run a program to completion
// and measure it as a whole process (wall time and CPU from wait4's
// rusage; peak RSS from the program's VmHWM, sampled while it runs, as
// ru_maxrss also counts the forked copy of the benchmark itself), and small
// statistics over repeated runs.
//
// Thread-safety: free functions; RunMeasured blocks the calling thread.
#pragma once

#include <string>
#include <vector>

namespace crmsync::bench {

struct Measured {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  double wall_s = 0;
  double user_s = 0;
  double sys_s = 0;
  long max_rss_kb = 0;  // the program's peak RSS (VmHWM after execve, sampled every ~2 ms)
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] a path) with `env` entries ("NAME=value") added to
// the environment and `stdin_text` on its stdin; stdout and stderr go to
// files under `scratch_dir` and are read back. Kills the child after
// `timeout_s` seconds (exit_code -1, signal SIGKILL).
Measured RunMeasured(const std::vector<std::string>& argv, const std::string& scratch_dir,
                     const std::vector<std::string>& env = {}, const std::string& stdin_text = "",
                     double timeout_s = 900);

// The median of `values` (the mean of the middle two for an even count); 0 when empty.
double Median(std::vector<double> values);

// The 1-minute load average, to say when the machine was busy.
double LoadAverage();

// argv joined with spaces, for printing the reproducing command.
std::string CommandLine(int argc, char** argv);

}  // namespace crmsync::bench
