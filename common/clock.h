// Clock: the injected source of time, so tests control it.
//
// Wall time (Now) is for timestamps and newest_wins tie-breaks only; change
// detection never compares wall clocks (design.md R5). Steady time drives
// deadlines and backoff. SleepFor is the only way the product waits: it
// returns early when the stop token fires, so shutdown never waits out a
// backoff.
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <chrono>
#include <stop_token>

namespace crmsync {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  virtual std::chrono::steady_clock::time_point SteadyNow() const = 0;
  // Waits `duration`; returns false if `stop` was requested first.
  virtual bool SleepFor(std::chrono::milliseconds duration, const std::stop_token& stop) = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override;
  std::chrono::steady_clock::time_point SteadyNow() const override;
  bool SleepFor(std::chrono::milliseconds duration, const std::stop_token& stop) override;
};

}  // namespace crmsync
