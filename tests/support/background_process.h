// BackgroundProcess: a child process that runs while the test goes on (a
// daemon), with stdout and stderr in a log file, signals, and a bounded wait
// for its exit. The child gets WATCHDOG_PID set to its own pid when asked,
// which only the child can know before exec.
//
// Owns the child: the destructor kills it (SIGKILL) if it still runs.
// Thread-safety: one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace crmsync::testing_support {

class BackgroundProcess {
 public:
  // Starts argv[0] (a path) with `env` entries added; output goes to `log_path`.
  BackgroundProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env, std::string log_path,
                    bool set_watchdog_pid = false);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signo) const;
  // The exit code (128+N when killed by signal N), or nullopt if it still
  // runs at the deadline.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  bool Running();
  // The log so far.
  std::string Log() const;
  // Waits until the log contains `text`; false at the deadline or when the child exited.
  bool WaitForLog(const std::string& text, std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

}  // namespace crmsync::testing_support
