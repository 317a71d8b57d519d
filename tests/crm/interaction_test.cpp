// Interactions and their templates in the local store: the defaults a new
// interaction takes, the checks that name the field, and change capture.
#include <gtest/gtest.h>

#include "crm/store.h"
#include "tests/crm/crm_test_util.h"
#include "tests/crm/store_fixture.h"

namespace crmsync::crm {
namespace {

using testing::QueryText;
using testing::T;

class InteractionTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(store_->Add(Table::kSalesperson, {{"code", T("JR")}, {"name", T("Jo Roberts")}}).ok());
    contact_ = *store_->Add(Table::kContact,
                            {{"type", T("company")}, {"name", T("Contoso Ltd")}, {"salesperson_code", T("JR")}});
  }
  std::string Error(const Record& fields) {
    auto r = store_->Add(Table::kInteraction, fields);
    return r.ok() ? "ok" : r.status().message();
  }
  std::string Count() { return QueryText(store_->db(), "SELECT count(*) FROM interaction"); }

  std::string contact_;
};

TEST_F(InteractionTest, ATemplateAndTheContactGiveTheDefaults) {
  auto no =
      store_->Add(Table::kInteraction,
                  {{"contact_no", T(contact_.c_str())}, {"template_code", T("PHONE")}, {"subject", T("Renewal")}});
  ASSERT_TRUE(no.ok()) << no.status().ToString();
  EXPECT_EQ(*no, "IN000001") << "the INTERACTION series";
  auto row = store_->Get(Table::kInteraction, *no);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->at("type"), T("phone_call"));
  EXPECT_EQ(row->at("direction"), T("out"));
  EXPECT_EQ(row->at("duration_min"), Value::Integer(15));
  EXPECT_EQ(row->at("salesperson_code"), T("JR")) << "the contact's salesperson";
  EXPECT_EQ(row->at("completed"), Value::Bool(false));
  EXPECT_EQ(row->at("date").as_text().size(), 10u) << "today by default";

  // What the insert gives wins over the template.
  auto own = store_->Add(Table::kInteraction, {{"contact_no", T(contact_.c_str())},
                                               {"template_code", T("PHONE")},
                                               {"subject", T("Short call")},
                                               {"duration_min", Value::Integer(5)},
                                               {"direction", T("in")}});
  ASSERT_TRUE(own.ok());
  auto own_row = store_->Get(Table::kInteraction, *own);
  EXPECT_EQ(own_row->at("duration_min"), Value::Integer(5));
  EXPECT_EQ(own_row->at("direction"), T("in"));
}

TEST_F(InteractionTest, BadInputNamesTheFieldAndWritesNothing) {
  const std::string c = contact_;
  struct Case {
    Record fields;
    std::string message;
  };
  const Case cases[] = {
      {{{"contact_no", T("CT000099")}, {"type", T("email")}, {"subject", T("x")}},
       "contact_no: contact 'CT000099' does not exist"},
      {{{"contact_no", T(c.c_str())}, {"subject", T("x")}}, "type is required"},
      {{{"contact_no", T(c.c_str())}, {"type", T("fax")}, {"subject", T("x")}},
       "type 'fax' is not one of email, letter, phone_call, meeting"},
      {{{"contact_no", T(c.c_str())}, {"type", T("email")}, {"subject", T("x")}, {"date", T("2025-02-30")}},
       "date '2025-02-30' is not a date (YYYY-MM-DD)"},
      {{{"contact_no", T(c.c_str())}, {"type", T("email")}, {"subject", T("x")}, {"time", T("24:00")}},
       "time '24:00' is not a time of day (HH:MM)"},
      {{{"contact_no", T(c.c_str())}, {"type", T("email")}, {"subject", T("x")}, {"time", T("9:30")}},
       "time '9:30' is not a time of day (HH:MM)"},
      {{{"contact_no", T(c.c_str())}, {"template_code", T("FAX")}, {"subject", T("x")}},
       "template_code: interaction template 'FAX' does not exist"},
      {{{"contact_no", T(c.c_str())}, {"type", T("email")}}, "subject is required"},
      {{{"contact_no", T(c.c_str())}, {"type", T("email")}, {"subject", T("x")}, {"evaluation", T("great")}},
       "evaluation 'great' is not one of very_positive"},
      {{{"contact_no", T(c.c_str())}, {"type", T("email")}, {"subject", T("x")}, {"cost", Value::Integer(-1)}}, "cost"},
  };
  for (const auto& tc : cases) {
    const std::string got = Error(tc.fields);
    EXPECT_NE(got.find(tc.message), std::string::npos) << "got: " << got << "\nwant: " << tc.message;
  }
  EXPECT_EQ(Count(), "0");
  EXPECT_EQ(QueryText(store_->db(), "SELECT last_no_used IS NULL FROM number_series WHERE code = 'INTERACTION'"), "1")
      << "a refused insert takes no number";
}

TEST_F(InteractionTest, InteractionsAreJournalledAndGoWithTheirContact) {
  auto no = store_->Add(Table::kInteraction,
                        {{"contact_no", T(contact_.c_str())}, {"type", T("meeting")}, {"subject", T("Kick-off")}});
  ASSERT_TRUE(no.ok());
  ASSERT_TRUE(store_->Update(Table::kInteraction, *no, {{"completed", Value::Bool(true)}}).ok());
  EXPECT_EQ(QueryText(store_->db(),
                      "SELECT group_concat(op, ',') FROM (SELECT op FROM crmsync_journal "
                      "WHERE table_name = 'interaction' ORDER BY seq)"),
            "insert,update");
  ASSERT_TRUE(store_->Delete(Table::kContact, contact_).ok());
  EXPECT_EQ(Count(), "0") << "an interaction belongs to its contact";
  EXPECT_EQ(QueryText(store_->db(),
                      "SELECT op FROM crmsync_journal WHERE table_name = 'interaction' "
                      "ORDER BY seq DESC LIMIT 1"),
            "delete");
}

}  // namespace
}  // namespace crmsync::crm
