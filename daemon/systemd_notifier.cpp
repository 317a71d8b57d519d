#include "daemon/systemd_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

namespace crmsync::daemon {

namespace {

// One line per STATUS=: a newline would start another assignment.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
  std::uint64_t usec = 0;
  // > 0: on for us; 0: off; < 0: unreadable environment, treated as off.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_ = std::chrono::microseconds(usec);
}

void SystemdNotifier::Ready(const std::string& status) {
  last_status_ = OneLine(status);
  SendOrDrop("READY=1\nSTATUS=" + last_status_);
}

void SystemdNotifier::Status(const std::string& status) {
  std::string line = OneLine(status);
  if (line == last_status_) return;
  last_status_ = std::move(line);
  SendOrDrop("STATUS=" + last_status_);
}

void SystemdNotifier::Watchdog() {
  SendOrDrop("WATCHDOG=1");
}

void SystemdNotifier::Stopping(const std::string& status) {
  last_status_ = OneLine(status);
  SendOrDrop("STOPPING=1\nSTATUS=" + last_status_);
}

void SystemdNotifier::Send(const std::string& message) {
  // A failed notification must not stop the sync: systemd notices what it
  // misses (a late READY=1 or watchdog ping) on its own, so log and go on.
  // Said once: a manager that went away would otherwise be reported at every STATUS= line.
  if (const int r = sd_notify(0, message.c_str()); r < 0 && !warned_) {
    spdlog::warn("sd_notify failed (error {}); systemd may not see this daemon's state", -r);
    warned_ = true;
  }
}

SystemdNotifier::~SystemdNotifier() {
  if (socket_ >= 0) ::close(socket_);
}

void SystemdNotifier::SendOrDrop(const std::string& message) {
  // sd_notify(3) has no non-blocking mode; the protocol is one datagram to
  // the socket NOTIFY_SOCKET names (a path, or '@' for the abstract namespace).
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::size_t length = std::strlen(path);
  if ((path[0] != '/' && path[0] != '@') || length >= sizeof address.sun_path) {
    Send(message);  // a form only libsystemd knows (vsock): its blocking send
    return;
  }
  std::memcpy(address.sun_path, path, length);
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';
  if (socket_ < 0) socket_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  const bool sent = socket_ >= 0 && ::sendto(socket_, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                                             reinterpret_cast<const sockaddr*>(&address), size) >= 0;
  if (!sent && !warned_) {
    spdlog::warn("systemd notification not sent ({}); systemd may not see this daemon's state", std::strerror(errno));
    warned_ = true;
  }
}

}  // namespace crmsync::daemon
