// The real `crmsync` binary: `mapping validate` on the shipped mappings
// (exit 0) and on every broken case (exit 2, exact lines on stderr);
// validation through a config; `mapping show`.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "tests/mapping/broken_cases.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_secret.h"

namespace crmsync::mapping {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `crmsync ARGS` in `cwd`, capturing stdout and stderr in files of `tmp`.
CliRun Crmsync(const testing_support::TempDir& tmp, const std::string& cwd, const std::string& args) {
  const std::string out = tmp.path() + "/stdout", err = tmp.path() + "/stderr";
  const std::string command = "cd '" + cwd + "' && env -u CRMSYNC_CONFIG '" + std::string(CRMSYNC_BINARY) + "' " +
                              args + " >'" + out + "' 2>'" + err + "' </dev/null";
  const int status = std::system(command.c_str());
  CliRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = testing::ReadText(out);
  r.err = testing::ReadText(err);
  return r;
}

class MappingCliTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::CreateLocalStore(db_); }
  testing_support::TempDir tmp_;
  std::string db_ = tmp_.path() + "/crm.db";
};

TEST_F(MappingCliTest, ShippedMappingsAreValid) {
  const CliRun r =
      Crmsync(tmp_, testing::SourceDir(), "mapping validate --database '" + db_ + "' systemd/mappings.d/*.json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "14 mappings OK (local columns checked against " + db_ + ")\n");
  EXPECT_EQ(r.err, "");
  const CliRun plain = Crmsync(tmp_, testing::SourceDir(), "mapping validate systemd/mappings.d/accounts.json");
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "1 mapping OK\n");
}

TEST_F(MappingCliTest, EveryBrokenCaseExitsTwoWithTheExpectedLines) {
  const auto cases = testing::BrokenCases();
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string files;
    for (const auto& f : c.files) files += " '" + f + "'";
    const CliRun r = Crmsync(tmp_, testing::BrokenDir(), "mapping validate --database '" + db_ + "'" + files);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    std::vector<std::string> expected = c.expected;
    std::vector<std::string> got = testing::Lines(r.err);
    EXPECT_EQ(got, expected);
  }
}

TEST_F(MappingCliTest, WithoutFilesValidatesTheConfigAndItsMappingsFolder) {
  tmp_.WriteFile("client-secret", std::string(testing_support::kTestClientSecret) + "\n", 0600);
  const auto config = [&](const std::string& mappings) {
    return tmp_.WriteFile("crmsync.json", R"({
  "dataverse": { "url": "http://127.0.0.1:8080", "tenant_id": "t", "client_id": "c", "client_secret_file": "client-secret" },
  "local": { "database": "crm.db" },
  "state": { "database": "state.db" },
  "mappings": ")" + mappings + R"("
})");
  };
  const std::string good = config(testing::DefaultMappingsDir());
  const CliRun ok = Crmsync(tmp_, tmp_.path(), "--config '" + good + "' mapping validate");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "14 mappings OK (local columns checked against " + db_ + ")\n");

  // A folder with a broken mapping: its problems, exit 2.
  tmp_.WriteFile("mappings/x.json", "{\n  \"name\": \"x\",\n  \"lcoal\": {}\n}\n");
  const std::string bad = config(tmp_.path() + "/mappings");
  const CliRun broken = Crmsync(tmp_, tmp_.path(), "--config '" + bad + "' mapping validate");
  EXPECT_EQ(broken.exit_code, 2);
  const std::string file = tmp_.path() + "/mappings/x.json";
  EXPECT_EQ(broken.err,
            file + ":1: $: missing required key 'local'\n" + file + ":1: $: missing required key 'remote'\n" + file +
                ":1: $: missing required key 'fields' (or 'association', for a mapping of links between records)\n" +
                file + ":3: lcoal: unknown key 'lcoal'; did you mean 'local'?\n");

  // A broken config is reported as such.
  tmp_.WriteFile("crmsync.json", "{}");
  const CliRun no_config = Crmsync(tmp_, tmp_.path(), "--config crmsync.json mapping validate");
  EXPECT_EQ(no_config.exit_code, 2);
  EXPECT_NE(no_config.err.find("missing required key 'dataverse'"), std::string::npos) << no_config.err;
}

TEST_F(MappingCliTest, ShowFillsDefaultsAndNamesTheVersion) {
  const std::string dir = testing::DefaultMappingsDir();
  const CliRun text = Crmsync(tmp_, tmp_.path(), "mapping show salespeople --dir '" + dir + "'");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("// " + dir + "/salespeople.json\n// version ", 0), 0u) << text.out;

  const CliRun json = Crmsync(tmp_, tmp_.path(), "mapping show salespeople --json --dir '" + dir + "'");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["direction"], "from_remote");
  EXPECT_EQ(doc["conflict"], "remote_wins");
  EXPECT_EQ(doc["remote"]["match_on"], nlohmann::json::array({"internalemailaddress"}));
  EXPECT_EQ(doc["fields"][3]["type"], "boolean");
  EXPECT_EQ(doc["fields"][0]["sensitive"], false);
  EXPECT_EQ(doc["version"].get<std::string>().size(), 64u);
  EXPECT_NE(text.out.find(doc["version"].get<std::string>()), std::string::npos);

  const CliRun unknown = Crmsync(tmp_, tmp_.path(), "mapping show acounts --dir '" + dir + "'");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err,
            "crmsync mapping show: no mapping named 'acounts'; did you mean 'accounts'? (mappings: accounts, contacts, "
            "salespeople, appointments, campaigns, emails, letters, opportunities, phone_calls, sales_orders, "
            "sales_order_lines, segments, campaign_segments, segment_members)\n");
}

}  // namespace
}  // namespace crmsync::mapping
