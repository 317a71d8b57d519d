// Create, read, update, upsert, delete, ETags and conditional writes,
// @odata.bind lookups, alternate keys, validation errors and the state
// rules of opportunities and orders (dataverse-web-api.md sections 3, 6, 8.1).
#include <gtest/gtest.h>

#include <regex>

#include "tests/emulator/emulator_fixture.h"

namespace crmsync::emulator::testing {
namespace {

class CrudTest : public EmulatorTest {};

TEST_F(CrudTest, CreateReturns204WithEntityId) {
  Response r = client().Api("POST", "accounts", R"({"name":"Contoso","accountnumber":"A-1"})");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.Header("odata-version"), "4.0");
  const std::string id_url = r.Header("odata-entityid");
  EXPECT_TRUE(std::regex_match(
      id_url, std::regex(api() + R"(accounts\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\))")))
      << id_url;
  EXPECT_TRUE(r.body.empty());
  Response g = client().Api("GET", id_url);
  ASSERT_EQ(g.status, 200);
  auto j = g.Json();
  EXPECT_EQ(j["name"], "Contoso");
  EXPECT_EQ(j["@odata.context"], api() + "$metadata#accounts/$entity");
  EXPECT_TRUE(std::regex_match(j["@odata.etag"].get<std::string>(), std::regex(R"(W/"\d+")")));
  EXPECT_EQ(g.Header("etag"), j["@odata.etag"]);
  EXPECT_EQ(j["@odata.etag"], "W/\"" + std::to_string(j["versionnumber"].get<std::int64_t>()) + "\"");
  EXPECT_TRUE(std::regex_match(j["createdon"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  EXPECT_EQ(j["statecode"], 0);
  EXPECT_EQ(j["statuscode"], 1);
  EXPECT_EQ(j["_ownerid_value"], client().Api("GET", "WhoAmI").Json()["UserId"]);
  EXPECT_TRUE(j["telephone1"].is_null());
}

TEST_F(CrudTest, CreateWithRepresentationReturns201) {
  Response r = client().Api("POST", "contacts?$select=firstname,lastname,fullname",
                            R"({"firstname":"Nancy","lastname":"Anderson"})", {{"Prefer", "return=representation"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Header("preference-applied"), "return=representation");
  EXPECT_FALSE(r.HasHeader("odata-entityid"));
  auto j = r.Json();
  EXPECT_EQ(j["@odata.context"], api() + "$metadata#contacts(firstname,lastname,fullname)/$entity");
  EXPECT_EQ(j["fullname"], "Nancy Anderson");
  EXPECT_TRUE(j.contains("contactid"));
  EXPECT_FALSE(j.contains("emailaddress1"));
}

TEST_F(CrudTest, ClientSuppliedIdAndDuplicate) {
  const std::string id = "72bf4d48-34cb-ed11-b596-0022481d68cd";
  Response r =
      client().Api("POST", "contacts", R"({"contactid":"72BF4D48-34CB-ED11-B596-0022481D68CD","lastname":"X"})");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.Header("odata-entityid"), api() + "contacts(" + id + ")");
  Response again = client().Api("POST", "contacts", R"({"contactid":")" + id + R"(","lastname":"Y"})");
  EXPECT_EQ(again.status, 412);
  EXPECT_EQ(ErrorCode(again), "0x80040237");
  EXPECT_EQ(ErrorMessage(again), "A record with matching key values already exists.");
}

TEST_F(CrudTest, UpdateBumpsVersionAndEtagConditions) {
  const std::string id = Create("accounts", {{"name", "A"}});
  auto before = client().Api("GET", "accounts(" + id + ")").Json();
  Response stale_free = client().Api("PATCH", "accounts(" + id + ")", R"({"telephone1":"555"})",
                                     {{"If-Match", before["@odata.etag"].get<std::string>()}});
  ASSERT_EQ(stale_free.status, 204) << stale_free.body;
  auto after = client().Api("GET", "accounts(" + id + ")").Json();
  EXPECT_GT(after["versionnumber"].get<std::int64_t>(), before["versionnumber"].get<std::int64_t>());
  EXPECT_NE(after["@odata.etag"], before["@odata.etag"]);
  EXPECT_EQ(after["telephone1"], "555");
  EXPECT_GE(after["modifiedon"].get<std::string>(), before["modifiedon"].get<std::string>());
  // The old ETag no longer matches.
  Response stale = client().Api("PATCH", "accounts(" + id + ")", R"({"telephone1":"556"})",
                                {{"If-Match", before["@odata.etag"].get<std::string>()}});
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(ErrorMessage(stale), "The version of the existing record doesn't match the RowVersion property provided.");
  // GET with the current ETag in If-None-Match: 304.
  Response nm =
      client().Api("GET", "accounts(" + id + ")", "", {{"If-None-Match", after["@odata.etag"].get<std::string>()}});
  EXPECT_EQ(nm.status, 304);
  Response null_inm = client().Api("GET", "accounts(" + id + ")", "", {{"If-None-Match", "null"}});
  EXPECT_EQ(null_inm.status, 200);
  // Clearing with null.
  ASSERT_EQ(client().Api("PATCH", "accounts(" + id + ")", R"({"telephone1":null})").status, 204);
  EXPECT_TRUE(client().Api("GET", "accounts(" + id + ")").Json()["telephone1"].is_null());
}

TEST_F(CrudTest, UpsertSemantics) {
  const std::string missing = "00000000-0000-0000-0000-00000000abcd";
  Response no_create = client().Api("PATCH", "accounts(" + missing + ")", R"({"name":"N"})", {{"If-Match", "*"}});
  EXPECT_EQ(no_create.status, 404);
  EXPECT_EQ(ErrorCode(no_create), "0x80040217");
  EXPECT_EQ(ErrorMessage(no_create), "account With Id = " + missing + " Does Not Exist");
  Response created =
      client().Api("PATCH", "accounts(" + missing + ")", R"({"name":"N"})", {{"Prefer", "return=representation"}});
  EXPECT_EQ(created.status, 201) << created.body;
  Response updated =
      client().Api("PATCH", "accounts(" + missing + ")", R"({"name":"M"})", {{"Prefer", "return=representation"}});
  EXPECT_EQ(updated.status, 200);
  EXPECT_EQ(updated.Json()["name"], "M");
  Response plain = client().Api("PATCH", "accounts(" + missing + ")", R"({"name":"O"})");
  EXPECT_EQ(plain.status, 204);
  EXPECT_EQ(plain.Header("odata-entityid"), api() + "accounts(" + missing + ")");
  Response no_update = client().Api("PATCH", "accounts(" + missing + ")", R"({"name":"P"})", {{"If-None-Match", "*"}});
  EXPECT_EQ(no_update.status, 412);
  EXPECT_EQ(ErrorCode(no_update), "0x80040237");
  const std::string other = "00000000-0000-0000-0000-00000000abce";
  EXPECT_EQ(client().Api("PATCH", "accounts(" + other + ")", R"({"name":"Q"})", {{"If-None-Match", "*"}}).status, 204);
}

TEST_F(CrudTest, DeleteAndNotFound) {
  const std::string id = Create("contacts", {{"lastname", "Gone"}});
  Response wrong_etag = client().Api("DELETE", "contacts(" + id + ")", "", {{"If-Match", "W/\"1\""}});
  EXPECT_EQ(wrong_etag.status, 412);
  EXPECT_EQ(client().Api("DELETE", "contacts(" + id + ")").status, 204);
  Response g = client().Api("GET", "contacts(" + id + ")");
  EXPECT_EQ(g.status, 404);
  EXPECT_EQ(ErrorCode(g), "0x80040217");
  EXPECT_EQ(ErrorMessage(g), "contact With Id = " + id + " Does Not Exist");
  EXPECT_EQ(client().Api("DELETE", "contacts(" + id + ")").status, 404);
}

TEST_F(CrudTest, NamesAreCaseSensitive) {
  Response r = client().Api("GET", "Accounts");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "0x8006088a");
  EXPECT_EQ(ErrorMessage(r), "Resource not found for the segment 'Accounts'.");
  Response p = client().Api("GET", "accounts?$select=Name");
  EXPECT_EQ(p.status, 400);
  EXPECT_EQ(ErrorCode(p), "0x0");
  EXPECT_EQ(ErrorMessage(p), "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'.");
  Response b = client().Api("POST", "accounts", R"({"Name":"x"})");
  EXPECT_EQ(b.status, 400);
  EXPECT_EQ(ErrorCode(b), "0x80048d19");
  EXPECT_NE(ErrorMessage(b).find("Invalid property 'Name' was found in entity 'Microsoft.Dynamics.CRM.account'."),
            std::string::npos);
}

TEST_F(CrudTest, ValidationErrors) {
  Response len = client().Api("POST", "contacts", R"({"firstname":")" + std::string(51, 'x') + R"(","lastname":"L"})");
  EXPECT_EQ(len.status, 400);
  EXPECT_EQ(ErrorCode(len), "0x80044331");
  EXPECT_EQ(ErrorMessage(len),
            "A validation error occurred.  The length of the 'firstname' attribute of the 'contact' entity exceeded "
            "the maximum allowed length of '50'.");
  Response type = client().Api("POST", "accounts", R"({"name":"x","revenue":"lots"})");
  EXPECT_EQ(type.status, 400);
  EXPECT_EQ(ErrorCode(type), "0x80048d19");
  Response required = client().Api("POST", "contacts", R"({"firstname":"OnlyFirst"})");
  EXPECT_EQ(required.status, 400);
  EXPECT_EQ(ErrorCode(required), "0x80040203");
  Response range = client().Api("POST", "opportunities", R"({"name":"o","closeprobability":150})");
  EXPECT_EQ(range.status, 400);
  EXPECT_EQ(ErrorCode(range), "0x80044331");
  Response option = client().Api("POST", "opportunities", R"({"name":"o","salesstage":9})");
  EXPECT_EQ(option.status, 400);
  Response date = client().Api("POST", "opportunities", R"({"name":"o","estimatedclosedate":"2025-03-31T10:00:00Z"})");
  EXPECT_EQ(date.status, 400);
  Response not_json = client().Api("POST", "accounts", R"({"name":)");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(ErrorCode(not_json), "0x80048d19");
  Response array = client().Api("POST", "accounts", R"([{"name":"x"}])");
  EXPECT_EQ(array.status, 400);
}

TEST_F(CrudTest, SerialisationOfTypes) {
  Response r = client().Api(
      "POST", "opportunities?$select=estimatedclosedate,estimatedvalue,closeprobability",
      R"({"name":"Deal","estimatedclosedate":"2025-03-31","estimatedvalue":5000000.0,"closeprobability":40})",
      {{"Prefer", "return=representation"}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto j = r.Json();
  EXPECT_EQ(j["estimatedclosedate"], "2025-03-31");
  EXPECT_TRUE(j["estimatedvalue"].is_number());
  EXPECT_EQ(j["estimatedvalue"].get<double>(), 5000000.0);
  EXPECT_TRUE(j["_transactioncurrencyid_value"].is_string());  // money brings the currency
  auto full = client().Api("GET", "opportunities(" + j["opportunityid"].get<std::string>() + ")").Json();
  EXPECT_EQ(full["estimatedvalue_base"].get<double>(), 5000000.0);
}

TEST_F(CrudTest, LookupsWithBind) {
  const std::string account = Create("accounts", {{"name", "Litware, Inc."}});
  const std::string id = Create(
      "contacts", {{"lastname", "Anderson"}, {"parentcustomerid_account@odata.bind", "/accounts(" + account + ")"}});
  Response g = client().Api("GET", "contacts(" + id + ")?$select=_parentcustomerid_value", "",
                            {{"Prefer", "odata.include-annotations=\"*\""}});
  ASSERT_EQ(g.status, 200) << g.body;
  auto j = g.Json();
  EXPECT_EQ(j["_parentcustomerid_value"], account);
  EXPECT_EQ(j["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "account");
  EXPECT_EQ(j["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"],
            "parentcustomerid_account");
  EXPECT_EQ(j["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"], "Litware, Inc.");
  EXPECT_EQ(g.Header("preference-applied"), "odata.include-annotations=\"*\"");
  // Annotations precede their property.
  EXPECT_LT(g.body.find("_parentcustomerid_value@"), g.body.find("\"_parentcustomerid_value\":"));
  // Polymorphic: now a contact as the parent customer; absolute URL form.
  const std::string boss = Create("contacts", {{"lastname", "Boss"}});
  ASSERT_EQ(client()
                .Api("PATCH", "contacts(" + id + ")",
                     nlohmann::json{{"parentcustomerid_contact@odata.bind", api() + "contacts(" + boss + ")"}}.dump())
                .status,
            204);
  auto k = client()
               .Api("GET", "contacts(" + id + ")", "",
                    {{"Prefer", "odata.include-annotations=\"Microsoft.Dynamics.CRM.*\""}})
               .Json();
  EXPECT_EQ(k["_parentcustomerid_value"], boss);
  EXPECT_EQ(k["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "contact");
  EXPECT_FALSE(k.contains("_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"));
  // The column name is not a navigation property.
  Response wrong = client().Api("PATCH", "contacts(" + id + ")",
                                nlohmann::json{{"parentcustomerid@odata.bind", "/accounts(" + account + ")"}}.dump());
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(ErrorCode(wrong), "0x80048d19");
  EXPECT_NE(ErrorMessage(wrong).find("An undeclared property 'parentcustomerid' which only has property annotations"),
            std::string::npos);
  // Missing target.
  Response missing =
      client().Api("PATCH", "contacts(" + id + ")",
                   R"j({"parentcustomerid_account@odata.bind":"/accounts(00000000-0000-0000-0000-000000000099)"})j");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCode(missing), "0x80040217");
  // Clearing.
  ASSERT_EQ(client().Api("PATCH", "contacts(" + id + ")", R"({"parentcustomerid_contact@odata.bind":null})").status,
            204);
  EXPECT_TRUE(client().Api("GET", "contacts(" + id + ")").Json()["_parentcustomerid_value"].is_null());
  // Single-target lookup cleared by its nav name.
  const std::string child =
      Create("accounts", {{"name", "Child"}, {"parentaccountid@odata.bind", "accounts(" + account + ")"}});
  EXPECT_EQ(client().Api("GET", "accounts(" + child + ")").Json()["_parentaccountid_value"], account);
  ASSERT_EQ(client().Api("PATCH", "accounts(" + child + ")", R"({"parentaccountid":null})").status, 204);
  EXPECT_TRUE(client().Api("GET", "accounts(" + child + ")").Json()["_parentaccountid_value"].is_null());
}

TEST_F(CrudTest, AlternateKeys) {
  const std::string id = Create("accounts", {{"name", "Keyed"}, {"accountnumber", "ABC123"}});
  Response g = client().Api("GET", "accounts(accountnumber='ABC123')?$select=name");
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.Json()["accountid"], id);
  EXPECT_EQ(client().Api("GET", "accounts(accountid=" + id + ")").status, 200);
  Response missing = client().Api("GET", "accounts(accountnumber='NOPE')");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCode(missing), "0x80060891");
  Response bad_key = client().Api("GET", "accounts(name='Keyed')");
  EXPECT_EQ(bad_key.status, 400);
  EXPECT_NE(ErrorMessage(bad_key).find(
                "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.account'"),
            std::string::npos);
  // Upsert by alternate key creates with the key copied from the URL.
  Response up = client().Api("PATCH", "accounts(accountnumber='NEW-1')", R"({"name":"Fresh"})");
  ASSERT_EQ(up.status, 204) << up.body;
  EXPECT_EQ(up.Header("odata-entityid"), api() + "accounts(accountnumber='NEW-1')");
  EXPECT_EQ(client().Api("GET", "accounts(accountnumber='NEW-1')").Json()["name"], "Fresh");
  // A taken key value.
  Response dup = client().Api("POST", "accounts", R"({"name":"Dup","accountnumber":"ABC123"})");
  EXPECT_EQ(dup.status, 412);
  EXPECT_EQ(ErrorCode(dup), "0x80060892");
  // Bind by alternate key.
  const std::string c = Create(
      "contacts", {{"lastname", "K"}, {"parentcustomerid_account@odata.bind", "/accounts(accountnumber='ABC123')"}});
  EXPECT_EQ(client().Api("GET", "contacts(" + c + ")").Json()["_parentcustomerid_value"], id);
  // systemusers take no named keys.
  const std::string me = client().Api("GET", "WhoAmI").Json()["UserId"];
  EXPECT_EQ(client().Api("GET", "systemusers(" + me + ")").status, 200);
  EXPECT_EQ(client().Api("GET", "systemusers(systemuserid=" + me + ")").status, 400);
}

TEST_F(CrudTest, ComputedColumns) {
  Response r = client().Api(
      "POST", "contacts",
      R"({"firstname":"Ann","lastname":"Lee","address1_line1":"1 Main St","address1_city":"Seattle","address1_stateorprovince":"WA","address1_postalcode":"98052","address1_country":"USA"})",
      {{"Prefer", "return=representation"}});
  ASSERT_EQ(r.status, 201);
  auto j = r.Json();
  EXPECT_EQ(j["fullname"], "Ann Lee");
  EXPECT_EQ(j["address1_composite"], "1 Main St\r\nSeattle, WA 98052\r\nUSA");
  // Selecting an address part brings the composite.
  auto s = client().Api("GET", "contacts(" + j["contactid"].get<std::string>() + ")?$select=address1_city").Json();
  EXPECT_TRUE(s.contains("address1_composite"));
  // Read-only columns in a payload are ignored.
  ASSERT_EQ(
      client().Api("PATCH", "contacts(" + j["contactid"].get<std::string>() + ")", R"({"fullname":"X Y"})").status,
      204);
  EXPECT_EQ(client().Api("GET", "contacts(" + j["contactid"].get<std::string>() + ")").Json()["fullname"], "Ann Lee");
}

TEST_F(CrudTest, SinglePropertyReadAndClear) {
  const std::string id = Create("contacts", {{"lastname", "Smith"}, {"jobtitle", "CEO"}});
  Response r = client().Api("GET", "contacts(" + id + ")/lastname");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["value"], "Smith");
  EXPECT_EQ(client().Api("DELETE", "contacts(" + id + ")/jobtitle").status, 204);
  EXPECT_TRUE(client().Api("GET", "contacts(" + id + ")").Json()["jobtitle"].is_null());
  EXPECT_EQ(client().Api("PUT", "contacts(" + id + ")/lastname", R"({"value":"Jones"})").status, 204);
  EXPECT_EQ(client().Api("GET", "contacts(" + id + ")/lastname").Json()["value"], "Jones");
}

TEST_F(CrudTest, OpportunityStateRules) {
  Response on_create = client().Api("POST", "opportunities", R"({"name":"o","statecode":1})");
  EXPECT_EQ(on_create.status, 400);
  const std::string id = Create("opportunities", {{"name", "Deal"}, {"estimatedvalue", 1000}});
  EXPECT_EQ(client().Api("GET", "opportunities(" + id + ")").Json()["statuscode"], 1);
  Response patch_won = client().Api("PATCH", "opportunities(" + id + ")", R"({"statecode":1,"statuscode":3})");
  EXPECT_EQ(patch_won.status, 400);
  Response wrong_status = client().Api(
      "POST", "LoseOpportunity",
      nlohmann::json{
          {"Status", 3},
          {"OpportunityClose", {{"subject", "Lost"}, {"opportunityid@odata.bind", "/opportunities(" + id + ")"}}}}
          .dump());
  EXPECT_EQ(wrong_status.status, 400);
  Response win = client().Api(
      "POST", "WinOpportunity",
      nlohmann::json{{"Status", 3},
                     {"OpportunityClose",
                      {{"subject", "Won Opportunity"}, {"opportunityid@odata.bind", "/opportunities(" + id + ")"}}}}
          .dump());
  ASSERT_EQ(win.status, 204) << win.body;
  auto j = client().Api("GET", "opportunities(" + id + ")").Json();
  EXPECT_EQ(j["statecode"], 1);
  EXPECT_EQ(j["statuscode"], 3);
  EXPECT_EQ(j["actualvalue"], 1000);
  EXPECT_TRUE(j["actualclosedate"].is_string());
  EXPECT_EQ(client().Api("PATCH", "opportunities(" + id + ")", R"({"name":"Changed"})").status, 400);
  // Reopen, then edit.
  ASSERT_EQ(client().Api("PATCH", "opportunities(" + id + ")", R"({"statecode":0,"statuscode":1})").status, 204);
  EXPECT_EQ(client().Api("PATCH", "opportunities(" + id + ")", R"({"name":"Changed"})").status, 204);
  Response lose = client().Api(
      "POST", "LoseOpportunity",
      nlohmann::json{{"Status", 5}, {"OpportunityClose", {{"opportunityid@odata.bind", "/opportunities(" + id + ")"}}}}
          .dump());
  EXPECT_EQ(lose.status, 204);
  EXPECT_EQ(client().Api("GET", "opportunities(" + id + ")").Json()["statecode"], 2);
}

TEST_F(CrudTest, SalesOrderTotalsLinesAndFulfilment) {
  const std::string account = Create("accounts", {{"name", "Buyer"}});
  Response missing_customer = client().Api("POST", "salesorders", R"({"name":"No customer"})");
  EXPECT_EQ(missing_customer.status, 400);
  const std::string order = Create("salesorders", {{"name", "Web order 1001"},
                                                   {"customerid_account@odata.bind", "/accounts(" + account + ")"},
                                                   {"freightamount", 10}});
  auto o = client().Api("GET", "salesorders(" + order + ")").Json();
  EXPECT_TRUE(std::regex_match(o["ordernumber"].get<std::string>(), std::regex(R"(ORD-\d{5}-[A-Z0-9]{6})")))
      << o["ordernumber"];
  EXPECT_EQ(client().Api("PATCH", "salesorders(" + order + ")", R"({"ordernumber":"X"})").status, 400);
  const std::string line = Create("salesorderdetails", {{"salesorderid@odata.bind", "/salesorders(" + order + ")"},
                                                        {"isproductoverridden", true},
                                                        {"productdescription", "Consulting day"},
                                                        {"quantity", 2},
                                                        {"ispriceoverridden", true},
                                                        {"priceperunit", 950.00},
                                                        {"manualdiscountamount", 100},
                                                        {"tax", 50}});
  auto l = client().Api("GET", "salesorderdetails(" + line + ")").Json();
  EXPECT_EQ(l["baseamount"], 1900);
  EXPECT_EQ(l["extendedamount"], 1850);
  EXPECT_EQ(l["productidname"], "Consulting day");
  auto o2 = client().Api("GET", "salesorders(" + order + ")").Json();
  EXPECT_EQ(o2["totallineitemamount"], 1800);
  EXPECT_EQ(o2["totalamount"], 1860);
  EXPECT_GT(o2["versionnumber"].get<std::int64_t>(), o["versionnumber"].get<std::int64_t>());
  // Lines through the collection navigation property and $expand.
  Response nav = client().Api("GET", "salesorders(" + order + ")/order_details?$select=quantity");
  ASSERT_EQ(nav.status, 200);
  EXPECT_EQ(nav.Json()["value"].size(), 1u);
  Response ex = client().Api(
      "GET", "salesorders(" + order + ")?$select=name&$expand=order_details($select=quantity,priceperunit)");
  ASSERT_EQ(ex.status, 200) << ex.body;
  EXPECT_EQ(ex.Json()["order_details"][0]["quantity"], 2);
  // isproductoverridden is create-only.
  EXPECT_EQ(client().Api("PATCH", "salesorderdetails(" + line + ")", R"({"isproductoverridden":false})").status, 400);
  Response fulfil = client().Api("POST", "FulfillSalesOrder",
                                 nlohmann::json{{"OrderClose",
                                                 {{"@odata.type", "Microsoft.Dynamics.CRM.orderclose"},
                                                  {"subject", "Fulfilled"},
                                                  {"salesorderid@odata.bind", "/salesorders(" + order + ")"}}},
                                                {"Status", 100001}}
                                     .dump());
  ASSERT_EQ(fulfil.status, 204) << fulfil.body;
  EXPECT_EQ(client().Api("GET", "salesorders(" + order + ")").Json()["statecode"], 3);
  EXPECT_EQ(client().Api("PATCH", "salesorders(" + order + ")", R"({"name":"Late edit"})").status, 400);
  EXPECT_EQ(client()
                .Api("POST", "salesorderdetails",
                     nlohmann::json{{"salesorderid@odata.bind", "/salesorders(" + order + ")"}, {"quantity", 1}}.dump())
                .status,
            400);
  // Deleting an order takes its lines.
  EXPECT_EQ(client().Api("DELETE", "salesorders(" + order + ")").status, 204);
  EXPECT_EQ(client().Api("GET", "salesorderdetails(" + line + ")").status, 404);
}

TEST_F(CrudTest, DefaultReferenceData) {
  auto cur = client().Api("GET", "transactioncurrencies?$select=isocurrencycode,currencysymbol").Json();
  ASSERT_EQ(cur["value"].size(), 1u);
  EXPECT_EQ(cur["value"][0]["isocurrencycode"], "USD");
  auto pl = client().Api("GET", "pricelevels?$select=name").Json();
  ASSERT_EQ(pl["value"].size(), 1u);
  Response doc = client().Api("GET", "");
  ASSERT_EQ(doc.status, 200) << doc.body;
  bool has_contacts = false;
  const nlohmann::json service = doc.Json();
  for (const auto& e : service["value"]) has_contacts = has_contacts || e["name"] == "contacts";
  EXPECT_TRUE(has_contacts) << doc.body;
  Response md = client().Api("GET", "$metadata");
  ASSERT_EQ(md.status, 200);
  EXPECT_NE(md.body.find("<Property Name=\"firstname\" Type=\"Edm.String\" MaxLength=\"50\" />"), std::string::npos);
}

}  // namespace
}  // namespace crmsync::emulator::testing
