// Deadline: a point on the steady clock after which an operation gives up.
// Passed down by value through every blocking call (HTTP sends, retries).
#pragma once

#include <algorithm>
#include <chrono>

namespace crmsync {

class Deadline {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  static Deadline Never() { return Deadline(TimePoint::max()); }
  static Deadline At(TimePoint when) { return Deadline(when); }
  template <typename Rep, typename Period>
  static Deadline After(std::chrono::duration<Rep, Period> d) {
    return Deadline(std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(d));
  }

  TimePoint when() const { return when_; }
  bool is_never() const { return when_ == TimePoint::max(); }
  bool Expired() const { return !is_never() && std::chrono::steady_clock::now() >= when_; }
  // Time left, zero when expired; a very large value for Never().
  std::chrono::milliseconds Remaining() const {
    if (is_never()) return std::chrono::hours(24 * 365);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when_ - std::chrono::steady_clock::now());
    return std::max(left, std::chrono::milliseconds(0));
  }
  // The earlier of two deadlines.
  static Deadline Earliest(Deadline a, Deadline b) { return a.when_ < b.when_ ? a : b; }

 private:
  explicit Deadline(TimePoint when) : when_(when) {}
  TimePoint when_;
};

}  // namespace crmsync
