#include "common/key_table.h"

#include <gtest/gtest.h>

#include <array>

#include <nlohmann/json.hpp>

namespace crmsync {
namespace {

using nlohmann::json;

std::string NoDigits(std::string_view s) {
  return s.find_first_of("0123456789") == std::string_view::npos ? ""
                                                                 : "must not hold digits, not '" + std::string(s) + "'";
}

constexpr std::array<std::string_view, 3> kColours = {"red", "green", "blue"};
constexpr std::array<std::string_view, 2> kSides = {"left", "right"};

// A small document: an object with declared members, a free-form object, and every constraint.
constexpr KeySpec kTable[] = {
    {.pointer = "/name", .type = KeyType::kString, .required = true, .help = "a name", .non_empty = true},
    {.pointer = "/box", .type = KeyType::kObject, .required = true, .help = "a box"},
    {.pointer = "/box/colour", .type = KeyType::kString, .default_json = R"("red")", .help = "", .allowed = kColours},
    {.pointer = "/box/side", .type = KeyType::kString, .default_json = R"("left")", .help = "", .allowed = kSides},
    {.pointer = "/box/size", .type = KeyType::kInteger, .required = true, .help = "", .min = 1, .max = 10},
    {.pointer = "/share", .type = KeyType::kNumber, .default_json = "0.5", .help = "", .min = 0, .max = 1},
    {.pointer = "/count", .type = KeyType::kInteger, .default_json = "0", .help = "", .min = 0},
    {.pointer = "/tags", .type = KeyType::kStrings, .default_json = "[]", .help = "", .check = NoDigits},
    {.pointer = "/extra", .type = KeyType::kObject, .default_json = "{}", .help = "free-form"},
};

struct Checked {
  json good;
  std::vector<std::string> problems;  // "POINTER: message"
};

Checked Check(const std::string& text, std::span<const KeySpec> table = kTable) {
  Checked out;
  out.good = CheckKeys(json::parse(text), "/doc", table, [&](const std::string& pointer, const std::string& message) {
    out.problems.push_back(pointer + ": " + message);
  });
  return out;
}

TEST(KeyTableTest, AValidDocumentPassesWhole) {
  const std::string text =
      R"({"name": "n", "box": {"colour": "blue", "size": 3}, "share": 1, "tags": ["a"], "extra": {"anything": [1]}})";
  const Checked c = Check(text);
  EXPECT_TRUE(c.problems.empty()) << ::testing::PrintToString(c.problems);
  EXPECT_EQ(c.good, json::parse(text));
}

TEST(KeyTableTest, ShapeProblemsInMemberOrderThenEachObjectsMissingKeys) {
  // A required key present with the wrong type is reported as such, not also as missing.
  const Checked c = Check(R"({"nmae": "n", "box": {"colur": "red", "size": "3"}, "share": true, "extra": {"x": 1}})");
  EXPECT_EQ(c.problems, (std::vector<std::string>{
                            "/doc/box/colur: unknown key 'colur'; did you mean 'colour'?",
                            "/doc/box/size: must be an integer, not a string",
                            "/doc/nmae: unknown key 'nmae'; did you mean 'name'?",
                            "/doc/share: must be a number, not a boolean",
                            "/doc: missing required key 'name'",
                        }));
  // Only what passed is kept; the free-form object is kept as it is.
  EXPECT_EQ(c.good, json::parse(R"({"box": {}, "extra": {"x": 1}})"));
}

TEST(KeyTableTest, ValueProblemsInTableOrderAndTheirValuesAreDropped) {
  const Checked c = Check(
      R"({"tags": ["ok", "b4d", "x"], "count": -1, "share": 1.5, "name": "",
          "box": {"size": 11, "side": "rigth", "colour": "purple"}})");
  EXPECT_EQ(c.problems, (std::vector<std::string>{
                            "/doc/name: must not be empty",
                            "/doc/box/colour: must be one of red, green, blue, not 'purple'",
                            "/doc/box/side: must be left or right, not 'rigth'; did you mean 'right'?",
                            "/doc/box/size: must be between 1 and 10, not 11",
                            "/doc/share: must be between 0 and 1, not 1.5",
                            "/doc/count: must be at least 0, not -1",
                            "/doc/tags/1: must not hold digits, not 'b4d'",
                        }));
  // A value failing its string check keeps its place; the others are gone.
  EXPECT_EQ(c.good, json::parse(R"({"box": {}, "tags": ["ok", "b4d", "x"]})"));
}

TEST(KeyTableTest, TypeNamesAndDescriptions) {
  EXPECT_EQ(KeyTypeName(KeyType::kStringOrStrings), "a string or an array of strings");
  EXPECT_EQ(KeyTypeName(KeyType::kBoolean), "true or false");
  EXPECT_TRUE(KeyTypeMatches(KeyType::kStrings, json::array()));
  EXPECT_FALSE(KeyTypeMatches(KeyType::kStrings, json::parse("[1]")));
  EXPECT_TRUE(KeyTypeMatches(KeyType::kNumber, json(3)));
  EXPECT_FALSE(KeyTypeMatches(KeyType::kInteger, json(0.5)));
  EXPECT_EQ(DescribeJsonType(json::parse(R"(["a"])")), "an array of strings");
  EXPECT_EQ(DescribeJsonType(json::parse("[1]")), "an array");
  EXPECT_EQ(DescribeJsonType(json(2)), "an integer");

  EXPECT_EQ(JoinChoices(kColours), "red, green or blue");
  EXPECT_EQ(DescribeConstraints(kTable[2]), "red, green or blue");
  EXPECT_EQ(DescribeConstraints(kTable[4]), "1 to 10");
  EXPECT_EQ(DescribeConstraints(kTable[6]), "at least 0");
  EXPECT_EQ(DescribeConstraints(kTable[0]), "");

  EXPECT_EQ(KeyName("/box/size"), "size");
  EXPECT_EQ(ParentPointer("/box/size"), "/box");
  EXPECT_EQ(ParentPointer("/box"), "");
  EXPECT_EQ(FindKey(kTable, "/box/size"), &kTable[4]);
  EXPECT_EQ(FindKey(kTable, "/size"), nullptr);
  EXPECT_TRUE(HasDeclaredMembers(kTable, "/box"));
  EXPECT_FALSE(HasDeclaredMembers(kTable, "/extra"));
}

}  // namespace
}  // namespace crmsync
