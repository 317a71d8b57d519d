// RequestBudget on a FakeClock: pauses and deadlines move with the fake
// time, so nothing here waits in real time for a timer.
#include "connectors/dataverse/request_budget.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <vector>

#include "tests/support/fake_clock.h"

namespace crmsync::dataverse {
namespace {

using std::chrono::milliseconds;
using testing_support::FakeClock;

TEST(RequestBudgetTest, GrowsAfterRoundsOfSuccessUpToTheCap) {
  FakeClock clock;
  RequestBudget b({.max_parallelism = 4, .initial_parallelism = 1, .initial_batch_size = 10, .max_batch_size = 40},
                  clock);
  EXPECT_EQ(b.parallelism(), 1);
  EXPECT_EQ(b.batch_size(), 10);
  b.RecordSuccess();
  EXPECT_EQ(b.parallelism(), 2);
  EXPECT_EQ(b.batch_size(), 20);
  b.RecordSuccess();
  EXPECT_EQ(b.parallelism(), 2) << "a round at parallelism 2 is two successes";
  b.RecordSuccess();
  EXPECT_EQ(b.parallelism(), 3);
  for (int i = 0; i < 100; ++i) b.RecordSuccess();
  EXPECT_EQ(b.parallelism(), 4);
  EXPECT_EQ(b.batch_size(), 40);
}

TEST(RequestBudgetTest, TheFirstDopHintIsTakenAsTheParallelismAtOnce) {
  testing_support::FakeClock clock;
  RequestBudget b({.max_parallelism = 8, .initial_parallelism = 2, .initial_batch_size = 10, .max_batch_size = 200},
                  clock);
  b.RecordDopHint(4);
  EXPECT_EQ(b.parallelism(), 4) << "Microsoft: run up to x-ms-dop-hint requests in parallel";
  b.RecordThrottled(std::chrono::milliseconds(1), "0x80072322");
  b.RecordDopHint(4);
  EXPECT_EQ(b.parallelism(), 2) << "after a 429 the hint only caps";
}

TEST(RequestBudgetTest, ThrottlingHalvesAndDopHintCaps) {
  FakeClock clock;
  RequestBudget b({.max_parallelism = 8, .initial_parallelism = 8, .initial_batch_size = 40, .max_batch_size = 100},
                  clock);
  b.RecordThrottled(milliseconds(1), "0x80072322");
  EXPECT_EQ(b.parallelism(), 4);
  EXPECT_EQ(b.batch_size(), 40) << "a request-count 429 does not shrink batches";
  b.RecordThrottled(milliseconds(1), "0x80072321");
  EXPECT_EQ(b.parallelism(), 2);
  EXPECT_EQ(b.batch_size(), 20) << "an execution-time 429 does";
  b.RecordDopHint(1);
  EXPECT_EQ(b.parallelism(), 1);
  for (int i = 0; i < 100; ++i) b.RecordSuccess();
  EXPECT_EQ(b.parallelism(), 1) << "never above the server's hint";
  EXPECT_EQ(b.stats().throttled, 2);
}

TEST(RequestBudgetTest, OneThrottlingShrinksTheBudgetOnceAndEvery429ExtendsThePause) {
  FakeClock clock;
  RequestBudget b({.max_parallelism = 8, .initial_parallelism = 8, .initial_batch_size = 40, .max_batch_size = 100},
                  clock);
  // Four requests in flight together all come back 429: one throttling.
  std::vector<RequestBudget::Permit> sent;
  for (int i = 0; i < 4; ++i) sent.push_back(std::move(b.Acquire(Deadline::Never())).value());
  b.RecordThrottled(sent[0], milliseconds(1000), "0x80072321");
  EXPECT_EQ(b.parallelism(), 4);
  EXPECT_EQ(b.batch_size(), 20);
  b.RecordThrottled(sent[1], milliseconds(3000), "0x80072321");
  b.RecordThrottled(sent[2], milliseconds(2000), "0x80072321");
  EXPECT_EQ(b.parallelism(), 4) << "requests sent at the old pressure shrink nothing more";
  EXPECT_EQ(b.batch_size(), 20);
  EXPECT_EQ(b.stats().throttled, 3);
  sent.clear();
  // The longest Retry-After holds for everyone.
  const auto start = clock.SteadyNow();
  auto next = b.Acquire(Deadline::After(clock, std::chrono::seconds(60)));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(clock.SteadyNow() - start, milliseconds(3000));
  // A request sent after the decrease is news: its 429 shrinks again.
  b.RecordThrottled(*next, milliseconds(1), "0x80072321");
  EXPECT_EQ(b.parallelism(), 2);
  EXPECT_EQ(b.batch_size(), 10);
}

TEST(RequestBudgetTest, SuccessesOfRequestsSentBeforeAThrottlingDoNotGrowTheBudget) {
  FakeClock clock;
  RequestBudget b({.max_parallelism = 4, .initial_parallelism = 4, .initial_batch_size = 40, .max_batch_size = 40},
                  clock);
  std::vector<RequestBudget::Permit> sent;
  for (int i = 0; i < 4; ++i) sent.push_back(std::move(b.Acquire(Deadline::Never())).value());
  b.RecordThrottled(sent[0], milliseconds(1), "0x80072322");
  ASSERT_EQ(b.parallelism(), 2);
  // The other three were sent before it and succeed: no round at the new limit.
  for (int i = 1; i < 4; ++i) b.RecordSuccess(sent[i]);
  EXPECT_EQ(b.parallelism(), 2);
  sent.clear();
  // Two requests sent at the new limit make a round.
  auto p1 = b.Acquire(Deadline::After(clock, std::chrono::seconds(10)));
  auto p2 = b.Acquire(Deadline::After(clock, std::chrono::seconds(10)));
  ASSERT_TRUE(p1.ok() && p2.ok());
  b.RecordSuccess(*p1);
  b.RecordSuccess(*p2);
  EXPECT_EQ(b.parallelism(), 3);
}

TEST(RequestBudgetTest, TheRequestLimitRaisesTheBatchCapSoFewerRequestsCarryTheRecords) {
  FakeClock clock;
  RequestBudget b({.max_parallelism = 4,
                   .initial_parallelism = 4,
                   .initial_batch_size = 200,
                   .max_batch_size = 200,
                   .request_limited_max_batch_size = 500},
                  clock);
  for (int i = 0; i < 10; ++i) b.RecordSuccess();
  EXPECT_EQ(b.batch_size(), 200) << "the usual cap holds until the request limit trips";
  b.RecordThrottled(milliseconds(1), "0x80072322");
  EXPECT_EQ(b.batch_size(), 400) << "a $batch is one request however many operations it holds";
  for (int i = 0; i < 10; ++i) b.RecordSuccess();
  EXPECT_EQ(b.batch_size(), 500);
  b.RecordThrottled(milliseconds(1), "0x80072321");
  EXPECT_EQ(b.batch_size(), 250) << "the execution-time limit still halves it";
}

TEST(RequestBudgetTest, WithoutARequestLimitedCapTheBatchCapStays) {
  FakeClock clock;
  RequestBudget b({.max_parallelism = 4, .initial_parallelism = 4, .initial_batch_size = 100, .max_batch_size = 100},
                  clock);
  b.RecordThrottled(milliseconds(1), "0x80072322");
  for (int i = 0; i < 10; ++i) b.RecordSuccess();
  EXPECT_EQ(b.batch_size(), 100);
}

TEST(RequestBudgetTest, NeverMoreInFlightThanTheLimit) {
  FakeClock clock;
  RequestBudget b({.max_parallelism = 2, .initial_parallelism = 2, .initial_batch_size = 1, .max_batch_size = 1},
                  clock);
  auto p1 = b.Acquire(Deadline::Never());
  auto p2 = b.Acquire(Deadline::Never());
  ASSERT_TRUE(p1.ok() && p2.ok());
  // Both slots are taken and the fake deadline has already passed: no wait.
  const auto deadline = Deadline::After(clock, milliseconds(50));
  clock.Advance(milliseconds(50));
  auto p3 = b.Acquire(deadline);
  ASSERT_FALSE(p3.ok());
  EXPECT_EQ(p3.status().code(), StatusCode::kTimeout);
  // Releasing a slot lets the next one in.
  { auto drop = std::move(p1).value(); }
  auto p4 = b.Acquire(Deadline::After(clock, std::chrono::seconds(10)));
  EXPECT_TRUE(p4.ok());
}

TEST(RequestBudgetTest, AWaiterForASlotGivesUpWhenTheFakeDeadlinePasses) {
  FakeClock clock;
  RequestBudget b({.max_parallelism = 1, .initial_parallelism = 1, .initial_batch_size = 1, .max_batch_size = 1},
                  clock);
  auto held = b.Acquire(Deadline::Never());
  ASSERT_TRUE(held.ok());
  std::optional<Result<RequestBudget::Permit>> waited;
  const auto deadline = Deadline::After(clock, std::chrono::hours(1));
  std::thread waiter([&] { waited.emplace(b.Acquire(deadline)); });
  // The waiter blocks until the fake time passes its deadline (whether it
  // started waiting before or after this line).
  clock.Advance(std::chrono::hours(2));
  waiter.join();
  ASSERT_TRUE(waited.has_value());
  ASSERT_FALSE(waited->ok());
  EXPECT_EQ(waited->status().code(), StatusCode::kTimeout);
}

TEST(RequestBudgetTest, AReleaseWakesAWaiter) {
  FakeClock clock;
  RequestBudget b({.max_parallelism = 1, .initial_parallelism = 1, .initial_batch_size = 1, .max_batch_size = 1},
                  clock);
  std::optional<RequestBudget::Permit> held;
  held.emplace(std::move(b.Acquire(Deadline::Never())).value());
  // No deadline at all: only the release can let the waiter in.
  std::thread releaser([&] { held.reset(); });
  auto waited = b.Acquire(Deadline::Never());
  releaser.join();
  EXPECT_TRUE(waited.ok());
}

TEST(RequestBudgetTest, APauseIsWaitedOutOnTheClockForRetryAfter) {
  FakeClock clock;
  RequestBudget b({.max_parallelism = 4, .initial_parallelism = 4, .initial_batch_size = 1, .max_batch_size = 1},
                  clock);
  const auto start = clock.SteadyNow();
  b.RecordThrottled(std::chrono::seconds(300), "0x80072322");
  // A deadline before the pause ends fails at once, without waiting.
  auto blocked = b.Acquire(Deadline::After(clock, std::chrono::seconds(10)));
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.status().code(), StatusCode::kTimeout);
  EXPECT_NE(blocked.status().message().find("throttled"), std::string::npos) << blocked.status().message();
  EXPECT_TRUE(clock.sleeps().empty());
  // A later deadline sleeps out the pause on the clock (no real waiting).
  auto later = b.Acquire(Deadline::After(clock, std::chrono::seconds(600)));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(clock.sleeps(), (std::vector<milliseconds>{std::chrono::seconds(300)}));
  EXPECT_EQ(clock.SteadyNow() - start, std::chrono::seconds(300));
}

TEST(RequestBudgetTest, StopWakesWaiters) {
  FakeClock clock;
  RequestBudget b({.max_parallelism = 1, .initial_parallelism = 1, .initial_batch_size = 1, .max_batch_size = 1},
                  clock);
  auto held = b.Acquire(Deadline::Never());
  std::stop_source stop;
  std::thread stopper([&] { stop.request_stop(); });
  auto waiting = b.Acquire(Deadline::Never(), stop.get_token());
  stopper.join();
  ASSERT_FALSE(waiting.ok());
  EXPECT_EQ(waiting.status().code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace crmsync::dataverse
