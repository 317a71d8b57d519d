// Reading collections: $select, $filter, $orderby, $top, $count, paging with
// odata.maxpagesize and nextLink, annotations, disallowed options, URL length
// (dataverse-web-api.md section 4, checklist items 1-5 and 12).
#include <gtest/gtest.h>

#include <set>

#include "tests/emulator/emulator_fixture.h"

namespace crmsync::emulator::testing {
namespace {

class QueryTest : public EmulatorTest {
 protected:
  void SeedPeople() {
    account_ = Seed("accounts", {{{"name", "Litware, Inc."}, {"revenue", 20000}, {"accountnumber", "L1"}}})[0];
    Seed("contacts", {{{"firstname", "Nancy"},
                       {"lastname", "Anderson"},
                       {"jobtitle", "CEO"},
                       {"parentcustomerid_account@odata.bind", "/accounts(" + account_ + ")"}},
                      {{"firstname", "Yvonne"}, {"lastname", "McKay"}, {"emailaddress1", "y@example.com"}},
                      {{"firstname", "Susanna"}, {"lastname", "Stubberod"}, {"jobtitle", "Buyer"}},
                      {{"firstname", "Jim"}, {"lastname", "O'Bryan"}, {"jobtitle", "100% sales"}}});
  }
  std::vector<std::string> Names(const std::string& query) {
    Response r = client().Api("GET", "contacts?" + query);
    EXPECT_EQ(r.status, 200) << query << " -> " << r.body;
    std::vector<std::string> out;
    auto j = r.Json();
    if (j.is_object() && j["value"].is_array()) {
      for (const auto& v : j["value"]) out.push_back(v.value("lastname", ""));
    }
    return out;
  }
  std::string account_;
};

TEST_F(QueryTest, SelectReturnsColumnsKeyAndEtag) {
  SeedPeople();
  Response r = client().Api("GET", "contacts?$select=lastname,telephone1&$filter=lastname%20eq%20'McKay'");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.Json();
  EXPECT_EQ(j["@odata.context"], api() + "$metadata#contacts(lastname,telephone1)");
  ASSERT_EQ(j["value"].size(), 1u);
  const auto& v = j["value"][0];
  EXPECT_EQ(v.size(), 4u) << v.dump();  // etag, lastname, telephone1 (null), contactid
  EXPECT_TRUE(v["telephone1"].is_null());
  EXPECT_TRUE(v.contains("contactid"));
  EXPECT_TRUE(v.contains("@odata.etag"));
  EXPECT_EQ(r.Header("content-type"), "application/json; odata.metadata=minimal");
  EXPECT_EQ(r.Header("odata-version"), "4.0");
}

TEST_F(QueryTest, FilterExpressions) {
  SeedPeople();
  using V = std::vector<std::string>;
  EXPECT_EQ(Names("$filter=lastname eq 'anderson'"), V{"Anderson"});  // case-insensitive
  EXPECT_EQ(Names("$filter=contains(lastname,'BBER')&$orderby=lastname"), V{"Stubberod"});
  EXPECT_EQ(Names("$filter=startswith(firstname,'ny') or endswith(lastname,'kay')"), V{"McKay"});
  EXPECT_EQ(Names("$filter=lastname eq 'O''Bryan'"), V{"O'Bryan"});
  EXPECT_EQ(Names("$filter=jobtitle eq null&$orderby=lastname"), V{"McKay"});
  EXPECT_EQ(Names("$filter=jobtitle ne null and not (lastname eq 'Anderson')&$orderby=lastname desc"),
            (V{"Stubberod", "O'Bryan"}));
  EXPECT_EQ(Names("$filter=(firstname eq 'Jim' or firstname eq 'Nancy') and jobtitle eq 'CEO'"), V{"Anderson"});
  EXPECT_EQ(Names("$filter=_parentcustomerid_value eq " + account_), V{"Anderson"});
  EXPECT_EQ(Names("$filter=parentcustomerid_account/name eq 'Litware, Inc.'"), V{"Anderson"});
  EXPECT_EQ(Names("$filter=createdon ge 2020-01-01T00:00:00Z and createdon le 2999-01-01&$orderby=lastname&$top=1"),
            V{"Anderson"});
  EXPECT_EQ(Names("$filter=contains(jobtitle,'100[%]')"), V{"O'Bryan"});  // SQL wildcard escape
  EXPECT_EQ(Names("$filter=@p1 eq 'Buyer'&@p1=jobtitle"), V{"Stubberod"});
  EXPECT_EQ(Names("$filter=Microsoft.Dynamics.CRM.In(PropertyName='lastname',PropertyValues=[\"McKay\",\"Anderson\"])&$"
                  "orderby=lastname"),
            (V{"Anderson", "McKay"}));
  EXPECT_EQ(Names("$filter=firstname eq lastname"), V{});
}

TEST_F(QueryTest, BadFiltersAre400) {
  SeedPeople();
  for (const std::string& f : std::vector<std::string>{
           "lastname eq", "lastname eq 'x", "(lastname eq 'x'", "lastname eq 'x')", "eq 'x'", "lastname equals 'x'",
           "contains(lastname)", "statecode eq 'Active'", "_parentcustomerid_value eq '" + account_ + "'", "foo eq 1",
           "lastname eq @nope", "Lastname eq 'x'", "unknownfn(lastname,'x')", "lastname"}) {
    Response r = client().Api("GET", "contacts?$filter=" + PercentEncode(f));
    EXPECT_EQ(r.status, 400) << f << " -> " << r.body;
    EXPECT_EQ(ErrorCode(r), "0x0") << f;
  }
  Response unknown = client().Api("GET", "contacts?$filter=" + PercentEncode("Foo eq 1"));
  EXPECT_EQ(ErrorMessage(unknown), "Could not find a property named 'Foo' on type 'Microsoft.Dynamics.CRM.contact'.");
  Response types = client().Api("GET", "contacts?$filter=" + PercentEncode("statecode eq 'x'"));
  EXPECT_EQ(ErrorMessage(types),
            "A binary operator with incompatible types was detected. Found operand types 'Edm.Int32' and 'Edm.String' "
            "for operator kind 'Equal'.");
}

TEST_F(QueryTest, OrderByTopCount) {
  SeedPeople();
  using V = std::vector<std::string>;
  EXPECT_EQ(Names("$orderby=lastname asc&$top=2"), (V{"Anderson", "McKay"}));
  EXPECT_EQ(Names("$orderby=jobtitle desc,lastname&$top=3"), (V{"Anderson", "Stubberod", "O'Bryan"}));
  Response c = client().Api("GET", "contacts?$count=true&$top=1&$select=lastname");
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(c.Json()["@odata.count"], 4);
  EXPECT_EQ(c.Json()["value"].size(), 1u);
  Response annotated = client().Api("GET", "contacts?$count=true&$select=lastname", "",
                                    {{"Prefer",
                                      "odata.include-annotations=\"Microsoft.Dynamics.CRM.totalrecordcount,Microsoft."
                                      "Dynamics.CRM.totalrecordcountlimitexceeded\""}});
  EXPECT_EQ(annotated.Json()["@Microsoft.Dynamics.CRM.totalrecordcount"], 4);
  EXPECT_EQ(annotated.Json()["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"], false);
  Response bare = client().Api("GET", "contacts/$count");
  EXPECT_EQ(bare.status, 200);
  EXPECT_EQ(bare.body, "4");
  EXPECT_TRUE(bare.Header("content-type").starts_with("text/plain"));
  EXPECT_EQ(client().Api("GET", "contacts?$orderby=nope").status, 400);
  EXPECT_EQ(client().Api("GET", "contacts?$top=-1").status, 400);
  EXPECT_EQ(client().Api("GET", "contacts?$count=maybe").status, 400);
}

TEST_F(QueryTest, UnsupportedOptionsAre400) {
  for (const char* q : {"$skip=1", "$search=x", "$format=json", "$foo=1"}) {
    Response r = client().Api("GET", std::string("contacts?") + q);
    EXPECT_EQ(r.status, 400) << q;
  }
}

TEST_F(QueryTest, ExpandSingleValuedNavigation) {
  SeedPeople();
  Response r = client().Api(
      "GET", "contacts?$select=lastname&$filter=lastname eq 'Anderson'&$expand=parentcustomerid_account($select=name)");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["value"][0]["parentcustomerid_account"]["name"], "Litware, Inc.");
}

TEST_F(QueryTest, FormattedValuesForChoicesMoneyAndDates) {
  SeedPeople();
  Response r = client().Api("GET", "accounts(" + account_ + ")?$select=revenue,statecode,modifiedon", "",
                            {{"Prefer", "odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\""}});
  auto j = r.Json();
  EXPECT_EQ(j["revenue@OData.Community.Display.V1.FormattedValue"], "$20,000.00");
  EXPECT_EQ(j["statecode@OData.Community.Display.V1.FormattedValue"], "Active");
  EXPECT_TRUE(j.contains("modifiedon@OData.Community.Display.V1.FormattedValue"));
  EXPECT_FALSE(j.contains("_transactioncurrencyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"));
}

TEST_F(QueryTest, PagingOverMoreThan5000Records) {
  nlohmann::json records = nlohmann::json::array();
  for (int i = 0; i < 5203; ++i) records.push_back({{"name", "Account " + std::to_string(i)}});
  ASSERT_EQ(Seed("accounts", records).size(), 5203u);
  std::set<std::string> ids;
  std::string next = "accounts?$select=name";
  int pages = 0;
  while (!next.empty()) {
    Response r = client().Api("GET", next);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.Json();
    for (const auto& v : j["value"]) ids.insert(v["accountid"].get<std::string>());
    if (pages == 0) {
      EXPECT_EQ(j["value"].size(), 5000u);
    }
    ++pages;
    next = j.contains("@odata.nextLink") ? j["@odata.nextLink"].get<std::string>() : "";
    if (!next.empty()) {
      EXPECT_TRUE(next.starts_with(api() + "accounts?$select=name&$skiptoken=")) << next;
      EXPECT_EQ(next.find(' '), std::string::npos);
    }
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(ids.size(), 5203u);
}

TEST_F(QueryTest, MaxPageSizePagesAndIgnoresTop) {
  nlohmann::json records = nlohmann::json::array();
  for (int i = 0; i < 7; ++i) records.push_back({{"name", "A" + std::to_string(i)}});
  Seed("accounts", records);
  std::vector<std::string> seen;
  std::string next = "accounts?$select=name&$top=1&$orderby=name desc";
  int pages = 0;
  while (!next.empty()) {
    Response r = client().Api("GET", next, "", {{"Prefer", "odata.maxpagesize=3"}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("preference-applied"), "odata.maxpagesize=3");
    auto j = r.Json();
    for (const auto& v : j["value"]) seen.push_back(v["name"]);
    next = j.value("@odata.nextLink", "");
    ++pages;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 7u);
  EXPECT_EQ(seen.front(), "A6");
  EXPECT_EQ(seen.back(), "A0");
  EXPECT_EQ(client().Api("GET", "accounts?$skiptoken=garbage").status, 400);
}

TEST_F(QueryTest, OverlongGetUrlIs414) {
  Response r = client().Api("GET", "accounts?$filter=" + PercentEncode("name eq '" + std::string(33000, 'a') + "'"));
  EXPECT_EQ(r.status, 414);
  Response ok = client().Api("GET", "accounts?$filter=" + PercentEncode("name eq '" + std::string(30000, 'a') + "'"));
  EXPECT_EQ(ok.status, 200);
}

}  // namespace
}  // namespace crmsync::emulator::testing
