#include "crm/text_io.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/value_json.h"

namespace crmsync::crm {

namespace {

constexpr std::string_view kContactSummary[] = {
    "no", "type", "name", "company_no", "email", "city", "salesperson_code"};
constexpr std::string_view kSalespersonSummary[] = {"code", "name", "email", "phone", "blocked"};
constexpr std::string_view kOpportunitySummary[] = {
    "no", "description", "contact_no", "status", "estimated_value", "probability", "estimated_close_date"};
constexpr std::string_view kSalesOrderSummary[] = {"no",     "sell_to_contact_no", "order_date",
                                                   "status", "currency_code",      "external_document_no"};
constexpr std::string_view kInteractionTemplateSummary[] = {"code", "description", "type", "direction", "duration_min"};
constexpr std::string_view kInteractionSummary[] = {"no", "contact_no", "type", "date", "time", "subject", "completed"};
constexpr std::string_view kSalesCycleSummary[] = {"code", "description", "probability_calculation", "blocked"};
constexpr std::string_view kSalesCycleStageSummary[] = {"sales_cycle_code", "stage", "description", "completed_pct",
                                                        "chances_of_success_pct"};
constexpr std::string_view kCloseOpportunityCodeSummary[] = {"code", "description", "type"};
constexpr std::string_view kCampaignSummary[] = {"no",          "description",     "status", "starting_date",
                                                 "ending_date", "salesperson_code"};
constexpr std::string_view kSegmentSummary[] = {"no", "description", "date", "salesperson_code"};
constexpr std::string_view kSegmentCriterionSummary[] = {"segment_no",  "line_no",  "step", "action",
                                                         "column_name", "operator", "value"};
constexpr std::string_view kSegmentMemberSummary[] = {"segment_no", "contact_no"};
constexpr std::string_view kCampaignSegmentSummary[] = {"campaign_no", "segment_no"};
constexpr std::string_view kSalesOrderLineSummary[] = {"order_no",   "line_no",           "description", "quantity",
                                                       "unit_price", "line_discount_pct", "line_amount"};

std::string Cell(const Record& row, std::string_view column) {
  auto it = row.find(column);
  if (it == row.end() || it->second.is_null()) return "";
  return it->second.ToDisplayString();
}

}  // namespace

Result<Record> FieldsFromText(const TableSpec& spec, const std::vector<std::pair<std::string, std::string>>& texts) {
  Record out;
  for (const auto& [name, text] : texts) {
    const ColumnSpec* column = FindColumn(spec, name);
    if (column == nullptr) return InvalidArgument(std::string(spec.label) + " has no column '" + name + "'");
    CRMSYNC_ASSIGN_OR_RETURN(Value value, ParseFieldText(*column, text));
    out[name] = std::move(value);
  }
  return out;
}

Result<std::string> KeyFromText(const TableSpec& spec, const std::vector<std::string>& parts) {
  if (parts.size() != spec.key_columns.size()) {
    return InvalidArgument(std::string(spec.label) + " key needs " + std::to_string(spec.key_columns.size()) +
                           " parts, got " + std::to_string(parts.size()));
  }
  std::vector<Value> values;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const ColumnSpec* column = FindColumn(spec, spec.key_columns[i]);
    CRMSYNC_ASSIGN_OR_RETURN(Value v, ParseFieldText(*column, parts[i]));
    if (v.is_null()) return InvalidArgument(std::string(column->name) + " must not be empty");
    values.push_back(std::move(v));
  }
  return EncodeKey(spec, values);
}

std::string KeyForPeople(const TableSpec& spec, std::string_view key) {
  if (spec.key_columns.size() == 1) return std::string(key);
  auto parts = DecodeKey(spec, key);
  if (!parts.ok()) return std::string(key);
  std::string out;
  for (const auto& p : *parts) out += (out.empty() ? "" : " ") + p.ToDisplayString();
  return out;
}

std::span<const std::string_view> SummaryColumns(const TableSpec& spec) {
  switch (spec.table) {
    case Table::kContact: return kContactSummary;
    case Table::kSalesperson: return kSalespersonSummary;
    case Table::kOpportunity: return kOpportunitySummary;
    case Table::kSalesOrder: return kSalesOrderSummary;
    case Table::kSalesOrderLine: return kSalesOrderLineSummary;
    case Table::kInteractionTemplate: return kInteractionTemplateSummary;
    case Table::kInteraction: return kInteractionSummary;
    case Table::kSalesCycle: return kSalesCycleSummary;
    case Table::kSalesCycleStage: return kSalesCycleStageSummary;
    case Table::kCloseOpportunityCode: return kCloseOpportunityCodeSummary;
    case Table::kCampaign: return kCampaignSummary;
    case Table::kSegment: return kSegmentSummary;
    case Table::kSegmentCriterion: return kSegmentCriterionSummary;
    case Table::kSegmentMember: return kSegmentMemberSummary;
    case Table::kCampaignSegment: return kCampaignSegmentSummary;
  }
  return {};
}

std::string FormatTable(const TableSpec& spec, const std::vector<Record>& rows) {
  const auto columns = SummaryColumns(spec);
  std::vector<std::size_t> widths;
  for (const auto& c : columns) widths.push_back(c.size());
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < columns.size(); ++i) widths[i] = std::max(widths[i], Cell(row, columns[i]).size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(widths[i] - cells[i].size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::vector<std::string> header(columns.begin(), columns.end());
  std::string out = line(header);
  for (const auto& row : rows) {
    std::vector<std::string> cells;
    for (const auto& c : columns) cells.push_back(Cell(row, c));
    out += line(cells);
  }
  return out;
}

std::string FormatRecord(const TableSpec& spec, const Record& row) {
  std::size_t width = 0;
  for (const auto& c : spec.columns) width = std::max(width, c.name.size());
  std::string out;
  for (const auto& c : spec.columns) {
    std::string value = Cell(row, c.name);
    out += std::string(c.name) + ":" + std::string(width - c.name.size() + 1, ' ') + value;
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += "\n";
  }
  return out;
}

std::string RecordsToJsonText(const std::vector<Record>& rows) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& row : rows) array.push_back(RecordToJson(row));
  return array.dump(2) + "\n";
}

std::string RecordToJsonText(const Record& row) {
  return RecordToJson(row).dump(2) + "\n";
}

}  // namespace crmsync::crm
