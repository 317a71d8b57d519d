#include "common/status.h"

#include <gtest/gtest.h>

#include "common/result.h"

namespace crmsync {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ToStringCarriesCodeRemoteCodeAndHttpStatus) {
  Status s(StatusCode::kNotFound, "contact With Id = x Does Not Exist");
  s.set_remote_code("0x80040217").set_http_status(404);
  EXPECT_EQ(s.ToString(), "not_found: contact With Id = x Does Not Exist [0x80040217] (HTTP 404)");
}

TEST(StatusTest, WithContextPrefixesAndKeepsCode) {
  Status s = InvalidArgument("bad").WithContext("mapping 'contacts'");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "mapping 'contacts': bad");
}

struct RetryCase {
  StatusCode code;
  bool retryable;
};

class RetryableTest : public ::testing::TestWithParam<RetryCase> {};

TEST_P(RetryableTest, OnlyTransientCodesAreRetryable) {
  EXPECT_EQ(IsRetryable(Status(GetParam().code, "x")), GetParam().retryable) << StatusCodeName(GetParam().code);
}

INSTANTIATE_TEST_SUITE_P(
    AllCodes, RetryableTest,
    ::testing::Values(RetryCase{StatusCode::kOk, false}, RetryCase{StatusCode::kInvalidArgument, false},
                      RetryCase{StatusCode::kNotFound, false}, RetryCase{StatusCode::kAlreadyExists, false},
                      RetryCase{StatusCode::kConflict, false}, RetryCase{StatusCode::kUnauthenticated, false},
                      RetryCase{StatusCode::kPermissionDenied, false}, RetryCase{StatusCode::kThrottled, true},
                      RetryCase{StatusCode::kUnavailable, true}, RetryCase{StatusCode::kTimeout, true},
                      RetryCase{StatusCode::kCancelled, false}, RetryCase{StatusCode::kCursorExpired, false},
                      RetryCase{StatusCode::kCorrupt, false}, RetryCase{StatusCode::kIo, false},
                      RetryCase{StatusCode::kBusy, true}, RetryCase{StatusCode::kInternal, false},
                      RetryCase{StatusCode::kAborted, false}));

TEST(StatusTest, CodeNamesAreStableAndDistinct) {
  EXPECT_EQ(StatusCodeName(StatusCode::kThrottled), "throttled");
  EXPECT_EQ(StatusCodeName(StatusCode::kCursorExpired), "cursor_expired");
  EXPECT_EQ(StatusCodeName(StatusCode::kAlreadyExists), "already_exists");
}

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  CRMSYNC_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(ResultTest, PropagatesErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd");
}

TEST(ResultTest, ValueOfErrorAborts) {
  EXPECT_DEATH({ (void)Half(3).value(); }, "");
}

}  // namespace
}  // namespace crmsync
