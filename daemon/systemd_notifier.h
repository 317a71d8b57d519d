// SystemdNotifier: the daemon's side of systemd's notify protocol
// (sd_notify(3), Type=notify): READY=1, STATUS=, WATCHDOG=1, STOPPING=1.
//
// Without NOTIFY_SOCKET (not started by systemd) every call does nothing,
// so `crmsync run` works the same in a terminal. The watchdog is on when
// systemd set WATCHDOG_USEC (and WATCHDOG_PID is unset or ours); the daemon
// pings at half that interval, from its main loop only.
//
// STATUS= texts are sent only when they change, so a status line costs
// nothing while the daemon stays idle. Every notification is sent without
// waiting: a manager that falls behind (ten unread datagrams fill a Unix
// socket's queue by default, net.unix.max_dgram_qlen) loses a message,
// which it notices on its own (a late READY=1, a missed ping), and never
// stalls the main loop or the shutdown.
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
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

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
  void Send(const std::string& message);        // sd_notify: waits while the socket's queue is full
  void SendOrDrop(const std::string& message);  // the same datagram, dropped when it would wait (Send for
                                                // an address form only libsystemd knows)

  std::optional<std::chrono::microseconds> watchdog_;
  std::string last_status_;
  bool warned_ = false;  // a failed notification was logged
  int socket_ = -1;      // SendOrDrop's, opened at its first use
};

}  // namespace crmsync::daemon
