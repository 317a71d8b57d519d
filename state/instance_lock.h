// InstanceLock: one crmsync process per state store (design.md section 6).
//
// The lock is an exclusive flock(2) on "<state database>.lock", which also
// holds the holder's pid. The kernel releases it when the process ends, so
// a crash never leaves a stale lock. A second process gets kBusy naming the
// holder's pid (exit code 5 at the CLI).
//
// Ownership: the lock is held while the object lives. Not thread-safe.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace crmsync::state {

class InstanceLock {
 public:
  // kBusy "... is in use by crmsync process 1234" when another process holds it; kIo otherwise.
  static Result<InstanceLock> Acquire(const std::string& state_database);

  InstanceLock(InstanceLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }
  InstanceLock& operator=(InstanceLock&&) = delete;
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;
  ~InstanceLock();

  const std::string& path() const { return path_; }

  // The pid of the live process holding the store's lock, if any (read
  // from the lock file, checked with kill(pid, 0); never takes the lock).
  static std::optional<int> Holder(const std::string& state_database);

 private:
  InstanceLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

}  // namespace crmsync::state
