// Runs the real crmsync binary, as users and scripts do.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "common/log.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_secret.h"

namespace crmsync::daemon {
namespace {

using testing_support::kTestClientSecret;
using testing_support::RunProcess;
using testing_support::TempDir;

TEST(CliTest, VersionAndHelp) {
  auto version = RunProcess({CRMSYNC_BINARY, "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("crmsync ", 0), 0u) << version.out;

  auto help = RunProcess({CRMSYNC_BINARY, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* verb : {"init", "config"}) EXPECT_NE(help.out.find(verb), std::string::npos) << verb;
  EXPECT_NE(help.out.find("Exit codes"), std::string::npos);
}

TEST(CliTest, BadUsageExitsTwo) {
  EXPECT_EQ(RunProcess({CRMSYNC_BINARY}).exit_code, 2);
  auto unknown = RunProcess({CRMSYNC_BINARY, "frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(RunProcess({CRMSYNC_BINARY, "--log-level", "loud", "init", "--help"}).exit_code, 2);
}

TEST(CliTest, LogFlagsTakeExactlyTheListedLevelsAndFormats) {
  for (std::string_view level : kLogLevels) {
    const auto run = RunProcess({CRMSYNC_BINARY, "--log-level", std::string(level), "init", "--help"});
    EXPECT_EQ(run.exit_code, 0) << level << ": " << run.err;
  }
  for (std::string_view format : kLogFormats) {
    const auto run = RunProcess({CRMSYNC_BINARY, "--log-format", std::string(format), "init", "--help"});
    EXPECT_EQ(run.exit_code, 0) << format << ": " << run.err;
  }
  EXPECT_EQ(RunProcess({CRMSYNC_BINARY, "--log-level", "warning", "init", "--help"}).exit_code, 2);
  EXPECT_EQ(RunProcess({CRMSYNC_BINARY, "--log-format", "xml", "init", "--help"}).exit_code, 2);
  const auto help = RunProcess({CRMSYNC_BINARY, "--help"});
  EXPECT_NE(help.out.find("trace, debug, info, warn, error or off"), std::string::npos) << help.out;
}

TEST(CliTest, InitThenConfigCheckPasses) {
  TempDir dir;
  auto init = RunProcess({CRMSYNC_BINARY, "init", "--dir", dir.path() + "/c", "--client-secret-stdin"},
                         std::string(kTestClientSecret) + "\n");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_NE(init.out.find("created " + dir.path() + "/c/crmsync.json"), std::string::npos) << init.out;
  auto check = RunProcess({CRMSYNC_BINARY, "--config", dir.path() + "/c/crmsync.json", "config", "check"}, "",
                          {"CREDENTIALS_DIRECTORY="});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find(": OK"), std::string::npos);
}

TEST(CliTest, InitWritesDefaultMappingsThatValidateAgainstTheRealLocalSchema) {
  TempDir dir;
  auto init = RunProcess({CRMSYNC_BINARY, "init", "--dir", dir.path() + "/c"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_NE(init.out.find("mappings.d/contacts.json"), std::string::npos) << init.out;
  auto validate = RunProcess({CRMSYNC_BINARY, "--config", dir.path() + "/c/crmsync.json", "mapping", "validate"}, "",
                             {"CREDENTIALS_DIRECTORY="});
  EXPECT_EQ(validate.exit_code, 0) << validate.err;
  EXPECT_NE(validate.out.find("14 mappings OK (local columns checked against"), std::string::npos) << validate.out;
}

TEST(CliTest, BadConfigGivesOneLinePerProblemAndExitTwo) {
  TempDir dir;
  dir.WriteFile("client-secret", "x\n", 0644);
  const std::string config = dir.WriteFile("crmsync.json", R"({
  "dataverse": { "url": "https://a.example", "tenant_id": "t", "client_id": "c",
    "client_secret_file": "client-secret", "timeout_s": true },
  "local": { "database": "crm.db" }, "state": { "database": "s.db" }, "mappings": "m",
  "colour": "blue"
})");
  auto check = RunProcess({CRMSYNC_BINARY, "--config", config, "config", "check"}, "", {"CREDENTIALS_DIRECTORY="});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_EQ(check.err,
            config + ":3: dataverse.timeout_s: must be an integer, not a boolean\n" + config +
                ":3: dataverse.client_secret_file: secret file '" + dir.path() +
                "/client-secret' has mode 0644 and is readable by group or others; make it 0600 (chmod 600)\n" +
                config + ":5: colour: unknown key 'colour'\n");
  // The secret's content never appears.
  EXPECT_EQ(check.err.find("x\n"), std::string::npos);
}

// The status endpoint has no authentication: every verb that loads the
// config refuses one bound beyond loopback, as a bad config (exit 2) naming
// the file, line and key, until the config opts in.
TEST(CliTest, StatusEndpointOffLoopbackIsRefusedWithExitTwoUnlessAllowed) {
  TempDir dir;
  auto init = RunProcess({CRMSYNC_BINARY, "init", "--dir", dir.path() + "/c", "--client-secret-stdin"},
                         std::string(kTestClientSecret) + "\n");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const std::string config = dir.path() + "/c/crmsync.json";
  const std::string text = dir.ReadFile("c/crmsync.json");
  const std::string remote =
      std::regex_replace(text, std::regex(R"("status_listen":\s*"[^"]*")"), R"("status_listen": "0.0.0.0:9464")");
  ASSERT_NE(remote, text) << "no status_listen in the config init wrote:\n" << text;
  dir.WriteFile("c/crmsync.json", remote);
  const std::regex refusal("(^|\n)" + config +
                           R"(:[0-9]+: status_listen: '0\.0\.0\.0:9464' is not a loopback address)");
  for (const std::vector<std::string>& verb :
       {std::vector<std::string>{"config", "check"}, {"check"}, {"run"}, {"sync"}, {"status"}}) {
    std::vector<std::string> argv = {CRMSYNC_BINARY, "--config", config};
    argv.insert(argv.end(), verb.begin(), verb.end());
    const auto run = RunProcess(argv, "", {"CREDENTIALS_DIRECTORY="});
    EXPECT_EQ(run.exit_code, 2) << verb[0] << ": " << run.err;
    EXPECT_TRUE(std::regex_search(run.err, refusal)) << verb[0] << ": " << run.err;
  }

  // init writes every key with its default, this one too.
  const std::string allowed =
      std::regex_replace(remote, std::regex(R"("status_allow_remote":\s*false)"), R"("status_allow_remote": true)");
  ASSERT_NE(allowed, remote) << remote;
  dir.WriteFile("c/crmsync.json", allowed);
  const auto check =
      RunProcess({CRMSYNC_BINARY, "--config", config, "config", "check"}, "", {"CREDENTIALS_DIRECTORY="});
  EXPECT_EQ(check.exit_code, 0) << check.err;
}

TEST(CliTest, ConfigFromEnvironmentVariable) {
  TempDir dir;
  auto check = RunProcess({CRMSYNC_BINARY, "config", "check"}, "", {"CRMSYNC_CONFIG=" + dir.path() + "/none.json"});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.err.find(dir.path() + "/none.json"), std::string::npos) << check.err;
}

}  // namespace
}  // namespace crmsync::daemon
