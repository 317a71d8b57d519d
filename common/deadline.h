// Deadline: a point on a Clock's steady time after which an operation gives
// up. Passed down by value through every blocking call (HTTP sends, retries,
// waits for a request slot).
//
// A Deadline reads time from the Clock it was made with (common/clock.h), so
// a test's FakeClock drives expiry without waiting; Never() needs no clock.
// The clock is borrowed: it must outlive every Deadline made from it (the
// composition root owns one clock for the whole process).
//
// Thread-safety: a value type; reading it calls the clock, which is thread-safe.
#pragma once

#include <algorithm>
#include <chrono>

#include "common/clock.h"

namespace crmsync {

class Deadline {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  static Deadline Never() { return Deadline(nullptr, TimePoint::max()); }
  static Deadline At(const Clock& clock, TimePoint when) { return Deadline(&clock, when); }
  template <typename Rep, typename Period>
  static Deadline After(const Clock& clock, std::chrono::duration<Rep, Period> d) {
    return Deadline(&clock, clock.SteadyNow() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(d));
  }

  TimePoint when() const { return when_; }
  bool is_never() const { return clock_ == nullptr; }
  // The clock this deadline reads; null for Never().
  const Clock* clock() const { return clock_; }
  bool Expired() const { return !is_never() && clock_->SteadyNow() >= when_; }
  // Time left, zero when expired; a very large value for Never().
  std::chrono::milliseconds Remaining() const {
    if (is_never()) return std::chrono::hours(24 * 365);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when_ - clock_->SteadyNow());
    return std::max(left, std::chrono::milliseconds(0));
  }
  // The earlier of two deadlines (Never() is later than any other).
  static Deadline Earliest(Deadline a, Deadline b) {
    if (a.is_never()) return b;
    if (b.is_never()) return a;
    return a.when_ < b.when_ ? a : b;
  }

 private:
  Deadline(const Clock* clock, TimePoint when) : clock_(clock), when_(when) {}
  const Clock* clock_;
  TimePoint when_;
};

}  // namespace crmsync
