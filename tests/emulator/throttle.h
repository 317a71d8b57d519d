// Throttle: Dataverse's service protection limits per user (dataverse-web-api.md
// section 8.2): requests and combined execution time in sliding windows, and
// concurrent requests. Defaults are Dataverse's numbers; tests scale them down.
//
// Thread-safe (one mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace crmsync::emulator {

struct ThrottleLimits {
  int requests = 6000;  // per window
  int request_window_s = 300;
  std::int64_t execution_ms = 1200000;  // per window
  int execution_window_s = 300;
  int concurrency = 52;
  int dop_hint = 4;  // x-ms-dop-hint
};

class Throttle {
 public:
  explicit Throttle(ThrottleLimits limits) : limits_(limits) {}

  struct Decision {
    bool allowed = true;
    std::string code;  // 0x80072322 / 0x80072321 / 0x80072326 when refused
    std::string message;
    int retry_after_s = 0;
    int remaining_requests = 0;
    std::int64_t remaining_ms = 0;
  };

  // Admits one request of `user`; an admitted request must be followed by Finish().
  Decision Admit(const std::string& user);
  // Ends an admitted request; `execution` counts toward the execution-time window.
  void Finish(const std::string& user, std::chrono::milliseconds execution);

  void SetLimits(const ThrottleLimits& limits);
  ThrottleLimits limits() const;
  void Reset();  // forgets all windows (in-flight counts stay)
  // Per user: {"<user>":{"in_flight":N,"requests_in_window":N,"execution_ms_in_window":N}}.
  nlohmann::json Snapshot();

 private:
  struct UserState {
    std::deque<std::chrono::steady_clock::time_point> requests;
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::int64_t>> executions;
    std::int64_t execution_sum = 0;
    int in_flight = 0;
  };
  void Expire(UserState& s, std::chrono::steady_clock::time_point now) const;

  mutable std::mutex mu_;
  ThrottleLimits limits_;
  std::map<std::string, UserState> users_;
};

}  // namespace crmsync::emulator
