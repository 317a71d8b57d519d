#include "connectors/dataverse/batch.h"

#include <gtest/gtest.h>

namespace crmsync::dataverse {
namespace {

std::string Crlf(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TEST(BatchTest, BuildsChangeSetsAndSinglePartsWithCrlf) {
  std::vector<BatchItem> items;
  items.push_back({true,
                   {{"POST", "https://o/api/data/v9.2/salesorders", {}, R"({"name":"Web order 1001"})"},
                    {"POST", "https://o/api/data/v9.2/salesorderdetails", {}, R"({"quantity":2})"}}});
  items.push_back({false, {{"DELETE", "https://o/api/data/v9.2/contacts(1)", {{"If-Match", "W/\"7\""}}, ""}}});
  const BatchBody b = BuildBatch(items, "x1");
  EXPECT_EQ(b.content_type, "multipart/mixed; boundary=batch_x1");
  EXPECT_EQ(b.body, Crlf(R"(--batch_x1
Content-Type: multipart/mixed; boundary=changeset_x1_1

--changeset_x1_1
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

POST https://o/api/data/v9.2/salesorders HTTP/1.1
Content-Type: application/json; type=entry

{"name":"Web order 1001"}
--changeset_x1_1
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

POST https://o/api/data/v9.2/salesorderdetails HTTP/1.1
Content-Type: application/json; type=entry

{"quantity":2}
--changeset_x1_1--
--batch_x1
Content-Type: application/http
Content-Transfer-Encoding: binary

DELETE https://o/api/data/v9.2/contacts(1) HTTP/1.1
If-Match: W/"7"


--batch_x1--
)"));
  EXPECT_EQ(b.body.find("\n\n"), std::string::npos) << "every line ends CRLF";
}

TEST(BatchTest, ParsesTheReferenceResponse) {
  // dataverse-web-api.md section 7, response example.
  const std::string body = Crlf(R"(--batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f
Content-Type: multipart/mixed; boundary=changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15

--changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: https://contoso.crm.dynamics.com/api/data/v9.2/salesorders(e73ffc82-e292-ed11-aad1-000d3a9933c9)
OData-EntityId: https://contoso.crm.dynamics.com/api/data/v9.2/salesorders(e73ffc82-e292-ed11-aad1-000d3a9933c9)


--changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

HTTP/1.1 204 No Content
OData-Version: 4.0
OData-EntityId: https://contoso.crm.dynamics.com/api/data/v9.2/salesorderdetails(e83ffc82-e292-ed11-aad1-000d3a9933c9)


--changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15--
--batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 200 OK
Content-Type: application/json; odata.metadata=minimal; odata.streaming=true
OData-Version: 4.0

{"value":[{"@odata.etag":"W/\"77180907\"","fullname":"Nancy Anderson"}]}
--batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f--
)");
  auto items = ParseBatchResponse("multipart/mixed; boundary=batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f", body);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_TRUE((*items)[0].changeset);
  ASSERT_EQ((*items)[0].parts.size(), 2u);
  EXPECT_EQ((*items)[0].parts[0].content_id, "1");
  EXPECT_EQ((*items)[0].parts[0].status, 204);
  EXPECT_EQ((*items)[0].parts[1].Header("odata-entityid"),
            "https://contoso.crm.dynamics.com/api/data/v9.2/salesorderdetails(e83ffc82-e292-ed11-aad1-000d3a9933c9)");
  EXPECT_FALSE((*items)[1].changeset);
  EXPECT_EQ((*items)[1].parts[0].status, 200);
  EXPECT_EQ((*items)[1].parts[0].body, R"({"value":[{"@odata.etag":"W/\"77180907\"","fullname":"Nancy Anderson"}]})");
}

TEST(BatchTest, ParsesAFailedChangeSetWithQuotedBoundaryAndLfLines) {
  const std::string body = R"(--b
Content-Type: multipart/mixed; boundary="cs"

--cs
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 3

HTTP/1.1 400 Bad Request
REQ_ID: cbd53703-aee5-4563-a416-a65dcc268e7b
Content-Type: application/json; odata.metadata=minimal

{"error":{"code":"0x80044331","message":"too long"}}
--cs--
--b--
)";
  auto items = ParseBatchResponse("multipart/mixed; boundary=\"b\"", body);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 1u);
  ASSERT_EQ((*items)[0].parts.size(), 1u);
  EXPECT_EQ((*items)[0].parts[0].content_id, "3");
  EXPECT_EQ((*items)[0].parts[0].status, 400);
  EXPECT_EQ((*items)[0].parts[0].body, R"({"error":{"code":"0x80044331","message":"too long"}})");
}

TEST(BatchTest, MalformedResponsesAreErrorsNotCrashes) {
  EXPECT_FALSE(ParseBatchResponse("application/json", "{}").ok());
  EXPECT_FALSE(ParseBatchResponse("multipart/mixed; boundary=b", "no delimiters here").ok());
  EXPECT_FALSE(ParseBatchResponse("multipart/mixed; boundary=b", "--b\r\nContent-Type: application/http\r\n\r\n").ok());
  EXPECT_FALSE(
      ParseBatchResponse("multipart/mixed; boundary=b", "--b\r\nContent-Type: application/http\r\n\r\nGARBAGE\r\n--b--")
          .ok());
}

}  // namespace
}  // namespace crmsync::dataverse
