// SignalPipe: SIGTERM, SIGINT and SIGHUP turned into bytes on a pipe the
// runner's main loop polls (the self-pipe trick).
//
// The handler only write()s the signal number (async-signal-safe); all the
// work happens in the main loop. A handler rather than signalfd because
// signalfd needs the signals blocked in every thread, and cpprestsdk's pool
// threads exist before `run` is parsed.
//
// One SignalPipe per process; the destructor restores the default actions.
// Thread-safety: Drain() from one thread (the main loop).
#pragma once

#include <memory>
#include <vector>

#include "common/result.h"

namespace crmsync::daemon {

class SignalPipe {
 public:
  // Installs the handlers; kIo when the pipe or sigaction fails, kInternal
  // when another SignalPipe is installed.
  static Result<std::unique_ptr<SignalPipe>> Install();
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  // Readable when a signal arrived.
  int fd() const { return read_fd_; }
  // The signals that arrived since the last call, in order.
  std::vector<int> Drain();

 private:
  SignalPipe(int read_fd, int write_fd) : read_fd_(read_fd), write_fd_(write_fd) {}
  int read_fd_;
  int write_fd_;
};

}  // namespace crmsync::daemon
