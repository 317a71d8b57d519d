#include "tests/bench/bench_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/die_with_parent.h"
#include "tests/support/subprocess.h"

namespace crmsync::bench {

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The peak resident set of process `pid` so far (VmHWM of /proc/PID/status), in KiB; 0 when unreadable.
long PeakRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

double Seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

}  // namespace

Measured RunMeasured(const std::vector<std::string>& argv, const std::string& scratch_dir,
                     const std::vector<std::string>& env, const std::string& stdin_text, double timeout_s) {
  static int serial = 0;
  const std::string base = scratch_dir + "/run" + std::to_string(++serial);
  const std::string in_path = base + ".in", out_path = base + ".out", err_path = base + ".err";
  std::ofstream(in_path, std::ios::binary) << stdin_text;

  const testing_support::ExecVectors exec(argv, env);

  // Closed by a successful execve: from then on /proc/PID/status describes
  // the program, not the forked copy of this process.
  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = testing_support::ForkDyingWithParent();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    close(exec_pipe[0]);
    const int in = open(in_path.c_str(), O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(exec.argv()[0], exec.argv(), exec.envp());
    _exit(127);
  }
  close(exec_pipe[1]);
  char byte = 0;
  while (read(exec_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  close(exec_pipe[0]);
  Measured m;
  int status = 0;
  rusage usage{};
  long peak_kb = 0;
  const auto limit = start + std::chrono::duration<double>(timeout_s);
  for (;;) {
    peak_kb = std::max(peak_kb, PeakRssKb(pid));
    const pid_t r = wait4(pid, &status, WNOHANG, &usage);
    if (r == pid) break;
    if (r < 0) throw std::runtime_error("wait4 failed");
    if (std::chrono::steady_clock::now() > limit) {
      kill(pid, SIGKILL);
      wait4(pid, &status, 0, &usage);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) {
    m.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    m.signal = WTERMSIG(status);
  }
  m.user_s = Seconds(usage.ru_utime);
  m.sys_s = Seconds(usage.ru_stime);
  // Not ru_maxrss: Linux carries the forked image's RSS (this process's)
  // across execve into it, so a big benchmark process inflates every child.
  m.max_rss_kb = peak_kb > 0 ? peak_kb : usage.ru_maxrss;
  m.out = Slurp(out_path);
  m.err = Slurp(err_path);
  std::remove(in_path.c_str());
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return m;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double LoadAverage() {
  double load[1] = {0};
  return getloadavg(load, 1) == 1 ? load[0] : -1;
}

std::string CommandLine(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    if (i > 0) s += ' ';
    s += argv[i];
  }
  return s;
}

}  // namespace crmsync::bench
