#include "crm/sample_data.h"

#include "crm/segment.h"

namespace crmsync::crm {

namespace {

Value T(const char* s) {
  return Value::Text(s);
}
Value D(const char* s) {
  return *Value::Decimal(s);
}

}  // namespace

Result<bool> AddSampleData(Store& store) {
  bool added = false;
  const Status status = store.InTransaction([&](SqliteDb& db) -> Status {
    CRMSYNC_ASSIGN_OR_RETURN(auto count,
                             db.Prepare("SELECT (SELECT count(*) FROM contact) + (SELECT count(*) FROM salesperson)"));
    CRMSYNC_ASSIGN_OR_RETURN(bool row, count.Step());
    if (row && count.ColumnInt(0) > 0) return Status::Ok();

    const auto add = [&](Table table, const Record& fields) -> Result<std::string> {
      return InsertRow(db, SpecOf(table), fields);
    };
    CRMSYNC_RETURN_IF_ERROR(add(Table::kSalesperson, {{"code", T("JR")},
                                                      {"name", T("Jo Roberts")},
                                                      {"email", T("jo.roberts@example.com")},
                                                      {"job_title", T("Account Manager")}})
                                .status());
    CRMSYNC_RETURN_IF_ERROR(add(Table::kSalesperson, {{"code", T("PS")},
                                                      {"name", T("Priya Shah")},
                                                      {"email", T("priya.shah@example.com")},
                                                      {"job_title", T("Sales Director")}})
                                .status());
    CRMSYNC_RETURN_IF_ERROR(
        add(Table::kSalesperson, {{"code", T("TK")}, {"name", T("Tom Kelly")}, {"blocked", Value::Bool(true)}})
            .status());

    CRMSYNC_ASSIGN_OR_RETURN(std::string contoso, add(Table::kContact, {{"type", T("company")},
                                                                        {"name", T("Contoso Ltd")},
                                                                        {"address", T("1 Market Street")},
                                                                        {"city", T("Leeds")},
                                                                        {"post_code", T("LS1 4AB")},
                                                                        {"country_code", T("GB")},
                                                                        {"phone", T("+44 113 496 0000")},
                                                                        {"salesperson_code", T("JR")}}));
    CRMSYNC_ASSIGN_OR_RETURN(std::string fabrikam, add(Table::kContact, {{"type", T("company")},
                                                                         {"name", T("Fabrikam GmbH")},
                                                                         {"address", T("Hauptstrasse 5")},
                                                                         {"city", T("Munich")},
                                                                         {"post_code", T("80331")},
                                                                         {"country_code", T("DE")},
                                                                         {"salesperson_code", T("PS")}}));
    CRMSYNC_ASSIGN_OR_RETURN(std::string ann, add(Table::kContact, {{"type", T("person")},
                                                                    {"first_name", T("Ann")},
                                                                    {"surname", T("Lee")},
                                                                    {"job_title", T("Purchasing Manager")},
                                                                    {"email", T("ann.lee@contoso.example")},
                                                                    {"company_no", Value::Text(contoso)},
                                                                    {"salesperson_code", T("JR")}}));
    CRMSYNC_RETURN_IF_ERROR(add(Table::kContact, {{"type", T("person")},
                                                  {"first_name", T("Ben")},
                                                  {"surname", T("Okafor")},
                                                  {"email", T("ben.okafor@contoso.example")},
                                                  {"company_no", Value::Text(contoso)}})
                                .status());
    CRMSYNC_RETURN_IF_ERROR(add(Table::kContact, {{"type", T("person")},
                                                  {"first_name", T("Clara")},
                                                  {"surname", T("Weber")},
                                                  {"mobile", T("+49 151 0000000")},
                                                  {"company_no", Value::Text(fabrikam)}})
                                .status());

    CRMSYNC_ASSIGN_OR_RETURN(std::string fleet, add(Table::kOpportunity, {{"description", T("Fleet renewal 2026")},
                                                                          {"contact_no", Value::Text(contoso)},
                                                                          {"salesperson_code", T("JR")},
                                                                          {"status", T("in_progress")},
                                                                          {"estimated_value", D("48000")},
                                                                          {"probability", Value::Integer(60)},
                                                                          {"estimated_close_date", T("2026-06-30")},
                                                                          {"sales_cycle_stage", T("propose")}}));
    CRMSYNC_RETURN_IF_ERROR(add(Table::kOpportunity, {{"description", T("Service contract")},
                                                      {"contact_no", Value::Text(fabrikam)},
                                                      {"salesperson_code", T("PS")},
                                                      {"estimated_value", D("12500.50")},
                                                      {"probability", Value::Integer(25)},
                                                      {"sales_cycle_stage", T("qualify")}})
                                .status());

    CRMSYNC_ASSIGN_OR_RETURN(std::string order, add(Table::kSalesOrder, {{"sell_to_contact_no", Value::Text(contoso)},
                                                                         {"order_date", T("2026-03-02")},
                                                                         {"external_document_no", T("PO-4711")},
                                                                         {"opportunity_no", Value::Text(fleet)},
                                                                         {"salesperson_code", T("JR")}}));
    CRMSYNC_RETURN_IF_ERROR(add(Table::kSalesOrderLine, {{"order_no", Value::Text(order)},
                                                         {"description", T("Delivery van")},
                                                         {"quantity", D("2")},
                                                         {"unit_price", D("21500")},
                                                         {"line_discount_pct", D("5")}})
                                .status());
    CRMSYNC_RETURN_IF_ERROR(add(Table::kSalesOrderLine, {{"order_no", Value::Text(order)},
                                                         {"description", T("Extended warranty, 3 years")},
                                                         {"quantity", D("2")},
                                                         {"unit_price", D("899.99")}})
                                .status());

    // Interactions with the contacts, from the templates.
    CRMSYNC_RETURN_IF_ERROR(add(Table::kInteraction, {{"contact_no", Value::Text(ann)},
                                                      {"template_code", T("PHONE")},
                                                      {"date", T("2026-03-03")},
                                                      {"time", T("10:15")},
                                                      {"subject", T("Fleet renewal: first call")},
                                                      {"completed", Value::Bool(true)},
                                                      {"evaluation", T("positive")}})
                                .status());
    CRMSYNC_RETURN_IF_ERROR(add(Table::kInteraction, {{"contact_no", Value::Text(fabrikam)},
                                                      {"template_code", T("MEETING")},
                                                      {"date", T("2026-03-10")},
                                                      {"time", T("14:00")},
                                                      {"subject", T("Service contract review")}})
                                .status());

    // A sales cycle with its stages, and reasons to close an opportunity.
    CRMSYNC_RETURN_IF_ERROR(
        add(Table::kSalesCycle, {{"code", T("STANDARD")}, {"description", T("Standard sales cycle")}}).status());
    constexpr struct {
      const char* description;
      int completed;
      int chances;
    } kStages[] = {{"Qualify", 10, 20}, {"Develop", 40, 40}, {"Propose", 70, 60}, {"Close", 90, 80}};
    for (const auto& stage : kStages) {
      CRMSYNC_RETURN_IF_ERROR(add(Table::kSalesCycleStage, {{"sales_cycle_code", T("STANDARD")},
                                                            {"description", T(stage.description)},
                                                            {"completed_pct", Value::Integer(stage.completed)},
                                                            {"chances_of_success_pct", Value::Integer(stage.chances)}})
                                  .status());
    }
    constexpr struct {
      const char* code;
      const char* description;
      const char* type;
    } kReasons[] = {{"PRICE", "Best price", "won"},
                    {"PRODUCT", "Best product", "won"},
                    {"LOST-PRICE", "Price too high", "lost"},
                    {"NO-NEED", "No longer needed", "lost"}};
    for (const auto& reason : kReasons) {
      CRMSYNC_RETURN_IF_ERROR(
          add(Table::kCloseOpportunityCode,
              {{"code", T(reason.code)}, {"description", T(reason.description)}, {"type", T(reason.type)}})
              .status());
    }

    // A segment of the persons in Great Britain, and a campaign that targets it.
    CRMSYNC_ASSIGN_OR_RETURN(std::string segment, add(Table::kSegment, {{"description", T("UK buyers")},
                                                                        {"salesperson_code", T("JR")},
                                                                        {"date", T("2026-03-01")}}));
    CRMSYNC_ASSIGN_OR_RETURN(Criterion gb, ParseCriterion("country_code=GB"));
    CRMSYNC_ASSIGN_OR_RETURN(Criterion persons, ParseCriterion("type=person"));
    CRMSYNC_RETURN_IF_ERROR(ApplySegmentStep(db, segment, SegmentAction::kAdd, {gb, persons}).status());
    CRMSYNC_ASSIGN_OR_RETURN(std::string campaign, add(Table::kCampaign, {{"description", T("Spring fleet offer")},
                                                                          {"salesperson_code", T("JR")},
                                                                          {"starting_date", T("2026-04-01")},
                                                                          {"ending_date", T("2026-05-31")},
                                                                          {"status", T("active")}}));
    CRMSYNC_RETURN_IF_ERROR(
        add(Table::kCampaignSegment, {{"campaign_no", Value::Text(campaign)}, {"segment_no", Value::Text(segment)}})
            .status());
    added = true;
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return added;
}

}  // namespace crmsync::crm
