// `crmsync crm` and `crmsync init` for the local store, through the real
// binary: output, messages and exit codes as users and scripts see them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

#include "crm/migrations.h"
#include "tests/crm/crm_test_util.h"
#include "tests/support/temp_dir.h"

namespace crmsync::daemon {
namespace {

using crm::testing::ProcessResult;
using crm::testing::RunProcess;

// One command line and a piece of the message it must print.
struct Case {
  std::vector<std::string> args;
  std::string message;
};

class CrmCommandTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = dir_.path() + "/crm.db"; }

  ProcessResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), CRMSYNC_BINARY);
    return RunProcess(args, input);
  }
  // `crmsync crm --database DB ARGS...`
  ProcessResult Crm(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"crm", "--database", db_});
    return Run(std::move(args), input);
  }
  void Init(bool sample_data = false) {
    std::vector<std::string> args = {"--config", dir_.path() + "/crmsync.json", "init", "--dir", dir_.path()};
    if (sample_data) args.push_back("--sample-data");
    auto r = Run(args);
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }

  testing_support::TempDir dir_;
  std::string db_;
};

TEST_F(CrmCommandTest, InitCreatesTheStoreAndAddsSampleDataOnce) {
  auto first = Run({"init", "--dir", dir_.path(), "--sample-data"});
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("created " + db_ + " (local CRM store, schema v" +
                           std::to_string(crm::LatestSchemaVersion()) + ")"),
            std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("added sample data to " + db_), std::string::npos) << first.out;
  auto contacts = Crm({"contact", "list", "--json"});
  ASSERT_EQ(contacts.exit_code, 0) << contacts.out;
  const auto count = nlohmann::json::parse(contacts.out).size();
  EXPECT_GE(count, 4u);

  auto second = Run({"init", "--dir", dir_.path(), "--sample-data"});
  ASSERT_EQ(second.exit_code, 0) << second.out;
  EXPECT_NE(second.out.find("kept " + db_ + " (exists)"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("no sample data added"), std::string::npos) << second.out;
  EXPECT_EQ(nlohmann::json::parse(Crm({"contact", "list", "--json"}).out).size(), count);
  // The sample order has lines with computed amounts.
  auto lines = Crm({"order-line", "list", "--order", "SO000001", "--json"});
  ASSERT_EQ(lines.exit_code, 0) << lines.out;
  EXPECT_EQ(nlohmann::json::parse(lines.out).size(), 2u);
  // Interactions, a sales cycle, and a segment chosen by saved criteria that a campaign targets.
  EXPECT_EQ(nlohmann::json::parse(Crm({"interaction", "list", "--json"}).out).size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(Crm({"sales-cycle-stage", "list", "--json"}).out).size(), 4u);
  auto segment = nlohmann::json::parse(Crm({"segment", "show", "SG000001", "--json"}).out);
  EXPECT_EQ(segment["members"], 2) << segment.dump();
  EXPECT_EQ(segment["criteria"].size(), 2u);
  auto campaign = nlohmann::json::parse(Crm({"campaign", "show", "CP000001", "--json"}).out);
  EXPECT_EQ(campaign["segments"], nlohmann::json::array({"SG000001"})) << campaign.dump();
}

TEST_F(CrmCommandTest, InitMigratesAnOlderStoreAndKeepsItsData) {
  {
    auto db = SqliteDb::Open(db_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(crm::MigrateTo(*db, 1).ok());
    ASSERT_TRUE(db->Exec("INSERT INTO contact (no, type, name) VALUES ('OLD1', 'company', 'From v1')").ok());
  }
  auto r = Run({"init", "--dir", dir_.path()});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("migrated " + db_ + " from v1 to v" + std::to_string(crm::LatestSchemaVersion())),
            std::string::npos)
      << r.out;
  auto show = Crm({"contact", "show", "OLD1"});
  EXPECT_EQ(show.exit_code, 0) << show.out;
  EXPECT_NE(show.out.find("From v1"), std::string::npos);
}

TEST_F(CrmCommandTest, AddListShowUpdateDelete) {
  Init();
  auto company = Crm({"contact", "add", "--type", "company", "--name", "Contoso Ltd", "--city", "Leeds"});
  ASSERT_EQ(company.exit_code, 0) << company.out;
  EXPECT_EQ(company.out, "CT000001\n");
  auto person = Crm(
      {"contact", "add", "--type", "person", "--first-name", "Ann", "--surname", "Lee", "--company-no", "CT000001"});
  ASSERT_EQ(person.exit_code, 0) << person.out;
  EXPECT_EQ(person.out, "CT000002\n");

  auto list = Crm({"contact", "list", "--company", "CT000001", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.out;
  auto rows = nlohmann::json::parse(list.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["no"], "CT000002");
  EXPECT_EQ(rows[0]["name"], "Ann Lee");
  EXPECT_TRUE(rows[0]["email"].is_null());

  auto text = Crm({"contact", "list", "--type", "company"});
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_EQ(text.out,
            "no        type     name         company_no  email  city   salesperson_code\n"
            "CT000001  company  Contoso Ltd                     Leeds\n");

  auto update = Crm({"contact", "update", "CT000002", "--email", "ann@contoso.com", "--company-no", ""});
  ASSERT_EQ(update.exit_code, 0) << update.out;
  auto show = Crm({"contact", "show", "CT000002", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.out;
  auto shown = nlohmann::json::parse(show.out);
  EXPECT_EQ(shown["email"], "ann@contoso.com");
  EXPECT_TRUE(shown["company_no"].is_null());

  auto sp = Crm({"salesperson", "add", "--code", "JR", "--name", "Jo Roberts"});
  EXPECT_EQ(sp.out, "JR\n");
  auto op = Crm({"opportunity", "add", "--description", "Fleet", "--contact-no", "CT000001", "--salesperson-code", "JR",
                 "--estimated-value", "1250.50", "--probability", "40", "--estimated-close-date", "2026-06-30"});
  ASSERT_EQ(op.exit_code, 0) << op.out;
  EXPECT_EQ(op.out, "OP000001\n");
  auto order = Crm({"order", "add", "--sell-to-contact-no", "CT000001", "--opportunity-no", "OP000001"});
  ASSERT_EQ(order.exit_code, 0) << order.out;
  EXPECT_EQ(order.out, "SO000001\n");
  auto line = Crm({"order-line", "add", "--order-no", "SO000001", "--description", "Van", "--quantity", "3",
                   "--unit-price", "19.99", "--line-discount-pct", "10"});
  ASSERT_EQ(line.exit_code, 0) << line.out;
  EXPECT_EQ(line.out, "SO000001 10000\n");
  auto line_show = Crm({"order-line", "show", "SO000001", "10000", "--json"});
  ASSERT_EQ(line_show.exit_code, 0) << line_show.out;
  EXPECT_EQ(nlohmann::json::parse(line_show.out)["line_amount"].dump(), "53.97");

  auto del = Crm({"order-line", "delete", "SO000001", "10000"});
  ASSERT_EQ(del.exit_code, 0) << del.out;
  EXPECT_EQ(del.out, "deleted sales order line SO000001 10000\n");
  EXPECT_EQ(Crm({"order-line", "show", "SO000001", "10000"}).exit_code, 2);
}

TEST_F(CrmCommandTest, BadInputExitsTwoNamingTheFieldAndValue) {
  Init();
  ASSERT_EQ(Crm({"contact", "add", "--type", "company", "--name", "Contoso"}).exit_code, 0);
  ASSERT_EQ(Crm({"contact", "add", "--type", "person", "--name", "Ann"}).exit_code, 0);
  const Case cases[] = {
      {{"opportunity", "add", "--description", "D", "--contact-no", "CT000099"},
       "crmsync crm opportunity add: contact_no: contact 'CT000099' does not exist\n"},
      {{"opportunity", "add", "--description", "D", "--contact-no", "CT000001", "--status", "done"},
       "crmsync crm opportunity add: status 'done' is not one of not_started, in_progress, won, lost\n"},
      {{"contact", "add", "--type", "person", "--name", "Bo", "--company-no", "CT000002"},
       "crmsync crm contact add: company_no: company 'CT000002' is a person, not a company\n"},
      {{"contact", "add", "--type", "person", "--name", "Bo", "--company-no", "CT000404"},
       "crmsync crm contact add: company_no: company 'CT000404' does not exist\n"},
      {{"contact", "show", "CT000099"}, "crmsync crm contact show: contact 'CT000099' does not exist\n"},
      {{"contact", "update", "CT000001"},
       "crmsync crm contact update: nothing to change: give at least one --COLUMN VALUE\n"},
      {{"contact", "list", "--type", "robot"},
       "crmsync crm contact list: type 'robot' is not one of person, company\n"},
      {{"opportunity", "add", "--description", "D", "--contact-no", "CT000001", "--probability", "abc"},
       "crmsync crm opportunity add: probability 'abc' is not an integer\n"},
      {{"order-line", "show", "SO000001", "ten"}, "crmsync crm order-line show: line_no 'ten' is not an integer\n"},
      {{"contact", "delete", "CT000404"}, "crmsync crm contact delete: contact 'CT000404' does not exist\n"},
  };
  for (const auto& c : cases) {
    auto r = Crm(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.args[1] << ": " << r.out;
    EXPECT_EQ(r.out, c.message);
  }
  // Nothing of the failed adds was written, and no number was used up.
  EXPECT_EQ(Crm({"contact", "add", "--type", "company", "--name", "Next"}).out, "CT000003\n");
  // A usage error (unknown option) is exit 2 too.
  EXPECT_EQ(Crm({"contact", "add", "--colour", "red"}).exit_code, 2);
}

TEST_F(CrmCommandTest, TheDatabaseComesFromTheConfigWithoutDatabaseOption) {
  Init();
  auto add = Run(
      {"--config", dir_.path() + "/crmsync.json", "crm", "salesperson", "add", "--code", "PS", "--name", "Priya Shah"});
  ASSERT_EQ(add.exit_code, 0) << add.out;
  auto list = Crm({"salesperson", "list", "--json"});
  EXPECT_EQ(nlohmann::json::parse(list.out)[0]["code"], "PS");
  // A missing store is explained rather than created.
  auto missing = Run({"crm", "--database", dir_.path() + "/nope.db", "contact", "list"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.out.find("crmsync init"), std::string::npos) << missing.out;
}

TEST_F(CrmCommandTest, EveryNounAndVerbHasHelp) {
  for (const char* noun : {"contact", "salesperson", "opportunity", "order", "order-line", "interaction", "segment",
                           "campaign", "sales-cycle", "sales-cycle-stage", "close-opportunity-code"}) {
    for (const char* verb : {"add", "list", "show", "update", "delete", "import", "export"}) {
      auto r = Run({"crm", noun, verb, "--help"});
      EXPECT_EQ(r.exit_code, 0) << noun << " " << verb << ": " << r.out;
      EXPECT_NE(r.out.find("Usage:"), std::string::npos) << noun << " " << verb;
    }
  }
  const std::vector<std::vector<std::string>> extra = {
      {"segment", "add-contacts"},    {"segment", "remove-contacts"}, {"segment", "refine"},
      {"segment", "reapply"},         {"segment", "members"},         {"campaign", "link-segment"},
      {"campaign", "unlink-segment"}, {"opportunity", "close"},
  };
  for (const auto& v : extra) {
    auto r = Run({"crm", v[0], v[1], "--help"});
    EXPECT_EQ(r.exit_code, 0) << v[0] << " " << v[1] << ": " << r.out;
  }
  // Link tables have no verbs of their own.
  EXPECT_EQ(Run({"crm", "segment-member", "list"}).exit_code, 2);
}

TEST_F(CrmCommandTest, ContactsRoundTripThroughCsv) {
  Init(/*sample_data=*/true);
  auto exported = Crm({"contact", "export"});
  ASSERT_EQ(exported.exit_code, 0) << exported.out;
  EXPECT_EQ(exported.out.substr(0, exported.out.find('\n')),
            "no,type,name,first_name,surname,job_title,email,phone,mobile,address,address_2,city,post_code,county,"
            "country_code,company_no,salesperson_code,created_at,modified_at,language_code,correspondence_type");
  // Into a fresh store, which lacks the salespeople the contacts refer to.
  testing_support::TempDir other;
  ASSERT_EQ(Run({"init", "--dir", other.path()}).exit_code, 0);
  const std::string file = other.WriteFile("contacts.csv", exported.out);
  auto bad = Run({"crm", "--database", other.path() + "/crm.db", "contact", "import", file});
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("contacts.csv: line 2: salesperson_code: salesperson 'JR' does not exist"), std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find("nothing was imported"), std::string::npos) << bad.out;
  EXPECT_EQ(Run({"crm", "--database", other.path() + "/crm.db", "contact", "list", "--json"}).out, "[]\n");

  // With the salespeople there first, everything imports.
  auto sp = Crm({"salesperson", "export"});
  const std::string sp_file = other.WriteFile("salespeople.csv", sp.out);
  auto sp_import = Run({"crm", "--database", other.path() + "/crm.db", "salesperson", "import", sp_file});
  ASSERT_EQ(sp_import.exit_code, 0) << sp_import.out;
  auto good = Run({"crm", "--database", other.path() + "/crm.db", "contact", "import", file});
  ASSERT_EQ(good.exit_code, 0) << good.out;
  EXPECT_EQ(good.out, "imported 5 contacts\n");
  auto names = [](const std::string& json) {
    std::set<std::string> out;
    for (const auto& row : nlohmann::json::parse(json))
      out.insert(row["no"].get<std::string>() + " " + row["name"].get<std::string>());
    return out;
  };
  EXPECT_EQ(names(Run({"crm", "--database", other.path() + "/crm.db", "contact", "list", "--json"}).out),
            names(Crm({"contact", "list", "--json"}).out));
}

TEST_F(CrmCommandTest, TwoCrmProcessesAddingAtOnceGetDistinctNumbers) {
  Init();
  const std::string add =
      std::string("'") + CRMSYNC_BINARY + "' crm --database '" + db_ + "' contact add --type company --name C";
  const std::string loop = "for i in $(seq 20); do " + add + " || exit 1; done";
  auto r = RunProcess({"sh", "-c", "(" + loop + ") & (" + loop + ") & wait %1 && wait %2"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::set<std::string> numbers;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) numbers.insert(line);
  EXPECT_EQ(numbers.size(), 40u) << r.out;
  EXPECT_EQ(*numbers.begin(), "CT000001");
  EXPECT_EQ(*numbers.rbegin(), "CT000040");
}

TEST_F(CrmCommandTest, SetupShowsEveryKeyAndSetRefusesBadValuesNamingTheKey) {
  Init();
  auto shown = Crm({"setup", "show", "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.out;
  const auto setup = nlohmann::json::parse(shown.out);
  EXPECT_EQ(setup.at("contact_nos"), "CONTACT");
  EXPECT_EQ(setup.at("inherit_address"), "true");
  EXPECT_TRUE(setup.at("default_country_code").is_null());

  const Case refused[] = {
      {{"setup", "set", "colour", "red"}, "setup has no key 'colour'"},
      {{"setup", "set", "inherit_address", "maybe"}, "setup inherit_address: 'maybe' must be true or false"},
      {{"setup", "set", "segment_nos", "NOPE"}, "setup segment_nos: 'NOPE' is not a number series"},
      {{"setup", "set", "default_salesperson_code", "ZZ"}, "setup default_salesperson_code: 'ZZ' is not a salesperson"},
  };
  for (const auto& c : refused) {
    auto r = Crm(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << r.out;
  }
  auto unchanged = Crm({"setup", "show", "--json"});
  EXPECT_EQ(nlohmann::json::parse(unchanged.out), setup) << "nothing was written";

  auto set = Crm({"setup", "set", "default_country_code", "GB"});
  ASSERT_EQ(set.exit_code, 0) << set.out;
  auto added = Crm({"contact", "add", "--type", "company", "--name", "Fabrikam"});
  ASSERT_EQ(added.exit_code, 0) << added.out;
  auto row = Crm({"contact", "show", "CT000001", "--json"});
  EXPECT_EQ(nlohmann::json::parse(row.out).at("country_code"), "GB");
}

TEST_F(CrmCommandTest, InteractionVerbsTakeTemplatesAndRefuseBadInputNamingTheField) {
  Init();
  auto company = Crm({"contact", "add", "--type", "company", "--name", "Contoso"});
  ASSERT_EQ(company.exit_code, 0) << company.out;
  const Case refused[] = {
      {{"interaction", "add", "--contact-no", "CT000099", "--type", "email", "--subject", "x"},
       "contact_no: contact 'CT000099' does not exist"},
      {{"interaction", "add", "--contact-no", "CT000001", "--type", "email", "--subject", "x", "--date", "yesterday"},
       "date 'yesterday' is not a date (YYYY-MM-DD)"},
      {{"interaction", "add", "--contact-no", "CT000001", "--type", "telegram", "--subject", "x"},
       "type 'telegram' is not one of email, letter, phone_call, meeting"},
  };
  for (const auto& c : refused) {
    auto r = Crm(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << r.out;
  }
  auto none = Crm({"interaction", "list", "--json"});
  ASSERT_EQ(none.exit_code, 0) << none.out;
  EXPECT_EQ(nlohmann::json::parse(none.out).size(), 0u) << "nothing was written";

  auto added = Crm({"interaction", "add", "--contact-no", "CT000001", "--template-code", "MEETING", "--subject",
                    "Kick-off", "--time", "09:30"});
  ASSERT_EQ(added.exit_code, 0) << added.out;
  EXPECT_EQ(added.out, "IN000001\n");
  auto updated = Crm({"interaction", "update", "IN000001", "--completed", "true", "--evaluation", "positive"});
  ASSERT_EQ(updated.exit_code, 0) << updated.out;
  auto shown = nlohmann::json::parse(Crm({"interaction", "show", "IN000001", "--json"}).out);
  EXPECT_EQ(shown.at("type"), "meeting");
  EXPECT_EQ(shown.at("duration_min"), 60);
  EXPECT_EQ(shown.at("completed"), true);
  EXPECT_EQ(shown.at("evaluation"), "positive");
  auto deleted = Crm({"interaction", "delete", "IN000001"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.out;
}

// Everything in the store, for "nothing was written".
std::string Dump(const std::string& db) {
  return RunProcess({"sqlite3", db, ".dump"}).out;
}

class CrmSegmentCommandTest : public CrmCommandTest {
 protected:
  void SetUp() override {
    CrmCommandTest::SetUp();
    Init();
    for (const std::vector<std::string>& c : std::vector<std::vector<std::string>>{
             {"--type", "company", "--name", "Alpha SA", "--city", "Paris"},             // CT000001
             {"--type", "company", "--name", "Beta Ltd", "--city", "Leeds"},             // CT000002
             {"--type", "person", "--name", "Anne Martin", "--company-no", "CT000001"},  // Paris by inheritance
             {"--type", "person", "--name", "Bob Smith", "--job-title", "Buyer", "--city", "Lyon"},
         }) {
      std::vector<std::string> args = {"contact", "add"};
      args.insert(args.end(), c.begin(), c.end());
      auto r = Crm(args);
      ASSERT_EQ(r.exit_code, 0) << r.out;
    }
    auto seg = Crm({"segment", "add", "--description", "Newsletter"});
    ASSERT_EQ(seg.exit_code, 0) << seg.out;
    ASSERT_EQ(seg.out, "SG000001\n");
  }
  std::string Members(const std::string& segment = "SG000001") {
    auto r = Crm({"segment", "members", segment, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    std::string out;
    for (const auto& row : nlohmann::json::parse(r.out)) out += (out.empty() ? "" : " ") + row["no"].get<std::string>();
    return out;
  }
};

TEST_F(CrmSegmentCommandTest, CriteriaChooseTheMembersAndReapplyRunsThemAgain) {
  auto add = Crm({"segment", "add-contacts", "SG000001", "--where", "city=Paris"});
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(add.out, "segment SG000001: 2 added, 0 removed, 2 members\n");
  EXPECT_EQ(Members(), "CT000001 CT000003");
  auto more =
      Crm({"segment", "add-contacts", "SG000001", "--where", "type in person,company", "--where", "name like B%"});
  ASSERT_EQ(more.exit_code, 0) << more.out;
  EXPECT_EQ(Members(), "CT000001 CT000002 CT000003 CT000004");
  auto removed = Crm({"segment", "remove-contacts", "SG000001", "--where", "type=company"});
  ASSERT_EQ(removed.exit_code, 0) << removed.out;
  EXPECT_EQ(removed.out, "segment SG000001: 0 added, 2 removed, 2 members\n");
  auto refined = Crm({"segment", "refine", "SG000001", "--where", "job_title!=Buyer"});
  ASSERT_EQ(refined.exit_code, 0) << refined.out;
  EXPECT_EQ(Members(), "CT000003");
  auto by_no = Crm({"segment", "add-contacts", "SG000001", "--contact", "CT000002"});
  ASSERT_EQ(by_no.exit_code, 0) << by_no.out;
  EXPECT_EQ(Members(), "CT000002 CT000003");

  // show lists the saved criteria and the member count.
  auto show = Crm({"segment", "show", "SG000001"});
  ASSERT_EQ(show.exit_code, 0) << show.out;
  EXPECT_NE(show.out.find("criteria:\n  step 1 add: city = Paris\n  step 2 add: type in person,company\n"
                          "  step 2 add: name like B%\n  step 3 remove: type = company\n"
                          "  step 4 refine: job_title != Buyer\n  step 5 add: no in CT000002\nmembers: 2\n"),
            std::string::npos)
      << show.out;
  auto json = nlohmann::json::parse(Crm({"segment", "show", "SG000001", "--json"}).out);
  EXPECT_EQ(json["members"], 2);
  EXPECT_EQ(json["criteria"].size(), 6u);
  EXPECT_EQ(json["description"], "Newsletter");

  // The company moves to Leeds; Anne follows it. Reapply runs the saved steps on today's values.
  ASSERT_EQ(Crm({"contact", "update", "CT000001", "--city", "Leeds"}).exit_code, 0);
  ASSERT_EQ(Crm({"contact", "update", "CT000004", "--city", "Paris", "--job-title", ""}).exit_code, 0);
  EXPECT_EQ(Members(), "CT000002 CT000003");
  auto again = Crm({"segment", "reapply", "SG000001"});
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(again.out, "segment SG000001: 1 added, 1 removed, 2 members\n");
  EXPECT_EQ(Members(), "CT000002 CT000004");

  auto text = Crm({"segment", "members", "SG000001"});
  EXPECT_NE(text.out.find("CT000004  person   Bob Smith"), std::string::npos) << text.out;
  auto del = Crm({"segment", "delete", "SG000001"});
  ASSERT_EQ(del.exit_code, 0) << del.out;
  auto db = SqliteDb::Open(db_);
  EXPECT_EQ(crm::testing::QueryText(*db, "SELECT count(*) FROM segment_member"), "0");
  EXPECT_EQ(crm::testing::QueryText(*db, "SELECT count(*) FROM segment_criterion"), "0");
}

TEST_F(CrmSegmentCommandTest, BadInputExitsTwoNamingTheFieldAndWritesNothing) {
  ASSERT_EQ(Crm({"segment", "add-contacts", "SG000001", "--where", "city=Paris"}).exit_code, 0);
  const std::string before = Dump(db_);
  const Case cases[] = {
      {{"segment", "add-contacts", "SG000001", "--where", "colour=red"},
       "crmsync crm segment add-contacts: --where: criterion 'colour = red': column 'colour' is not a contact "
       "column\n"},
      {{"segment", "add-contacts", "SG000001", "--where", "city~Paris"},
       "crmsync crm segment add-contacts: --where: criterion 'city~Paris': the operator after 'city' is not one of =, "
       "!=, like, in (e.g. city=Paris, \"type in person,company\")\n"},
      {{"segment", "refine", "SG000001", "--where", "city=Paris", "--where", "type in person,robot"},
       "crmsync crm segment refine: --where: criterion 'type in person,robot': type 'robot' is not one of person, "
       "company\n"},
      {{"segment", "add-contacts", "SG000099", "--where", "city=Paris"},
       "crmsync crm segment add-contacts: segment 'SG000099' does not exist\n"},
      {{"segment", "add-contacts", "SG000001", "--contact", "CT000001", "--contact", "CT000099"},
       "crmsync crm segment add-contacts: contact: contact 'CT000099' does not exist\n"},
      {{"segment", "remove-contacts", "SG000001"},
       "crmsync crm segment remove-contacts: give at least one --where COLUMN OP VALUE or --contact NO\n"},
      {{"segment", "reapply", "SG000099"}, "crmsync crm segment reapply: segment 'SG000099' does not exist\n"},
      {{"segment", "members", "SG000099"}, "crmsync crm segment members: segment 'SG000099' does not exist\n"},
      {{"segment", "add", "--description", "X", "--date", "2026-13-01"},
       "crmsync crm segment add: date '2026-13-01' is not a date (YYYY-MM-DD)\n"},
  };
  for (const auto& c : cases) {
    auto r = Crm(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[1] << ": " << r.out;
    EXPECT_EQ(r.out, c.message);
  }
  EXPECT_EQ(Dump(db_), before) << "nothing was written";
}

TEST_F(CrmSegmentCommandTest, CampaignVerbsLinkSegmentsAndCheckDates) {
  ASSERT_EQ(Crm({"salesperson", "add", "--code", "JR", "--name", "Jo Roberts"}).exit_code, 0);
  auto add = Crm({"campaign", "add", "--description", "Spring fair", "--salesperson-code", "JR", "--starting-date",
                  "2026-04-01", "--ending-date", "2026-04-30"});
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(add.out, "CP000001\n");
  auto link = Crm({"campaign", "link-segment", "CP000001", "SG000001"});
  ASSERT_EQ(link.exit_code, 0) << link.out;
  EXPECT_EQ(link.out, "linked campaign CP000001 and segment SG000001\n");
  auto shown = nlohmann::json::parse(Crm({"campaign", "show", "CP000001", "--json"}).out);
  EXPECT_EQ(shown["segments"], nlohmann::json::array({"SG000001"}));
  EXPECT_EQ(shown["status"], "planned");
  auto update = Crm({"campaign", "update", "CP000001", "--status", "active"});
  ASSERT_EQ(update.exit_code, 0) << update.out;
  auto list = nlohmann::json::parse(Crm({"campaign", "list", "--json"}).out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["status"], "active");

  const std::string before = Dump(db_);
  const Case cases[] = {
      {{"campaign", "add", "--description", "X", "--starting-date", "next week"},
       "crmsync crm campaign add: starting_date 'next week' is not a date (YYYY-MM-DD)\n"},
      {{"campaign", "update", "CP000001", "--ending-date", "2026-02-30"},
       "crmsync crm campaign update: ending_date '2026-02-30' is not a date (YYYY-MM-DD)\n"},
      {{"campaign", "update", "CP000001", "--ending-date", "2026-03-01"},
       "crmsync crm campaign update: ending_date '2026-03-01' is before starting_date '2026-04-01'\n"},
      {{"campaign", "add", "--description", "X", "--status", "running"},
       "crmsync crm campaign add: status 'running' is not one of planned, active, completed, cancelled\n"},
      {{"campaign", "link-segment", "CP000001", "SG000099"},
       "crmsync crm campaign link-segment: segment_no: segment 'SG000099' does not exist\n"},
      {{"campaign", "link-segment", "CP000099", "SG000001"},
       "crmsync crm campaign link-segment: campaign_no: campaign 'CP000099' does not exist\n"},
      {{"campaign", "link-segment", "CP000001", "SG000001"},
       "crmsync crm campaign link-segment: campaign segment '[\"CP000001\",\"SG000001\"]' already exists\n"},
      {{"campaign", "show", "CP000099"}, "crmsync crm campaign show: campaign 'CP000099' does not exist\n"},
  };
  for (const auto& c : cases) {
    auto r = Crm(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[1] << ": " << r.out;
    EXPECT_EQ(r.out, c.message);
  }
  EXPECT_EQ(Dump(db_), before) << "nothing was written";

  auto unlink = Crm({"campaign", "unlink-segment", "CP000001", "SG000001"});
  ASSERT_EQ(unlink.exit_code, 0) << unlink.out;
  auto again = Crm({"campaign", "unlink-segment", "CP000001", "SG000001"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_EQ(again.out,
            "crmsync crm campaign unlink-segment: segment: campaign 'CP000001' is not linked to segment 'SG000001'\n");
  auto opportunity = Crm(
      {"opportunity", "add", "--description", "Fair deal", "--contact-no", "CT000001", "--campaign-no", "CP000001"});
  ASSERT_EQ(opportunity.exit_code, 0) << opportunity.out;
}

TEST_F(CrmSegmentCommandTest, OpportunitiesMoveThroughTheirSalesCycleAndCloseWithAReason) {
  ASSERT_EQ(Crm({"salesperson", "add", "--code", "JR", "--name", "Jo Roberts"}).exit_code, 0);
  ASSERT_EQ(Crm({"contact", "update", "CT000001", "--salesperson-code", "JR"}).exit_code, 0);
  ASSERT_EQ(Crm({"sales-cycle", "add", "--code", "STD", "--description", "Standard"}).exit_code, 0);
  auto s1 = Crm({"sales-cycle-stage", "add", "--sales-cycle-code", "STD", "--description", "Qualify", "--completed-pct",
                 "10", "--chances-of-success-pct", "20"});
  ASSERT_EQ(s1.exit_code, 0) << s1.out;
  EXPECT_EQ(s1.out, "STD 1\n");
  ASSERT_EQ(Crm({"sales-cycle-stage", "add", "--sales-cycle-code", "STD", "--description", "Propose", "--completed-pct",
                 "60", "--chances-of-success-pct", "50"})
                .exit_code,
            0);
  ASSERT_EQ(
      Crm({"close-opportunity-code", "add", "--code", "PRICE", "--description", "Price", "--type", "won"}).exit_code,
      0);
  ASSERT_EQ(Crm({"setup", "set", "default_sales_cycle_code", "STD"}).exit_code, 0);

  auto add = Crm({"opportunity", "add", "--description", "Fleet", "--contact-no", "CT000001"});
  ASSERT_EQ(add.exit_code, 0) << add.out;
  auto row = nlohmann::json::parse(Crm({"opportunity", "show", "OP000001", "--json"}).out);
  EXPECT_EQ(row["salesperson_code"], "JR") << "the contact's salesperson";
  EXPECT_EQ(row["sales_cycle_code"], "STD");
  EXPECT_EQ(row["current_stage"], 1);
  EXPECT_EQ(row["probability"], 2);

  const std::string before = Dump(db_);
  const Case cases[] = {
      {{"opportunity", "update", "OP000001", "--stage", "9"},
       "crmsync crm opportunity update: stage: sales cycle 'STD' has no stage 9\n"},
      {{"opportunity", "update", "OP000001", "--stage", "2", "--estimated-value", "-5"},
       "crmsync crm opportunity update: estimated_value -5 is less than 0\n"},
      {{"opportunity", "close", "OP000001", "--lost", "--reason", "PRICE"},
       "crmsync crm opportunity close: reason: close opportunity code 'PRICE' is for won opportunities, not lost "
       "ones\n"},
      {{"opportunity", "close", "OP000001", "--won", "--reason", "NOPE"},
       "crmsync crm opportunity close: reason: close opportunity code 'NOPE' does not exist\n"},
      {{"opportunity", "close", "OP000001", "--reason", "PRICE"},
       "crmsync crm opportunity close: status: give --won or --lost\n"},
      {{"opportunity", "close", "OP000001", "--won", "--reason", "PRICE", "--date", "31/12/2026"},
       "crmsync crm opportunity close: date_closed '31/12/2026' is not a date (YYYY-MM-DD)\n"},
      {{"opportunity", "close", "OP000099", "--won", "--reason", "PRICE"},
       "crmsync crm opportunity close: opportunity 'OP000099' does not exist\n"},
      {{"sales-cycle-stage", "add", "--sales-cycle-code", "STD", "--description", "X", "--completed-pct", "101"},
       "crmsync crm sales-cycle-stage add: completed_pct 101 is not between 0 and 100\n"},
      {{"sales-cycle", "add", "--code", "X", "--description", "X", "--probability-calculation", "divide"},
       "crmsync crm sales-cycle add: probability_calculation 'divide' is not one of multiply, add, "
       "chances_of_success, completed\n"},
  };
  for (const auto& c : cases) {
    auto r = Crm(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[1] << ": " << r.out;
    EXPECT_EQ(r.out, c.message);
  }
  EXPECT_EQ(Dump(db_), before) << "nothing was written";

  auto stage = Crm({"opportunity", "update", "OP000001", "--stage", "2", "--estimated-value", "5000"});
  ASSERT_EQ(stage.exit_code, 0) << stage.out;
  row = nlohmann::json::parse(Crm({"opportunity", "show", "OP000001", "--json"}).out);
  EXPECT_EQ(row["current_stage"], 2);
  EXPECT_EQ(row["completed_pct"], 60);
  EXPECT_EQ(row["probability"], 30);
  EXPECT_EQ(row["status"], "in_progress");
  EXPECT_EQ(row["estimated_value"], 5000);
  auto close = Crm({"opportunity", "close", "OP000001", "--won", "--reason", "PRICE", "--date", "2026-05-04"});
  ASSERT_EQ(close.exit_code, 0) << close.out;
  EXPECT_EQ(close.out, "closed opportunity OP000001 as won\n");
  row = nlohmann::json::parse(Crm({"opportunity", "show", "OP000001", "--json"}).out);
  EXPECT_EQ(row["status"], "won");
  EXPECT_EQ(row["close_opportunity_code"], "PRICE");
  EXPECT_EQ(row["date_closed"], "2026-05-04");
  EXPECT_EQ(row["probability"], 100);
}

}  // namespace
}  // namespace crmsync::daemon
