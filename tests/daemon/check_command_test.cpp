// `crmsync check` against the dataverse-emulator binary, and against a
// scripted token endpoint that answers what OAuth never promised: real
// processes talking HTTP on loopback.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "tests/emulator/emulator_process.h"
#include "tests/support/scripted_http_server.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_secret.h"

namespace crmsync::daemon {
namespace {

using emulator::testing::EmulatorProcess;
using testing_support::ReceivedRequest;
using testing_support::RunProcess;
using testing_support::ScriptedHttpServer;
using testing_support::ScriptedReply;
using testing_support::TempDir;

class CheckCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    emulator_ = EmulatorProcess::Start({"--port", "0", "--tenant", "contoso", "--client-id", "app-1", "--client-secret",
                                        testing_support::kTestClientSecret},
                                       &error);
    ASSERT_NE(emulator_, nullptr) << error;
  }
  void TearDown() override { EXPECT_EQ(emulator_->Terminate(), 0); }

  // A setup made by `crmsync init` pointing at the emulator.
  std::string Init(const std::string& secret) {
    auto init = RunProcess({CRMSYNC_BINARY, "init", "--dir", dir_.path() + "/c", "--url", emulator_->base_url(),
                            "--tenant-id", "contoso", "--client-id", "app-1", "--client-secret-stdin"},
                           secret + "\n");
    EXPECT_EQ(init.exit_code, 0) << init.err;
    return dir_.path() + "/c/crmsync.json";
  }

  TempDir dir_;
  std::unique_ptr<EmulatorProcess> emulator_;
};

TEST_F(CheckCommandTest, AuthenticatesAndReportsWhoAmI) {
  const std::string config = Init(testing_support::kTestClientSecret);
  auto check = RunProcess({CRMSYNC_BINARY, "--config", config, "check"}, "", {"CREDENTIALS_DIRECTORY="});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("authenticated"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("user id:"), std::string::npos);

  auto json_check = RunProcess({CRMSYNC_BINARY, "--config", config, "check", "--json"}, "", {"CREDENTIALS_DIRECTORY="});
  ASSERT_EQ(json_check.exit_code, 0) << json_check.err;
  const auto doc = nlohmann::json::parse(json_check.out);
  EXPECT_EQ(doc["ok"], true);
  EXPECT_EQ(doc["user_id"].get<std::string>().size(), 36u);
  EXPECT_GT(doc["dop_hint"].get<int>(), 0);
}

TEST_F(CheckCommandTest, AWrongSecretExitsFourWithoutShowingIt) {
  const std::string config = Init("a-wrong-secret");
  auto check = RunProcess({CRMSYNC_BINARY, "--config", config, "check"}, "", {"CREDENTIALS_DIRECTORY="});
  EXPECT_EQ(check.exit_code, 4);
  EXPECT_NE(check.err.find("invalid_client"), std::string::npos) << check.err;
  EXPECT_EQ(check.err.find("a-wrong-secret"), std::string::npos);
  EXPECT_EQ(check.out.find("a-wrong-secret"), std::string::npos);
}

TEST_F(CheckCommandTest, AnUnreachableOrganisationExitsFour) {
  const std::string config = Init(testing_support::kTestClientSecret);
  EXPECT_EQ(emulator_->Terminate(), 0);
  auto check = RunProcess({CRMSYNC_BINARY, "--config", config, "--log-level", "error", "check", "--timeout", "2"}, "",
                          {"CREDENTIALS_DIRECTORY="});
  EXPECT_EQ(check.exit_code, 4) << check.err;
  EXPECT_NE(check.err.find("unavailable"), std::string::npos) << check.err;
  // Restart so TearDown has something to stop.
  std::string error;
  emulator_ = EmulatorProcess::Start({"--port", "0"}, &error);
  ASSERT_NE(emulator_, nullptr) << error;
}

// A token endpoint answering 200 with valid JSON that is not a token must
// not crash `crmsync check`: exit 4 with one clear line.
class CheckTokenAnswerTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CheckTokenAnswerTest, AnOddTokenAnswerExitsFourWithOneLine) {
  const std::string answer = GetParam();
  ScriptedHttpServer server([&](const ReceivedRequest& request) {
    ScriptedReply reply;
    if (request.method == "POST" && request.target.find("/oauth2/v2.0/token") != std::string::npos) {
      reply.status = 200;
      reply.headers = {{"Content-Type", "application/json"}};
      reply.body = answer;
    } else {
      reply.status = 404;  // never reached: without a token nothing asks the API
    }
    return reply;
  });
  TempDir dir;
  auto init = RunProcess({CRMSYNC_BINARY, "init", "--dir", dir.path() + "/c", "--url", server.base_url(), "--tenant-id",
                          "contoso", "--client-id", "app-1", "--client-secret-stdin"},
                         "a-secret\n");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto check = RunProcess(
      {CRMSYNC_BINARY, "--config", dir.path() + "/c/crmsync.json", "--log-level", "error", "check", "--timeout", "10"},
      "", {"CREDENTIALS_DIRECTORY="});
  EXPECT_EQ(check.signal, 0) << "crashed: " << check.err;
  EXPECT_EQ(check.exit_code, 4) << check.err;
  EXPECT_EQ(std::count(check.err.begin(), check.err.end(), '\n'), 1) << check.err;
  EXPECT_EQ(check.err.rfind("crmsync check: Dataverse " + server.base_url() + ": unauthenticated: ", 0), 0u)
      << check.err;
  EXPECT_NE(check.err.find("HTTP 200"), std::string::npos) << check.err;
  EXPECT_EQ(check.err.find("a-secret"), std::string::npos);
  EXPECT_GE(server.requests_seen(), 1);
}

INSTANTIATE_TEST_SUITE_P(Answers, CheckTokenAnswerTest, ::testing::Values("[]", R"("x")", R"({"error": 5})"));

}  // namespace
}  // namespace crmsync::daemon
