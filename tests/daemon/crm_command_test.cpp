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
  for (const char* noun : {"contact", "salesperson", "opportunity", "order", "order-line"}) {
    for (const char* verb : {"add", "list", "show", "update", "delete", "import", "export"}) {
      auto r = Run({"crm", noun, verb, "--help"});
      EXPECT_EQ(r.exit_code, 0) << noun << " " << verb << ": " << r.out;
      EXPECT_NE(r.out.find("Usage:"), std::string::npos) << noun << " " << verb;
    }
  }
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

}  // namespace
}  // namespace crmsync::daemon
