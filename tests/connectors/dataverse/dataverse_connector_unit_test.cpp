// DataverseConnector against a scripted HTTP client: request building,
// cursors, fallbacks and the settling of write answers, string in and
// string out. The emulator tests (dataverse_connector_test.cpp) cover the
// same paths against a server.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "common/time_format.h"
#include "connectors/dataverse/dataverse_connector.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_http_client.h"

namespace crmsync::dataverse {
namespace {

using connectors::Change;
using connectors::LookupRequest;
using connectors::ReadRequest;
using connectors::WriteOp;
using connectors::WriteResult;

constexpr char kId1[] = "00000000-0000-0000-0000-000000000001";
constexpr char kId2[] = "00000000-0000-0000-0000-000000000002";
constexpr char kId3[] = "00000000-0000-0000-0000-000000000003";
constexpr char kId4[] = "00000000-0000-0000-0000-000000000004";
constexpr char kApi[] = "https://org.example/api/data/v9.2/";

class FixedToken final : public TokenSource {
 public:
  Result<std::string> AccessToken(Deadline) override { return std::string("t"); }
  void Invalidate(const std::string&) override {}
};

http::HttpResponse Json(int status, std::string body, http::Headers headers = {}) {
  headers.emplace_back("Content-Type", "application/json; odata.metadata=minimal");
  return {status, std::move(headers), std::move(body)};
}

http::HttpResponse Error(int status, const std::string& code, const std::string& message) {
  return Json(status, R"({"error":{"code":")" + code + R"(","message":")" + message + R"("}})");
}

// One application/http part of a $batch answer.
std::string HttpPart(int status, const std::string& body, const std::string& content_id = "",
                     const std::string& extra_headers = "") {
  std::string part = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n";
  if (!content_id.empty()) part += "Content-ID: " + content_id + "\r\n";
  part += "\r\nHTTP/1.1 " + std::to_string(status) + " Reason\r\nOData-Version: 4.0\r\n" + extra_headers;
  if (!body.empty()) part += "Content-Type: application/json; odata.metadata=minimal\r\n";
  return part + "\r\n" + body + "\r\n";
}

std::string ChangeSetPart(const std::vector<std::string>& parts) {
  std::string out = "Content-Type: multipart/mixed; boundary=csr_1\r\n\r\n";
  for (const auto& p : parts) out += "--csr_1\r\n" + p;
  return out + "--csr_1--\r\n";
}

http::HttpResponse BatchAnswer(const std::vector<std::string>& parts, int status = 200) {
  std::string body;
  for (const auto& p : parts) body += "--br_1\r\n" + p;
  body += "--br_1--\r\n";
  return {status, {{"Content-Type", "multipart/mixed; boundary=br_1"}}, body};
}

std::string Account(const std::string& id, int version, const std::string& name,
                    const std::string& modifiedon = "2025-01-02T03:04:05Z") {
  return R"({"@odata.etag":"W/\")" + std::to_string(version) + R"(\"","name":")" + name + R"(","modifiedon":")" +
         modifiedon + R"(","accountid":")" + id + R"("})";
}

std::string Page(const std::vector<std::string>& records, const std::string& links = "") {
  std::string out = R"({"value":[)";
  for (std::size_t i = 0; i < records.size(); ++i) out += (i ? "," : "") + records[i];
  return out + "]" + links + "}";
}

WriteOp Op(WriteOp::Kind kind, std::string key, std::string group = "") {
  WriteOp op;
  op.kind = kind;
  op.key = std::move(key);
  op.group = std::move(group);
  if (kind != WriteOp::Kind::kDelete) op.fields["name"] = Value::Text("A");
  return op;
}

// A connector for https://org.example over a scripted HTTP client, on a fake clock.
class DataverseConnectorUnitTest : public ::testing::Test {
 protected:
  DataverseConnector& Connector(DataverseConnectorOptions options = {}) {
    options.api = {"https://org.example", "v9.2"};
    connector_ = std::make_unique<DataverseConnector>(transport_, std::move(options));
    return *connector_;
  }
  Deadline Soon() { return Deadline::After(clock_, std::chrono::seconds(5)); }
  Result<connectors::ChangeBatch> Read(const std::string& entity, const std::string& cursor,
                                       const std::string& filter = "", const std::string& key = "") {
    return connector_->ReadChanges({.entity = entity,
                                    .key = key,
                                    .columns = {"name"},
                                    .filter = filter,
                                    .cursor = cursor,
                                    .max_changes = 100,
                                    .local_filter = {}},
                                   Soon());
  }
  std::vector<WriteResult> Write(const std::vector<WriteOp>& ops) {
    auto results = connector_->Write("accounts", ops, Soon());
    EXPECT_TRUE(results.ok());
    return results.ok() ? *results : std::vector<WriteResult>();
  }

  testing_support::FakeHttpClient http_;
  FixedToken tokens_;
  testing_support::FakeClock clock_;
  RequestBudget budget_{{}, clock_};
  Transport transport_{http_, tokens_, budget_, clock_};
  std::unique_ptr<DataverseConnector> connector_;
};

// --- Reading -----------------------------------------------------------------

TEST_F(DataverseConnectorUnitTest, WithoutChangeTrackingReadsFallBackToAnOverlappingVersionWatermark) {
  Connector();
  // No Preference-Applied: odata.track-changes and no delta link: the table is not tracked.
  http_.replies.push_back(Json(200, Page({Account(kId1, 105, "A"), Account(kId2, 230, "B")})));
  auto first = Read("accounts", "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->changes.size(), 2u);
  EXPECT_EQ(first->next_cursor, std::string("watermark:230:") + kId2);
  EXPECT_FALSE(first->more);

  // The next read asks for version 230 again (ge) and drops what it delivered.
  http_.replies.push_back(Json(200, Page({Account(kId2, 230, "B"), Account(kId2, 231, "B2")})));
  auto second = Read("accounts", first->next_cursor);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(http_.Urls().back(), std::string(kApi) +
                                     "accounts?$select=name,modifiedon&$filter=versionnumber%20ge%20230&$orderby="
                                     "versionnumber%20asc");
  ASSERT_EQ(second->changes.size(), 1u);
  EXPECT_EQ(second->changes[0].record.at("name"), Value::Text("B2"));
  EXPECT_EQ(second->next_cursor, std::string("watermark:231:") + kId2);

  EXPECT_EQ(Read("accounts", "watermark:x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Read("accounts", "watermark:5:not-a-guid").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DataverseConnectorUnitTest, AChangeCommittedAtTheLastVersionIsNotLost) {
  Connector();
  // kId3 committed at version 230 after the read that delivered kId2 at 230.
  http_.replies.push_back(
      Json(200, Page({Account(kId2, 230, "B"), Account(kId3, 230, "Late"), Account(kId4, 231, "D")})));
  auto batch = Read("accounts", std::string("watermark:230:") + kId2);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->changes.size(), 2u);
  EXPECT_EQ(batch->changes[0].key, kId3);
  EXPECT_EQ(batch->changes[1].key, kId4);
  EXPECT_EQ(batch->next_cursor, std::string("watermark:231:") + kId4);
  // Reading again at the same watermark delivers nothing twice.
  http_.replies.push_back(Json(200, Page({Account(kId4, 231, "D")})));
  auto again = Read("accounts", batch->next_cursor);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->changes.empty());
  EXPECT_EQ(again->next_cursor, batch->next_cursor);
}

TEST_F(DataverseConnectorUnitTest, AnUntrackedTableOfSeveralPagesIsReadAgainInVersionOrder) {
  Connector();
  http_.replies.push_back(
      Json(200, Page({Account(kId1, 900, "A")},
                     R"(,"@odata.nextLink":"https://org.example/api/data/v9.2/accounts?$skiptoken=2")")));
  auto first = Read("accounts", "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // Key-ordered pages cannot be resumed by version: nothing is taken from
  // them, and the next read starts from version 0 in version order.
  EXPECT_TRUE(first->changes.empty());
  EXPECT_EQ(first->next_cursor, "watermark:0");
  EXPECT_TRUE(first->more);
}

TEST_F(DataverseConnectorUnitTest, ATableWithoutChangeTrackingAnswersWithAnErrorAndFallsBack) {
  Connector();
  // What Dataverse answers a change-tracking request on an untracked table.
  http_.replies.push_back(Error(400, "0x80072491", "Entity account isn't enabled for change tracking."));
  http_.replies.push_back(Json(200, Page({Account(kId1, 7, "A")})));
  auto batch = Read("accounts", "");
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->changes.size(), 1u);
  EXPECT_EQ(batch->next_cursor, std::string("watermark:7:") + kId1);
  ASSERT_EQ(http_.requests.size(), 2u);
  EXPECT_EQ(http_.Urls()[1], std::string(kApi) +
                                 "accounts?$select=name,modifiedon&$filter=versionnumber%20ge%200&$orderby="
                                 "versionnumber%20asc");
  const auto prefer = http_.HeaderValues("Prefer");
  EXPECT_NE(prefer[0].find("odata.track-changes"), std::string::npos);
  EXPECT_EQ(prefer[1].find("odata.track-changes"), std::string::npos);
}

TEST_F(DataverseConnectorUnitTest, AnyRefusalOfAStoredLinkIsAnExpiredCursor) {
  Connector();
  const std::string link = std::string(kApi) + "accounts?$select=name&$deltatoken=919058";
  http_.replies.push_back(Error(400, "0x80040203", "The $deltatoken value is not valid."));
  auto bad_token = Read("accounts", link);
  ASSERT_FALSE(bad_token.ok());
  EXPECT_EQ(bad_token.status().code(), StatusCode::kCursorExpired) << bad_token.status().ToString();
  EXPECT_EQ(bad_token.status().http_status(), 400);
  // ExpiredVersionStamp at a status other than 400.
  for (int status : {403, 410, 500}) {
    http_.replies.push_back(Error(status, "0x80044352", "Version stamp associated with the client has expired."));
    auto expired = Read("accounts", link);
    ASSERT_FALSE(expired.ok());
    EXPECT_EQ(expired.status().code(), StatusCode::kCursorExpired) << status << " " << expired.status().ToString();
    EXPECT_EQ(expired.status().remote_code(), "0x80044352");
  }
  // A 404 is not about the cursor.
  http_.replies.push_back(Error(404, "0x8006088a", "Resource not found for the segment 'accounts'."));
  EXPECT_EQ(Read("accounts", link).status().code(), StatusCode::kNotFound);
}

TEST_F(DataverseConnectorUnitTest, AFilteredReadGoesToTheServerAsAWatermarkRead) {
  Connector();
  http_.replies.push_back(Json(200, Page({Account(kId1, 40, "A")})));
  auto batch = Read("accounts", "", "statecode eq 0 and name ne 'O''Bryan'");
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(http_.Urls().back(), std::string(kApi) +
                                     "accounts?$select=name,modifiedon&$filter=(statecode%20eq%200%20and%20name%20ne%"
                                     "20'O''Bryan')%20and%20versionnumber%20ge%200&$orderby=versionnumber%20asc");
  EXPECT_EQ(http_.HeaderValues("Prefer").back().find("track-changes"), std::string::npos);
  EXPECT_EQ(batch->next_cursor, std::string("watermark:40:") + kId1);
  // A change-tracking link with a filter: the mapping changed; reconcile.
  auto mixed = Read("accounts", std::string(kApi) + "accounts?$deltatoken=1", "statecode eq 0");
  EXPECT_EQ(mixed.status().code(), StatusCode::kCursorExpired);
}

TEST_F(DataverseConnectorUnitTest, ReadsSelectModifiedOnAndFillModifiedAt) {
  Connector();
  http_.replies.push_back(
      Json(200,
           Page({Account(kId1, 7, "A", "2025-03-04T05:06:07Z")},
                R"(,"@odata.deltaLink":"https://org.example/api/data/v9.2/accounts?$deltatoken=1")"),
           {{"Preference-Applied", "odata.track-changes"}}));
  auto batch = Read("accounts", "");
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(http_.Urls().back(), std::string(kApi) + "accounts?$select=name,modifiedon");
  ASSERT_EQ(batch->changes.size(), 1u);
  EXPECT_EQ(batch->changes[0].modified_at, ParseUtc("2025-03-04T05:06:07Z"));

  http_.replies.push_back(Json(200, Account(kId1, 8, "A", "2025-03-05T00:00:00Z")));
  auto fetched = connector_->Fetch("accounts", "", kId1, {"name"}, Soon());
  ASSERT_TRUE(fetched.ok() && fetched->has_value()) << fetched.status().ToString();
  EXPECT_EQ(http_.Urls().back(), std::string(kApi) + "accounts(" + kId1 + ")?$select=name,modifiedon");
  EXPECT_EQ((*fetched)->modified_at, ParseUtc("2025-03-05T00:00:00Z"));
}

TEST_F(DataverseConnectorUnitTest, TheCallersKeyAttributeNamesTheRecordsKey) {
  Connector();
  const std::string record = R"({"@odata.etag":"W/\"3\"","name":"A","thingkey":")" + std::string(kId1) + R"("})";
  http_.replies.push_back(Json(200, Page({record}, R"(,"@odata.deltaLink":"https://org.example/api/data/v9.2/x")"),
                               {{"Preference-Applied", "odata.track-changes"}}));
  auto batch = Read("new_things", "", "", "thingkey");
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->changes.size(), 1u);
  EXPECT_EQ(batch->changes[0].key, kId1);
  http_.replies.push_back(Json(200, record));
  auto fetched = connector_->Fetch("new_things", "thingkey", kId1, {"name"}, Soon());
  ASSERT_TRUE(fetched.ok() && fetched->has_value()) << fetched.status().ToString();
  // Without it, the tree's naming rule (new_thingid) does not find the key.
  http_.replies.push_back(Json(200, record));
  EXPECT_FALSE(connector_->Fetch("new_things", "", kId1, {"name"}, Soon()).ok());
}

TEST_F(DataverseConnectorUnitTest, PrimaryKeysFollowTheTreesOneNamingRule) {
  DataverseConnectorOptions options;
  options.primary_keys = {{"new_widgetses", "new_widgetid"}};
  DataverseConnector& connector = Connector(options);
  EXPECT_EQ(connector.PrimaryKeyOf("opportunities"), "opportunityid");
  EXPECT_EQ(connector.PrimaryKeyOf("salesorderdetails"), "salesorderdetailid");
  EXPECT_EQ(connector.PrimaryKeyOf("new_widgetses"), "new_widgetid");
  EXPECT_EQ(connector.PrimaryKeyOf("new_gadgets"), "new_gadgetid");
  // common/entity_set_names.h: English plurals and the activity tables.
  EXPECT_EQ(connector.PrimaryKeyOf("new_categories"), "new_categoryid");
  EXPECT_EQ(connector.PrimaryKeyOf("phonecalls"), "activityid");
}

TEST_F(DataverseConnectorUnitTest, NamesThatAreNotIdentifiersNeverReachAUrl) {
  Connector();
  EXPECT_EQ(Read("accounts?$top=1", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Read("accounts", "", "", "accountid eq 1").status().code(), StatusCode::kInvalidArgument);
  ReadRequest read;
  read.entity = "accounts";
  read.columns = {"name,revenue"};
  EXPECT_EQ(connector_->ReadChanges(read, Soon()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(connector_->Fetch("accounts", "", kId1, {"name&x=1"}, Soon()).status().code(),
            StatusCode::kInvalidArgument);
  LookupRequest lookup;
  lookup.entity = "accounts";
  lookup.columns = {"name"};
  lookup.attribute = "name eq 'x' or name";
  lookup.values = {Value::Text("x")};
  EXPECT_EQ(connector_->Lookup(lookup, Soon()).status().code(), StatusCode::kInvalidArgument);
  WriteOp op = Op(WriteOp::Kind::kCreate, kId1);
  op.read_back = {"name)"};
  EXPECT_EQ(Write({op})[0].status.code(), StatusCode::kInvalidArgument);
  op.read_back = {};
  op.entity = "accounts/../contacts";
  EXPECT_EQ(Write({op})[0].status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(http_.requests.empty());
}

// --- Lookup ------------------------------------------------------------------

TEST_F(DataverseConnectorUnitTest, LookupSplitsLongValueListsIntoChunksUnderTheUrlLimit) {
  Connector();
  LookupRequest request;
  request.entity = "contacts";
  request.columns = {"fullname"};
  request.attribute = "emailaddress1";
  for (int i = 0; i < 250; ++i) request.values.push_back(Value::Text("person" + std::to_string(i) + "@example.com"));
  request.filter = "statecode eq 0";
  for (int i = 0; i < 3; ++i) http_.replies.push_back(Json(200, Page({})));
  auto batch = connector_->Lookup(request, Soon());
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_TRUE(batch->changes.empty());
  EXPECT_FALSE(batch->more) << "empty chunks are skipped within one call";
  ASSERT_EQ(http_.requests.size(), 3u);
  std::size_t values = 0;
  for (const auto& url : http_.Urls()) {
    EXPECT_LT(url.size(), 16u * 1024);
    std::size_t n = 0;
    for (auto pos = url.find("emailaddress1%20eq%20"); pos != std::string::npos;
         pos = url.find("emailaddress1%20eq%20", pos + 1))
      ++n;
    EXPECT_LE(n, 100u);
    values += n;
    EXPECT_EQ(
        url.rfind(std::string(kApi) + "contacts?$select=fullname,modifiedon&$filter=(statecode%20eq%200)%20and%20(", 0),
        0u)
        << url;
  }
  EXPECT_EQ(values, 250u);
  EXPECT_NE(http_.Urls()[0].find("emailaddress1%20eq%20'person0%40example.com'%20or%20emailaddress1%20eq%20'person1%"
                                 "40example.com'"),
            std::string::npos)
      << http_.Urls()[0];

  // Long values: the URL length, not the count, sets the chunk size.
  http_.requests.clear();
  request.values.clear();
  for (int i = 0; i < 40; ++i) request.values.push_back(Value::Text(std::string(1000, 'a' + (i % 26))));
  for (int i = 0; i < 10; ++i) http_.replies.push_back(Json(200, Page({})));
  ASSERT_TRUE(connector_->Lookup(request, Soon()).ok());
  EXPECT_GT(http_.requests.size(), 2u);
  for (const auto& url : http_.Urls()) EXPECT_LE(url.size(), 16u * 1024);
  http_.replies.clear();
}

TEST_F(DataverseConnectorUnitTest, LookupPagesWithAnOpaqueCursorAndByKeyWantsGuids) {
  Connector();
  LookupRequest request;
  request.entity = "accounts";
  request.columns = {"name"};
  request.values = {Value::Text(kId1), Value::Text(kId2), Value::Text(kId3)};
  request.max_records = 2;
  const std::string next = std::string(kApi) + "accounts?$skiptoken=p2";
  http_.replies.push_back(
      Json(200, Page({Account(kId1, 1, "A"), Account(kId2, 2, "B")}, R"(,"@odata.nextLink":")" + next + R"(")")));
  auto first = connector_->Lookup(request, Soon());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->changes.size(), 2u);
  EXPECT_TRUE(first->more);
  EXPECT_NE(http_.Urls()[0].find(std::string("accountid%20eq%20") + kId1 + "%20or%20accountid%20eq%20" + kId2),
            std::string::npos)
      << http_.Urls()[0];
  EXPECT_NE(http_.HeaderValues("Prefer")[0].find("odata.maxpagesize=2"), std::string::npos);
  http_.replies.push_back(Json(200, Page({Account(kId3, 3, "C")})));
  request.cursor = first->next_cursor;
  auto second = connector_->Lookup(request, Soon());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(http_.Urls().back(), next) << "the nextLink, verbatim";
  ASSERT_EQ(second->changes.size(), 1u);
  EXPECT_EQ(second->changes[0].modified_at, ParseUtc("2025-01-02T03:04:05Z"));
  EXPECT_FALSE(second->more);

  request.cursor = "";
  request.values = {Value::Text("CT000001")};
  EXPECT_EQ(connector_->Lookup(request, Soon()).status().code(), StatusCode::kInvalidArgument);
  request.values = {};
  EXPECT_EQ(connector_->Lookup(request, Soon()).status().code(), StatusCode::kInvalidArgument);
  request.values = {Value::Text(kId1)};
  request.cursor = "lookup:1:https://evil.example/api/data/v9.2/accounts";
  EXPECT_EQ(connector_->Lookup(request, Soon()).status().code(), StatusCode::kInvalidArgument);
}

// --- Writing -----------------------------------------------------------------

TEST_F(DataverseConnectorUnitTest, AKeylessCreateIsTheCallersBug) {
  Connector();
  auto results = Write({Op(WriteOp::Kind::kCreate, "")});
  EXPECT_EQ(results[0].status.code(), StatusCode::kInvalidArgument) << results[0].status.ToString();
  EXPECT_TRUE(http_.requests.empty()) << "no GUID is invented";
}

TEST_F(DataverseConnectorUnitTest, ABadKeyFailsOnlyItsOwnUngroupedOperation) {
  DataverseConnectorOptions options;
  options.use_batch = false;
  Connector(options);
  http_.replies.push_back(http::HttpResponse{204, {}, ""});
  auto results = Write({Op(WriteOp::Kind::kUpdate, "CT000001"), Op(WriteOp::Kind::kDelete, kId4)});
  EXPECT_EQ(results[0].status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(results[1].status.ok()) << results[1].status.ToString();
  EXPECT_EQ(http_.Urls(), (std::vector<std::string>{std::string(kApi) + "accounts(" + kId4 + ")"}));
}

TEST_F(DataverseConnectorUnitTest, AGroupWithAnInvalidOpSendsNothingAtAll) {
  Connector();
  auto results = Write({Op(WriteOp::Kind::kCreate, kId1, "order"), Op(WriteOp::Kind::kCreate, "", "order"),
                        Op(WriteOp::Kind::kUpdate, kId2, "order")});
  EXPECT_EQ(results[0].status.code(), StatusCode::kAborted);
  EXPECT_EQ(results[1].status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(results[2].status.code(), StatusCode::kAborted);
  EXPECT_TRUE(http_.requests.empty());
}

TEST_F(DataverseConnectorUnitTest, AFailedChangeSetIsReportedAndNeverResentOpByOp) {
  Connector();
  http_.replies.push_back(
      BatchAnswer({ChangeSetPart({HttpPart(400, R"({"error":{"code":"0x80044331","message":"too long"}})", "2")})}));
  auto results = Write({Op(WriteOp::Kind::kCreate, kId1, "order"), Op(WriteOp::Kind::kCreate, kId2, "order")});
  EXPECT_EQ(results[0].status.code(), StatusCode::kAborted);
  EXPECT_EQ(results[1].status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(results[1].status.remote_code(), "0x80044331");
  EXPECT_EQ(http_.requests.size(), 1u);
}

TEST_F(DataverseConnectorUnitTest, AChangeSetAnEarlierAttemptCommittedIsOkAsAWhole) {
  Connector();
  // The resent change set fails on its own first create; the read-back
  // finds that record: the whole set was committed before.
  http_.replies.push_back(BatchAnswer({ChangeSetPart(
      {HttpPart(412, R"({"error":{"code":"0x80040237","message":"A record with matching key values already exists."}})",
                "1")})}));
  http_.replies.push_back(Json(200, Account(kId1, 11, "A")));  // read-back of the failing create
  http_.replies.push_back(Json(200, Account(kId2, 12, "B")));  // version of the other op
  auto results = Write({Op(WriteOp::Kind::kCreate, kId1, "order"), Op(WriteOp::Kind::kUpdate, kId2, "order")});
  ASSERT_TRUE(results[0].status.ok()) << results[0].status.ToString();
  ASSERT_TRUE(results[1].status.ok()) << results[1].status.ToString();
  EXPECT_EQ(results[0].version, "W/\"11\"");
  EXPECT_EQ(results[1].version, "W/\"12\"");
  // A batch and two reads; nothing was written again.
  const auto urls = http_.Urls();
  ASSERT_EQ(urls.size(), 3u);
  EXPECT_EQ(http_.requests[0].method, "POST");
  EXPECT_EQ(http_.requests[1].method, "GET");
  EXPECT_EQ(http_.requests[2].method, "GET");
}

TEST_F(DataverseConnectorUnitTest, ADuplicateThatIsNotOursFailsItsChangeSet) {
  Connector();
  http_.replies.push_back(BatchAnswer({ChangeSetPart(
      {HttpPart(412, R"({"error":{"code":"0x80040237","message":"A record with matching key values already exists."}})",
                "2")})}));
  http_.replies.push_back(Error(404, "0x80040217", "account With Id = x Does Not Exist"));
  auto results = Write({Op(WriteOp::Kind::kUpdate, kId1, "g"), Op(WriteOp::Kind::kCreate, kId2, "g")});
  EXPECT_EQ(results[0].status.code(), StatusCode::kAborted);
  EXPECT_EQ(results[1].status.code(), StatusCode::kAlreadyExists);
}

TEST_F(DataverseConnectorUnitTest, ATransientReadBackOfARepeatedCreateStaysTransient) {
  Connector();
  http_.replies.push_back(Error(412, "0x80040237", "A record with matching key values already exists."));
  for (int i = 0; i < 60; ++i) http_.replies.push_back(Error(503, "", "Service Unavailable"));
  auto single = Write({Op(WriteOp::Kind::kCreate, kId1)});
  EXPECT_EQ(single[0].status.code(), StatusCode::kUnavailable) << single[0].status.ToString();
  EXPECT_TRUE(IsRetryable(single[0].status));

  // The same inside a change set.
  http_.replies.clear();
  http_.replies.push_back(BatchAnswer({ChangeSetPart(
      {HttpPart(412, R"({"error":{"code":"0x80040237","message":"A record with matching key values already exists."}})",
                "1")})}));
  for (int i = 0; i < 60; ++i) http_.replies.push_back(Error(503, "", "Service Unavailable"));
  auto grouped = Write({Op(WriteOp::Kind::kCreate, kId1, "g"), Op(WriteOp::Kind::kCreate, kId2, "g")});
  EXPECT_TRUE(IsRetryable(grouped[0].status)) << grouped[0].status.ToString();
  EXPECT_EQ(grouped[1].status.code(), StatusCode::kAborted);
}

TEST_F(DataverseConnectorUnitTest, WritesAskForTheirReadBackAndReturnTheStoredRecord) {
  Connector();
  WriteOp create = Op(WriteOp::Kind::kCreate, kId1);
  create.read_back = {"name", "_primarycontactid_value"};
  http_.replies.push_back(Json(201,
                               R"({"@odata.etag":"W/\"21\"","accountid":")" + std::string(kId1) +
                                   R"(","name":"A","_primarycontactid_value":")" + kId2 + R"("})",
                               {{"ETag", "W/\"21\""}}));
  auto created = Write({create});
  ASSERT_TRUE(created[0].status.ok()) << created[0].status.ToString();
  EXPECT_EQ(http_.Urls()[0], std::string(kApi) + "accounts?$select=accountid,name,_primarycontactid_value");
  EXPECT_EQ(http_.HeaderValues("Prefer")[0], "return=representation");
  EXPECT_EQ(http_.requests[0].body, R"({"accountid":")" + std::string(kId1) + R"(","name":"A"})");
  EXPECT_EQ(created[0].version, "W/\"21\"");
  EXPECT_EQ(created[0].record, (Record{{"_primarycontactid_value", Value::Text(kId2)}, {"name", Value::Text("A")}}));

  // No body: the record stays empty; the version comes from the ETag header.
  WriteOp update = Op(WriteOp::Kind::kUpdate, kId1);
  update.read_back = {"name"};
  http_.replies.push_back(http::HttpResponse{204, {{"ETag", "W/\"22\""}}, ""});
  auto updated = Write({update});
  ASSERT_TRUE(updated[0].status.ok());
  EXPECT_TRUE(updated[0].record.empty());
  EXPECT_EQ(updated[0].version, "W/\"22\"");

  // Inside a $batch too.
  http_.requests.clear();
  WriteOp second = Op(WriteOp::Kind::kUpsert, kId2);
  second.read_back = {"name"};
  http_.replies.push_back(BatchAnswer({HttpPart(200, Account(kId1, 23, "A")), HttpPart(201, Account(kId2, 24, "B"))}));
  auto batched = Write({update, second});
  ASSERT_TRUE(batched[0].status.ok() && batched[1].status.ok());
  EXPECT_EQ(http_.requests.size(), 1u);
  EXPECT_EQ(batched[0].record, (Record{{"name", Value::Text("A")}}));
  EXPECT_EQ(batched[1].record, (Record{{"name", Value::Text("B")}}));
  EXPECT_EQ(batched[1].version, "W/\"24\"");
}

WriteOp Link(WriteOp::Kind kind, const std::string& list, const std::string& contact) {
  WriteOp op;
  op.kind = kind;
  op.entity = "lists";
  op.key = list;
  op.relationship = "listcontact_association";
  op.target_entity = "contacts";
  op.target_key = contact;
  return op;
}

// "Associate and disassociate table rows using the Web API": the collection-
// valued navigation property's $ref, one request per link, no record body.
TEST_F(DataverseConnectorUnitTest, LinksAreWrittenAsTheRelationshipsRefAndARepeatIsASuccess) {
  DataverseConnectorOptions options;
  options.use_batch = false;
  Connector(options);
  http_.replies.push_back(http::HttpResponse{204, {}, ""});
  http_.replies.push_back(http::HttpResponse{204, {}, ""});
  auto results = Write({Link(WriteOp::Kind::kAssociate, kId1, kId2), Link(WriteOp::Kind::kDisassociate, kId1, kId3)});
  ASSERT_TRUE(results[0].status.ok() && results[1].status.ok()) << results[0].status.ToString();
  std::vector<std::string> sent;
  for (const auto& r : http_.requests) sent.push_back(r.method + " " + r.url + " " + r.body);
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(sent, (std::vector<std::string>{
                      "DELETE " + std::string(kApi) + "lists(" + kId1 + ")/listcontact_association(" + kId3 + ")/$ref ",
                      "POST " + std::string(kApi) + "lists(" + kId1 + ")/listcontact_association/$ref " +
                          R"({"@odata.id":")" + kApi + "contacts(" + kId2 + ")\"}"}));

  // The answers of a repeat after a lost one: the link is there (Dataverse's
  // duplicate key), or gone. Both are what was asked for.
  http_.requests.clear();
  for (int status : {412, 400}) {  // 412 as dataverse-web-api.md has it; the code alone decides
    http_.replies.push_back(Error(status, "0x80040237", "Cannot insert duplicate key."));
    auto again = Write({Link(WriteOp::Kind::kAssociate, kId1, kId2)});
    EXPECT_TRUE(again[0].status.ok()) << status << ": " << again[0].status.ToString();
  }
  http_.replies.push_back(Error(404, "0x80040217", "listmember With Id = " + std::string(kId3) + " Does Not Exist"));
  auto gone = Write({Link(WriteOp::Kind::kDisassociate, kId1, kId3)});
  EXPECT_TRUE(gone[0].status.ok()) << gone[0].status.ToString();
  // A record that does not exist is no success for a link.
  http_.replies.push_back(Error(404, "0x80040217", "contact With Id = " + std::string(kId2) + " Does Not Exist"));
  auto missing = Write({Link(WriteOp::Kind::kAssociate, kId1, kId2)});
  EXPECT_EQ(missing[0].status.code(), StatusCode::kNotFound) << missing[0].status.ToString();
}

TEST_F(DataverseConnectorUnitTest, ALinkToSomethingThatIsNotAGuidOrAnIdentifierIsRefusedUnsent) {
  Connector();
  WriteOp bad_target = Link(WriteOp::Kind::kAssociate, kId1, "CT000001");
  WriteOp bad_relationship = Link(WriteOp::Kind::kAssociate, kId1, kId2);
  bad_relationship.relationship = "listcontact_association/../../accounts";
  auto results = Write({bad_target, bad_relationship});
  EXPECT_EQ(results[0].status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(results[1].status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(http_.requests.empty());
}

// An HttpClient that answers 204 to everything and remembers which threads sent.
class ThreadRecordingHttp final : public http::HttpClient {
 public:
  Result<http::HttpResponse> Send(const http::HttpRequest&, Deadline) override {
    std::lock_guard lock(mutex_);
    threads_.insert(std::this_thread::get_id());
    ++sent_;
    return http::HttpResponse{204, {}, ""};
  }
  std::set<std::thread::id> threads() {
    std::lock_guard lock(mutex_);
    return threads_;
  }
  int sent() {
    std::lock_guard lock(mutex_);
    return sent_;
  }

 private:
  std::mutex mutex_;
  std::set<std::thread::id> threads_;
  int sent_ = 0;
};

TEST(DataverseConnectorPoolTest, WritesRunOnTheConnectorsOwnWorkersForItsLifetime) {
  ThreadRecordingHttp http;
  FixedToken tokens;
  testing_support::FakeClock clock;
  RequestBudget budget({.max_parallelism = 3, .initial_parallelism = 3, .initial_batch_size = 1, .max_batch_size = 1},
                       clock);
  Transport transport(http, tokens, budget, clock);
  DataverseConnectorOptions options;
  options.api = {"https://org.example", "v9.2"};
  options.use_batch = false;
  DataverseConnector connector(transport, options);
  for (int round = 0; round < 4; ++round) {
    std::vector<WriteOp> ops;
    for (int i = 0; i < 30; ++i) ops.push_back(Op(WriteOp::Kind::kDelete, NewGuid()));
    auto results = connector.Write("accounts", ops, Deadline::Never());
    ASSERT_TRUE(results.ok());
    for (const auto& r : *results) EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  }
  EXPECT_EQ(http.sent(), 120);
  const auto threads = http.threads();
  EXPECT_LE(threads.size(), 3u) << "no threads of its own per call: one pool of the parallelism cap";
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u) << "Write hands its work to the pool and waits";
}

// An HttpClient that answers every $batch with a 204 per operation and
// remembers how many operations each $batch carried.
class BatchSizeRecordingHttp final : public http::HttpClient {
 public:
  Result<http::HttpResponse> Send(const http::HttpRequest& request, Deadline) override {
    std::size_t parts = 0;
    for (std::size_t at = request.body.find("application/http"); at != std::string::npos;
         at = request.body.find("application/http", at + 1)) {
      ++parts;
    }
    {
      std::lock_guard lock(mutex_);
      sizes_.push_back(parts);
    }
    return BatchAnswer(std::vector<std::string>(parts, HttpPart(204, "")));
  }
  std::vector<std::size_t> sizes() {
    std::lock_guard lock(mutex_);
    return sizes_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::size_t> sizes_;
};

// A connector over a budget with `options`, counting each $batch's operations.
struct PoolRig {
  explicit PoolRig(RequestBudget::Options options)
      : budget(options, clock), transport(http, tokens, budget, clock), connector(transport, ConnectorOptions()) {}
  static DataverseConnectorOptions ConnectorOptions() {
    DataverseConnectorOptions options;
    options.api = {"https://org.example", "v9.2"};
    return options;
  }
  // The operations of each $batch one Write of `deletes` deletes sent.
  std::vector<std::size_t> Write(int deletes) {
    const std::size_t before = http.sizes().size();
    std::vector<WriteOp> ops;
    for (int i = 0; i < deletes; ++i) ops.push_back(Op(WriteOp::Kind::kDelete, NewGuid()));
    auto results = connector.Write("accounts", ops, Deadline::Never());
    EXPECT_TRUE(results.ok()) << results.status().ToString();
    if (results.ok()) {
      for (const auto& r : *results) EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    }
    const auto sizes = http.sizes();
    return {sizes.begin() + static_cast<std::ptrdiff_t>(before), sizes.end()};
  }

  BatchSizeRecordingHttp http;
  FixedToken tokens;
  testing_support::FakeClock clock;
  RequestBudget budget;
  Transport transport;
  DataverseConnector connector;
};

TEST(DataverseConnectorPoolTest, AWriteCallIsSplitIntoEvenRunsAMultipleOfTheParallelism) {
  PoolRig rig({.max_parallelism = 4, .initial_parallelism = 4, .initial_batch_size = 200, .max_batch_size = 200});
  // 1,000 at 200 a batch on 4 workers: 8 runs of 125 (two even rounds), not
  // runs re-planned from each remainder, whose slowest worker sets the time.
  EXPECT_EQ(rig.Write(1000), std::vector<std::size_t>(8, 125));
}

// Regression (a 1% pass: 1,000 updates took 1.47 s, 60% of it with one
// request in flight): when the batch size had doubled past what was left,
// the whole remainder went out as one $batch while the other workers idled.
TEST(DataverseConnectorPoolTest, ARemainderThatFitsOneBatchIsStillSplitAcrossTheRequestsInFlight) {
  PoolRig rig({.max_parallelism = 4, .initial_parallelism = 4, .initial_batch_size = 500, .max_batch_size = 500});
  EXPECT_EQ(rig.Write(400), std::vector<std::size_t>(4, 100));
  // A handful is not split into requests of one or two: 25 go as 2 runs of at least 10.
  const auto few = rig.Write(25);
  ASSERT_EQ(few.size(), 2u);
  EXPECT_EQ(few[0] + few[1], 25u);
  EXPECT_GE(std::min(few[0], few[1]), 10u);
}

}  // namespace
}  // namespace crmsync::dataverse
