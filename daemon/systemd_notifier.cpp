#include "daemon/systemd_notifier.h"

#include <systemd/sd-daemon.h>

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
  Send("READY=1\nSTATUS=" + last_status_);
}

void SystemdNotifier::Status(const std::string& status) {
  std::string line = OneLine(status);
  if (line == last_status_) return;
  last_status_ = std::move(line);
  Send("STATUS=" + last_status_);
}

void SystemdNotifier::Watchdog() {
  Send("WATCHDOG=1");
}

void SystemdNotifier::Stopping(const std::string& status) {
  last_status_ = OneLine(status);
  Send("STOPPING=1\nSTATUS=" + last_status_);
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

}  // namespace crmsync::daemon
