// The shipped mappings (systemd/mappings.d) against the default local schema,
// and what they make of typical records.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mapping/local_schema.h"
#include "mapping/mapper.h"
#include "mapping/mapping_loader.h"
#include "tests/mapping/mapping_test_util.h"
#include "tests/support/temp_dir.h"

namespace crmsync::mapping {
namespace {

using ::testing::ElementsAre;

Value T(const char* s) {
  return Value::Text(s);
}
Value I(std::int64_t i) {
  return Value::Integer(i);
}

class DefaultMappingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    load_ = LoadMappingDirectory(testing::DefaultMappingsDir());
    ASSERT_TRUE(load_.ok()) << load_.diagnostics.front().ToString();
  }
  const Mapping& Get(const char* name) { return *load_.set.Find(name); }

  MappingSetLoad load_;
  testing::FakeResolver resolver_;
};

TEST_F(DefaultMappingsTest, ValidAgainstTheDefaultLocalSchema) {
  testing_support::TempDir dir;
  testing::CreateLocalStore(dir.path() + "/crm.db");
  const Diagnostics problems = CheckLocalDatabase(load_.set, dir.path() + "/crm.db");
  EXPECT_TRUE(problems.empty()) << problems.front().ToString();
  for (const auto& m : load_.set.mappings()) EXPECT_EQ(m.version.size(), 64u) << m.name;
}

TEST_F(DefaultMappingsTest, CompanyContactToAccountAndBack) {
  const Mapping& m = Get("accounts");
  const Record company{{"no", T("CT000001")},    {"type", T("company")}, {"name", T("Contoso Ltd")},
                       {"phone", T("555-0100")}, {"email", T("")},       {"city", T("Leeds")}};
  EXPECT_TRUE(m.AppliesToLocal(company));
  EXPECT_FALSE(m.AppliesToLocal({{"type", T("person")}}));
  const auto out = MapToRemote(m, company, resolver_);
  EXPECT_TRUE(out.ok());
  EXPECT_EQ(out.fields, (Record{{"accountnumber", T("CT000001")},
                                {"address1_city", T("Leeds")},
                                {"emailaddress1", Value::Null()},
                                {"name", T("Contoso Ltd")},
                                {"telephone1", T("555-0100")}}));
  const auto back =
      MapToLocal(m, {{"accountid", T("a1")}, {"name", T("Fabrikam")}, {"accountnumber", T("X")}}, resolver_);
  EXPECT_EQ(back.fields, (Record{{"name", T("Fabrikam")}, {"type", T("company")}}));
  EXPECT_THAT(m.MatchColumns().front().local, "name");
}

TEST_F(DefaultMappingsTest, PersonWithCompany) {
  const Mapping& m = Get("contacts");
  resolver_.Couple("accounts", "CT000001", "78914942-34cb-ed11-b596-0022481d68cd");
  const auto out = MapToRemote(m,
                               {{"no", T("CT000002")},
                                {"type", T("person")},
                                {"name", T("Nancy Anderson")},
                                {"first_name", T("Nancy")},
                                {"surname", T("Anderson")},
                                {"company_no", T("CT000001")}},
                               resolver_);
  EXPECT_TRUE(out.ok());
  EXPECT_EQ(out.fields,
            (Record{{"firstname", T("Nancy")},
                    {"lastname", T("Anderson")},
                    {"parentcustomerid_account@odata.bind", T("/accounts(78914942-34cb-ed11-b596-0022481d68cd)")}}));
  const auto back = MapToLocal(m,
                               {{"contactid", T("c1")},
                                {"fullname", T("Nancy Anderson")},
                                {"_parentcustomerid_value", T("78914942-34cb-ed11-b596-0022481d68cd")}},
                               resolver_);
  EXPECT_EQ(back.fields, (Record{{"company_no", T("CT000001")}, {"name", T("Nancy Anderson")}, {"type", T("person")}}));
  EXPECT_THAT(
      m.RemoteSelectColumns(),
      ElementsAre("contactid", "firstname", "lastname", "fullname", "emailaddress1", "telephone1", "mobilephone",
                  "jobtitle", "address1_line1", "address1_line2", "address1_city", "address1_postalcode",
                  "address1_stateorprovince", "address1_country", "_parentcustomerid_value"));
}

TEST_F(DefaultMappingsTest, SalespeopleComeFromUsersOnly) {
  const Mapping& m = Get("salespeople");
  EXPECT_TRUE(MapToRemote(m, {{"code", T("SP1")}, {"name", T("Alice")}}, resolver_).fields.empty());
  const auto back = MapToLocal(m,
                               {{"systemuserid", T("u1")},
                                {"fullname", T("Alice Smith")},
                                {"internalemailaddress", T("alice@contoso.com")},
                                {"isdisabled", Value::Bool(true)}},
                               resolver_);
  EXPECT_EQ(back.fields, (Record{{"blocked", I(1)}, {"email", T("alice@contoso.com")}, {"name", T("Alice Smith")}}));
  ASSERT_EQ(m.MatchColumns().size(), 1u);
  EXPECT_EQ(m.MatchColumns()[0].local, "email");
}

TEST_F(DefaultMappingsTest, OpportunityForAPersonOwnedByASalesperson) {
  const Mapping& m = Get("opportunities");
  resolver_.Couple("contacts", "CT000002", "c2");
  resolver_.Couple("salespeople", "SP1", "u1");
  const auto out = MapToRemote(m,
                               {{"no", T("OP000001")},
                                {"description", T("10 desks")},
                                {"contact_no", T("CT000002")},
                                {"salesperson_code", T("SP1")},
                                {"status", T("won")},
                                {"estimated_value", *Value::Decimal("1200.50")},
                                {"probability", I(80)},
                                {"estimated_close_date", T("2025-03-31")},
                                {"sales_cycle_stage", T("close")}},
                               resolver_);
  EXPECT_TRUE(out.ok());
  EXPECT_EQ(out.fields, (Record{{"closeprobability", I(80)},
                                {"customerid_contact@odata.bind", T("/contacts(c2)")},
                                {"estimatedclosedate", T("2025-03-31")},
                                {"estimatedvalue", *Value::Decimal("1200.5")},
                                {"name", T("10 desks")},
                                {"ownerid@odata.bind", T("/systemusers(u1)")},
                                {"salesstage", I(3)},
                                {"statecode", I(1)},
                                {"statuscode", I(3)}}));
  // No salesperson: the owner is left alone rather than cleared.
  const auto no_owner = MapToRemote(m, {{"salesperson_code", Value::Null()}}, resolver_);
  EXPECT_TRUE(no_owner.fields.empty());
  // Owned by a team: not something salesperson_code can hold.
  const auto team = MapToLocal(
      m, {{"_ownerid_value", T("t1")}, {"_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname", T("team")}},
      resolver_);
  EXPECT_TRUE(team.ok());
  EXPECT_TRUE(team.fields.empty());
}

TEST_F(DefaultMappingsTest, InteractionsAreActivitiesRegardingTheirContact) {
  resolver_.Couple("contacts", "CT000002", "c2");
  resolver_.Couple("accounts", "CT000001", "a1");
  const Mapping& calls = Get("phone_calls");
  const Record call{{"no", T("IN000001")},        {"type", T("phone_call")},       {"contact_no", T("CT000002")},
                    {"subject", T("First call")}, {"date", T("2026-03-03")},       {"duration_min", I(15)},
                    {"direction", T("out")},      {"completed", Value::Bool(true)}};
  EXPECT_TRUE(calls.AppliesToLocal(call));
  EXPECT_FALSE(Get("emails").AppliesToLocal(call));
  const auto out = MapToRemote(calls, call, resolver_);
  EXPECT_TRUE(out.ok());
  EXPECT_EQ(out.fields, (Record{{"actualdurationminutes", I(15)},
                                {"actualstart", T("2026-03-03T00:00:00Z")},
                                {"directioncode", Value::Bool(true)},
                                {"regardingobjectid_contact_phonecall@odata.bind", T("/contacts(c2)")},
                                {"statecode", I(1)},
                                {"statuscode", I(2)},
                                {"subject", T("First call")}}));
  // A meeting with a company regards its account, and is Scheduled while not completed.
  const auto meeting = MapToRemote(Get("appointments"),
                                   {{"no", T("IN000002")},
                                    {"type", T("meeting")},
                                    {"contact_no", T("CT000001")},
                                    {"subject", T("Review")},
                                    {"completed", Value::Bool(false)}},
                                   resolver_);
  EXPECT_TRUE(meeting.ok());
  EXPECT_EQ(meeting.fields.at("regardingobjectid_account_appointment@odata.bind"), T("/accounts(a1)"));
  EXPECT_EQ(meeting.fields.at("statecode"), I(3));
  EXPECT_EQ(meeting.fields.at("statuscode"), I(5));
  // A received call logged in Dataverse: an incoming, completed phone call of the contact.
  const auto back = MapToLocal(calls,
                               {{"activityid", T("p1")},
                                {"subject", T("Called back")},
                                {"_regardingobjectid_value", T("c2")},
                                {"_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname", T("contact")},
                                {"actualstart", T("2026-03-05T09:30:00Z")},
                                {"directioncode", Value::Bool(false)},
                                {"statecode", I(1)},
                                {"statuscode", I(4)}},
                               resolver_);
  EXPECT_TRUE(back.ok());
  EXPECT_EQ(back.fields, (Record{{"completed", Value::Bool(true)},
                                 {"contact_no", T("CT000002")},
                                 {"date", T("2026-03-05")},
                                 {"direction", T("in")},
                                 {"subject", T("Called back")},
                                 {"type", T("phone_call")}}));
}

TEST_F(DefaultMappingsTest, OrderAndWriteInLine) {
  resolver_.Couple("accounts", "CT000001", "a1");
  resolver_.Couple("sales_orders", "SO000001", "o1");
  const auto order = MapToRemote(Get("sales_orders"),
                                 {{"no", T("SO000001")},
                                  {"sell_to_contact_no", T("CT000001")},
                                  {"external_document_no", T("PO-77")},
                                  {"opportunity_no", Value::Null()}},
                                 resolver_);
  EXPECT_TRUE(order.ok());
  EXPECT_EQ(order.fields, (Record{{"customerid_account@odata.bind", T("/accounts(a1)")},
                                  {"description", T("PO-77")},
                                  {"name", T("SO000001")},
                                  {"opportunityid@odata.bind", Value::Null()}}));

  const Mapping& lines = Get("sales_order_lines");
  const Record line{{"order_no", T("SO000001")},
                    {"line_no", I(10000)},
                    {"description", T("Consulting day")},
                    {"quantity", I(2)},
                    {"unit_price", *Value::Decimal("950.00")}};
  EXPECT_EQ(*lines.EncodeLocalKey(line), R"(["SO000001",10000])");
  const auto out = MapToRemote(lines, line, resolver_);
  EXPECT_TRUE(out.ok());
  EXPECT_EQ(out.fields, (Record{{"ispriceoverridden", Value::Bool(true)},
                                {"isproductoverridden", Value::Bool(true)},
                                {"lineitemnumber", I(10000)},
                                {"priceperunit", *Value::Decimal("950")},
                                {"productdescription", T("Consulting day")},
                                {"quantity", *Value::Decimal("2")},
                                {"salesorderid@odata.bind", T("/salesorders(o1)")}}));
  const auto back = MapToLocal(lines,
                               {{"_salesorderid_value", T("o1")},
                                {"lineitemnumber", I(20000)},
                                {"productdescription", T("Travel")},
                                {"quantity", *Value::Decimal("1.5")},
                                {"priceperunit", *Value::Decimal("120.0000")}},
                               resolver_);
  EXPECT_TRUE(back.ok());
  EXPECT_EQ(*lines.EncodeLocalKey(back.fields), R"(["SO000001",20000])");
}

}  // namespace
}  // namespace crmsync::mapping
