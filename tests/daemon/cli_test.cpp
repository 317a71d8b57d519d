// Runs the real crmsync binary, as users and scripts do.
#include <gtest/gtest.h>

#include "common/log.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace crmsync::daemon {
namespace {

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
  auto init = RunProcess({CRMSYNC_BINARY, "init", "--dir", dir.path() + "/c", "--client-secret-stdin"}, "abc\n");
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
  EXPECT_NE(validate.out.find("12 mappings OK (local columns checked against"), std::string::npos) << validate.out;
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

TEST(CliTest, ConfigFromEnvironmentVariable) {
  TempDir dir;
  auto check = RunProcess({CRMSYNC_BINARY, "config", "check"}, "", {"CRMSYNC_CONFIG=" + dir.path() + "/none.json"});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.err.find(dir.path() + "/none.json"), std::string::npos) << check.err;
}

}  // namespace
}  // namespace crmsync::daemon
