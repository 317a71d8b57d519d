// Each broken mapping file fails with exactly the expected lines (file, line,
// path and message), checked in-process; mapping_cli_test runs the binary on
// the same cases.
#include <gtest/gtest.h>

#include "mapping/local_schema.h"
#include "mapping/mapping_loader.h"
#include "tests/mapping/broken_cases.h"
#include "tests/support/temp_dir.h"

namespace crmsync::mapping {
namespace {

TEST(BrokenFilesTest, EachCaseFailsWithTheExpectedLines) {
  testing_support::TempDir dir;
  const std::string db = dir.path() + "/crm.db";
  testing::CreateLocalStore(db);
  const auto cases = testing::BrokenCases();
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<MappingSource> sources;
    for (const auto& file : c.files) sources.push_back({file, testing::ReadText(testing::BrokenDir() + "/" + file)});
    MappingSetLoad load = ParseMappingSet(sources);
    const Diagnostics more = CheckLocalDatabase(load.set, db);
    load.diagnostics.insert(load.diagnostics.end(), more.begin(), more.end());
    std::vector<std::string> got;
    for (const auto& d : load.diagnostics) got.push_back(d.ToString());
    EXPECT_FALSE(got.empty());
    EXPECT_EQ(got, c.expected);
  }
}

}  // namespace
}  // namespace crmsync::mapping
