#include "common/backoff.h"

#include <gtest/gtest.h>

namespace crmsync {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, GrowsExponentiallyUpToTheCap) {
  const BackoffPolicy p{milliseconds(100), milliseconds(1000)};
  // random01 just below 1 shows the ceiling of each attempt.
  EXPECT_EQ(BackoffDelay(p, 0, 0.999999), milliseconds(99));
  EXPECT_EQ(BackoffDelay(p, 1, 0.999999), milliseconds(199));
  EXPECT_EQ(BackoffDelay(p, 3, 0.999999), milliseconds(799));
  EXPECT_EQ(BackoffDelay(p, 4, 0.999999), milliseconds(999));
  EXPECT_EQ(BackoffDelay(p, 60, 0.999999), milliseconds(999));
  EXPECT_EQ(BackoffDelay(p, 3, 0.5), milliseconds(400));
  EXPECT_EQ(BackoffDelay(p, 3, 0.0), milliseconds(0));
}

TEST(BackoffTest, RetryAfterWins) {
  const BackoffPolicy p{milliseconds(100), milliseconds(1000)};
  EXPECT_EQ(BackoffDelay(p, 0, 0.5, milliseconds(5000)), milliseconds(5000));
}

}  // namespace
}  // namespace crmsync
