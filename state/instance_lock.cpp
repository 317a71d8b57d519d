#include "state/instance_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace crmsync::state {

Result<InstanceLock> InstanceLock::Acquire(const std::string& state_database) {
  const std::string path = state_database + ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot open lock file '" + path + "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) {
      for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) holder += buf[i];
    }
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status(StatusCode::kBusy, "state store '" + state_database + "' is in use by crmsync process " +
                                           (holder.empty() ? std::string("(unknown pid)") : holder) +
                                           "; only one crmsync may sync with it at a time");
    }
    return IoError("cannot lock '" + path + "': " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::close(fd);
    return IoError("cannot write lock file '" + path + "': " + std::strerror(err));
  }
  return InstanceLock(fd, path);
}

std::optional<int> InstanceLock::Holder(const std::string& state_database) {
  const std::string path = state_database + ".lock";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[32] = {};
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  int pid = 0;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid = pid * 10 + (buf[i] - '0');
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return std::nullopt;
  return pid;
}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) {
    // Leave the file (another process may already wait on it); just release.
    (void)::ftruncate(fd_, 0);
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

}  // namespace crmsync::state
