// The real dataverse-emulator binary: starts on port 0, prints its URL,
// registers the application user from flags, serves, and stops promptly on
// SIGTERM with exit code 0 - also with an idle keep-alive connection and a
// request in flight; and dies with the test process that started it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <string>
#include <thread>

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

// Running, and not a zombie (dead, waiting for its new parent to reap it).
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto end_of_name = line.rfind(')');
  return end_of_name == std::string::npos || line.compare(end_of_name, 3, ") Z") != 0;
}

// A test process that dies (a crash, ctest's SIGKILL at its timeout) must
// not leave its emulator running: EmulatorProcess asks the kernel to kill
// it with its parent.
TEST(ProcessTest, AnEmulatorDiesWithTheProcessThatStartedIt) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t starter = fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {  // stands for a test process: starts an emulator, then hangs until killed
    close(fds[0]);
    std::string error;
    auto emulator = EmulatorProcess::Start({"--port", "0"}, &error);
    const pid_t pid = emulator ? emulator->pid() : -1;
    if (write(fds[1], &pid, sizeof pid) != static_cast<ssize_t>(sizeof pid)) _exit(1);
    for (;;) pause();
  }
  close(fds[1]);
  pid_t emulator = -1;
  const ssize_t got = read(fds[0], &emulator, sizeof emulator);
  close(fds[0]);
  ASSERT_EQ(got, static_cast<ssize_t>(sizeof emulator));
  ASSERT_GT(emulator, 0) << "the starter could not start an emulator";
  ASSERT_TRUE(Alive(emulator));

  ASSERT_EQ(kill(starter, SIGKILL), 0);
  ASSERT_EQ(waitpid(starter, nullptr, 0), starter);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Alive(emulator) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const bool outlived = Alive(emulator);
  if (outlived) kill(emulator, SIGKILL);
  EXPECT_FALSE(outlived) << "the emulator (pid " << emulator << ") outlived the process that started it";
}

}  // namespace
}  // namespace crmsync::emulator::testing
