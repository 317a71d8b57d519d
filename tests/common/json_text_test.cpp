#include "common/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace crmsync {
namespace {

constexpr const char* kDoc = R"({
  // a comment
  "name": "contacts",
  /* block
     comment */ "local": { "table": "contact",
    "key": "no" },
  "fields": [
    { "local": "a", "remote": "b" },
    {
      "local": "c",
      "lookup": "accounts"
    }
  ],
  "odd/key~": 1
})";

TEST(JsonTextTest, ParsesWithComments) {
  nlohmann::json j;
  ASSERT_TRUE(ParseJsonText(kDoc, j).ok());
  EXPECT_EQ(j["fields"][1]["lookup"], "accounts");
}

TEST(JsonTextTest, SyntaxErrorNamesTheLine) {
  nlohmann::json j;
  int line = 0;
  Status s = ParseJsonText("{\n  \"a\": 1,\n  \"b\": ,\n}", j, &line);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(line, 3);
  EXPECT_EQ(s.message().rfind("3: invalid JSON", 0), 0u) << s.message();
}

// Found by tests/fuzz/config_fuzz: a number too large for a double made
// nlohmann throw out_of_range, which escaped the parser and aborted
// `crmsync config check` ("internal error") instead of naming the line.
TEST(JsonTextTest, ANumberTooLargeForADoubleIsASyntaxErrorNotAnException) {
  nlohmann::json j;
  int line = 0;
  Status s = ParseJsonText("{\n  \"a\": 1,\n  \"b\": 1e999\n}", j, &line);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(line, 3);
  EXPECT_EQ(s.message(), "3: invalid JSON: number overflow parsing '1e999'");
  const auto file = ParseJsonFile("m.json", "// c\n[4444666666666666666666666E66666666666666666666]", j);
  ASSERT_TRUE(file.has_value());
  EXPECT_EQ(file->ToString(),
            "m.json:2: invalid JSON: number overflow parsing '4444666666666666666666666E66666666666666666666'");
}

TEST(JsonTextTest, LineIndexFindsKeysAndElements) {
  const auto index = JsonLineIndex::Build(kDoc);
  EXPECT_EQ(index.LineOf("/name"), 3);
  EXPECT_EQ(index.LineOf("/local"), 5);
  EXPECT_EQ(index.LineOf("/local/table"), 5);
  EXPECT_EQ(index.LineOf("/local/key"), 6);
  EXPECT_EQ(index.LineOf("/fields/0"), 8);
  EXPECT_EQ(index.LineOf("/fields/0/remote"), 8);
  EXPECT_EQ(index.LineOf("/fields/1"), 9);
  EXPECT_EQ(index.LineOf("/fields/1/lookup"), 11);
  EXPECT_EQ(index.LineOf("/odd~1key~0"), 14);
  // Unknown members fall back to the nearest ancestor; the root is line 1.
  EXPECT_EQ(index.LineOf("/fields/1/missing"), 9);
  EXPECT_EQ(index.LineOf("/nothing"), 1);
  EXPECT_EQ(index.LineOf(""), 1);
}

TEST(JsonTextTest, PointerToPathReadsLikeCode) {
  EXPECT_EQ(PointerToPath(""), "$");
  EXPECT_EQ(PointerToPath("/fields/2/lookup"), "fields[2].lookup");
  EXPECT_EQ(PointerToPath("/dataverse/url"), "dataverse.url");
  EXPECT_EQ(PointerToPath(AppendPointer("", "a/b")), "a/b");
}

}  // namespace
}  // namespace crmsync

#include "common/diagnostic.h"

namespace crmsync {
namespace {

TEST(DiagnosticTest, FormatsFileLinePathMessage) {
  Diagnostic d{"/etc/crmsync/crmsync.json", 7, "dataverse.url", "must use https"};
  EXPECT_EQ(d.ToString(), "/etc/crmsync/crmsync.json:7: dataverse.url: must use https");
  EXPECT_EQ((Diagnostic{"f.json", 0, "", "unreadable"}).ToString(), "f.json: unreadable");
}

TEST(DiagnosticTest, ClosestMatchSuggestsNearbyNamesOnly) {
  const std::vector<std::string> keys = {"client_id", "client_secret_file", "tenant_id", "url"};
  EXPECT_EQ(ClosestMatch("client_idd", keys), "client_id");
  EXPECT_EQ(ClosestMatch("Tenant_ID", keys), "tenant_id");
  EXPECT_EQ(ClosestMatch("completely_else", keys), "");
}

}  // namespace
}  // namespace crmsync
