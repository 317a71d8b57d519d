#include "tests/support/fake_service_manager.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace crmsync::testing_support {

FakeServiceManager::FakeServiceManager(const std::string& dir) : path_(dir + "/notify.sock") {
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (fd_ < 0 || path_.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "FakeServiceManager: no socket at %s\n", path_.c_str());
    std::abort();
  }
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  if (bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "FakeServiceManager: bind %s: %s\n", path_.c_str(), std::strerror(errno));
    std::abort();
  }
}

FakeServiceManager::~FakeServiceManager() {
  close(fd_);
  unlink(path_.c_str());
}

void FakeServiceManager::Receive(std::chrono::milliseconds wait) {
  pollfd p = {fd_, POLLIN, 0};
  int timeout = static_cast<int>(wait.count());
  while (poll(&p, 1, timeout) > 0) {
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    std::istringstream in(std::string(buf, static_cast<std::size_t>(n)));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines_.push_back(line);
    }
    timeout = 0;  // then only what is queued already
  }
}

bool FakeServiceManager::WaitFor(const std::string& line_prefix, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (Count(line_prefix) > 0) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    Receive(left);
  }
}

int FakeServiceManager::Count(const std::string& line_prefix) {
  Receive(std::chrono::milliseconds(0));
  int n = 0;
  for (const auto& l : lines_) n += l.rfind(line_prefix, 0) == 0 ? 1 : 0;
  return n;
}

const std::vector<std::string>& FakeServiceManager::lines() {
  Receive(std::chrono::milliseconds(0));
  return lines_;
}

std::string FakeServiceManager::Transcript() {
  std::string out;
  for (const auto& l : lines()) out += l + "\n";
  return out;
}

}  // namespace crmsync::testing_support
