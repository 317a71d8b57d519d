// EmulatorProcess: runs the dataverse-emulator binary as a child process for
// tests that need the real executable (or a client test in another room that
// wants an emulator in its own process). Start() waits for the base URL line
// on the child's stdout; Terminate() sends SIGTERM and waits for the exit.
//
// Owns the child: the destructor kills it if it is still running.
// Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace crmsync::emulator::testing {

// Path of the binary built alongside the tests.
std::string EmulatorBinaryPath();

class EmulatorProcess {
 public:
  // Starts `binary` with `args` (e.g. {"--port","0","--client-id",...}); waits
  // up to `timeout` for the URL line. Null (with *error set) on failure.
  static std::unique_ptr<EmulatorProcess> Start(const std::vector<std::string>& args, std::string* error,
                                                std::chrono::milliseconds timeout = std::chrono::seconds(20),
                                                const std::string& binary = EmulatorBinaryPath());
  ~EmulatorProcess();
  EmulatorProcess(const EmulatorProcess&) = delete;
  EmulatorProcess& operator=(const EmulatorProcess&) = delete;

  const std::string& base_url() const { return base_url_; }
  pid_t pid() const { return pid_; }

  // Sends SIGTERM and waits up to `timeout`. Returns the exit status (0..255),
  // 128+signal if killed by a signal, or -1 if it did not exit in time (it is then killed).
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  EmulatorProcess() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string base_url_;
};

}  // namespace crmsync::emulator::testing
