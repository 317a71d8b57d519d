#include "connectors/dataverse/odata.h"

#include <gtest/gtest.h>

namespace crmsync::dataverse {
namespace {

const ApiEndpoint kApi{"https://contoso.crm4.dynamics.com", "v9.2"};

TEST(ODataTest, BuildsUrlsWithEncodedOptions) {
  EXPECT_EQ(CollectionUrl(kApi, "contacts", {"firstname", "lastname"}),
            "https://contoso.crm4.dynamics.com/api/data/v9.2/contacts?$select=firstname,lastname");
  EXPECT_EQ(CollectionUrl(kApi, "accounts", {"name"}, {{"$filter", "name eq 'O''Bryan & Co'"}}),
            "https://contoso.crm4.dynamics.com/api/data/v9.2/"
            "accounts?$select=name&$filter=name%20eq%20'O''Bryan%20%26%20Co'");
  EXPECT_EQ(CollectionUrl(kApi, "accounts", {}), "https://contoso.crm4.dynamics.com/api/data/v9.2/accounts");
  EXPECT_EQ(EntityUrl(kApi, "contacts", "72bf4d48-34cb-ed11-b596-0022481d68cd", {"contactid"}),
            "https://contoso.crm4.dynamics.com/api/data/v9.2/contacts(72bf4d48-34cb-ed11-b596-0022481d68cd)"
            "?$select=contactid");
}

TEST(ODataTest, StandardHeadersFollowTheReference) {
  const auto h = StandardHeaders(true);
  const http::Headers expected = {{"Accept", "application/json"},
                                  {"OData-MaxVersion", "4.0"},
                                  {"OData-Version", "4.0"},
                                  {"Content-Type", "application/json; charset=utf-8"}};
  EXPECT_EQ(h, expected);
  EXPECT_EQ(StandardHeaders(false).size(), 3u);
  EXPECT_EQ(ReadPreferValue(true, 500),
            "odata.track-changes,odata.maxpagesize=500,odata.include-annotations=\"Microsoft.Dynamics.CRM."
            "lookuplogicalname\"");
}

TEST(ODataTest, Guids) {
  EXPECT_EQ(*CanonicalGuid("{72BF4D48-34CB-ED11-B596-0022481D68CD}"), "72bf4d48-34cb-ed11-b596-0022481d68cd");
  EXPECT_FALSE(CanonicalGuid("72bf4d48-34cb-ed11-b596-0022481d68c").has_value());
  EXPECT_FALSE(CanonicalGuid("72bf4d48x34cb-ed11-b596-0022481d68cd").has_value());
  EXPECT_FALSE(CanonicalGuid("zzbf4d48-34cb-ed11-b596-0022481d68cd").has_value());
  const std::string g = NewGuid();
  EXPECT_EQ(CanonicalGuid(g), g);
  EXPECT_EQ(g[14], '4');
  EXPECT_NE(NewGuid(), g);
  EXPECT_EQ(*IdFromEntityUri("https://contoso.crm.dynamics.com/api/data/v9.2/contacts(72BF4D48-34cb-ed11-b596-"
                             "0022481d68cd)"),
            "72bf4d48-34cb-ed11-b596-0022481d68cd");
  EXPECT_FALSE(IdFromEntityUri("https://x/accounts(accountnumber='A1')").has_value());
}

TEST(ODataTest, ParsesAPageFromTheReference) {
  // dataverse-web-api.md 4.2 and 4.3
  const std::string body =
      R"js({"@odata.context":"https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#contacts(fullname)",
 "value":[{"@odata.etag":"W/\"81359849\"","fullname":"Nancy Anderson",
 "_parentcustomerid_value@OData.Community.Display.V1.FormattedValue":"Litware, Inc.",
 "_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty":"parentcustomerid_account",
 "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"account",
 "_parentcustomerid_value":"78914942-34cb-ed11-b596-0022481d68cd",
 "statecode@OData.Community.Display.V1.FormattedValue":"Active","statecode":0,
 "revenue":5000000.0000,
 "contactid":"72BF4D48-34cb-ed11-b596-0022481d68cd"}],
 "@odata.nextLink":"https://contoso.crm.dynamics.com/api/data/v9.2/contacts?$select=fullname&$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E"})js";
  auto page = ParsePage(body, "contactid");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->changes.size(), 1u);
  const auto& c = page->changes[0];
  EXPECT_EQ(c.kind, connectors::Change::Kind::kUpsert);
  EXPECT_EQ(c.key, "72bf4d48-34cb-ed11-b596-0022481d68cd");
  EXPECT_EQ(c.version, "W/\"81359849\"");
  EXPECT_EQ(c.record.at("fullname"), Value::Text("Nancy Anderson"));
  EXPECT_EQ(c.record.at("statecode"), Value::Integer(0));
  EXPECT_EQ(c.record.at("revenue"), Value::Integer(5000000));
  EXPECT_EQ(c.record.at("_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"), Value::Text("account"));
  EXPECT_EQ(c.record.count("statecode@OData.Community.Display.V1.FormattedValue"), 0u);
  EXPECT_EQ(c.record.count("@odata.etag"), 0u);
  EXPECT_EQ(
      page->next_link,
      "https://contoso.crm.dynamics.com/api/data/v9.2/contacts?$select=fullname&$skiptoken=%3Ccookie%20pagenumber="
      "%222%22%20/%3E");
  EXPECT_TRUE(page->delta_link.empty());
}

TEST(ODataTest, ParsesADeltaWithTombstones) {
  // dataverse-web-api.md section 5
  const std::string body =
      R"js({"@odata.context":"https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#accounts(name,accountnumber,telephone1)/$delta",
 "@odata.deltaLink":"https://contoso.crm.dynamics.com/api/data/v9.2/accounts?$select=name,accountnumber,telephone1&$deltatoken=919058%2108%2f22%2f2017%2008%3a21%3a20",
 "value":[
  {"@odata.etag":"W/\"915250\"","name":"Monte Orton","accountnumber":null,"telephone1":"555001","accountid":"60c4e274-0d87-e711-80e5-00155db19e6d"},
  {"@odata.context":"https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#accounts/$deletedEntity","id":"2e451703-c686-e711-80e5-00155db19e6d","reason":"deleted"}]})js";
  auto page = ParsePage(body, "accountid");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->changes.size(), 2u);
  EXPECT_EQ(page->changes[0].record.at("accountnumber"), Value::Null());
  EXPECT_EQ(page->changes[1].kind, connectors::Change::Kind::kDelete);
  EXPECT_EQ(page->changes[1].key, "2e451703-c686-e711-80e5-00155db19e6d");
  EXPECT_TRUE(page->changes[1].record.empty());
  EXPECT_NE(page->delta_link.find("$deltatoken=919058"), std::string::npos);
}

TEST(ODataTest, BadPagesNameTheProblem) {
  EXPECT_FALSE(ParsePage("not json", "contactid").ok());
  EXPECT_FALSE(ParsePage(R"js({"nothing":[]})js", "contactid").ok());
  auto missing_key =
      ParsePage(R"js({"value":[{"contactid":"72bf4d48-34cb-ed11-b596-0022481d68cd"},{"x":1}]})js", "contactid");
  ASSERT_FALSE(missing_key.ok());
  EXPECT_NE(missing_key.status().message().find("value[1]"), std::string::npos);
  EXPECT_NE(missing_key.status().message().find("contactid"), std::string::npos);
  EXPECT_FALSE(ParsePage(R"js({"value":[{"contactid":"not-a-guid"}]})js", "contactid").ok());
}

// Hostile text a server could send: one such value must not stop every read
// of its table (a parser refuses the whole page), so it is read with U+FFFD
// in its place and the record is named.
TEST(ODataTest, TextThatIsNotValidUnicodeIsRepairedAndItsRecordsNamed) {
  const std::string a = "72bf4d48-34cb-ed11-b596-0022481d68cd";
  const std::string b = "72bf4d48-34cb-ed11-b596-0022481d68ce";
  const std::string c = "72bf4d48-34cb-ed11-b596-0022481d68cf";
  // Bytes that are not UTF-8 (a lone continuation byte, a Latin-1 é, an
  // overlong '/'), a lone high and a lone low surrogate escape, and a good
  // pair, an escaped backslash before a 'u' and valid multi-byte text.
  const std::string body = R"({"value":[{"contactid":")" + a +
                           "\",\"lastname\":\"Caf\xE9 \x80 \xC0\xAF\"},"
                           R"({"contactid":")" +
                           b +
                           R"(","lastname":"x\ud800y\udc00z"},)"
                           R"({"contactid":")" +
                           c +
                           R"(","lastname":"\ud83d\ude00 \\u00e9 )"
                           "\xC3\xA9\"}]}";
  auto page = ParsePage(body, "contactid");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->changes.size(), 3u);
  EXPECT_EQ(page->changes[0].record.at("lastname"),
            Value::Text("Caf\xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD"));
  EXPECT_EQ(page->changes[1].record.at("lastname"), Value::Text("x\xEF\xBF\xBDy\xEF\xBF\xBDz"));
  EXPECT_EQ(page->changes[2].record.at("lastname"), Value::Text("\xF0\x9F\x98\x80 \\u00e9 \xC3\xA9"));
  EXPECT_EQ(page->repaired, (std::vector<std::string>{a, b}));

  std::string valid = R"({"x":"\ud83d\ude00 \\ud800 é"})";
  EXPECT_EQ(RepairUnicode(valid), 0u) << "valid text is left alone";
  EXPECT_EQ(valid, R"({"x":"\ud83d\ude00 \\ud800 é"})");
  auto one = ParseRecord(R"({"contactid":")" + a + R"(","lastname":"\udfff"})", "contactid");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->record.at("lastname"), Value::Text("\xEF\xBF\xBD"));
}

// Wrong types, huge strings and annotations nobody asked for are the
// mapper's to judge per field; the page itself reads.
TEST(ODataTest, OddValuesAndUnexpectedAnnotationsDoNotStopThePage) {
  const std::string huge(1 << 20, 'x');
  const std::string body =
      R"({"value":[{"contactid":"72bf4d48-34cb-ed11-b596-0022481d68cd","emailaddress1":42,"lastname":")" + huge +
      R"(","firstname":{"unexpected":"object"},"birthdate":[1,2],"lastname@Some.Vendor.Annotation":"x",)"
      R"("@odata.unknown":"y","telephone1":null}]})";
  auto page = ParsePage(body, "contactid");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  const Record& r = page->changes.at(0).record;
  EXPECT_EQ(r.at("emailaddress1"), Value::Integer(42));
  EXPECT_EQ(r.at("lastname").as_text().size(), huge.size());
  EXPECT_EQ(r.count("firstname"), 0u) << "objects and arrays are not fields";
  EXPECT_EQ(r.count("birthdate"), 0u);
  EXPECT_EQ(r.count("@odata.unknown"), 0u);
  EXPECT_TRUE(r.at("telephone1").is_null());
  EXPECT_TRUE(page->repaired.empty());
}

struct ErrorCase {
  int http_status;
  std::string body;
  std::string retry_after;
  StatusCode code;
  std::string remote_code;
};

class StatusFromResponseTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(StatusFromResponseTest, MapsStatusAndKeepsTheDataverseCode) {
  const auto& p = GetParam();
  http::HttpResponse r;
  r.status = p.http_status;
  r.body = p.body;
  if (!p.retry_after.empty()) r.headers.emplace_back("Retry-After", p.retry_after);
  const Status s = StatusFromResponse(r, "PATCH contacts(x)");
  EXPECT_EQ(s.code(), p.code) << s.ToString();
  EXPECT_EQ(s.remote_code(), p.remote_code);
  EXPECT_EQ(s.http_status(), p.http_status);
  EXPECT_EQ(s.message().rfind("PATCH contacts(x): ", 0), 0u) << s.message();
  if (!p.retry_after.empty()) {
    ASSERT_TRUE(s.retry_after().has_value());
    EXPECT_EQ(*s.retry_after(), std::chrono::seconds(std::stoi(p.retry_after)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StatusFromResponseTest,
    ::testing::Values(
        ErrorCase{404, R"js({"error":{"code":"0x80040217","message":"contact With Id = x Does Not Exist"}})js", "",
                  StatusCode::kNotFound, "0x80040217"},
        ErrorCase{412, R"js({"error":{"code":"","message":"The version of the existing record doesn't match"}})js", "",
                  StatusCode::kConflict, ""},
        ErrorCase{
            412, R"js({"error":{"code":"0x80040237","message":"A record with matching key values already exists."}})js",
            "", StatusCode::kAlreadyExists, "0x80040237"},
        ErrorCase{429, R"js({"error":{"code":"0x80072322","message":"Number of requests exceeded the limit"}})js", "7",
                  StatusCode::kThrottled, "0x80072322"},
        ErrorCase{
            400,
            R"js({"error":{"code":"0x80044352","message":"Version stamp associated with the client has expired."}})js",
            "", StatusCode::kCursorExpired, "0x80044352"},
        ErrorCase{400, R"js({"error":{"code":"0x80044331","message":"too long"}})js", "", StatusCode::kInvalidArgument,
                  "0x80044331"},
        ErrorCase{401, "HTTP Error 401 - Unauthorized: Access is denied", "", StatusCode::kUnauthenticated, ""},
        ErrorCase{403, R"js({"error":{"code":"0x80040220","message":"no privilege"}})js", "",
                  StatusCode::kPermissionDenied, "0x80040220"},
        ErrorCase{500, R"js({"error":{"code":"0x80044150","message":"deadlock"}})js", "", StatusCode::kUnavailable,
                  "0x80044150"},
        ErrorCase{500, R"js({"error":{"code":"0x80040333","message":"duplicate"}})js", "", StatusCode::kAlreadyExists,
                  "0x80040333"},
        ErrorCase{503, "", "", StatusCode::kUnavailable, ""}, ErrorCase{408, "", "", StatusCode::kUnavailable, ""},
        ErrorCase{504, "", "", StatusCode::kUnavailable, ""},
        ErrorCase{409, "", "", StatusCode::kInvalidArgument, ""}));

TEST(ODataTest, RetryAfterAndDopHint) {
  http::HttpResponse r;
  r.headers = {{"Retry-After", "3"}, {"x-ms-dop-hint", "4"}};
  EXPECT_EQ(*RetryAfter(r), std::chrono::seconds(3));
  EXPECT_EQ(*DopHint(r), 4);
  r.headers = {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}, {"x-ms-dop-hint", "zero"}};
  EXPECT_FALSE(RetryAfter(r).has_value());
  EXPECT_FALSE(DopHint(r).has_value());
}

TEST(ODataTest, RecordBodyKeepsBindsAndNulls) {
  Record r;
  r["firstname"] = Value::Text("Nancy");
  r["jobtitle"] = Value::Null();
  r["parentcustomerid_account@odata.bind"] = Value::Text("/accounts(78914942-34cb-ed11-b596-0022481d68cd)");
  r["priceperunit"] = *Value::Decimal("950.00");
  EXPECT_EQ(
      RecordBody(r),
      R"js({"firstname":"Nancy","jobtitle":null,"parentcustomerid_account@odata.bind":"/accounts(78914942-34cb-ed11-b596-0022481d68cd)","priceperunit":950})js");
}

TEST(ODataLiteralTest, TextIsQuotedWithEmbeddedQuotesDoubled) {
  EXPECT_EQ(ODataLiteral(Value::Text("O'Bryan")), "'O''Bryan'");
  EXPECT_EQ(ODataLiteral(Value::Text("''")), "''''''");
  EXPECT_EQ(ODataLiteral(Value::Text("")), "''");
  EXPECT_EQ(ODataLiteral(Value::Text("a & b # c % d")), "'a & b # c % d'");
  EXPECT_EQ(ODataLiteral(Value::Text("Zo\u00eb \u65e5\u672c")), "'Zo\u00eb \u65e5\u672c'");
}

TEST(ODataLiteralTest, NumbersBooleansNullAndGuidsAreBare) {
  EXPECT_EQ(ODataLiteral(Value::Integer(-42)), "-42");
  EXPECT_EQ(ODataLiteral(*Value::Decimal("950.50")), "950.5");
  EXPECT_EQ(ODataLiteral(Value::Bool(true)), "true");
  EXPECT_EQ(ODataLiteral(Value::Bool(false)), "false");
  EXPECT_EQ(ODataLiteral(Value::Null()), "null");
  EXPECT_EQ(ODataGuidLiteral("{72BF4D48-34CB-ED11-B596-0022481D68CD}"), "72bf4d48-34cb-ed11-b596-0022481d68cd");
  EXPECT_FALSE(ODataGuidLiteral("72bf4d48' or 1 eq 1").has_value());
}

TEST(ODataLiteralTest, LiteralsAreUrlEncodedOnceInTheFilter) {
  const auto url = [](const Value& v) {
    return CollectionUrl(kApi, "accounts", {"name"}, {{"$filter", "name eq " + ODataLiteral(v)}});
  };
  const std::string base = "https://contoso.crm4.dynamics.com/api/data/v9.2/accounts?$select=name&$filter=name%20eq%20";
  EXPECT_EQ(url(Value::Text("O'Bryan")), base + "'O''Bryan'");
  EXPECT_EQ(url(Value::Text("A&B")), base + "'A%26B'");
  EXPECT_EQ(url(Value::Text("#1")), base + "'%231'");
  EXPECT_EQ(url(Value::Text("100%")), base + "'100%25'");
  EXPECT_EQ(url(Value::Text("a+b=c?d@e;f,g/h:i$j")), base + "'a%2Bb%3Dc%3Fd%40e%3Bf%2Cg%2Fh%3Ai%24j'");
  EXPECT_EQ(url(Value::Text("Zo\u00eb")), base + "'Zo%C3%AB'");
  EXPECT_EQ(url(Value::Text("\u65e5")), base + "'%E6%97%A5'");
}

TEST(ODataLiteralTest, OnlyODataIdentifiersAreNames) {
  for (const char* good : {"accounts", "new_widgets", "_parentcustomerid_value", "A1", "_"}) {
    EXPECT_TRUE(IsODataIdentifier(good)) << good;
  }
  for (const char* bad : {"", "1accounts", "accounts?x=1", "name eq 'x'", "a/b", "a-b", "a.b", "\u00e9t\u00e9", "a b",
                          "accounts(00000000-0000-0000-0000-000000000001)", "a%20b", "a&b"}) {
    EXPECT_FALSE(IsODataIdentifier(bad)) << bad;
    EXPECT_EQ(CheckIdentifier(bad, "column").code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace crmsync::dataverse
