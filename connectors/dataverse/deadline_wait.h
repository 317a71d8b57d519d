// WaitUntil: waits on a condition variable for a predicate, a stop request or
// a Deadline, where the deadline is measured on the Clock it was made with
// (common/deadline.h), not on std::chrono::steady_clock.
//
// A real-time wait cannot observe an injected clock, so the wait is taken in
// slices of at most kDeadlineWaitSlice and the deadline is read again after
// each: with the system clock the last slice ends at the deadline; with a
// test's FakeClock a waiter notices an Advance() within one slice. Waking for
// the predicate is immediate (notify), never sliced.
//
// Thread-safety: the caller holds `lock` on entry; it is held again on return.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <stop_token>

#include "common/deadline.h"

namespace crmsync::dataverse {

inline constexpr std::chrono::milliseconds kDeadlineWaitSlice{50};

// Returns pred(): true when it holds, false when the deadline passed or a
// stop was requested first.
template <typename Lock, typename Predicate>
bool WaitUntil(std::condition_variable_any& cv, Lock& lock, const std::stop_token& stop, const Deadline& deadline,
               Predicate pred) {
  for (;;) {
    if (pred()) return true;
    if (stop.stop_requested() || deadline.Expired()) return false;
    if (deadline.is_never()) {
      cv.wait(lock, stop, pred);
      continue;
    }
    const auto slice = std::min<std::chrono::milliseconds>(deadline.Remaining(), kDeadlineWaitSlice);
    cv.wait_for(lock, stop, std::max(slice, std::chrono::milliseconds(1)), pred);
  }
}

}  // namespace crmsync::dataverse
