// The canonical form (mapping/canonical.h): every transform's output, read
// back from the other side, compares equal to what was written, so an echo of
// crmsync's own write is recognised (R4).
#include "mapping/canonical.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/value_json.h"
#include "mapping/mapper.h"
#include "mapping/mapping_loader.h"
#include "tests/mapping/mapping_test_util.h"

namespace crmsync::mapping {
namespace {

using testing::FakeResolver;

constexpr const char* kAccountId = "78914942-34cb-ed11-b596-0022481d68cd";
constexpr const char* kContactId = "72bf4d48-34cb-ed11-b596-0022481d68cd";

Value T(const char* s) {
  return Value::Text(s);
}

// What Dataverse does with a body it accepts, as the engine then reads it:
// the JSON on the wire, a bound lookup kept as its _<attribute>_value GUID,
// an empty string stored as null.
Record DataverseStores(const Mapping& m, const Record& written) {
  const nlohmann::json wire = nlohmann::json::parse(RecordToJson(written).dump());
  Record stored;
  for (const auto& [name, value] : wire.items()) {
    if (name.ends_with("@odata.bind")) {
      const std::string nav = name.substr(0, name.size() - 11);
      std::string attribute;
      for (const auto& f : m.fields) {
        for (const auto& t : f.lookup) {
          if (t.nav == nav) attribute = LookupAttributeOfNav(nav, t.logical_name);
        }
      }
      EXPECT_FALSE(attribute.empty()) << name;
      if (value.is_null()) {
        stored["_" + attribute + "_value"] = Value::Null();
      } else {
        const std::string bind = value.get<std::string>();
        stored["_" + attribute + "_value"] = T(bind.substr(bind.find('(') + 1, 36).c_str());
      }
      continue;
    }
    if (value.is_string() && value.get<std::string>().empty()) {
      stored[name] = Value::Null();
      continue;
    }
    stored[name] = ValueFromJson(value).value();
  }
  return stored;
}

// What the local store hands back for a row written with `written`: SQLite
// keeps booleans as 0/1 and crm reads them as Bool; "" stays "".
Record LocalStores(const Record& written, const std::vector<std::string>& bool_columns) {
  Record stored = written;
  for (const auto& c : bool_columns) {
    auto it = stored.find(c);
    if (it != stored.end() && it->second.kind() == Value::Kind::kInteger)
      it->second = Value::Bool(it->second.as_integer() != 0);
  }
  return stored;
}

struct EchoCase {
  const char* name;
  const char* field;           // one field declaration of mapping "m"
  Record local;                // a local row (key "id" is added)
  Record remote;               // a Dataverse record as read
  bool local_roundtrip_exact;  // false for lossy transforms (truncate)
};

class EchoTest : public ::testing::TestWithParam<EchoCase> {
 protected:
  void SetUp() override {
    const std::string parents = R"({"name": "accounts", "local": {"table": "contact", "key": "no"},
      "remote": {"entity_set": "accounts", "key": "accountid"}, "fields": [{"local": "name", "remote": "name"}]})";
    const std::string people = R"({"name": "contacts", "local": {"table": "contact", "key": "no"},
      "remote": {"entity_set": "contacts", "key": "contactid"}, "fields": [{"local": "name", "remote": "fullname"}]})";
    const std::string m = std::string(R"({"name": "m", "local": {"table": "t", "key": "id"},
      "remote": {"entity_set": "things", "key": "thingid"}, "depends_on": ["accounts", "contacts"], "fields": [)") +
                          GetParam().field + "]}";
    load_ = ParseMappingSet({{"accounts.json", parents}, {"contacts.json", people}, {"m.json", m}});
    ASSERT_TRUE(load_.ok()) << load_.diagnostics.front().ToString();
    resolver_.Couple("accounts", "CT0001", kAccountId);
    resolver_.Couple("contacts", "CT0002", kContactId);
  }
  const Mapping& M() const { return *load_.set.Find("m"); }
  std::vector<std::string> BoolColumns() const {
    std::vector<std::string> out;
    for (const auto& f : M().fields) {
      if (f.type == FieldType::kBoolean) out.push_back(f.local);
    }
    return out;
  }
  std::vector<std::string> RemoteRead() const {
    std::vector<std::string> out;
    for (const auto& c : M().RemoteSelectColumns()) {
      if (c != M().remote.key) out.push_back(c);
    }
    return out;
  }
  std::vector<std::string> LocalColumns() const {
    std::vector<std::string> out;
    for (const auto& c : M().LocalReadColumns()) {
      if (c != "id") out.push_back(c);
    }
    return out;
  }

  MappingSetLoad load_;
  FakeResolver resolver_;
};

TEST_P(EchoTest, ALocalWriteReadBackFromDataverseEqualsItsPredictedBase) {
  Record local = GetParam().local;
  local["id"] = T("1");
  const MappedRecord written = MapToRemote(M(), local, resolver_);
  ASSERT_TRUE(written.ok());
  const Record stored = DataverseStores(M(), written.fields);
  // The base the engine keeps when the response carries no record...
  const Record predicted = RemoteReadBack(M(), written.fields);
  // ...equals the stored record, read as the engine reads it.
  for (const auto& [attribute, value] : predicted) {
    EXPECT_TRUE(CanonicalEqual(value, stored.count(attribute) ? stored.at(attribute) : Value::Null()))
        << attribute << ": predicted " << value.ToDisplayString();
  }
  EXPECT_EQ(CanonicalRecord(stored, RemoteRead()), CanonicalRecord(predicted, RemoteRead()));
  // Mapped back, the echo does not change the local row (unless the transform is lossy).
  const MappedRecord back = MapToLocal(M(), stored, resolver_, &local);
  ASSERT_TRUE(back.status.ok());
  const Record echoed = LocalStores(back.fields, BoolColumns());
  if (GetParam().local_roundtrip_exact) {
    for (const auto& column : LocalColumns()) {
      if (!echoed.count(column)) continue;  // one-way field: nothing comes back
      EXPECT_TRUE(CanonicalEqual(echoed.at(column), local.count(column) ? local.at(column) : Value::Null()))
          << column << ": " << echoed.at(column).ToDisplayString();
    }
  } else {
    EXPECT_NE(CanonicalRecord(echoed, LocalColumns()), CanonicalRecord(local, LocalColumns()));
  }
}

TEST_P(EchoTest, ARemoteWriteReadBackFromTheLocalStoreEqualsWhatWasWritten) {
  if (GetParam().remote.empty()) {
    // A one-way field to Dataverse writes nothing locally: there is no echo to compare.
    const MappedRecord none = MapToLocal(M(), {{"x", Value::Bool(false)}}, resolver_);
    EXPECT_TRUE(none.fields.empty());
    return;
  }
  const MappedRecord written = MapToLocal(M(), GetParam().remote, resolver_);
  ASSERT_TRUE(written.ok());
  const Record stored = LocalStores(written.fields, BoolColumns());
  EXPECT_EQ(CanonicalRecord(stored, LocalColumns()), CanonicalRecord(written.fields, LocalColumns()));
  // Sent back to Dataverse, the row reproduces the remote record.
  Record row = stored;
  row["id"] = T("1");
  const MappedRecord again = MapToRemote(M(), row, resolver_);
  ASSERT_TRUE(again.ok());
  const Record predicted = RemoteReadBack(M(), again.fields);
  for (const auto& [attribute, value] : GetParam().remote) {
    if (!predicted.count(attribute)) continue;
    EXPECT_TRUE(CanonicalEqual(predicted.at(attribute), value))
        << attribute << ": " << predicted.at(attribute).ToDisplayString() << " vs " << value.ToDisplayString();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Transforms, EchoTest,
    ::testing::Values(
        EchoCase{
            "text", R"({"local": "a", "remote": "x", "type": "text"})", {{"a", T("Ann")}}, {{"x", T("Ann")}}, true},
        EchoCase{"empty_text_is_null",
                 R"({"local": "a", "remote": "x", "type": "text"})",
                 {{"a", T("")}},
                 {{"x", Value::Null()}},
                 true},
        EchoCase{"auto_empty_text", R"({"local": "a", "remote": "x"})", {{"a", T("")}}, {{"x", Value::Null()}}, true},
        EchoCase{"integer",
                 R"({"local": "a", "remote": "x", "type": "integer"})",
                 {{"a", Value::Integer(42)}},
                 {{"x", Value::Integer(42)}},
                 true},
        EchoCase{"decimal",
                 R"({"local": "a", "remote": "x", "type": "decimal"})",
                 {{"a", *Value::Decimal("2.50")}},
                 {{"x", *Value::Decimal("2.5")}},
                 true},
        EchoCase{"money",
                 R"({"local": "a", "remote": "x", "type": "money"})",
                 {{"a", *Value::Decimal("950.00")}},
                 {{"x", Value::Integer(950)}},
                 true},
        EchoCase{"boolean",
                 R"({"local": "a", "remote": "x", "type": "boolean"})",
                 {{"a", Value::Bool(true)}},
                 {{"x", Value::Bool(false)}},
                 true},
        EchoCase{"date",
                 R"({"local": "a", "remote": "x", "type": "date"})",
                 {{"a", T("2025-03-31")}},
                 {{"x", T("2025-03-31")}},
                 true},
        EchoCase{"datetime",
                 R"({"local": "a", "remote": "x", "type": "datetime"})",
                 {{"a", T("2025-03-31T12:00:00Z")}},
                 {{"x", T("2025-03-31T12:00:00Z")}},
                 true},
        EchoCase{"value_map",
                 R"({"local": "a", "remote": "x", "values": {"qualify": 0, "develop": 1}})",
                 {{"a", T("develop")}},
                 {{"x", Value::Integer(0)}},
                 true},
        EchoCase{"many_to_one_value_map",
                 R"({"local": "a", "remote": ["s", "r"], "values": {"new": [0, 1], "open": [0, 1], "won": [1, 3]},
                     "from_remote": {"0,1": ["open", "new"], "1,3": "won"}})",
                 {{"a", T("new")}},
                 {{"s", Value::Integer(1)}, {"r", Value::Integer(3)}},
                 true},
        EchoCase{"lookup",
                 R"({"local": "a", "remote": "parentcustomerid_account", "lookup": "accounts"})",
                 {{"a", T("CT0001")}},
                 {{"_parentcustomerid_value", T(kAccountId)}},
                 true},
        EchoCase{"lookup_cleared",
                 R"({"local": "a", "remote": "parentcustomerid_account", "lookup": "accounts"})",
                 {{"a", Value::Null()}},
                 {{"_parentcustomerid_value", Value::Null()}},
                 true},
        EchoCase{"polymorphic_lookup",
                 R"({"local": "a", "remote": ["customerid_account", "customerid_contact"],
                     "lookup": ["accounts", "contacts"]})",
                 {{"a", T("CT0002")}},
                 {{"_customerid_value", T(kContactId)}},
                 true},
        EchoCase{"constant", R"({"remote": "x", "constant": true, "direction": "to_remote"})", {}, {}, true},
        EchoCase{"omit_null",
                 R"({"local": "a", "remote": "x", "omit_null": true})",
                 {{"a", Value::Null()}},
                 {{"x", T("kept")}},
                 true},
        EchoCase{"truncate",
                 R"({"local": "a", "remote": "x", "type": "text", "max_length": 3, "truncate": true})",
                 {{"a", T("Anneliese")}},
                 {{"x", T("Ann")}},
                 false}),
    [](const ::testing::TestParamInfo<EchoCase>& param_info) { return std::string(param_info.param.name); });

TEST(CanonicalTest, OneFormPerValue) {
  EXPECT_TRUE(CanonicalEqual(T(""), Value::Null()));
  EXPECT_TRUE(CanonicalEqual(Value::Bool(true), Value::Integer(1)));
  EXPECT_TRUE(CanonicalEqual(Value::Bool(false), Value::Integer(0)));
  EXPECT_TRUE(CanonicalEqual(Value::Integer(950), *Value::Decimal("950.00")));
  EXPECT_FALSE(CanonicalEqual(T("ann"), T("Ann")));
  EXPECT_FALSE(CanonicalEqual(T("0"), Value::Integer(0)));
  EXPECT_FALSE(CanonicalEqual(Value::Null(), Value::Integer(0)));
  EXPECT_EQ(CanonicalRecord({{"a", T("")}, {"b", Value::Bool(true)}}, std::vector<std::string>{"a", "b", "c"}),
            (Record{{"a", Value::Null()}, {"b", Value::Integer(1)}, {"c", Value::Null()}}));
}

}  // namespace
}  // namespace crmsync::mapping
