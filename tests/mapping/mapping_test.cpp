#include "mapping/mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mapping/mapping_loader.h"
#include "tests/mapping/mapping_test_util.h"

namespace crmsync::mapping {
namespace {

using ::testing::ElementsAre;

constexpr const char* kLines = R"({
  // order lines keyed by order and line number
  "name": "lines",
  "local": { "table": "sales_order_line", "key": ["order_no", "line_no"], "filter": { "kind": "item" } },
  "remote": { "entity_set": "salesorderdetails", "key": "salesorderdetailid", "match_on": ["productdescription"] },
  "depends_on": ["orders"],
  "fields": [
    { "local": "order_no", "remote": "salesorderid", "lookup": "orders" },
    { "local": "line_no", "remote": "lineitemnumber", "type": "integer" },
    { "local": "description", "remote": "productdescription", "sensitive": true },
    { "local": "amount", "remote": "extendedamount", "direction": "from_remote", "type": "money" },
    { "remote": "isproductoverridden", "constant": true, "direction": "to_remote", "create_only": true }
  ]
})";
constexpr const char* kOrders = R"({
  "name": "orders",
  "local": { "table": "sales_order", "key": "no" },
  "remote": { "entity_set": "salesorders", "key": "salesorderid" },
  "fields": [ { "local": "no", "remote": "name", "direction": "to_remote" } ]
})";

MappingSetLoad LoadBoth() {
  return ParseMappingSet({{"lines.json", kLines}, {"orders.json", kOrders}});
}

TEST(MappingTest, NamesRoundTrip) {
  for (auto d : {Direction::kBidirectional, Direction::kToRemote, Direction::kFromRemote}) {
    EXPECT_EQ(ParseDirection(DirectionName(d)), d);
  }
  for (auto p : {ConflictPolicy::kNewestWins, ConflictPolicy::kLocalWins, ConflictPolicy::kRemoteWins,
                 ConflictPolicy::kManual}) {
    EXPECT_EQ(ParseConflictPolicy(ConflictPolicyName(p)), p);
  }
  for (auto p : {DeletePolicy::kPropagate, DeletePolicy::kUncouple, DeletePolicy::kIgnore}) {
    EXPECT_EQ(ParseDeletePolicy(DeletePolicyName(p)), p);
  }
  for (auto t : {FieldType::kAuto, FieldType::kText, FieldType::kInteger, FieldType::kDecimal, FieldType::kMoney,
                 FieldType::kBoolean, FieldType::kDate, FieldType::kDateTime, FieldType::kDateAsDateTime}) {
    EXPECT_EQ(ParseFieldType(FieldTypeName(t)), t);
  }
  EXPECT_FALSE(ParseDirection("both"));
  EXPECT_TRUE(IncludesToRemote(Direction::kBidirectional));
  EXPECT_FALSE(IncludesToRemote(Direction::kFromRemote));
  EXPECT_FALSE(IncludesFromRemote(Direction::kToRemote));
}

TEST(MappingTest, LogicalNamesAndLookupAttributes) {
  EXPECT_EQ(LogicalNameOfEntitySet("accounts"), "account");
  EXPECT_EQ(LogicalNameOfEntitySet("opportunities"), "opportunity");
  EXPECT_EQ(LogicalNameOfEntitySet("systemusers"), "systemuser");
  EXPECT_EQ(LogicalNameOfEntitySet("new_projects"), "new_project");
  EXPECT_EQ(LogicalNameOfEntitySet("new_categories"), "new_category");
  EXPECT_EQ(LookupAttributeOfNav("parentcustomerid_account", "account"), "parentcustomerid");
  EXPECT_EQ(LookupAttributeOfNav("customerid_contact", "contact"), "customerid");
  EXPECT_EQ(LookupAttributeOfNav("ownerid", "systemuser"), "ownerid");
  EXPECT_EQ(LookupAttributeOfNav("salesorderid", "salesorder"), "salesorderid");
  EXPECT_EQ(ValueKey({Value::Integer(1), Value::Integer(3)}), "1,3");
  EXPECT_EQ(ValueKey({Value::Text("won")}), "won");
}

TEST(MappingTest, ColumnsForConnectorsAndMatching) {
  const auto load = LoadBoth();
  ASSERT_TRUE(load.ok()) << load.diagnostics.front().ToString();
  const Mapping& lines = *load.set.Find("lines");
  EXPECT_THAT(lines.LocalReadColumns(), ElementsAre("order_no", "line_no", "kind", "description", "amount"));
  EXPECT_THAT(lines.RemoteSelectColumns(), ElementsAre("salesorderdetailid", "_salesorderid_value", "lineitemnumber",
                                                       "productdescription", "extendedamount"));
  ASSERT_EQ(lines.MatchColumns().size(), 1u);
  EXPECT_EQ(lines.MatchColumns()[0].local, "description");
  EXPECT_EQ(lines.MatchColumns()[0].remote, "productdescription");
  EXPECT_THAT(lines.SensitiveLocalColumns(), ElementsAre("description"));
  EXPECT_THAT(lines.SensitiveRemoteAttributes(), ElementsAre("productdescription"));
  EXPECT_TRUE(lines.fields[4].create_only);
  EXPECT_EQ(lines.fields[0].lookup[0].entity_set, "salesorders");
  EXPECT_EQ(lines.fields[0].lookup[0].logical_name, "salesorder");
  EXPECT_EQ(lines.fields[1].path, "fields[1]");
  EXPECT_EQ(lines.fields[1].line, 9);
}

TEST(MappingTest, FilterDecidesWhichRowsBelong) {
  const auto load = LoadBoth();
  const Mapping& lines = *load.set.Find("lines");
  EXPECT_TRUE(lines.AppliesToLocal({{"kind", Value::Text("item")}, {"order_no", Value::Text("SO1")}}));
  EXPECT_FALSE(lines.AppliesToLocal({{"kind", Value::Text("text")}}));
  EXPECT_FALSE(lines.AppliesToLocal({{"order_no", Value::Text("SO1")}}));
}

TEST(MappingTest, LocalKeysSingleAndComposite) {
  const auto load = LoadBoth();
  const Mapping& lines = *load.set.Find("lines");
  const Mapping& orders = *load.set.Find("orders");
  EXPECT_EQ(*orders.EncodeLocalKey({{"no", Value::Text("SO000001")}}), "SO000001");
  EXPECT_EQ(*lines.EncodeLocalKey({{"order_no", Value::Text("SO000001")}, {"line_no", Value::Integer(10000)}}),
            R"(["SO000001",10000])");
  const auto missing = lines.EncodeLocalKey({{"order_no", Value::Text("SO000001")}, {"line_no", Value::Null()}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "key column 'line_no' of mapping 'lines' is missing or null");

  const auto decoded = lines.DecodeLocalKey(R"(["SO000001",10000])");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->at("order_no"), Value::Text("SO000001"));
  EXPECT_EQ(decoded->at("line_no"), Value::Integer(10000));
  EXPECT_EQ(orders.DecodeLocalKey("SO000001")->at("no"), Value::Text("SO000001"));
  EXPECT_FALSE(lines.DecodeLocalKey("SO000001").ok());
  EXPECT_FALSE(lines.DecodeLocalKey(R"(["SO000001"])").ok());
  EXPECT_FALSE(lines.DecodeLocalKey(R"(["SO000001",[1]])").ok());
}

TEST(MappingTest, NormalisedJsonFillsEveryDefault) {
  const auto load = LoadBoth();
  const nlohmann::json j = load.set.Find("orders")->NormalisedJson();
  EXPECT_EQ(j.dump(),
            R"({"conflict":"newest_wins","depends_on":[],"description":"","direction":"bidirectional",)"
            R"("fields":[{"create_only":false,"direction":"to_remote","local":"no","omit_null":false,"remote":"name",)"
            R"("sensitive":false,"truncate":false,"type":"auto"}],)"
            R"("local":{"filter":{},"key":"no","table":"sales_order"},"name":"orders","on_delete":"propagate",)"
            R"("remote":{"entity_set":"salesorders","filter":null,"key":"salesorderid","match_on":[]}})");
}

TEST(MappingTest, VersionIgnoresLayoutButNotMeaning) {
  const auto base = ParseMappingSet({{"orders.json", kOrders}}).set.Find("orders")->version;
  EXPECT_EQ(base.size(), 64u);
  // Comments, whitespace, key order and spelled-out defaults change nothing.
  const std::string relaid = R"(// the orders
{ "remote": { "key": "salesorderid", "entity_set": "salesorders" }, "name": "orders",
  /* defaults written out */ "direction": "bidirectional", "conflict": "newest_wins", "depends_on": [],
  "local": { "key": "no", "table": "sales_order" },
  "fields": [ { "remote": "name", "local": "no", "direction": "to_remote", "sensitive": false } ] })";
  const auto relaid_load = ParseMappingSet({{"x.json", relaid}});
  ASSERT_TRUE(relaid_load.ok()) << relaid_load.diagnostics.front().ToString();
  EXPECT_EQ(relaid_load.set.Find("orders")->version, base);
  // A semantic edit changes it.
  std::string edited = kOrders;
  edited.replace(edited.find("\"remote\": \"name\""), 16, "\"remote\": \"description\"");
  const auto edited_load = ParseMappingSet({{"orders.json", edited}});
  ASSERT_TRUE(edited_load.ok());
  EXPECT_NE(edited_load.set.Find("orders")->version, base);
}

TEST(MappingTest, IntervalIsShownButIsNotPartOfTheVersion) {
  const auto base_load = ParseMappingSet({{"orders.json", kOrders}});
  const Mapping* base = base_load.set.Find("orders");
  ASSERT_NE(base, nullptr);
  EXPECT_FALSE(base->interval_s.has_value());
  EXPECT_FALSE(base->NormalisedJson().contains("interval_s"));
  std::string every_minute = kOrders;
  every_minute.insert(every_minute.find('{') + 1, R"("interval_s": 60, )");
  const auto load = ParseMappingSet({{"orders.json", every_minute}});
  ASSERT_TRUE(load.ok()) << load.diagnostics.front().ToString();
  const Mapping* m = load.set.Find("orders");
  EXPECT_EQ(m->interval_s, 60);
  EXPECT_EQ(m->NormalisedJson()["interval_s"], 60);
  // When passes run is not what they do: no full read of Dataverse after the change.
  EXPECT_EQ(m->version, base->version);
}

TEST(MappingTest, SetIsInDependencyOrder) {
  const auto load = LoadBoth();
  EXPECT_THAT(load.set.Names(), ElementsAre("orders", "lines"));
  const auto defaults = LoadMappingDirectory(testing::DefaultMappingsDir());
  ASSERT_TRUE(defaults.ok()) << defaults.diagnostics.front().ToString();
  EXPECT_THAT(defaults.set.Names(),
              ElementsAre("accounts", "contacts", "salespeople", "appointments", "campaigns", "emails", "letters",
                          "opportunities", "phone_calls", "sales_orders", "sales_order_lines", "segments",
                          "campaign_segments", "segment_members"));
}

}  // namespace
}  // namespace crmsync::mapping
