// Hostile input through the real binaries (issue #13): names and values with
// quotes and SQL / OData / URL metacharacters travel intact both ways and
// reach no $filter, URL or SQL statement unquoted; local rows that violate
// the mapping fail one by one, named, while the rest of the pass goes on.
// (Hostile remote pages — text that is not Unicode, wrong types, unexpected
// annotations — are read by the connector's parser: tests/connectors/dataverse/odata_test.cpp.)
#include <gtest/gtest.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/daemon/crmsync_emulator_test.h"

namespace crmsync::daemon {
namespace {

using nlohmann::json;

class HostileInputTest : public testing::CrmsyncEmulatorTest {
 protected:
  void SetUp() override { StartEmulatorAndInit(); }
};

// Each value would end a quoted literal, a statement or a URL part if it were
// spliced in as it is.
const char* const kSurname = "O'Brien\"; DROP TABLE contact; --";
const char* const kEmail = "o'brien+1@x.example";
const char* const kCity = "%27) or 1 eq 1 &$filter=name/#?";
const char* const kCompany = "Smith & Sons' (UK) #1 / 50% \\ \"";

TEST_F(HostileInputTest, QuotesAndMetacharactersTravelIntactBothWaysAndInjectNothing) {
  // The same person on both sides, found by an e-mail with a quote in it:
  // match_on's $filter must quote it, or she is created twice (or not found).
  Seed("contacts",
       json::array(
           {{{"firstname", "Siobhan"}, {"lastname", kSurname}, {"emailaddress1", kEmail}, {"address1_city", kCity}}}));
  auto person = Crmsync({"crm", "contact", "add", "--type", "person", "--first-name", "Siobhan", "--surname", kSurname,
                         "--email", kEmail, "--city", kCity});
  ASSERT_EQ(person.exit_code, 0) << person.err;
  auto company = Crmsync({"crm", "contact", "add", "--type", "company", "--name", kCompany, "--city", kCity});
  ASSERT_EQ(company.exit_code, 0) << company.err;
  // And from Dataverse, records whose values are SQL and OData.
  Seed("accounts", json::array({{{"name", "a' or 'a' eq 'a"}, {"address1_city", "'); DELETE FROM contact; --"}}}));
  Seed("contacts", json::array({{{"firstname", "Robert'); DROP TABLE contact;--"},
                                 {"lastname", "Tables"},
                                 {"emailaddress1", "bobby\"tables@x.example"}}}));
  const std::size_t local_before = LocalRows(crm::Table::kContact).size();

  const json first = SyncJson();
  for (const auto& m : first["mappings"]) EXPECT_EQ(m["counts"]["failed"], 0) << m.dump();

  // In Dataverse: one Siobhan, coupled, with every character as typed.
  int siobhans = 0;
  for (const auto& c : Dump("contacts")) {
    if (c["emailaddress1"] != kEmail) continue;
    ++siobhans;
    EXPECT_EQ(c["lastname"], kSurname);
    EXPECT_EQ(c["address1_city"], kCity);
  }
  EXPECT_EQ(siobhans, 1) << "matched by an e-mail with a quote, not created again";
  const json account = FindBy("accounts", "name", kCompany);
  ASSERT_TRUE(account.is_object()) << Dump("accounts").dump();
  EXPECT_EQ(account["address1_city"], kCity);

  // Locally: the table is still there and holds the Dataverse values as they were.
  const auto rows = LocalRows(crm::Table::kContact);
  EXPECT_EQ(rows.size(), local_before + 2) << "the two Dataverse-only records, nothing more or less";
  std::set<std::string> names;
  for (const auto& r : rows) names.insert(r.at("name").ToDisplayString());
  EXPECT_TRUE(names.count("a' or 'a' eq 'a"));
  EXPECT_TRUE(names.count("Robert'); DROP TABLE contact;-- Tables"));
  EXPECT_EQ(LocalContactNo("bobby\"tables@x.example").empty(), false);

  // An edit of the hostile values, each way, is one ordinary update.
  const std::string siobhan = LocalContactNo(kEmail);
  ASSERT_EQ(Crmsync({"crm", "contact", "update", siobhan, "--city", "York'--"}).exit_code, 0);
  Admin("POST", "/_admin/counters/reset");
  SyncJson();
  EXPECT_EQ(FindBy("contacts", "emailaddress1", kEmail)["address1_city"], "York'--");
  EXPECT_EQ(WriteRequests(), 1);
}

TEST_F(HostileInputTest, LocalRowsThatBreakTheMappingFailOneByOneAndTheRestSyncs) {
  const std::string long_name(51, 'n');   // contacts.json: lastname holds 50 characters
  const std::string long_email(95, 'e');  // with the domain past emailaddress1's 100
  auto too_long = Crmsync({"crm", "contact", "add", "--type", "person", "--first-name", "Long", "--surname", long_name,
                           "--email", "long@x.example"});
  ASSERT_EQ(too_long.exit_code, 0) << too_long.err;
  auto too_long_email = Crmsync({"crm", "contact", "add", "--type", "person", "--first-name", "Wide", "--surname",
                                 "Mail", "--email", long_email + "@x.example"});
  ASSERT_EQ(too_long_email.exit_code, 0) << too_long_email.err;
  const std::string bad_no = LocalContactNo("long@x.example");
  const std::string bad_email_no = LocalContactNo(long_email + "@x.example");

  const json report = SyncJson(1);  // exit 1: records failed, the pass went on
  EXPECT_EQ(MappingOf(report, "contacts")["counts"]["failed"], 2) << MappingOf(report, "contacts").dump();
  EXPECT_EQ(MappingOf(report, "contacts")["status"], "ok");
  // Every other record went to Dataverse.
  EXPECT_TRUE(FindBy("contacts", "emailaddress1", "ann.lee@contoso.example").is_object());
  EXPECT_TRUE(FindBy("contacts", "emailaddress1", "long@x.example").is_null());
  // The failures name the record and the field.
  auto errors = Crmsync({"errors", "list", "--json"});
  ASSERT_EQ(errors.exit_code, 0) << errors.err;
  std::set<std::string> failed;
  for (const auto& f : json::parse(errors.out)) {
    failed.insert(f["local_key"].get<std::string>());
    const std::string message = f["message"].get<std::string>();
    if (f["local_key"] == bad_no) {
      EXPECT_NE(message.find("surname"), std::string::npos) << message;
    } else {
      EXPECT_NE(message.find("email"), std::string::npos) << message;
    }
  }
  EXPECT_EQ(failed, (std::set<std::string>{bad_no, bad_email_no}));
  // Mended locally, each goes on the next pass.
  ASSERT_EQ(Crmsync({"crm", "contact", "update", bad_no, "--surname", "Short"}).exit_code, 0);
  ASSERT_EQ(Crmsync({"crm", "contact", "update", bad_email_no, "--email", "wide@x.example"}).exit_code, 0);
  const json mended = SyncJson();
  EXPECT_EQ(MappingOf(mended, "contacts")["counts"]["failed"], 0) << MappingOf(mended, "contacts").dump();
  EXPECT_TRUE(FindBy("contacts", "emailaddress1", "long@x.example").is_object());
  EXPECT_TRUE(FindBy("contacts", "emailaddress1", "wide@x.example").is_object());
  const auto left = Crmsync({"errors", "list", "--json"});
  EXPECT_TRUE(json::parse(left.out).empty()) << left.out;
}

}  // namespace
}  // namespace crmsync::daemon
