// RequestBudget: how hard crmsync presses one Dataverse organisation, shared
// by every worker that talks to it (design.md section 5).
//
// - Parallelism: requests in flight never exceed the current limit, which
//   starts low, jumps to x-ms-dop-hint when the first answer carries it
//   (Microsoft: run up to that many in parallel), grows by one after a round
//   of successes, halves on a 429, and never exceeds min(configured cap,
//   x-ms-dop-hint).
// - One throttling, one decrease: the requests in flight when a 429 comes
//   back were sent at the same pressure, so their 429s (and successes) say
//   nothing new. Each Permit remembers the budget's epoch when it was taken;
//   only a 429 of a request sent since the last decrease shrinks the budget
//   again, and only the successes of such requests make it grow. Every 429
//   still extends the pause to its Retry-After.
// - Pauses: a 429's Retry-After pauses every worker, not just the one that
//   was throttled (continuing to send while throttled lengthens the wait).
// - Batch size: starts at Microsoft's suggested 10, doubles after a round of
//   successes up to the cap, halves when the execution-time limit trips.
//   When the request-count limit trips, fewer requests per record is the
//   remedy (a $batch counts as one request, dataverse-web-api.md 8.2): the
//   cap rises to request_limited_max_batch_size and the batch size doubles.
//
// Time: every pause, deadline and wait is in the injected Clock's time. A
// pause is waited out with Clock::SleepFor (a test's FakeClock moves on
// instead of waiting); a wait for a free slot is woken by the release, and
// its deadline is read on the deadline's own clock (deadline_wait.h).
//
// Ownership: borrows the clock, which must outlive the budget.
// Thread-safety: all members are safe from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string_view>

#include "common/clock.h"
#include "common/deadline.h"
#include "common/result.h"

namespace crmsync::dataverse {

class RequestBudget {
 public:
  struct Options {
    int max_parallelism = 8;
    int initial_parallelism = 2;
    int initial_batch_size = 10;
    int max_batch_size = 200;
    // The cap once the request-count limit tripped (each such 429 also
    // doubles the batch size); 0 = keep max_batch_size and the batch size.
    int request_limited_max_batch_size = 0;
  };

  struct Stats {
    std::int64_t requests = 0;
    std::int64_t throttled = 0;  // 429s seen
    std::int64_t transient_failures = 0;
    int parallelism = 0;
    int parallelism_cap = 0;
    int batch_size = 0;
  };

  RequestBudget(Options options, Clock& clock);

  // A slot for one request; released when destroyed.
  class Permit {
   public:
    Permit(Permit&& other) noexcept : budget_(other.budget_), epoch_(other.epoch_) { other.budget_ = nullptr; }
    Permit& operator=(Permit&&) = delete;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit();

   private:
    friend class RequestBudget;
    Permit(RequestBudget* budget, std::uint64_t epoch) : budget_(budget), epoch_(epoch) {}
    RequestBudget* budget_;
    std::uint64_t epoch_;  // the budget's decreases before this request was sent
  };

  // Waits for a free slot outside any pause. kTimeout at the deadline (at
  // once when a pause outlasts it: waiting would only delay the answer),
  // kCancelled when `stop` is requested.
  Result<Permit> Acquire(Deadline deadline, const std::stop_token& stop = {});

  // The answer to the request `permit` was taken for: a success grows the
  // budget after a round of them; a 429 pauses everyone for `retry_after` (or
  // a default) and shrinks the budget, once per throttling (see above).
  void RecordSuccess(const Permit& permit);
  void RecordThrottled(const Permit& permit, std::optional<std::chrono::milliseconds> retry_after,
                       std::string_view dataverse_code);
  // The same for a request sent just now (at the current pressure).
  void RecordSuccess();
  void RecordThrottled(std::optional<std::chrono::milliseconds> retry_after, std::string_view dataverse_code);
  void RecordTransientFailure();
  void RecordDopHint(int hint);

  int batch_size() const;
  int parallelism() const;
  Stats stats() const;

 private:
  void Release();
  // With mutex_ held.
  void SucceededLocked(std::uint64_t epoch);
  void ThrottledLocked(std::uint64_t epoch, std::optional<std::chrono::milliseconds> retry_after,
                       std::string_view dataverse_code);

  const Options options_;
  Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable_any cv_;
  int in_flight_ = 0;
  int limit_;
  int cap_;
  int batch_size_;
  int batch_cap_;
  int successes_in_round_ = 0;
  std::uint64_t generation_ = 0;                          // bumped whenever a waiter may now proceed
  std::uint64_t epoch_ = 0;                               // decreases so far (a Permit's epoch_)
  std::chrono::steady_clock::time_point paused_until_{};  // on clock_'s steady time
  Stats stats_;
  bool hint_seen_ = false;
};

}  // namespace crmsync::dataverse
