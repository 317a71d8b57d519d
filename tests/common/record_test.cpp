#include "common/record.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace crmsync {
namespace {

std::vector<std::string> Names(const Record& r) {
  std::vector<std::string> out;
  for (const auto& [name, value] : r) out.push_back(name);
  return out;
}

TEST(RecordTest, FieldsSetInAnyOrderAreIteratedByName) {
  Record r;
  r["surname"] = Value::Text("Ng");
  r["city"] = Value::Text("Leeds");
  r["email"] = Value::Text("a@example.com");
  r["address"] = Value::Null();
  EXPECT_EQ(Names(r), (std::vector<std::string>{"address", "city", "email", "surname"}));
  EXPECT_EQ(r.size(), 4u);
  EXPECT_EQ(r.at("city"), Value::Text("Leeds"));
  EXPECT_TRUE(r.contains("email"));
  EXPECT_FALSE(r.contains("emai"));
  EXPECT_EQ(r.count("phone"), 0u);
  EXPECT_THROW((void)r.at("phone"), std::out_of_range);
}

TEST(RecordTest, AFieldSetAgainIsReplacedNotAddedTwice) {
  Record r{{"name", Value::Text("A")}};
  r["name"] = Value::Text("B");
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.at("name"), Value::Text("B"));
}

// As std::map: emplace, try_emplace, insert and a list given twice keep the first.
TEST(RecordTest, EmplacingAnExistingNameKeepsTheValueItHas) {
  Record r{{"name", Value::Text("first")}, {"name", Value::Text("second")}};
  EXPECT_EQ(r.at("name"), Value::Text("first"));
  EXPECT_FALSE(r.try_emplace("name", Value::Text("third")).second);
  EXPECT_FALSE(r.emplace("name", Value::Text("fourth")).second);
  EXPECT_FALSE(r.insert({"name", Value::Text("fifth")}).second);
  EXPECT_EQ(r.at("name"), Value::Text("first"));
  EXPECT_FALSE(r.insert_or_assign("name", Value::Text("sixth")).second);
  EXPECT_EQ(r.at("name"), Value::Text("sixth"));
}

TEST(RecordTest, AHintOutOfPlaceStillPutsTheFieldWhereItsNameBelongs) {
  Record r;
  r.emplace_hint(r.end(), "b", Value::Integer(2));
  r.emplace_hint(r.end(), "a", Value::Integer(1));    // not at the end
  r.emplace_hint(r.begin(), "c", Value::Integer(3));  // not at the start
  r.emplace_hint(r.end(), "d", Value::Integer(4));
  EXPECT_EQ(Names(r), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(RecordTest, AssignSetsEveryFieldMergingWithThoseThereAndTheLaterOfANameGivenTwiceWins) {
  Record r{{"b", Value::Integer(1)}, {"d", Value::Integer(1)}, {"f", Value::Integer(1)}};
  r.Assign({{"e", Value::Integer(2)},
            {"a", Value::Integer(2)},
            {"d", Value::Integer(2)},
            {"g", Value::Integer(2)},
            {"a", Value::Integer(3)}});
  EXPECT_EQ(Names(r), (std::vector<std::string>{"a", "b", "d", "e", "f", "g"}));
  EXPECT_EQ(r.at("a"), Value::Integer(3));
  EXPECT_EQ(r.at("b"), Value::Integer(1));
  EXPECT_EQ(r.at("d"), Value::Integer(2));
  EXPECT_EQ(r.at("f"), Value::Integer(1));

  Record empty;
  empty.Assign({{"y", Value::Integer(1)}, {"x", Value::Integer(1)}});
  EXPECT_EQ(Names(empty), (std::vector<std::string>{"x", "y"}));
}

// Many fields, given in reverse: all sorted, the later of a name given twice kept.
TEST(RecordTest, AssignOfManyFieldsSortsThemAll) {
  std::vector<Record::value_type> fields;
  for (int i = 199; i >= 0; --i) fields.emplace_back("f" + std::to_string(1000 + i), Value::Integer(i));
  fields.emplace_back("f1000", Value::Integer(-1));  // given twice: the later wins
  Record r;
  r.Assign(std::move(fields));
  ASSERT_EQ(r.size(), 200u);
  EXPECT_EQ(r.begin()->first, "f1000");
  EXPECT_EQ(r.begin()->second, Value::Integer(-1));
  EXPECT_EQ(std::prev(r.end())->first, "f1199");
  EXPECT_TRUE(std::is_sorted(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.first < b.first; }));
}

TEST(RecordTest, EraseAndEquality) {
  Record a{{"x", Value::Integer(1)}, {"y", Value::Text("t")}};
  Record b{{"y", Value::Text("t")}, {"x", Value::Integer(1)}};
  EXPECT_EQ(a, b);  // the same fields, whatever order they were given in
  EXPECT_EQ(a.erase("x"), 1u);
  EXPECT_EQ(a.erase("x"), 0u);
  EXPECT_NE(a, b);
  b.erase(b.find("x"));
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace crmsync
