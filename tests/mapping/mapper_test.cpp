#include "mapping/mapper.h"

#include <gtest/gtest.h>

#include "mapping/mapping_loader.h"
#include "tests/mapping/mapping_test_util.h"

namespace crmsync::mapping {
namespace {

using testing::FakeResolver;

Value T(const char* s) {
  return Value::Text(s);
}
Value I(std::int64_t i) {
  return Value::Integer(i);
}
Value D(const char* s) {
  return *Value::Decimal(s);
}

std::string Issues(const MappedRecord& r) {
  std::string out;
  for (const auto& i : r.issues) {
    out += (out.empty() ? "" : "\n") + i.field + " [" + std::string(FieldIssueKindName(i.kind)) + "] " + i.message;
  }
  return out;
}

// A parent mapping and a test mapping "m" with the given fields.
MappingSet Set(const std::string& top, const std::string& fields,
               const std::string& local = R"({"table": "t", "key": "id"})") {
  const std::string parents = R"({"name": "accounts", "local": {"table": "contact", "key": "no"},
    "remote": {"entity_set": "accounts", "key": "accountid"}, "fields": [{"local": "name", "remote": "name"}]})";
  const std::string people = R"({"name": "contacts", "local": {"table": "contact", "key": "no"},
    "remote": {"entity_set": "contacts", "key": "contactid"}, "fields": [{"local": "name", "remote": "fullname"}]})";
  const std::string m = R"({"name": "m", "local": )" + local + R"(,
    "remote": {"entity_set": "things", "key": "thingid"}, "depends_on": ["accounts", "contacts"], )" +
                        top + R"( "fields": [)" + fields + "]}";
  auto load = ParseMappingSet({{"accounts.json", parents}, {"contacts.json", people}, {"m.json", m}});
  EXPECT_TRUE(load.ok()) << (load.ok() ? "" : load.diagnostics.front().ToString());
  return load.set;
}

class MapperTest : public ::testing::Test {
 protected:
  FakeResolver resolver_;
};

TEST_F(MapperTest, RenamesAndConvertsPerDirection) {
  const auto set = Set("", R"({"local": "name", "remote": "fullname", "type": "text"},
    {"local": "amount", "remote": "revenue", "type": "money"},
    {"local": "active", "remote": "isactive", "type": "boolean"},
    {"local": "only_out", "remote": "outattr", "direction": "to_remote"},
    {"local": "only_in", "remote": "inattr", "direction": "from_remote"})");
  const Mapping& m = *set.Find("m");
  const auto out = MapToRemote(m,
                               {{"id", T("1")},
                                {"name", T("Contoso")},
                                {"amount", D("950.00")},
                                {"active", I(1)},
                                {"only_out", T("o")},
                                {"only_in", T("i")}},
                               resolver_);
  EXPECT_TRUE(out.ok()) << Issues(out);
  EXPECT_EQ(
      out.fields,
      (Record{
          {"fullname", T("Contoso")}, {"revenue", D("950")}, {"isactive", Value::Bool(true)}, {"outattr", T("o")}}));

  const auto back = MapToLocal(m,
                               {{"thingid", T("g")},
                                {"fullname", T("Contoso")},
                                {"revenue", D("5000000.0000")},
                                {"isactive", Value::Bool(false)},
                                {"outattr", T("o")},
                                {"inattr", T("i")}},
                               resolver_);
  EXPECT_TRUE(back.ok()) << Issues(back);
  EXPECT_EQ(back.fields,
            (Record{{"name", T("Contoso")}, {"amount", D("5000000")}, {"active", I(0)}, {"only_in", T("i")}}));
}

TEST_F(MapperTest, AbsentSourcesAreLeftOutAndNullsClear) {
  const auto set = Set("", R"({"local": "a", "remote": "a"}, {"local": "b", "remote": "b"},
    {"local": "c", "remote": "c", "omit_null": true})");
  const auto out = MapToRemote(*set.Find("m"), {{"a", Value::Null()}, {"c", Value::Null()}}, resolver_);
  EXPECT_EQ(out.fields, (Record{{"a", Value::Null()}}));
  const auto back = MapToLocal(*set.Find("m"), {{"b", Value::Null()}, {"c", Value::Null()}}, resolver_);
  EXPECT_EQ(back.fields, (Record{{"b", Value::Null()}}));
}

TEST_F(MapperTest, ConstantsAndFilterColumns) {
  const auto set = Set("", R"({"local": "name", "remote": "name"},
    {"remote": "isproductoverridden", "constant": true, "direction": "to_remote", "create_only": true},
    {"local": "source", "constant": "dataverse", "direction": "from_remote"})",
                       R"({"table": "t", "key": "id", "filter": {"type": "company"}})");
  const Mapping& m = *set.Find("m");
  ASSERT_EQ(m.local.filter.size(), 1u);
  const auto out = MapToRemote(m, {{"name", T("Contoso")}, {"type", T("company")}}, resolver_);
  EXPECT_EQ(out.fields, (Record{{"isproductoverridden", Value::Bool(true)}, {"name", T("Contoso")}}));
  const auto back = MapToLocal(m, {{"name", T("Contoso")}}, resolver_);
  EXPECT_EQ(back.fields, (Record{{"name", T("Contoso")}, {"source", T("dataverse")}, {"type", T("company")}}));
}

TEST_F(MapperTest, MaxLengthFailsOrTruncates) {
  const auto set = Set("", R"({"local": "a", "remote": "a", "type": "text", "max_length": 5},
    {"local": "b", "remote": "b", "type": "text", "max_length": 3, "truncate": true})");
  const auto out = MapToRemote(*set.Find("m"), {{"a", T("Müllers")}, {"b", T("Müllers")}}, resolver_);
  EXPECT_TRUE(out.failed());
  EXPECT_EQ(Issues(out), "a [too_long] is 7 characters long; at most 5 allowed");
  EXPECT_EQ(out.fields, (Record{{"b", T("Mül")}}));
  const auto fits = MapToRemote(*set.Find("m"), {{"a", T("Müll")}}, resolver_);
  EXPECT_TRUE(fits.ok());
  const auto back = MapToLocal(*set.Find("m"), {{"a", T("abcdef")}}, resolver_);
  EXPECT_EQ(Issues(back), "a [too_long] is 6 characters long; at most 5 allowed");
}

TEST_F(MapperTest, BadValuesAreReportedPerField) {
  const auto set = Set("", R"({"local": "n", "remote": "n", "type": "integer"},
    {"local": "d", "remote": "d", "type": "date"}, {"local": "ok", "remote": "ok"})");
  const auto out = MapToRemote(*set.Find("m"), {{"n", T("ten")}, {"d", T("tomorrow")}, {"ok", I(1)}}, resolver_);
  EXPECT_TRUE(out.failed());
  EXPECT_FALSE(out.waiting_for_parent());
  EXPECT_EQ(Issues(out), "n [bad_value] 'ten' is not an integer\nd [bad_value] 'tomorrow' is not a date (YYYY-MM-DD)");
  EXPECT_EQ(out.fields, (Record{{"ok", I(1)}}));  // the other fields still map
  const auto back = MapToLocal(*set.Find("m"), {{"n", D("1.5")}}, resolver_);
  EXPECT_EQ(Issues(back), "n [bad_value] 1.5 is not an integer (it has a fraction)");
}

TEST_F(MapperTest, SingleValueMapBothWays) {
  const auto set = Set("", R"({"local": "stage", "remote": "salesstage",
    "values": {"qualify": 0, "develop": 1}}, {"local": "level", "remote": "levelcode", "values": {"1": 10, "2": 20}})");
  const Mapping& m = *set.Find("m");
  const auto out = MapToRemote(m, {{"stage", T("develop")}, {"level", I(2)}}, resolver_);
  EXPECT_EQ(out.fields, (Record{{"levelcode", I(20)}, {"salesstage", I(1)}}));
  const auto back = MapToLocal(m, {{"salesstage", I(0)}, {"levelcode", I(10)}}, resolver_);
  EXPECT_EQ(back.fields, (Record{{"level", T("1")}, {"stage", T("qualify")}}));
  const auto nulls = MapToRemote(m, {{"stage", Value::Null()}}, resolver_);
  EXPECT_EQ(nulls.fields, (Record{{"salesstage", Value::Null()}}));

  const auto unmapped = MapToRemote(m, {{"stage", T("close")}}, resolver_);
  EXPECT_TRUE(unmapped.failed());
  EXPECT_EQ(Issues(unmapped), "stage [unmapped_value] local value 'close' has no entry in the value map");
  const auto unmapped_back = MapToLocal(m, {{"salesstage", I(3)}}, resolver_);
  EXPECT_EQ(Issues(unmapped_back), "stage [unmapped_value] remote value '3' has no entry in the value map");
}

TEST_F(MapperTest, UnmappedPolicies) {
  const auto set = Set("", R"({"local": "a", "remote": "a", "values": {"x": 1}, "unmapped": "null"},
    {"local": "b", "remote": "b", "values": {"x": 1}, "unmapped": "keep"},
    {"local": "c", "remote": "c", "values": {"x": 1}, "unmapped": {"to_remote": {"default": 0}, "from_remote": {"default": "other"}}},
    {"local": "d", "remote": ["d1", "d2"], "values": {"x": [1, 2]}, "unmapped": {"to_remote": {"default": [0, 0]}}})");
  const Mapping& m = *set.Find("m");
  const auto out = MapToRemote(m, {{"a", T("y")}, {"b", T("y")}, {"c", T("y")}, {"d", T("y")}}, resolver_);
  EXPECT_TRUE(out.ok()) << Issues(out);
  EXPECT_EQ(out.fields, (Record{{"a", Value::Null()}, {"b", T("y")}, {"c", I(0)}, {"d1", I(0)}, {"d2", I(0)}}));
  const auto back = MapToLocal(m, {{"a", I(9)}, {"b", I(9)}, {"c", I(9)}, {"d1", I(9)}, {"d2", I(9)}}, resolver_);
  EXPECT_EQ(back.fields, (Record{{"a", Value::Null()}, {"b", I(9)}, {"c", T("other")}}));
  EXPECT_EQ(Issues(back), "d [unmapped_value] remote value '9,9' has no entry in the value map");
}

// Opportunity status: two remote attributes, a many-to-one map made
// reversible by candidates, so our own echo never flips the local value.
TEST_F(MapperTest, StatusToStateAndStatusReason) {
  const auto load = LoadMappingDirectory(testing::DefaultMappingsDir());
  ASSERT_TRUE(load.ok());
  const Mapping& m = *load.set.Find("opportunities");
  struct Case {
    const char* local;
    std::int64_t state, status;
  };
  for (const auto& c : std::vector<Case>{{"not_started", 0, 1}, {"in_progress", 0, 1}, {"won", 1, 3}, {"lost", 2, 4}}) {
    SCOPED_TRACE(c.local);
    const auto out = MapToRemote(m, {{"status", T(c.local)}}, resolver_);
    EXPECT_EQ(out.fields, (Record{{"statecode", I(c.state)}, {"statuscode", I(c.status)}}));
  }
  // Reading back: a new record gets the first candidate; a coupled one keeps its value.
  const Record open{{"statecode", I(0)}, {"statuscode", I(1)}};
  EXPECT_EQ(MapToLocal(m, open, resolver_).fields.at("status"), T("in_progress"));
  const Record current{{"status", T("not_started")}};
  EXPECT_EQ(MapToLocal(m, open, resolver_, &current).fields.at("status"), T("not_started"));
  const Record won_locally{{"status", T("won")}};
  EXPECT_EQ(MapToLocal(m, open, resolver_, &won_locally).fields.at("status"), T("in_progress"));
  EXPECT_EQ(MapToLocal(m, {{"statecode", I(2)}, {"statuscode", I(5)}}, resolver_).fields.at("status"), T("lost"));
  EXPECT_EQ(MapToLocal(m, {{"statecode", I(0)}, {"statuscode", I(2)}}, resolver_).fields.at("status"),
            T("in_progress"));
  const auto partial = MapToLocal(m, {{"statecode", I(1)}}, resolver_);
  EXPECT_EQ(Issues(partial), "status [bad_value] needs all of its remote attributes; some are missing from the record");
  const auto odd = MapToLocal(m, {{"statecode", I(0)}, {"statuscode", I(100000)}}, resolver_);
  EXPECT_EQ(Issues(odd), "status [unmapped_value] remote value '0,100000' has no entry in the value map");
}

TEST_F(MapperTest, LookupToRemoteBindsTheCoupledParent) {
  const auto set = Set("", R"({"local": "company_no", "remote": "parentcustomerid_account", "lookup": "accounts"},
    {"local": "customer_no", "remote": ["customerid_account", "customerid_contact"], "lookup": ["accounts", "contacts"]})");
  const Mapping& m = *set.Find("m");
  resolver_.Couple("accounts", "CT0001", "78914942-34cb-ed11-b596-0022481d68cd");
  resolver_.Couple("contacts", "CT0002", "72bf4d48-34cb-ed11-b596-0022481d68cd");

  const auto out = MapToRemote(m, {{"company_no", T("CT0001")}, {"customer_no", T("CT0002")}}, resolver_);
  EXPECT_TRUE(out.ok()) << Issues(out);
  EXPECT_EQ(out.fields,
            (Record{{"customerid_contact@odata.bind", T("/contacts(72bf4d48-34cb-ed11-b596-0022481d68cd)")},
                    {"parentcustomerid_account@odata.bind", T("/accounts(78914942-34cb-ed11-b596-0022481d68cd)")}}));
  const auto company = MapToRemote(m, {{"customer_no", T("CT0001")}}, resolver_);
  EXPECT_EQ(company.fields,
            (Record{{"customerid_account@odata.bind", T("/accounts(78914942-34cb-ed11-b596-0022481d68cd)")}}));
  const auto cleared = MapToRemote(m, {{"company_no", Value::Null()}}, resolver_);
  EXPECT_EQ(cleared.fields, (Record{{"parentcustomerid_account@odata.bind", Value::Null()}}));
  const auto empty = MapToRemote(m, {{"company_no", T("")}}, resolver_);
  EXPECT_TRUE(empty.ok());
  EXPECT_EQ(empty.fields, (Record{{"parentcustomerid_account@odata.bind", Value::Null()}}));

  const auto waiting = MapToRemote(m, {{"company_no", T("CT0009")}, {"customer_no", T("CT0008")}}, resolver_);
  EXPECT_TRUE(waiting.waiting_for_parent());
  EXPECT_FALSE(waiting.failed());
  EXPECT_FALSE(waiting.ok());
  EXPECT_EQ(Issues(waiting),
            "company_no [waiting_for_parent] waiting for parent: 'CT0009' is not coupled yet in 'accounts'\n"
            "customer_no [waiting_for_parent] waiting for parent: 'CT0008' is not coupled yet in 'accounts' or "
            "'contacts'");
}

TEST_F(MapperTest, LookupFromRemoteFollowsTheAnnotation) {
  const auto set = Set("", R"({"local": "company_no", "remote": "parentcustomerid_account", "lookup": "accounts"},
    {"local": "customer_no", "remote": ["customerid_account", "customerid_contact"], "lookup": ["accounts", "contacts"]})");
  const Mapping& m = *set.Find("m");
  EXPECT_EQ(m.fields[0].remote_read, "_parentcustomerid_value");
  EXPECT_EQ(m.fields[1].remote_read, "_customerid_value");
  resolver_.Couple("accounts", "CT0001", "a1");
  resolver_.Couple("contacts", "CT0002", "c2");

  const auto plain = MapToLocal(m, {{"_parentcustomerid_value", T("a1")}, {"_customerid_value", T("c2")}}, resolver_);
  EXPECT_TRUE(plain.ok()) << Issues(plain);
  EXPECT_EQ(plain.fields, (Record{{"company_no", T("CT0001")}, {"customer_no", T("CT0002")}}));

  const auto annotated = MapToLocal(
      m, {{"_customerid_value", T("c2")}, {"_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname", T("contact")}},
      resolver_);
  EXPECT_EQ(annotated.fields, (Record{{"customer_no", T("CT0002")}}));

  // A contact's parent may be another contact: not something company_no can hold.
  const auto other = MapToLocal(m,
                                {{"_parentcustomerid_value", T("c2")},
                                 {"_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname", T("contact")}},
                                resolver_);
  EXPECT_TRUE(other.ok());
  EXPECT_TRUE(other.fields.empty());
  EXPECT_EQ(Issues(other), "company_no [not_applicable] points at a contact record, not at 'accounts'; left unchanged");

  const auto waiting = MapToLocal(m,
                                  {{"_parentcustomerid_value", T("a9")},
                                   {"_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname", T("account")}},
                                  resolver_);
  EXPECT_TRUE(waiting.waiting_for_parent());
  EXPECT_EQ(Issues(waiting), "company_no [waiting_for_parent] waiting for parent: a9 is not coupled yet in 'accounts'");

  const auto cleared = MapToLocal(m, {{"_parentcustomerid_value", Value::Null()}}, resolver_);
  EXPECT_EQ(cleared.fields, (Record{{"company_no", Value::Null()}}));
}

TEST_F(MapperTest, AResolverFailureIsNeitherWaitingNorFailed) {
  const auto set = Set("", R"({"local": "company_no", "remote": "parentcustomerid_account", "lookup": "accounts"},
    {"local": "n", "remote": "n"})");
  resolver_.FailWith(Status(StatusCode::kIo, "disk I/O error"));
  const auto out = MapToRemote(*set.Find("m"), {{"company_no", T("CT0001")}, {"n", T("x")}}, resolver_);
  EXPECT_FALSE(out.status.ok());
  EXPECT_EQ(out.status.code(), StatusCode::kIo);
  EXPECT_NE(out.status.message().find("company_no"), std::string::npos) << out.status.message();
  EXPECT_FALSE(out.waiting_for_parent()) << "a state store failure must not look like a missing parent";
  EXPECT_FALSE(out.failed()) << "nor like bad data to quarantine";
  EXPECT_FALSE(out.ok());
  const auto back = MapToLocal(*set.Find("m"), {{"_parentcustomerid_value", T("a1")}}, resolver_);
  EXPECT_EQ(back.status.code(), StatusCode::kIo);
  EXPECT_FALSE(back.waiting_for_parent());
}

TEST_F(MapperTest, FailureWinsOverWaiting) {
  const auto set = Set("", R"({"local": "company_no", "remote": "parentcustomerid_account", "lookup": "accounts"},
    {"local": "n", "remote": "n", "type": "integer"})");
  const auto out = MapToRemote(*set.Find("m"), {{"company_no", T("CT9")}, {"n", T("x")}}, resolver_);
  EXPECT_TRUE(out.failed());
  EXPECT_FALSE(out.waiting_for_parent());
}

}  // namespace
}  // namespace crmsync::mapping
