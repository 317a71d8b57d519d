#include "daemon/config.h"

#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/json_text.h"
#include "common/log.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_secret.h"

namespace crmsync::daemon {
namespace {

using nlohmann::json;
using testing_support::kTestClientSecret;
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

}  // namespace

// Readable failures for EXPECT_EQ on whole configs.
void PrintTo(const Config& c, std::ostream* os) {
  const DataverseConfig& d = c.dataverse;
  *os << "{file=" << c.file << " url=" << d.url << " api_version=" << d.api_version << " authority=" << d.authority
      << " tenant_id=" << d.tenant_id << " client_id=" << d.client_id << " client_secret_file=" << d.client_secret_file
      << " certificate_file=" << d.certificate_file << " private_key_file=" << d.private_key_file
      << " assertion_algorithm=" << d.assertion_algorithm << " ca_file=" << d.ca_file
      << " max_parallelism=" << d.max_parallelism << " page_size=" << d.page_size << " timeout_s=" << d.timeout_s
      << " suppress_duplicate_detection=" << d.suppress_duplicate_detection
      << " bypass_custom_plugins=" << d.bypass_custom_plugins << " local_database=" << c.local_database
      << " state_database=" << c.state_database << " mappings_dir=" << c.mappings_dir << " interval_s=" << c.interval_s
      << " status_listen=" << c.status_listen << " status_allow_remote=" << c.status_allow_remote
      << " log_level=" << c.log_level << " log_format=" << c.log_format
      << " mass_delete_max_share=" << c.mass_delete_max_share << " mass_delete_min_count=" << c.mass_delete_min_count
      << " mass_delete_max_count=" << c.mass_delete_max_count << "}";
}

namespace {

std::vector<std::string> Lines(const ConfigLoad& load) {
  std::vector<std::string> out;
  for (const auto& d : load.diagnostics) out.push_back(d.ToString());
  return out;
}

TEST(ConfigTest, LoadsAValidConfigWithDefaults) {
  TempDir dir;
  dir.WriteFile("client-secret", std::string(kTestClientSecret) + "\n", 0600);
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

// systemd hands the service's user a credential through an ACL where the file
// system has them, and stat shows the ACL's mask as group bits (0440).
TEST(ConfigTest, ACredentialMayShowGroupBitsButNotOthers) {
  TempDir dir;
  TempDir creds;
  creds.WriteFile("client-secret", "systemd\n", 0440);
  const std::string path = dir.WriteFile("crmsync.json", kGood);
  const ConfigLoad load = LoadConfig(path, creds.path() + "/");
  ASSERT_TRUE(load.config.has_value()) << ::testing::PrintToString(Lines(load));
  EXPECT_EQ(load.config->dataverse.client_secret_file, creds.path() + "/client-secret");

  creds.WriteFile("open-secret", "systemd\n", 0444);
  const std::string open_path = dir.WriteFile("open.json", R"({
  "dataverse": { "url": "https://contoso.crm4.dynamics.com", "tenant_id": "t1", "client_id": "c1",
    "client_secret_file": "open-secret" },
  "local": { "database": "crm.db" }, "state": { "database": "state.db" }, "mappings": "mappings.d"
})");
  const ConfigLoad open = LoadConfig(open_path, creds.path());
  ASSERT_FALSE(open.config.has_value());
  ASSERT_EQ(open.diagnostics.size(), 1u);
  EXPECT_NE(open.diagnostics[0].ToString().find("has mode 0444"), std::string::npos) << Lines(open)[0];
}

TEST(ConfigTest, ASecretBesideTheConfigMustNotBeGroupReadable) {
  TempDir dir;
  TempDir creds;
  dir.WriteFile("client-secret", "beside\n", 0440);
  const std::string path = dir.WriteFile("crmsync.json", kGood);
  const ConfigLoad load = LoadConfig(path, creds.path());
  ASSERT_FALSE(load.config.has_value());
  ASSERT_EQ(load.diagnostics.size(), 1u);
  EXPECT_NE(load.diagnostics[0].ToString().find("has mode 0440"), std::string::npos) << Lines(load)[0];
}

struct BadCase {
  const char* name;
  const char* text;
  std::vector<std::string> expected;  // after the "FILE:" prefix
};

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, ReportsEveryProblemWithLineAndKey) {
  TempDir dir;
  dir.WriteFile("client-secret", std::string(kTestClientSecret) + "\n", 0600);
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
        BadCase{"values_out_of_range",
                R"({
  "dataverse": { "url": "https://a.example", "tenant_id": "", "client_id": "c",
    "client_secret_file": "client-secret", "max_parallelism": 60, "assertion_algorithm": "ES256" },
  "local": { "database": "crm.db" }, "state": { "database": "s.db" }, "mappings": "m",
  "log": { "level": "loud", "format": "xml" },
  "sync": { "mass_delete_min_count": -1, "mass_delete_max_share": 1.5 }
})",
                {"2: dataverse.tenant_id: must not be empty",
                 "3: dataverse.assertion_algorithm: must be PS256 or RS256, not 'ES256'; did you mean 'PS256'?",
                 "3: dataverse.max_parallelism: must be between 1 and 52, not 60",
                 "5: log.level: must be one of trace, debug, info, warn, error, off, not 'loud'",
                 "5: log.format: must be text or json, not 'xml'",
                 "6: sync.mass_delete_max_share: must be between 0 and 1, not 1.5",
                 "6: sync.mass_delete_min_count: must be between 0 and 100000000, not -1"}},
        BadCase{"not_an_object", "[1, 2]", {"1: $: the config must be a JSON object"}}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ConfigTest, MissingFileSaysHowToFixIt) {
  const ConfigLoad load = LoadConfig("/nonexistent/crmsync.json");
  ASSERT_EQ(load.diagnostics.size(), 1u);
  EXPECT_NE(load.diagnostics[0].ToString().find("crmsync init"), std::string::npos);
}

TEST(ConfigTest, TheInitTemplateIsAValidConfig) {
  TempDir dir;
  dir.WriteFile("client-secret", std::string(kTestClientSecret) + "\n", 0600);
  const std::string text = CommentedConfigTemplate(dir.path(), "http://127.0.0.1:1234", "t", "c");
  const ConfigLoad load = ParseConfig(dir.path() + "/crmsync.json", text, std::string("/none"));
  ASSERT_TRUE(load.config.has_value()) << ::testing::PrintToString(Lines(load));
  EXPECT_EQ(load.config->dataverse.url, "http://127.0.0.1:1234");
  EXPECT_EQ(load.config->dataverse.authority, "http://127.0.0.1:1234");
}

// The keys `crmsync init` fills in itself; every other key is written at its default.
const std::set<std::string> kTemplateValues = {"/dataverse/url",
                                               "/dataverse/authority",
                                               "/dataverse/tenant_id",
                                               "/dataverse/client_id",
                                               "/dataverse/client_secret_file",
                                               "/local/database",
                                               "/state/database",
                                               "/mappings"};

TEST(ConfigTest, TheTemplateWritesEveryKeyWithItsHelpAndDefault) {
  const std::string text = CommentedConfigTemplate("/srv/crm", "http://127.0.0.1:1234", "t", "c");
  json doc;
  ASSERT_TRUE(ParseJsonText(text, doc).ok()) << text;
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);

  ASSERT_GE(ConfigKeys().size(), 30u);
  for (const KeySpec& key : ConfigKeys()) {
    SCOPED_TRACE(std::string(key.pointer));
    const json::json_pointer at{std::string(key.pointer)};
    ASSERT_TRUE(doc.contains(at)) << text;
    ASSERT_FALSE(key.help.empty());
    const std::string member = "\"" + std::string(KeyName(key.pointer)) + "\": ";
    const std::string help = "// " + std::string(key.help);
    bool found = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find(member) == std::string::npos) continue;
      if (doc.at(at).is_object()) {
        // An object: its help stands on the line above it.
        found = found || (i > 0 && lines[i - 1].find(help) != std::string::npos);
      } else {
        found = found || lines[i].find(help) != std::string::npos;
      }
    }
    EXPECT_TRUE(found) << "no line with " << member << " and " << help << " in\n" << text;
    if (kTemplateValues.count(std::string(key.pointer)) == 0 && !doc.at(at).is_object()) {
      EXPECT_EQ(doc.at(at), json::parse(key.default_json));
    }
  }
  // Range and allowed values are spelt out for people.
  EXPECT_NE(text.find("\"page_size\": 1000,  // records per page when reading (1 to 5000)"), std::string::npos);
  EXPECT_NE(text.find("(trace, debug, info, warn, error or off)"), std::string::npos);
  EXPECT_NE(text.find("\"mass_delete_min_count\": 10,  // the share rule applies only when more than this many "
                      "records would be deleted (0 to 100000000)"),
            std::string::npos);
}

TEST(ConfigTest, TheTemplateTheParserAndTheStructAgreeOnEveryDefault) {
  TempDir dir;
  dir.WriteFile("client-secret", std::string(kTestClientSecret) + "\n", 0600);
  Config expected;  // every declared default
  expected.file = dir.path() + "/crmsync.json";
  expected.dataverse.url = "https://contoso.example";
  expected.dataverse.tenant_id = "t";
  expected.dataverse.client_id = "c";
  expected.dataverse.client_secret_file = dir.path() + "/client-secret";
  expected.local_database = dir.path() + "/crm.db";
  expected.state_database = dir.path() + "/state.db";
  expected.mappings_dir = dir.path() + "/mappings.d";

  // The commented config `crmsync init` writes...
  const ConfigLoad from_template = ParseConfig(
      expected.file, CommentedConfigTemplate(dir.path(), "https://contoso.example/", "t", "c"), std::string("/none"));
  ASSERT_TRUE(from_template.config.has_value()) << ::testing::PrintToString(Lines(from_template));
  EXPECT_EQ(*from_template.config, expected);

  // ...and a config of the required keys alone.
  const ConfigLoad minimal = ParseConfig(expected.file, R"({
  "dataverse": { "url": "https://contoso.example", "tenant_id": "t", "client_id": "c",
                 "client_secret_file": "client-secret" },
  "local": { "database": "crm.db" }, "state": { "database": "state.db" }, "mappings": "mappings.d"
})",
                                         std::string("/none"));
  ASSERT_TRUE(minimal.config.has_value()) << ::testing::PrintToString(Lines(minimal));
  EXPECT_EQ(*minimal.config, expected);

  // The defaults themselves, as interface.md and the README promise them.
  EXPECT_EQ(expected.dataverse.api_version, "v9.2");
  EXPECT_EQ(expected.dataverse.authority, "https://login.microsoftonline.com");
  EXPECT_EQ(expected.dataverse.assertion_algorithm, "PS256");
  EXPECT_EQ(expected.dataverse.max_parallelism, 8);
  EXPECT_EQ(expected.dataverse.page_size, 1000);
  EXPECT_EQ(expected.dataverse.timeout_s, 120);
  EXPECT_TRUE(expected.dataverse.suppress_duplicate_detection);
  EXPECT_FALSE(expected.dataverse.bypass_custom_plugins);
  EXPECT_EQ(expected.interval_s, 30);
  EXPECT_EQ(expected.status_listen, "127.0.0.1:9464");
  EXPECT_EQ(expected.log_level, "info");
  EXPECT_EQ(expected.log_format, "text");
  EXPECT_EQ(expected.mass_delete_max_share, 0.2);
  EXPECT_EQ(expected.mass_delete_min_count, 10);
  EXPECT_EQ(expected.mass_delete_max_count, 100);
}

TEST(ConfigTest, EveryKeyFillsItsOwnMember) {
  TempDir dir;
  TempDir creds;
  creds.WriteFile("cert.pem", "c\n", 0644);
  dir.WriteFile("key.pem", "k\n", 0600);
  dir.WriteFile("ca.pem", "ca\n", 0644);
  const std::string path = dir.WriteFile("crmsync.json", R"({
  "dataverse": { "url": "https://org.example/", "api_version": "v9.1", "authority": "https://login.example//",
    "tenant_id": "t", "client_id": "c", "client_secret_file": null, "certificate_file": "cert.pem",
    "private_key_file": "key.pem", "assertion_algorithm": "RS256", "ca_file": "ca.pem", "max_parallelism": 3,
    "page_size": 100, "timeout_s": 7, "suppress_duplicate_detection": false, "bypass_custom_plugins": true },
  "local": { "database": "data/../l.db" }, "state": { "database": "/abs/s.db" }, "mappings": "m.d",
  "interval_s": 5, "status_listen": null, "status_allow_remote": true,
  "log": { "level": "debug", "format": "json" },
  "sync": { "mass_delete_max_share": 0.5, "mass_delete_min_count": 3, "mass_delete_max_count": 7 }
})");
  const ConfigLoad load = LoadConfig(path, creds.path());
  ASSERT_TRUE(load.config.has_value()) << ::testing::PrintToString(Lines(load));
  Config expected;
  expected.file = path;
  DataverseConfig& d = expected.dataverse;
  d.url = "https://org.example";
  d.api_version = "v9.1";
  d.authority = "https://login.example";
  d.tenant_id = "t";
  d.client_id = "c";
  d.certificate_file = creds.path() + "/cert.pem";  // $CREDENTIALS_DIRECTORY first
  d.private_key_file = dir.path() + "/key.pem";     // then beside the config
  d.assertion_algorithm = "RS256";
  d.ca_file = dir.path() + "/ca.pem";
  d.max_parallelism = 3;
  d.page_size = 100;
  d.timeout_s = 7;
  d.suppress_duplicate_detection = false;
  d.bypass_custom_plugins = true;
  expected.local_database = dir.path() + "/l.db";
  expected.state_database = "/abs/s.db";
  expected.mappings_dir = dir.path() + "/m.d";
  expected.interval_s = 5;
  expected.status_listen = "";
  expected.status_allow_remote = true;
  expected.log_level = "debug";
  expected.log_format = "json";
  expected.mass_delete_max_share = 0.5;
  expected.mass_delete_min_count = 3;
  expected.mass_delete_max_count = 7;
  EXPECT_EQ(*load.config, expected);
}

// A config whose status_listen line (line 4) is `listen`, plus `extra` keys.
std::string WithStatusListen(const std::string& listen, const std::string& extra = "") {
  return R"({
  "dataverse": { "url": "https://a.example", "tenant_id": "t", "client_id": "c", "client_secret_file": "client-secret" },
  "local": { "database": "l.db" }, "state": { "database": "s.db" }, "mappings": "m",
  "status_listen": ")" +
         listen + "\"" + extra + "\n}";
}

TEST(ConfigTest, StatusListenOnLoopbackIsAccepted) {
  TempDir dir;
  dir.WriteFile("client-secret", std::string(kTestClientSecret) + "\n", 0600);
  for (const std::string listen : {"127.0.0.1:9464", "127.10.20.30:1", "localhost:9464", "[::1]:9464"}) {
    const ConfigLoad load = ParseConfig(dir.path() + "/crmsync.json", WithStatusListen(listen), std::nullopt);
    ASSERT_TRUE(load.config.has_value()) << listen << ": " << ::testing::PrintToString(Lines(load));
    EXPECT_EQ(load.config->status_listen, listen);
    EXPECT_FALSE(load.config->status_allow_remote);
  }
}

TEST(ConfigTest, StatusListenOffLoopbackIsRefusedNamingTheFileAndTheField) {
  TempDir dir;
  dir.WriteFile("client-secret", std::string(kTestClientSecret) + "\n", 0600);
  const std::string file = dir.path() + "/crmsync.json";
  for (const std::string listen : {"0.0.0.0:9464", "[::]:9464", "192.168.1.10:9464", "crm.example.com:9464",
                                   "[::ffff:127.0.0.1]:9464", "127.0.0.1.example.com:9464"}) {
    const ConfigLoad load = ParseConfig(file, WithStatusListen(listen), std::nullopt);
    EXPECT_FALSE(load.config.has_value()) << listen;
    EXPECT_EQ(Lines(load), std::vector<std::string>{file + ":4: status_listen: '" + listen +
                                                    "' is not a loopback address (127.0.0.0/8, ::1, localhost) and "
                                                    "the status endpoint has no authentication; bind it to "
                                                    "loopback, or set \"status_allow_remote\": true to serve it "
                                                    "there anyway"});
  }
}

TEST(ConfigTest, StatusListenOffLoopbackIsAcceptedWithTheExplicitOptIn) {
  TempDir dir;
  dir.WriteFile("client-secret", std::string(kTestClientSecret) + "\n", 0600);
  const ConfigLoad load =
      ParseConfig(dir.path() + "/crmsync.json", WithStatusListen("0.0.0.0:9464", R"(, "status_allow_remote": true)"));
  ASSERT_TRUE(load.config.has_value()) << ::testing::PrintToString(Lines(load));
  EXPECT_EQ(load.config->status_listen, "0.0.0.0:9464");
  EXPECT_TRUE(load.config->status_allow_remote);
  // The opt-in alone changes nothing else, and false is the default.
  const ConfigLoad refused =
      ParseConfig(dir.path() + "/crmsync.json", WithStatusListen("0.0.0.0:9464", R"(, "status_allow_remote": false)"));
  EXPECT_FALSE(refused.config.has_value());
  EXPECT_FALSE(Config().status_allow_remote);
}

TEST(ConfigTest, AcceptsEveryLogLevelAndFormat) {
  TempDir dir;
  dir.WriteFile("client-secret", std::string(kTestClientSecret) + "\n", 0600);
  for (std::string_view level : kLogLevels) {
    for (std::string_view format : kLogFormats) {
      const std::string text = R"({"dataverse": {"url": "https://a.example", "tenant_id": "t", "client_id": "c",
        "client_secret_file": "client-secret"}, "local": {"database": "l.db"}, "state": {"database": "s.db"},
        "mappings": "m", "log": {"level": ")" +
                               std::string(level) + R"(", "format": ")" + std::string(format) + R"("}})";
      const ConfigLoad load = ParseConfig(dir.path() + "/crmsync.json", text, std::string("/none"));
      ASSERT_TRUE(load.config.has_value()) << level << " " << format << ::testing::PrintToString(Lines(load));
      EXPECT_EQ(load.config->log_level, level);
    }
  }
}

}  // namespace
}  // namespace crmsync::daemon
