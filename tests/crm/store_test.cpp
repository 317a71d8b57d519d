#include "crm/store.h"

#include <gtest/gtest.h>

#include "tests/crm/crm_test_util.h"
#include "tests/crm/store_fixture.h"

namespace crmsync::crm {
namespace {

using testing::QueryRows;
using testing::QueryText;
using testing::T;

class StoreTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_EQ(*store_->Add(Table::kSalesperson, {{"code", T("JR")}, {"name", T("Jo Roberts")}}), "JR");
    ASSERT_EQ(*store_->Add(Table::kContact, {{"type", T("company")}, {"name", T("Contoso Ltd")}}), "CT000001");
    ASSERT_EQ(
        *store_->Add(
            Table::kContact,
            {{"type", T("person")}, {"first_name", T("Ann")}, {"surname", T("Lee")}, {"company_no", T("CT000001")}}),
        "CT000002");
  }
  // The message of a failed Add, or "ok".
  std::string AddError(Table table, const Record& fields) {
    auto r = store_->Add(table, fields);
    return r.ok() ? "ok" : r.status().message();
  }
  std::string UpdateError(Table table, const char* key, const Record& fields) {
    auto r = store_->Update(table, key, fields);
    return r.ok() ? "ok" : r.status().message();
  }
};

TEST_F(StoreTest, OpeningAMissingStoreSuggestsInit) {
  auto r = Store::Open(dir_.path() + "/nope.db");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("crmsync init"), std::string::npos);
}

TEST_F(StoreTest, APersonsNameComesFromFirstNameAndSurname) {
  auto person = store_->Get(Table::kContact, "CT000002");
  ASSERT_TRUE(person.ok());
  EXPECT_EQ(person->at("name"), T("Ann Lee"));
  EXPECT_EQ(person->at("company_no"), T("CT000001"));
  EXPECT_EQ(AddError(Table::kContact, {{"type", T("person")}}),
            "name is required (for a person: first_name and/or surname)");
}

TEST_F(StoreTest, ValidationMessagesNameTheFieldAndValue) {
  EXPECT_EQ(AddError(Table::kOpportunity, {{"description", T("Deal")}, {"contact_no", T("CT000099")}}),
            "contact_no: contact 'CT000099' does not exist");
  EXPECT_EQ(
      AddError(Table::kOpportunity, {{"description", T("Deal")}, {"contact_no", T("CT000001")}, {"status", T("done")}}),
      "status 'done' is not one of not_started, in_progress, won, lost");
  EXPECT_EQ(AddError(Table::kContact, {{"type", T("person")}, {"name", T("Bo")}, {"company_no", T("CT000002")}}),
            "company_no: company 'CT000002' is a person, not a company");
  EXPECT_EQ(AddError(Table::kContact, {{"type", T("person")}, {"name", T("Bo")}, {"company_no", T("CT000404")}}),
            "company_no: company 'CT000404' does not exist");
  EXPECT_EQ(AddError(Table::kContact, {{"type", T("company")}, {"name", T("F")}, {"company_no", T("CT000001")}}),
            "company_no: only a person can belong to a company, and this contact's type is company");
  EXPECT_EQ(AddError(Table::kContact, {{"type", T("robot")}, {"name", T("R2")}}),
            "type 'robot' is not one of person, company");
  EXPECT_EQ(AddError(Table::kContact, {{"name", T("X")}}), "type is required");
  EXPECT_EQ(AddError(Table::kContact, {{"type", T("company")}, {"name", T("X")}, {"colour", T("red")}}),
            "contact has no column 'colour'");
  EXPECT_EQ(AddError(Table::kContact, {{"type", T("company")}, {"name", T("X")}, {"salesperson_code", T("ZZ")}}),
            "salesperson_code: salesperson 'ZZ' does not exist");
  EXPECT_EQ(AddError(Table::kOpportunity,
                     {{"description", T("D")}, {"contact_no", T("CT000001")}, {"probability", T("150")}}),
            "probability 150 is not between 0 and 100");
  EXPECT_EQ(AddError(Table::kOpportunity,
                     {{"description", T("D")}, {"contact_no", T("CT000001")}, {"probability", T("high")}}),
            "probability 'high' is not an integer");
  EXPECT_EQ(
      AddError(Table::kOpportunity,
               {{"description", T("D")}, {"contact_no", T("CT000001")}, {"estimated_close_date", T("2026-02-30")}}),
      "estimated_close_date '2026-02-30' is not a date (YYYY-MM-DD)");
  EXPECT_EQ(AddError(Table::kOpportunity,
                     {{"description", T("D")}, {"contact_no", T("CT000001")}, {"estimated_value", T("lots")}}),
            "estimated_value 'lots' is not a number");
  EXPECT_EQ(AddError(Table::kSalesOrder, {{"sell_to_contact_no", T("CT000001")}, {"status", T("shipped")}}),
            "status 'shipped' is not one of open, released, pending_approval, pending_prepayment");
  EXPECT_EQ(AddError(Table::kSalesOrderLine, {{"order_no", T("SO000404")}, {"description", T("x")}}),
            "order_no: sales order 'SO000404' does not exist");
  EXPECT_EQ(AddError(Table::kSalesperson, {{"name", T("")}}), "name is required");
  EXPECT_EQ(AddError(Table::kSalesperson, {{"code", T("JR")}, {"name", T("Again")}}),
            "salesperson 'JR' already exists");
  EXPECT_EQ(AddError(Table::kContact, {{"type", T("company")}, {"name", T("X")}, {"modified_at", T("2020-01-01")}}),
            "modified_at is maintained by the store and cannot be written");
}

TEST_F(StoreTest, UpdatesChangeOnlyTheGivenFields) {
  auto key = store_->Update(Table::kContact, "CT000002", {{"email", T("ann@contoso.com")}, {"city", Value()}});
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(*key, "CT000002");
  auto person = store_->Get(Table::kContact, "CT000002");
  EXPECT_EQ(person->at("email"), T("ann@contoso.com"));
  EXPECT_EQ(person->at("name"), T("Ann Lee"));
  EXPECT_EQ(UpdateError(Table::kContact, "CT000099", {{"city", T("x")}}), "contact 'CT000099' does not exist");
  EXPECT_EQ(UpdateError(Table::kContact, "CT000002", {{"name", T("")}}), "name must not be empty");
  EXPECT_EQ(UpdateError(Table::kContact, "CT000001", {{"type", T("person")}}),
            "type: contact 'CT000001' is the company of 'CT000002' and must stay a company");
  EXPECT_EQ(UpdateError(Table::kContact, "CT000001", {{"no", T("CT000002")}}), "contact 'CT000002' already exists");
}

TEST_F(StoreTest, AKeyChangeKeepsReferencesPointingAtTheRecord) {
  auto key = store_->Update(Table::kContact, "CT000001", {{"no", T("ACME")}});
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(*key, "ACME");
  EXPECT_EQ(store_->Get(Table::kContact, "CT000002")->at("company_no"), T("ACME"));
}

TEST_F(StoreTest, DeletingAContactInUseIsExplained) {
  ASSERT_TRUE(store_->Add(Table::kOpportunity, {{"description", T("D")}, {"contact_no", T("CT000001")}}).ok());
  Status s = store_->Delete(Table::kContact, "CT000001");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "contact 'CT000001' has 1 opportunities and 0 sales orders; delete them or move them to another contact "
            "first");
  EXPECT_EQ(store_->Delete(Table::kContact, "CT000404").code(), StatusCode::kNotFound);
  // A person's company may go: the person stays, without a company.
  ASSERT_TRUE(store_->Add(Table::kContact, {{"type", T("company")}, {"name", T("Fabrikam")}}).ok());
  ASSERT_TRUE(store_->Update(Table::kContact, "CT000002", {{"company_no", T("CT000003")}}).ok());
  ASSERT_TRUE(store_->Delete(Table::kContact, "CT000003").ok());
  EXPECT_TRUE(store_->Get(Table::kContact, "CT000002")->at("company_no").is_null());
}

TEST_F(StoreTest, OrderLinesComputeTheirAmount) {
  auto so = store_->Add(Table::kSalesOrder, {{"sell_to_contact_no", T("CT000001")}, {"order_date", T("2026-03-01")}});
  ASSERT_TRUE(so.ok());
  auto line = store_->Add(Table::kSalesOrderLine, {{"order_no", T("SO000001")},
                                                   {"description", T("Van")},
                                                   {"quantity", T("3")},
                                                   {"unit_price", T("19.99")},
                                                   {"line_discount_pct", T("10")}});
  ASSERT_TRUE(line.ok()) << line.status().ToString();
  auto row = store_->Get(Table::kSalesOrderLine, *line);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->at("line_amount"), *Value::Decimal("53.97"));
  EXPECT_EQ(row->at("line_no"), Value::Integer(10000));
  // Deleting the order deletes its lines.
  ASSERT_TRUE(store_->Delete(Table::kSalesOrder, "SO000001").ok());
  EXPECT_EQ(store_->Get(Table::kSalesOrderLine, *line).status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, DefaultSalespersonComesFromSetup) {
  ASSERT_TRUE(store_->db().Exec("UPDATE setup SET value = 'JR' WHERE key = 'default_salesperson_code'").ok());
  auto key = store_->Add(Table::kContact, {{"type", T("company")}, {"name", T("Northwind")}});
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(store_->Get(Table::kContact, *key)->at("salesperson_code"), T("JR"));
  auto explicit_null =
      store_->Add(Table::kContact, {{"type", T("company")}, {"name", T("Tailspin")}, {"salesperson_code", Value()}});
  ASSERT_TRUE(explicit_null.ok());
  EXPECT_TRUE(store_->Get(Table::kContact, *explicit_null)->at("salesperson_code").is_null());
}

TEST_F(StoreTest, ListFiltersAndSearches) {
  ASSERT_TRUE(store_->Add(Table::kContact, {{"type", T("company")}, {"name", T("Fabrikam 100%")}}).ok());
  auto companies = store_->List(Table::kContact, {.equals = {{"type", T("company")}}});
  ASSERT_TRUE(companies.ok());
  ASSERT_EQ(companies->size(), 2u);
  EXPECT_EQ(companies->at(0).at("no"), T("CT000001"));
  auto search = store_->List(Table::kContact, {.search = "0%"});
  ASSERT_TRUE(search.ok());
  ASSERT_EQ(search->size(), 1u);
  EXPECT_EQ(search->at(0).at("name"), T("Fabrikam 100%"));
  auto people = store_->List(Table::kContact, {.equals = {{"company_no", T("CT000001")}}});
  ASSERT_EQ(people->size(), 1u);
  auto bad = store_->List(Table::kContact, {.equals = {{"colour", T("red")}}});
  EXPECT_EQ(bad.status().message(), "contact has no column 'colour'");
}

TEST_F(StoreTest, SalespersonBlockedIsABoolean) {
  ASSERT_TRUE(store_->Update(Table::kSalesperson, "JR", {{"blocked", T("true")}}).ok());
  EXPECT_EQ(store_->Get(Table::kSalesperson, "JR")->at("blocked"), Value::Bool(true));
  EXPECT_EQ(UpdateError(Table::kSalesperson, "JR", {{"blocked", T("maybe")}}), "blocked 'maybe' is not true or false");
}

}  // namespace
}  // namespace crmsync::crm
