// DieWithParent: called in a forked child before exec, so that a test
// process that dies (a crash, ctest's SIGKILL at its timeout) takes the
// servers and daemons it started with it, instead of leaving them running
// with their ports, files and CPU.
//
// PR_SET_PDEATHSIG fires when the thread that forked ends, not the process:
// fork from a thread that lives as long as the child (every caller forks
// from the test's own thread). It survives execve.
// Thread-safety: async-signal-safe (two system calls), for the forked child.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace crmsync::testing_support {

// `parent`: getpid() of the forking process, read before fork.
inline void DieWithParent(pid_t parent) {
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(126);  // the parent died before prctl took effect
}

}  // namespace crmsync::testing_support
