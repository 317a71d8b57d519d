// DataverseConnector paths the emulator does not exercise (every emulated
// entity set has change tracking), against a scripted HTTP client.
#include <gtest/gtest.h>

#include <memory>

#include "connectors/dataverse/dataverse_connector.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_http_client.h"
#include "tests/support/real_clock.h"

namespace crmsync::dataverse {
namespace {

class FixedToken final : public TokenSource {
 public:
  Result<std::string> AccessToken(Deadline) override { return std::string("t"); }
  void Invalidate(const std::string&) override {}
};

// A connector for https://org.example over a scripted HTTP client.
class DataverseConnectorUnitTest : public ::testing::Test {
 protected:
  DataverseConnector& Connector(DataverseConnectorOptions options = {}) {
    options.api = {"https://org.example", "v9.2"};
    connector_ = std::make_unique<DataverseConnector>(transport_, std::move(options));
    return *connector_;
  }

  testing_support::FakeHttpClient http_;
  FixedToken tokens_;
  testing_support::FakeClock clock_;
  RequestBudget budget_{{}, clock_};
  Transport transport_{http_, tokens_, budget_, clock_};
  std::unique_ptr<DataverseConnector> connector_;
};

TEST_F(DataverseConnectorUnitTest, WithoutChangeTrackingReadsFallBackToAVersionWatermark) {
  DataverseConnector& connector = Connector();

  // No Preference-Applied: odata.track-changes and no delta link: the table is not tracked.
  http_.replies.push_back(http::HttpResponse{200, {}, R"({"value":[
      {"@odata.etag":"W/\"105\"","name":"A","new_thingid":"00000000-0000-0000-0000-000000000001"},
      {"@odata.etag":"W/\"230\"","name":"B","new_thingid":"00000000-0000-0000-0000-000000000002"}]})"});
  auto first = connector.ReadChanges({.entity = "new_things",
                                      .key = "new_thingid",
                                      .columns = {"name"},
                                      .filter = "",
                                      .cursor = "",
                                      .max_changes = 100},
                                     Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(5)));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->changes.size(), 2u);
  EXPECT_EQ(first->next_cursor, "watermark:230");
  EXPECT_FALSE(first->more);

  http_.replies.push_back(http::HttpResponse{200, {}, R"({"value":[
      {"@odata.etag":"W/\"231\"","name":"B2","new_thingid":"00000000-0000-0000-0000-000000000002"}]})"});
  auto second =
      connector.ReadChanges({.entity = "new_things",
                             .key = "new_thingid",
                             .columns = {"name"},
                             .filter = "",
                             .cursor = first->next_cursor,
                             .max_changes = 100},
                            Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(5)));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(http_.Urls().back(),
            "https://org.example/api/data/v9.2/new_things?$select=name&$filter=versionnumber%20gt%20230&$orderby="
            "versionnumber%20asc");
  ASSERT_EQ(second->changes.size(), 1u);
  EXPECT_EQ(second->changes[0].record.at("name"), Value::Text("B2"));
  EXPECT_EQ(second->next_cursor, "watermark:231");

  auto bad = connector.ReadChanges({.entity = "new_things",
                                    .key = "new_thingid",
                                    .columns = {"name"},
                                    .filter = "",
                                    .cursor = "watermark:x",
                                    .max_changes = 100},
                                   Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(5)));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DataverseConnectorUnitTest, AnUntrackedTableOfSeveralPagesIsReadAgainInVersionOrder) {
  DataverseConnector& connector = Connector();
  http_.replies.push_back(http::HttpResponse{200, {}, R"({"value":[
      {"@odata.etag":"W/\"900\"","name":"A","new_thingid":"00000000-0000-0000-0000-000000000001"}],
      "@odata.nextLink":"https://org.example/api/data/v9.2/new_things?$skiptoken=2"})"});
  auto first = connector.ReadChanges(
      {.entity = "new_things", .key = "new_thingid", .columns = {"name"}, .filter = "", .cursor = "", .max_changes = 1},
      Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(5)));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // Key-ordered pages cannot be resumed by version: nothing is taken from
  // them, and the next read starts from version 0 in version order.
  EXPECT_TRUE(first->changes.empty());
  EXPECT_EQ(first->next_cursor, "watermark:0");
  EXPECT_TRUE(first->more);
}

TEST_F(DataverseConnectorUnitTest, PrimaryKeysOfStandardAndCustomSets) {
  DataverseConnectorOptions options;
  options.primary_keys = {{"new_widgetses", "new_widgetid"}};
  DataverseConnector& connector = Connector(options);
  EXPECT_EQ(connector.PrimaryKeyOf("opportunities"), "opportunityid");
  EXPECT_EQ(connector.PrimaryKeyOf("salesorderdetails"), "salesorderdetailid");
  EXPECT_EQ(connector.PrimaryKeyOf("new_widgetses"), "new_widgetid");
  EXPECT_EQ(connector.PrimaryKeyOf("new_gadgets"), "new_gadgetid");
}

TEST_F(DataverseConnectorUnitTest, ABadKeyFailsOnlyItsOwnOperation) {
  DataverseConnectorOptions options;
  options.use_batch = false;
  DataverseConnector& connector = Connector(options);
  connectors::WriteOp bad;
  bad.kind = connectors::WriteOp::Kind::kUpdate;
  bad.key = "CT000001";
  connectors::WriteOp good;
  good.kind = connectors::WriteOp::Kind::kDelete;
  good.key = "00000000-0000-0000-0000-000000000009";
  http_.replies.push_back(http::HttpResponse{204, {}, ""});
  std::vector<connectors::WriteOp> ops = {bad, good};
  auto results = connector.Write("accounts", ops,
                                 Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(5)));
  ASSERT_TRUE(results.ok());
  EXPECT_EQ((*results)[0].status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*results)[1].status.ok()) << (*results)[1].status.ToString();
  EXPECT_EQ(
      http_.Urls(),
      (std::vector<std::string>{"https://org.example/api/data/v9.2/accounts(00000000-0000-0000-0000-000000000009)"}));
}

}  // namespace
}  // namespace crmsync::dataverse
