// SystemdNotifier: the daemon's side of systemd's notify protocol
// (sd_notify(3), Type=notify): READY=1, STATUS=, WATCHDOG=1, STOPPING=1.
//
// Without NOTIFY_SOCKET (not started by systemd) every call does nothing,
// so `crmsync run` works the same in a terminal. The watchdog is on when
// systemd set WATCHDOG_USEC (and WATCHDOG_PID is unset or ours); the daemon
// pings at half that interval, from its main loop only.
//
// STATUS= texts are sent only when they change, so a status line costs
// nothing while the daemon stays idle. sd_notify sends on a blocking datagram
// socket: a manager that stops reading (systemd never does; a test harness
// might) eventually blocks the main loop, watchdog pings included.
//
// Thread-safety: not thread-safe; the runner's main loop owns it.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace crmsync::daemon {

class SystemdNotifier {
 public:
  // Reads WATCHDOG_USEC/WATCHDOG_PID once.
  SystemdNotifier();

  // READY=1 with a STATUS= line.
  void Ready(const std::string& status);
  // STATUS=, unless it is the text sent last.
  void Status(const std::string& status);
  void Watchdog();
  // STOPPING=1 with a STATUS= line.
  void Stopping(const std::string& status);

  // The interval systemd expects pings within; nullopt when the watchdog is off.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }
  const std::string& last_status() const { return last_status_; }

 private:
  void Send(const std::string& message);

  std::optional<std::chrono::microseconds> watchdog_;
  std::string last_status_;
  bool warned_ = false;  // a failed notification was logged
};

}  // namespace crmsync::daemon
