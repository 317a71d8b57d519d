#include "daemon/init.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include "daemon/config.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_secret.h"

namespace crmsync::daemon {
namespace {

TEST(InitTest, CreatesAValidSetupAndNeverOverwrites) {
  testing_support::TempDir dir;
  InitOptions options;
  options.dir = dir.path() + "/crm";
  options.secret = testing_support::kTestClientSecret;
  auto first = RunInit(options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  for (const auto& line : *first) EXPECT_EQ(line.rfind("created ", 0), 0u) << line;

  struct stat st {};
  ASSERT_EQ(::stat((options.dir + "/client-secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const ConfigLoad load = LoadConfig(options.dir + "/crmsync.json", std::string("/none"));
  ASSERT_TRUE(load.config.has_value()) << (load.diagnostics.empty() ? "" : load.diagnostics[0].ToString());

  // A second run with another secret keeps everything as it was.
  dir.WriteFile("crm/crmsync.json", "{ \"edited\": true }\n", 0640);
  options.secret = "second-secret";
  auto second = RunInit(options);
  ASSERT_TRUE(second.ok());
  for (const auto& line : *second) EXPECT_EQ(line.rfind("kept ", 0), 0u) << line;
  EXPECT_EQ(dir.ReadFile("crm/crmsync.json"), "{ \"edited\": true }\n");
  EXPECT_EQ(dir.ReadFile("crm/client-secret"), std::string(testing_support::kTestClientSecret) + "\n");
}

TEST(InitTest, RefusesAFolderItCannotCreate) {
  testing_support::TempDir dir;
  dir.WriteFile("file", "x");
  InitOptions options;
  options.dir = dir.path() + "/file/sub";
  auto result = RunInit(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kIo);
  EXPECT_NE(result.status().message().find("file/sub"), std::string::npos);
}

}  // namespace
}  // namespace crmsync::daemon
