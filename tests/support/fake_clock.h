// FakeClock: time that moves only when told to (or when code sleeps on it),
// so retry and expiry logic is tested without waiting.
#pragma once

#include <atomic>
#include <mutex>
#include <vector>

#include "common/clock.h"

namespace crmsync::testing_support {

class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    std::lock_guard lock(mutex_);
    return wall_;
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    std::lock_guard lock(mutex_);
    return steady_;
  }
  bool SleepFor(std::chrono::milliseconds d, const std::stop_token& stop) override {
    if (stop.stop_requested()) return false;
    std::lock_guard lock(mutex_);
    sleeps_.push_back(d);
    wall_ += d;
    steady_ += d;
    return true;
  }
  void Advance(std::chrono::milliseconds d) {
    std::lock_guard lock(mutex_);
    wall_ += d;
    steady_ += d;
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  mutable std::mutex mutex_;
  std::chrono::system_clock::time_point wall_ = std::chrono::system_clock::time_point(std::chrono::seconds(1764000000));
  std::chrono::steady_clock::time_point steady_ = std::chrono::steady_clock::time_point(std::chrono::hours(1000));
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace crmsync::testing_support
