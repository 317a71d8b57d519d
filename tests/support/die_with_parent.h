// ForkDyingWithParent: fork(), with the child set to be killed when the
// test process dies (a crash, ctest's SIGKILL at its timeout), so that it
// takes the servers and daemons it started with it, instead of leaving them
// running with their ports, files and CPU.
//
// PR_SET_PDEATHSIG fires when the thread that forked ends, not the process:
// fork from a thread that lives as long as the child (every caller forks
// from the test's own thread). It survives execve.
// Thread-safety: what the child does before returning is async-signal-safe
// (two system calls), as a forked child of a threaded process needs.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace crmsync::testing_support {

// fork()'s result: the child's pid in the parent, 0 in the child, -1 on failure.
inline pid_t ForkDyingWithParent() {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);  // the parent died before prctl took effect
  }
  return pid;
}

}  // namespace crmsync::testing_support
