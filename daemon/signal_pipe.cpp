#include "daemon/signal_pipe.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>

namespace crmsync::daemon {

namespace {

constexpr int kSignals[] = {SIGTERM, SIGINT, SIGHUP};

// The handler's only state: trivially destructible, lock-free.
std::atomic<int> g_write_fd{-1};

extern "C" void OnSignal(int signo) {
  const int saved = errno;
  const int fd = g_write_fd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    const auto byte = static_cast<unsigned char>(signo);
    // Full pipe (thousands of pending signals): dropping one more is fine,
    // the main loop has plenty to act on already.
    (void)!write(fd, &byte, 1);
  }
  errno = saved;
}

}  // namespace

Result<std::unique_ptr<SignalPipe>> SignalPipe::Install() {
  if (g_write_fd.load() >= 0) return Internal("signal handlers are installed already");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return IoError(std::string("pipe2: ") + std::strerror(errno));
  std::unique_ptr<SignalPipe> pipe(new SignalPipe(fds[0], fds[1]));
  g_write_fd.store(fds[1]);
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int signo : kSignals) {
    if (sigaction(signo, &action, nullptr) != 0) return IoError(std::string("sigaction: ") + std::strerror(errno));
  }
  return pipe;
}

SignalPipe::~SignalPipe() {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (int signo : kSignals) (void)sigaction(signo, &action, nullptr);
  g_write_fd.store(-1);
  close(read_fd_);
  close(write_fd_);
}

std::vector<int> SignalPipe::Drain() {
  std::vector<int> out;
  unsigned char buf[64];
  for (;;) {
    const ssize_t n = read(read_fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t i = 0; i < n; ++i) out.push_back(buf[i]);
  }
  return out;
}

}  // namespace crmsync::daemon
