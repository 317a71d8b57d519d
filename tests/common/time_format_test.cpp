#include "common/time_format.h"

#include <gtest/gtest.h>

namespace crmsync {
namespace {

using namespace std::chrono;

TEST(TimeFormatTest, FormatsUtc) {
  const auto t = sys_days(year(2025) / 3 / 31) + hours(21) + minutes(59) + seconds(1) + milliseconds(7);
  EXPECT_EQ(FormatUtc(t), "2025-03-31T21:59:01Z");
  EXPECT_EQ(FormatUtc(t, true), "2025-03-31T21:59:01.007Z");
}

TEST(TimeFormatTest, ParsesZoneOffsetsAndDates) {
  const auto base = sys_days(year(2021) / 4 / 4) + hours(20);
  EXPECT_EQ(*ParseUtc("2021-04-04T20:00:00Z"), base);
  EXPECT_EQ(*ParseUtc("2021-04-04T12:00:00-08:00"), base);
  EXPECT_EQ(*ParseUtc("2021-04-04T20:00:00.5Z"), base + milliseconds(500));
  EXPECT_EQ(*ParseUtc("2021-04-04"), sys_days(year(2021) / 4 / 4));
}

TEST(TimeFormatTest, RefusesMalformed) {
  for (const char* bad : {"", "2021-13-01", "2021-02-30", "2021-04-04T20:00:00", "2021-04-04T25:00:00Z", "yesterday",
                          "2021-04-04T20:00:00.Z"}) {
    EXPECT_FALSE(ParseUtc(bad).has_value()) << bad;
  }
}

// Found by tests/fuzz/odata_page_fuzz: a "modifiedon" in the year 1011 overflowed
// the nanosecond time_point (signed overflow, UBSan) instead of failing to parse.
TEST(TimeFormatTest, ParseUtcRefusesDatesSystemClockCannotHoldInsteadOfOverflowing) {
  for (const char* far :
       {"1011-03-02T08:00:00Z", "0000-01-01", "1677-01-01T00:00:00Z", "2263-01-01", "9999-12-31T23:59:59+99:59"}) {
    EXPECT_FALSE(ParseUtc(far).has_value()) << far;
  }
  // Dataverse's earliest date and dates well inside the range still parse.
  EXPECT_EQ(*ParseUtc("1753-01-01"), sys_days(year(1753) / 1 / 1));
  EXPECT_EQ(*ParseUtc("2261-12-31T23:59:59Z"), sys_days(year(2261) / 12 / 31) + hours(23) + minutes(59) + seconds(59));
}

}  // namespace
}  // namespace crmsync
