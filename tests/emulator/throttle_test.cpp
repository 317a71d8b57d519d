// Service protection limits with scaled-down windows: requests, execution
// time and concurrency; 429 + Retry-After + codes; x-ms-dop-hint; latency and
// execution-time simulation (dataverse-web-api.md section 8.2).
#include <gtest/gtest.h>

#include <future>

#include "tests/emulator/emulator_fixture.h"

namespace crmsync::emulator::testing {
namespace {

class ThrottleTest : public EmulatorTest {
 protected:
  EmulatorOptions Options() override {
    EmulatorOptions o;
    o.limits.requests = 5;
    o.limits.request_window_s = 2;
    o.limits.dop_hint = 7;
    return o;
  }
};

TEST_F(ThrottleTest, RequestLimitGives429WithRetryAfter) {
  for (int i = 0; i < 5; ++i) {
    Response r = client().Api("GET", "WhoAmI");
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.Header("x-ms-dop-hint"), "7");
    EXPECT_EQ(r.Header("x-ms-ratelimit-burst-remaining-xrm-requests"), std::to_string(4 - i));
  }
  Response r = client().Api("GET", "WhoAmI");
  ASSERT_EQ(r.status, 429);
  EXPECT_EQ(ErrorCode(r), "0x80072322");
  EXPECT_EQ(ErrorMessage(r), "Number of requests exceeded the limit of 5 over time window of 2 seconds.");
  const int retry_after = std::stoi(r.Header("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 2);
  // Admin and token requests are not throttled.
  EXPECT_EQ(client().Send("GET", "/_admin/counters").status, 200);
  EXPECT_FALSE(NewToken().empty());
  // The window slides: the request succeeds again within Retry-After (plus a margin).
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(
      WaitFor([&] { return client().Api("GET", "WhoAmI").status == 200; }, std::chrono::seconds(retry_after + 2)));
  EXPECT_LE(std::chrono::steady_clock::now() - start, std::chrono::seconds(retry_after + 1));
}

TEST_F(ThrottleTest, BatchCountsAsOneRequest) {
  std::string body;
  for (int i = 0; i < 10; ++i) {
    body +=
        "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET /api/data/v9.2/WhoAmI "
        "HTTP/1.1\r\n\r\n\r\n";
  }
  body += "--b--\r\n";
  Response r = client().Api("POST", "$batch", body, {{"Content-Type", "multipart/mixed; boundary=b"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-ms-ratelimit-burst-remaining-xrm-requests"), "4");
}

class ExecutionTimeTest : public EmulatorTest {
 protected:
  EmulatorOptions Options() override {
    EmulatorOptions o;
    o.exec_ms = 60;
    o.limits.execution_ms = 100;
    o.limits.execution_window_s = 2;
    return o;
  }
};

TEST_F(ExecutionTimeTest, ExecutionTimeLimitAndSimulatedTime) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client().Api("GET", "accounts").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(60));  // simulated execution time
  EXPECT_EQ(client().Api("GET", "accounts").status, 200);  // 120 ms used > 100: the next one is refused
  Response r = client().Api("GET", "accounts");
  ASSERT_EQ(r.status, 429);
  EXPECT_EQ(ErrorCode(r), "0x80072321");
  EXPECT_EQ(ErrorMessage(r),
            "Combined execution time of incoming requests exceeded limit of 100 milliseconds over time window of 2 "
            "seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.");
  EXPECT_GE(std::stoi(r.Header("retry-after")), 1);
}

class ConcurrencyTest : public EmulatorTest {
 protected:
  EmulatorOptions Options() override {
    EmulatorOptions o;
    o.exec_ms = 2000;
    o.limits.concurrency = 1;
    return o;
  }
};

TEST_F(ConcurrencyTest, ConcurrencyLimitTripsImmediately) {
  const std::string token = client().token();
  const std::string base_url = base();
  auto slow = std::async(std::launch::async, [&] {
    TestClient c(base_url);
    c.set_token(token);
    return c.Api("GET", "accounts").status;
  });
  // Wait until the first request is in flight (a real condition, read from the admin API).
  ASSERT_TRUE(WaitFor([&] {
    auto j = AdminGet("/_admin/throttle");
    return j.contains(std::string(kDefaultClientId)) && j[std::string(kDefaultClientId)]["in_flight"] == 1;
  }));
  Response r = client().Api("GET", "WhoAmI");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(ErrorCode(r), "0x80072326");
  EXPECT_EQ(ErrorMessage(r), "Number of concurrent requests exceeded the limit of 1.");
  EXPECT_TRUE(r.HasHeader("retry-after"));
  EXPECT_EQ(slow.get(), 200);
}

class LatencyTest : public EmulatorTest {
 protected:
  EmulatorOptions Options() override {
    EmulatorOptions o;
    o.latency_ms = 150;
    return o;
  }
};

TEST_F(LatencyTest, LatencyIsAddedAndAdjustable) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client().Api("GET", "WhoAmI").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  Response s = client().Send("PATCH", "/_admin/settings", {{"Content-Type", "application/json"}},
                             R"({"latency_ms":0,"limits":{"requests":1}})");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.Json()["limits"]["requests"], 1);
  EXPECT_EQ(client().Api("GET", "WhoAmI").status, 429);  // the earlier request is still in the window
}

}  // namespace
}  // namespace crmsync::emulator::testing
