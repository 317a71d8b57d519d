#include "tests/emulator/emulator_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "tests/support/die_with_parent.h"

namespace crmsync::emulator::testing {

std::string EmulatorBinaryPath() {
#ifdef CRMSYNC_DATAVERSE_EMULATOR_PATH
  return CRMSYNC_DATAVERSE_EMULATOR_PATH;
#else
  return "dataverse-emulator";
#endif
}

std::unique_ptr<EmulatorProcess> EmulatorProcess::Start(const std::vector<std::string>& args, std::string* error,
                                                        std::chrono::milliseconds timeout, const std::string& binary) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    if (error != nullptr) *error = std::string("pipe: ") + std::strerror(errno);
    return nullptr;
  }
  std::vector<std::string> storage;
  storage.push_back(binary);
  for (const auto& a : args) storage.push_back(a);
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t pid = testing_support::ForkDyingWithParent();
  if (pid < 0) {
    if (error != nullptr) *error = std::string("fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return nullptr;
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    // Unblock signals the parent may have blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::unique_ptr<EmulatorProcess> p(new EmulatorProcess());
  p->pid_ = pid;
  p->stdout_fd_ = fds[0];
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (line.find('\n') == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      if (error != nullptr) *error = "the emulator did not print its URL within the timeout";
      return nullptr;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int r = poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[256];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) {
      if (error != nullptr) *error = "the emulator exited before printing its URL";
      return nullptr;
    }
    line.append(buf, static_cast<std::size_t>(n));
  }
  line.resize(line.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  p->base_url_ = line;
  return p;
}

int EmulatorProcess::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

EmulatorProcess::~EmulatorProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

}  // namespace crmsync::emulator::testing
