#include "connectors/dataverse/request_budget.h"
#include "tests/support/real_clock.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>

namespace crmsync::dataverse {
namespace {

using std::chrono::milliseconds;

TEST(RequestBudgetTest, GrowsAfterRoundsOfSuccessUpToTheCap) {
  RequestBudget b({.max_parallelism = 4, .initial_parallelism = 1, .initial_batch_size = 10, .max_batch_size = 40});
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

TEST(RequestBudgetTest, ThrottlingHalvesAndDopHintCaps) {
  RequestBudget b({.max_parallelism = 8, .initial_parallelism = 8, .initial_batch_size = 40, .max_batch_size = 100});
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

TEST(RequestBudgetTest, NeverMoreInFlightThanTheLimit) {
  RequestBudget b({.max_parallelism = 2, .initial_parallelism = 2, .initial_batch_size = 1, .max_batch_size = 1});
  auto p1 = b.Acquire(Deadline::Never());
  auto p2 = b.Acquire(Deadline::Never());
  ASSERT_TRUE(p1.ok() && p2.ok());
  auto p3 = b.Acquire(Deadline::After(::crmsync::testing_support::RealClock(), milliseconds(50)));
  ASSERT_FALSE(p3.ok());
  EXPECT_EQ(p3.status().code(), StatusCode::kTimeout);
  // Releasing a slot lets a waiter in.
  std::thread release([&] { auto drop = std::move(p1).value(); });
  release.join();
  auto p4 = b.Acquire(Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(10)));
  EXPECT_TRUE(p4.ok());
}

TEST(RequestBudgetTest, AReleaseWakesAWaiterAtOnce) {
  RequestBudget b({.max_parallelism = 1, .initial_parallelism = 1, .initial_batch_size = 1, .max_batch_size = 1});
  std::optional<RequestBudget::Permit> held;
  held.emplace(std::move(b.Acquire(Deadline::Never())).value());
  std::thread releaser([&] {
    std::this_thread::sleep_for(milliseconds(50));  // let the waiter block first
    held.reset();
  });
  const auto start = std::chrono::steady_clock::now();
  auto waited = b.Acquire(Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(20)));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  releaser.join();
  ASSERT_TRUE(waited.ok());
  // Woken by the release, not by the 20 s deadline.
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST(RequestBudgetTest, APausePausesEveryoneUntilRetryAfter) {
  RequestBudget b({.max_parallelism = 4, .initial_parallelism = 4, .initial_batch_size = 1, .max_batch_size = 1});
  b.RecordThrottled(milliseconds(300), "0x80072322");
  const auto start = std::chrono::steady_clock::now();
  auto blocked = b.Acquire(Deadline::After(::crmsync::testing_support::RealClock(), milliseconds(50)));
  ASSERT_FALSE(blocked.ok());
  EXPECT_NE(blocked.status().message().find("throttled"), std::string::npos);
  auto later = b.Acquire(Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(10)));
  ASSERT_TRUE(later.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
}

TEST(RequestBudgetTest, StopWakesWaiters) {
  RequestBudget b({.max_parallelism = 1, .initial_parallelism = 1, .initial_batch_size = 1, .max_batch_size = 1});
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
