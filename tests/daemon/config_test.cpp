#include "daemon/config.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace crmsync::daemon {
namespace {

using testing_support::TempDir;

constexpr const char* kGood = R"({
  // organisation
  "dataverse": {
    "url": "https://contoso.crm4.dynamics.com/",
    "tenant_id": "t1",
    "client_id": "c1",
    "client_secret_file": "client-secret"
  },
  "local": { "database": "crm.db" },
  "state": { "database": "/var/lib/crmsync/state.db" },
  "mappings": "mappings.d"
})";

std::vector<std::string> Lines(const ConfigLoad& load) {
  std::vector<std::string> out;
  for (const auto& d : load.diagnostics) out.push_back(d.ToString());
  return out;
}

TEST(ConfigTest, LoadsAValidConfigWithDefaults) {
  TempDir dir;
  dir.WriteFile("client-secret", "s3cret\n", 0600);
  const std::string path = dir.WriteFile("crmsync.json", kGood);
  const ConfigLoad load = LoadConfig(path, std::string("/nonexistent-credentials"));
  ASSERT_TRUE(load.config.has_value()) << ::testing::PrintToString(Lines(load));
  const Config& c = *load.config;
  EXPECT_EQ(c.dataverse.url, "https://contoso.crm4.dynamics.com");
  EXPECT_EQ(c.dataverse.api_version, "v9.2");
  EXPECT_EQ(c.dataverse.authority, "https://login.microsoftonline.com");
  EXPECT_EQ(c.dataverse.client_secret_file, dir.path() + "/client-secret");
  EXPECT_EQ(c.local_database, dir.path() + "/crm.db");
  EXPECT_EQ(c.state_database, "/var/lib/crmsync/state.db");
  EXPECT_EQ(c.mappings_dir, dir.path() + "/mappings.d");
  EXPECT_EQ(c.interval_s, 30);
  EXPECT_EQ(c.status_listen, "127.0.0.1:9464");
  EXPECT_EQ(c.dataverse.assertion_algorithm, "PS256");
}

TEST(ConfigTest, SecretsAreLookedUpInTheCredentialsDirectoryFirst) {
  TempDir dir;
  TempDir creds;
  dir.WriteFile("client-secret", "beside\n", 0600);
  creds.WriteFile("client-secret", "systemd\n", 0600);
  const std::string path = dir.WriteFile("crmsync.json", kGood);
  const ConfigLoad load = LoadConfig(path, creds.path());
  ASSERT_TRUE(load.config.has_value()) << ::testing::PrintToString(Lines(load));
  EXPECT_EQ(load.config->dataverse.client_secret_file, creds.path() + "/client-secret");
}

struct BadCase {
  const char* name;
  const char* text;
  std::vector<std::string> expected;  // after the "FILE:" prefix
};

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, ReportsEveryProblemWithLineAndKey) {
  TempDir dir;
  dir.WriteFile("client-secret", "s3cret\n", 0600);
  dir.WriteFile("open-secret", "s3cret\n", 0644);
  const std::string path = dir.WriteFile("crmsync.json", GetParam().text);
  const ConfigLoad load = LoadConfig(path, std::string("/nonexistent-credentials"));
  EXPECT_FALSE(load.config.has_value());
  std::vector<std::string> got;
  for (const auto& d : load.diagnostics) {
    std::string line = d.ToString();
    ASSERT_EQ(line.rfind(path + ":", 0), 0u) << line;
    line = line.substr(path.size() + 1);
    // Paths inside messages vary per run.
    for (auto pos = line.find(dir.path()); pos != std::string::npos; pos = line.find(dir.path())) {
      line.replace(pos, dir.path().size(), "DIR");
    }
    got.push_back(line);
  }
  EXPECT_EQ(got, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadConfigTest,
    ::testing::Values(
        BadCase{"syntax",
                "{\n  \"dataverse\": {\n    \"url\": \"x\",,\n  }\n}",
                {"3: invalid JSON: syntax error while parsing object key - unexpected ','; expected string literal"}},
        BadCase{"unknown_key",
                R"({
  "dataverse": { "url": "https://a.example", "tenant_id": "t", "client_id": "c",
    "client_secret_file": "client-secret",
    "client_idd": "x" },
  "local": { "database": "crm.db" }, "state": { "database": "s.db" }, "mappings": "m",
  "intervall_s": 5
})",
                {"4: dataverse.client_idd: unknown key 'client_idd'; did you mean 'client_id'?",
                 "6: intervall_s: unknown key 'intervall_s'; did you mean 'interval_s'?"}},
        BadCase{"wrong_type",
                R"({
  "dataverse": { "url": "https://a.example", "tenant_id": "t", "client_id": "c",
    "client_secret_file": "client-secret", "max_parallelism": "8" },
  "local": { "database": "crm.db" }, "state": { "database": "s.db" }, "mappings": "m",
  "interval_s": 0.5
})",
                {"3: dataverse.max_parallelism: must be an integer, not a string",
                 "5: interval_s: must be an integer, not a number"}},
        BadCase{"missing_secret_file",
                R"({
  "dataverse": { "url": "https://a.example", "tenant_id": "t", "client_id": "c",
    "client_secret_file": "no-such-file" },
  "local": { "database": "crm.db" }, "state": { "database": "s.db" }, "mappings": "m"
})",
                {"3: dataverse.client_secret_file: file 'DIR/no-such-file' does not exist or cannot be read"}},
        BadCase{"secret_0644",
                R"({
  "dataverse": { "url": "https://a.example", "tenant_id": "t", "client_id": "c",
    "client_secret_file": "open-secret" },
  "local": { "database": "crm.db" }, "state": { "database": "s.db" }, "mappings": "m"
})",
                {"3: dataverse.client_secret_file: secret file 'DIR/open-secret' has mode 0644 and is readable by "
                 "group or others; make it 0600 (chmod 600)"}},
        BadCase{"missing_required_and_http",
                R"({
  "dataverse": { "url": "http://contoso.example", "client_id": "c",
    "client_secret_file": "client-secret" },
  "state": { "database": "s.db" }, "mappings": "m"
})",
                {"1: $: missing required key 'local'", "2: dataverse: missing required key 'tenant_id'",
                 "2: dataverse.url: must use https ('http://contoso.example'); plain http is allowed only for "
                 "loopback hosts"}},
        BadCase{"both_credentials",
                R"({
  "dataverse": { "url": "https://a.example", "tenant_id": "t", "client_id": "c",
    "client_secret_file": "client-secret", "certificate_file": "client-secret",
    "private_key_file": "client-secret" },
  "local": { "database": "crm.db" }, "state": { "database": "crm.db" }, "mappings": "m",
  "status_listen": "nohost"
})",
                {"3: dataverse.client_secret_file: set either client_secret_file or certificate_file + "
                 "private_key_file, not both",
                 "5: state.database: the state store must be a different file from the local store",
                 "6: status_listen: must be HOST:PORT such as 127.0.0.1:9464, not 'nohost'"}},
        BadCase{"not_an_object", "[1, 2]", {"1: $: the config must be a JSON object"}}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ConfigTest, MissingFileSaysHowToFixIt) {
  const ConfigLoad load = LoadConfig("/nonexistent/crmsync.json");
  ASSERT_EQ(load.diagnostics.size(), 1u);
  EXPECT_NE(load.diagnostics[0].ToString().find("crmsync init"), std::string::npos);
}

TEST(ConfigTest, TheInitTemplateIsAValidConfig) {
  TempDir dir;
  dir.WriteFile("client-secret", "s\n", 0600);
  const std::string text = CommentedConfigTemplate(dir.path(), "http://127.0.0.1:1234", "t", "c");
  const ConfigLoad load = ParseConfig(dir.path() + "/crmsync.json", text, std::string("/none"));
  ASSERT_TRUE(load.config.has_value()) << ::testing::PrintToString(Lines(load));
  EXPECT_EQ(load.config->dataverse.url, "http://127.0.0.1:1234");
  EXPECT_EQ(load.config->dataverse.authority, "http://127.0.0.1:1234");
}

}  // namespace
}  // namespace crmsync::daemon
