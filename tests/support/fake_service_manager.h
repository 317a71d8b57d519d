// FakeServiceManager: systemd's end of the notify protocol for tests. Binds
// an AF_UNIX datagram socket in a temporary folder; a child started with
// NOTIFY_SOCKET=socket_path() sends it READY=1, STATUS=..., WATCHDOG=1,
// STOPPING=1 as systemd would receive them.
//
// Thread-safety: one thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace crmsync::testing_support {

class FakeServiceManager {
 public:
  // Binds `dir`/notify.sock; aborts the test binary if it cannot (a broken test machine).
  explicit FakeServiceManager(const std::string& dir);
  ~FakeServiceManager();
  FakeServiceManager(const FakeServiceManager&) = delete;
  FakeServiceManager& operator=(const FakeServiceManager&) = delete;

  const std::string& socket_path() const { return path_; }
  // "NOTIFY_SOCKET=..." for the child's environment.
  std::string EnvEntry() const { return "NOTIFY_SOCKET=" + path_; }

  // Waits until an assignment line (such as "READY=1", or one starting with
  // "STATUS=Idle") has arrived, counting those received earlier; false at the deadline.
  bool WaitFor(const std::string& line_prefix, std::chrono::milliseconds timeout);
  // How many received lines start with `line_prefix` (after reading what is queued).
  int Count(const std::string& line_prefix);
  // Every line received so far, in order.
  const std::vector<std::string>& lines();
  // The lines joined by newlines, for failure messages.
  std::string Transcript();

 private:
  // Reads queued datagrams, waiting up to `wait` for the first.
  void Receive(std::chrono::milliseconds wait);

  std::string path_;
  int fd_ = -1;
  std::vector<std::string> lines_;
};

}  // namespace crmsync::testing_support
