// The $filter parser and evaluator as a table: expressions against one
// record, and malformed input that must give a 400 Status (never a crash).
#include <gtest/gtest.h>

#include <random>

#include "tests/emulator/odata_filter.h"

namespace crmsync::emulator {
namespace {

class FilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Metadata::LoadDefaults();
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    metadata_ = *m;
    ASSERT_TRUE(metadata_->Finish().ok());
    contact_ = metadata_->BySet("contacts");
    record_.id = "72bf4d48-34cb-ed11-b596-0022481d68cd";
    record_.fields = {{"contactid", record_.id},
                      {"firstname", "Nancy"},
                      {"lastname", "Anderson"},
                      {"jobtitle", nullptr},
                      {"emailaddress1", "nancy@example.com"},
                      {"statecode", 0},
                      {"statuscode", 1},
                      {"createdon", "2025-01-15T10:00:00Z"},
                      {"parentcustomerid", "78914942-34cb-ed11-b596-0022481d68cd"},
                      {"versionnumber", 77180907}};
    record_.lookup_targets = {{"parentcustomerid", "account"}};
  }
  // 1 true, 0 false, -1 parse error
  int Eval(const std::string& text) {
    auto f = ParseFilter(text, *contact_, *metadata_, [](std::string_view name) -> std::optional<std::string> {
      if (name == "@p1") return std::string("lastname");
      if (name == "@v") return std::string("'anderson'");
      return std::nullopt;
    });
    if (!f.ok()) {
      EXPECT_EQ(f.status().http_status(), 400) << text;
      EXPECT_EQ(f.status().remote_code(), "0x0") << text;
      return -1;
    }
    return EvaluateFilter(**f, record_, nullptr) ? 1 : 0;
  }

  std::shared_ptr<Metadata> metadata_;
  const EntityDef* contact_ = nullptr;
  StoredRecord record_;
};

TEST_F(FilterTest, Table) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"lastname eq 'Anderson'", 1},
      {"lastname eq 'ANDERSON'", 1},
      {"lastname ne 'Anderson'", 0},
      {"lastname gt 'Adams'", 1},
      {"lastname lt 'Adams'", 0},
      {"lastname ge 'anderson' and lastname le 'ANDERSON'", 1},
      {"statecode eq 0", 1},
      {"statecode eq 0.0", 1},
      {"statuscode gt 1", 0},
      {"versionnumber ge 77180907", 1},
      {"jobtitle eq null", 1},
      {"jobtitle ne null", 0},
      {"null eq jobtitle", 1},
      {"firstname eq null", 0},
      {"jobtitle gt 'a'", 0},
      {"contains(emailaddress1,'@example')", 1},
      {"contains(emailaddress1,'EXAMPLE')", 1},
      {"startswith(lastname,'and')", 1},
      {"endswith(lastname,'son')", 1},
      {"endswith(lastname,'so')", 0},
      {"contains(jobtitle,'x')", 0},
      {"contains(lastname,'a_s')", 0},
      {"contains(lastname,'n_e')", 1},
      {"contains(lastname,'[a-c]nderson')", 1},
      {"contains(lastname,'[^a]nderson')", 0},
      {"not contains(lastname,'zz')", 1},
      {"not (lastname eq 'Anderson')", 0},
      {"not not (lastname eq 'Anderson')", 1},
      {"lastname eq 'x' or firstname eq 'Nancy'", 1},
      {"lastname eq 'x' or firstname eq 'y' and statecode eq 0", 0},
      {"(lastname eq 'x' or firstname eq 'Nancy') and statecode eq 0", 1},
      {"((((statecode eq 0))))", 1},
      {"_parentcustomerid_value eq 78914942-34cb-ed11-b596-0022481d68cd", 1},
      {"_parentcustomerid_value eq 78914942-34CB-ED11-B596-0022481D68CD", 1},
      {"_parentcustomerid_value ne null", 1},
      {"contactid eq 72bf4d48-34cb-ed11-b596-0022481d68cd", 1},
      {"createdon ge 2025-01-01T00:00:00Z", 1},
      {"createdon lt 2025-01-15T10:00:00Z", 0},
      {"createdon le 2025-01-15T12:00:00+02:00", 1},
      {"createdon gt 2025-01-15", 1},
      {"createdon lt 2025-01-16", 1},
      {"firstname eq lastname", 0},
      {"@p1 eq 'Anderson'", 1},
      {"lastname eq @v", 1},
      {"Microsoft.Dynamics.CRM.In(PropertyName='statuscode',PropertyValues=[\"1\",\"2\"])", 1},
      {"Microsoft.Dynamics.CRM.NotIn(PropertyName='statuscode',PropertyValues=[\"1\"])", 0},
      {"Microsoft.Dynamics.CRM.Between(PropertyName='versionnumber',PropertyValues=[\"1\",\"99999999\"])", 1},
      {"Microsoft.Dynamics.CRM.NotBetween(PropertyName='createdon',PropertyValues=['2025-01-01','2025-02-01'])", 0},
      {"   lastname    eq    'Anderson'   ", 1},
      // Malformed or ill-typed: 400, never a crash.
      {"", -1},
      {"lastname", -1},
      {"lastname eq", -1},
      {"eq 'x'", -1},
      {"lastname eq 'x", -1},
      {"lastname eq 'x')", -1},
      {"(lastname eq 'x'", -1},
      {"lastname eq 'x' and", -1},
      {"lastname eq 'x' or or firstname eq 'y'", -1},
      {"lastname == 'x'", -1},
      {"lastname eq \"x\"", -1},
      {"statecode eq 'Active'", -1},
      {"lastname eq 5", -1},
      {"_parentcustomerid_value eq '78914942-34cb-ed11-b596-0022481d68cd'", -1},
      {"parentcustomerid eq 78914942-34cb-ed11-b596-0022481d68cd", -1},
      {"createdon ge 2025-13-45T99:00:00Z", -1},
      {"createdon ge 'yesterday'", -1},
      {"nosuchcolumn eq 1", -1},
      {"LastName eq 'x'", -1},
      {"contains(lastname)", -1},
      {"contains(statecode,'1')", -1},
      {"contains('x',lastname)", -1},
      {"tolower(lastname) eq 'x'", -1},
      {"lastname eq @missing", -1},
      {"statecode eq 1e999", -1},
      {"statecode eq 12abc", -1},
      {"Microsoft.Dynamics.CRM.In(PropertyName='statuscode')", -1},
      {"Microsoft.Dynamics.CRM.Between(PropertyName='statuscode',PropertyValues=[\"1\"])", -1},
      {"not", -1},
      {"()", -1},
      {"'", -1},
      {"\x01\x02", -1},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(Eval(text), expected) << "filter: " << text;
  }
}

TEST_F(FilterTest, DeepNestingIsRefusedNotOverflowed) {
  std::string deep(10000, '(');
  deep += "statecode eq 0";
  deep += std::string(10000, ')');
  EXPECT_EQ(Eval(deep), -1);
  std::string nots;
  for (int i = 0; i < 10000; ++i) nots += "not ";
  EXPECT_EQ(Eval(nots + "statecode eq 0"), -1);
}

TEST_F(FilterTest, RandomInputNeverCrashes) {
  const std::vector<std::string> atoms = {
      "lastname", "statecode", "eq",  "ne",         "and",  "or",        "not",
      "(",        ")",         "'a'", "''",         "null", "1",         "-2.5",
      ",",        "contains(", "@p1", "2025-01-01", "'",    "createdon", "78914942-34cb-ed11-b596-0022481d68cd",
      " ",        "/",         "$",   "%"};
  std::mt19937 rng(42);
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    const int n = static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) text += atoms[rng() % atoms.size()] + (rng() % 2 ? " " : "");
    const int r = Eval(text);
    EXPECT_TRUE(r == -1 || r == 0 || r == 1);
  }
}

TEST(LikeMatchTest, Wildcards) {
  EXPECT_TRUE(LikeMatch("Anderson", "%SON"));
  EXPECT_TRUE(LikeMatch("Anderson", "A%n"));
  EXPECT_TRUE(LikeMatch("Anderson", "_nderson"));
  EXPECT_FALSE(LikeMatch("Anderson", "_derson"));
  EXPECT_TRUE(LikeMatch("100%", "100[%]"));
  EXPECT_TRUE(LikeMatch("", "%"));
  EXPECT_FALSE(LikeMatch("", "_"));
  EXPECT_TRUE(LikeMatch("abc", "%%%c"));
}

}  // namespace
}  // namespace crmsync::emulator
