// Marketing setup (crm/setup.h): the keys and their checks, a new contact's
// defaults, and inheritance from a person's company through the store.
#include "crm/setup.h"

#include <gtest/gtest.h>

#include "crm/store.h"
#include "tests/crm/crm_test_util.h"
#include "tests/crm/store_fixture.h"

namespace crmsync::crm {
namespace {

using testing::QueryText;
using testing::T;

class SetupTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(store_->Add(Table::kSalesperson, {{"code", T("JR")}, {"name", T("Jo Roberts")}}).ok());
    ASSERT_TRUE(store_->Add(Table::kSalesperson, {{"code", T("KM")}, {"name", T("Kim Moss")}}).ok());
    company_ = *store_->Add(Table::kContact, {{"type", T("company")},
                                              {"name", T("Contoso Ltd")},
                                              {"address", T("1 High Street")},
                                              {"city", T("Leeds")},
                                              {"post_code", T("LS1 1AA")},
                                              {"phone", T("+44 113 000")},
                                              {"salesperson_code", T("JR")}});
  }
  // One column of one contact, "(null)" for NULL.
  std::string Column(const std::string& no, const char* column) {
    auto row = store_->Get(Table::kContact, no);
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    if (!row.ok()) return "";
    const auto it = row->find(column);
    return it == row->end() || it->second.is_null() ? "(null)" : it->second.as_text();
  }
  std::int64_t JournalRowsOf(const std::string& no) {
    return std::stoll(QueryText(store_->db(),
                                "SELECT count(*) FROM crmsync_journal WHERE table_name = 'contact' "
                                "AND key = '" +
                                    no + "'"));
  }

  std::string company_;
};

TEST_F(SetupTest, EveryKeyHasAValueOrIsOptionalAndEachIsChecked) {
  auto entries = ReadSetup(store_->db());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), SetupKeys().size());
  for (const auto& e : *entries) {
    if (e.key->kind == SetupKind::kSeries || e.key->kind == SetupKind::kFlag) {
      EXPECT_TRUE(e.value.has_value()) << e.key->name << " has no value after migration";
    }
  }
  struct Case {
    const char* key;
    const char* value;
    const char* error;  // "" = accepted
  };
  const Case cases[] = {
      {"colour", "red", "setup has no key 'colour'"},
      {"inherit_phone", "yes", "setup inherit_phone: 'yes' must be true or false"},
      {"inherit_phone", "false", ""},
      {"contact_nos", "NOPE", "setup contact_nos: 'NOPE' is not a number series"},
      {"contact_nos", "", "setup contact_nos needs a number series code"},
      {"campaign_nos", "CONTACT", ""},
      {"default_salesperson_code", "ZZ", "setup default_salesperson_code: 'ZZ' is not a salesperson"},
      {"default_salesperson_code", "KM", ""},
      {"default_salesperson_code", "", ""},
      {"default_correspondence_type", "fax", "setup default_correspondence_type: 'fax' must be email or hard_copy"},
      {"default_correspondence_type", "hard_copy", ""},
      {"default_country_code", "GB", ""},
  };
  for (const auto& c : cases) {
    const std::string before = QueryText(store_->db(),
                                         "SELECT group_concat(key || '=' || ifnull(value, ''), ';') "
                                         "FROM (SELECT * FROM setup ORDER BY key)");
    Status s = WriteSetup(store_->db(), c.key, c.value);
    if (*c.error == '\0') {
      EXPECT_TRUE(s.ok()) << c.key << "=" << c.value << ": " << s.ToString();
      continue;
    }
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.key;
    EXPECT_NE(s.message().find(c.error), std::string::npos) << s.message();
    EXPECT_EQ(QueryText(store_->db(),
                        "SELECT group_concat(key || '=' || ifnull(value, ''), ';') "
                        "FROM (SELECT * FROM setup ORDER BY key)"),
              before)
        << "a refused value wrote nothing: " << c.key;
  }
  auto after = ReadSetup(store_->db());
  ASSERT_TRUE(after.ok());
  for (const auto& e : *after) {
    if (e.key->name == "default_salesperson_code") {
      EXPECT_FALSE(e.value.has_value()) << "\"\" clears it";
    }
    if (e.key->name == "default_country_code") {
      EXPECT_EQ(e.value.value_or(""), "GB");
    }
  }
}

TEST_F(SetupTest, ANewContactTakesTheDefaultsItDoesNotGive) {
  ASSERT_TRUE(WriteSetup(store_->db(), "default_country_code", "GB").ok());
  ASSERT_TRUE(WriteSetup(store_->db(), "default_language_code", "ENG").ok());
  ASSERT_TRUE(WriteSetup(store_->db(), "default_correspondence_type", "hard_copy").ok());
  ASSERT_TRUE(WriteSetup(store_->db(), "default_salesperson_code", "KM").ok());
  const std::string plain = *store_->Add(Table::kContact, {{"type", T("company")}, {"name", T("Fabrikam")}});
  EXPECT_EQ(Column(plain, "country_code"), "GB");
  EXPECT_EQ(Column(plain, "language_code"), "ENG");
  EXPECT_EQ(Column(plain, "correspondence_type"), "hard_copy");
  EXPECT_EQ(Column(plain, "salesperson_code"), "KM");
  const std::string own = *store_->Add(
      Table::kContact,
      {{"type", T("company")}, {"name", T("Tailspin")}, {"country_code", T("DE")}, {"language_code", Value()}});
  EXPECT_EQ(Column(own, "country_code"), "DE") << "a given value is kept";
  EXPECT_EQ(Column(own, "language_code"), "(null)") << "a column given as null stays null";
}

TEST_F(SetupTest, APersonLinkedToACompanyTakesItsSalespersonAndAddress) {
  // Linked when added: the fields the insert leaves out come from the company.
  const std::string ann = *store_->Add(
      Table::kContact, {{"type", T("person")}, {"first_name", T("Ann")}, {"company_no", T(company_.c_str())}});
  EXPECT_EQ(Column(ann, "salesperson_code"), "JR") << "the company's, not setup's default";
  EXPECT_EQ(Column(ann, "address"), "1 High Street");
  EXPECT_EQ(Column(ann, "city"), "Leeds");
  EXPECT_EQ(Column(ann, "post_code"), "LS1 1AA");
  EXPECT_EQ(Column(ann, "phone"), "+44 113 000");

  // Linked later (by any writer): the empty fields fill in, its own stay.
  const std::string bob =
      *store_->Add(Table::kContact, {{"type", T("person")}, {"first_name", T("Bob")}, {"city", T("York")}});
  EXPECT_EQ(Column(bob, "address"), "(null)");
  ASSERT_TRUE(store_->db().Exec("UPDATE contact SET company_no = '" + company_ + "' WHERE no = '" + bob + "'").ok());
  EXPECT_EQ(Column(bob, "address"), "1 High Street");
  EXPECT_EQ(Column(bob, "salesperson_code"), "JR");
  EXPECT_EQ(Column(bob, "city"), "York") << "a value of its own is kept";

  // A group switched off is not inherited.
  ASSERT_TRUE(WriteSetup(store_->db(), "inherit_phone", "false").ok());
  const std::string cy = *store_->Add(
      Table::kContact, {{"type", T("person")}, {"first_name", T("Cy")}, {"company_no", T(company_.c_str())}});
  EXPECT_EQ(Column(cy, "phone"), "(null)");
  EXPECT_EQ(Column(cy, "address"), "1 High Street");
}

TEST_F(SetupTest, ACompanysNewAddressReachesOnlyThePersonsThatDidNotOverrideIt) {
  const std::string follows = *store_->Add(
      Table::kContact, {{"type", T("person")}, {"first_name", T("Ann")}, {"company_no", T(company_.c_str())}});
  const std::string overrode = *store_->Add(
      Table::kContact,
      {{"type", T("person")}, {"first_name", T("Bob")}, {"company_no", T(company_.c_str())}, {"city", T("York")}});
  const std::string elsewhere =
      *store_->Add(Table::kContact, {{"type", T("person")}, {"first_name", T("Di")}, {"city", T("Leeds")}});
  const std::int64_t journal_before = JournalRowsOf(follows);
  const std::int64_t overrode_before = JournalRowsOf(overrode);
  const std::int64_t elsewhere_before = JournalRowsOf(elsewhere);

  ASSERT_TRUE(store_->Update(Table::kContact, company_, {{"city", T("Bristol")}, {"salesperson_code", T("KM")}}).ok());

  EXPECT_EQ(Column(follows, "city"), "Bristol");
  EXPECT_EQ(Column(follows, "salesperson_code"), "KM");
  EXPECT_EQ(Column(follows, "address"), "1 High Street") << "unchanged fields stay";
  EXPECT_EQ(Column(overrode, "city"), "York") << "its own city is kept";
  EXPECT_EQ(Column(overrode, "salesperson_code"), "KM") << "the field it did not override follows";
  EXPECT_EQ(Column(elsewhere, "city"), "Leeds") << "a person of no company is not touched";
  EXPECT_EQ(JournalRowsOf(follows), journal_before + 1) << "an inherited change is journalled once, to be synced";
  EXPECT_EQ(JournalRowsOf(overrode), overrode_before + 1);
  EXPECT_EQ(JournalRowsOf(elsewhere), elsewhere_before);

  // Switched off: a company's change stays with the company.
  ASSERT_TRUE(WriteSetup(store_->db(), "inherit_address", "false").ok());
  ASSERT_TRUE(store_->Update(Table::kContact, company_, {{"city", T("Bath")}}).ok());
  EXPECT_EQ(Column(follows, "city"), "Bristol");
}

}  // namespace
}  // namespace crmsync::crm
