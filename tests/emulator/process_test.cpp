// The real dataverse-emulator binary: starts on port 0, prints its URL,
// registers the application user from flags, serves, and stops promptly on
// SIGTERM with exit code 0 - also with an idle keep-alive connection and a
// request in flight.
#include <gtest/gtest.h>

#include <future>

#include "tests/emulator/emulator_process.h"
#include "tests/emulator/test_client.h"

namespace crmsync::emulator::testing {
namespace {

TEST(ProcessTest, StartServeAndStopOnSigterm) {
  std::string error;
  auto p = EmulatorProcess::Start({"--port", "0", "--tenant", "contoso.onmicrosoft.com", "--client-id", "app-1",
                                   "--client-secret", "s3cret", "--seed", "42"},
                                  &error);
  ASSERT_NE(p, nullptr) << error;
  EXPECT_TRUE(p->base_url().starts_with("http://127.0.0.1:")) << p->base_url();
  const std::string token = TestClient::FetchToken(p->base_url(), "contoso.onmicrosoft.com", "app-1", "s3cret");
  ASSERT_FALSE(token.empty());
  TestClient c(p->base_url());
  c.set_token(token);
  EXPECT_EQ(c.Api("GET", "WhoAmI").status, 200);
  // An idle keep-alive connection stays open while the process is told to stop.
  TestClient idle(p->base_url());
  idle.set_token(token);
  EXPECT_EQ(idle.Api("GET", "accounts").status, 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(p->Terminate(std::chrono::seconds(5)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(ProcessTest, StopsPromptlyWithAStalledRequestInFlight) {
  std::string error;
  auto p = EmulatorProcess::Start({"--port", "0", "--latency-ms", "60000"}, &error);
  ASSERT_NE(p, nullptr) << error;
  auto pending = std::async(std::launch::async, [url = p->base_url()] {
    TestClient c(url);
    return c.Api("GET", "WhoAmI");  // held by the 60 s latency
  });
  EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(p->Terminate(std::chrono::seconds(5)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE(pending.get().error.empty());
}

TEST(ProcessTest, HelpAndBadArguments) {
  std::string error;
  EXPECT_EQ(EmulatorProcess::Start({"--bogus", "1"}, &error, std::chrono::seconds(5)), nullptr);
  EXPECT_EQ(error, "the emulator exited before printing its URL");
}

}  // namespace
}  // namespace crmsync::emulator::testing
