// DataverseConnector paths the emulator does not exercise (every emulated
// entity set has change tracking), against a scripted HTTP client.
#include <gtest/gtest.h>

#include <deque>
#include <mutex>

#include "connectors/dataverse/dataverse_connector.h"
#include "tests/support/fake_clock.h"

namespace crmsync::dataverse {
namespace {

class ScriptedHttp final : public http::HttpClient {
 public:
  Result<http::HttpResponse> Send(const http::HttpRequest& request, Deadline) override {
    std::lock_guard lock(mutex);
    urls.push_back(request.url);
    if (replies.empty()) return Status(StatusCode::kInternal, "no reply scripted");
    auto r = replies.front();
    replies.pop_front();
    return r;
  }
  std::mutex mutex;
  std::deque<http::HttpResponse> replies;
  std::vector<std::string> urls;
};

class FixedToken final : public TokenSource {
 public:
  Result<std::string> AccessToken(Deadline) override { return std::string("t"); }
  void Invalidate(const std::string&) override {}
};

TEST(DataverseConnectorUnitTest, WithoutChangeTrackingReadsFallBackToAVersionWatermark) {
  ScriptedHttp http;
  FixedToken tokens;
  RequestBudget budget({});
  testing_support::FakeClock clock;
  Transport transport(http, tokens, budget, clock);
  DataverseConnectorOptions options;
  options.api = {"https://org.example", "v9.2"};
  DataverseConnector connector(transport, options);

  // No Preference-Applied: odata.track-changes and no delta link: the table is not tracked.
  http.replies.push_back({200, {}, R"({"value":[
      {"@odata.etag":"W/\"105\"","name":"A","new_thingid":"00000000-0000-0000-0000-000000000001"},
      {"@odata.etag":"W/\"230\"","name":"B","new_thingid":"00000000-0000-0000-0000-000000000002"}]})"});
  auto first = connector.ReadChanges({.entity = "new_things", .columns = {"name"}, .cursor = "", .max_changes = 100},
                                     Deadline::After(std::chrono::seconds(5)));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->changes.size(), 2u);
  EXPECT_EQ(first->next_cursor, "watermark:230");
  EXPECT_FALSE(first->more);

  http.replies.push_back({200, {}, R"({"value":[
      {"@odata.etag":"W/\"231\"","name":"B2","new_thingid":"00000000-0000-0000-0000-000000000002"}]})"});
  auto second = connector.ReadChanges(
      {.entity = "new_things", .columns = {"name"}, .cursor = first->next_cursor, .max_changes = 100},
      Deadline::After(std::chrono::seconds(5)));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(http.urls.back(),
            "https://org.example/api/data/v9.2/new_things?$select=name&$filter=versionnumber%20gt%20230&$orderby="
            "versionnumber%20asc");
  ASSERT_EQ(second->changes.size(), 1u);
  EXPECT_EQ(second->changes[0].record.at("name"), Value::Text("B2"));
  EXPECT_EQ(second->next_cursor, "watermark:231");

  auto bad =
      connector.ReadChanges({.entity = "new_things", .columns = {"name"}, .cursor = "watermark:x", .max_changes = 100},
                            Deadline::After(std::chrono::seconds(5)));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(DataverseConnectorUnitTest, PrimaryKeysOfStandardAndCustomSets) {
  ScriptedHttp http;
  FixedToken tokens;
  RequestBudget budget({});
  testing_support::FakeClock clock;
  Transport transport(http, tokens, budget, clock);
  DataverseConnectorOptions options;
  options.primary_keys = {{"new_widgetses", "new_widgetid"}};
  DataverseConnector connector(transport, options);
  EXPECT_EQ(connector.PrimaryKeyOf("opportunities"), "opportunityid");
  EXPECT_EQ(connector.PrimaryKeyOf("salesorderdetails"), "salesorderdetailid");
  EXPECT_EQ(connector.PrimaryKeyOf("new_widgetses"), "new_widgetid");
  EXPECT_EQ(connector.PrimaryKeyOf("new_gadgets"), "new_gadgetid");
}

TEST(DataverseConnectorUnitTest, ABadKeyFailsOnlyItsOwnOperation) {
  ScriptedHttp http;
  FixedToken tokens;
  RequestBudget budget({});
  testing_support::FakeClock clock;
  Transport transport(http, tokens, budget, clock);
  DataverseConnectorOptions options;
  options.api = {"https://org.example", "v9.2"};
  options.use_batch = false;
  DataverseConnector connector(transport, options);
  connectors::WriteOp bad;
  bad.kind = connectors::WriteOp::Kind::kUpdate;
  bad.key = "CT000001";
  connectors::WriteOp good;
  good.kind = connectors::WriteOp::Kind::kDelete;
  good.key = "00000000-0000-0000-0000-000000000009";
  http.replies.push_back({204, {}, ""});
  std::vector<connectors::WriteOp> ops = {bad, good};
  auto results = connector.Write("accounts", ops, Deadline::After(std::chrono::seconds(5)));
  ASSERT_TRUE(results.ok());
  EXPECT_EQ((*results)[0].status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*results)[1].status.ok()) << (*results)[1].status.ToString();
  EXPECT_EQ(
      http.urls,
      (std::vector<std::string>{"https://org.example/api/data/v9.2/accounts(00000000-0000-0000-0000-000000000009)"}));
}

}  // namespace
}  // namespace crmsync::dataverse
