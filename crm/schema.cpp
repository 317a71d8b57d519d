#include "crm/schema.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace crmsync::crm {

namespace {

using CT = ColumnType;

constexpr std::string_view kContactTypes[] = {"person", "company"};
constexpr std::string_view kCorrespondenceTypes[] = {"email", "hard_copy"};
constexpr std::string_view kOpportunityStatuses[] = {"not_started", "in_progress", "won", "lost"};
constexpr std::string_view kSalesCycleStages[] = {"qualify", "develop", "propose", "close"};
constexpr std::string_view kOrderStatuses[] = {"open", "released", "pending_approval", "pending_prepayment"};

constexpr std::string_view kNoKey[] = {"no"};
constexpr std::string_view kCodeKey[] = {"code"};
constexpr std::string_view kLineKey[] = {"order_no", "line_no"};

constexpr ColumnSpec kCreatedAt{.name = "created_at",
                                .type = CT::kTimestamp,
                                .read_only = true,
                                .help = "when the row was inserted (UTC, set by the store)"};
constexpr ColumnSpec kModifiedAt{.name = "modified_at",
                                 .type = CT::kTimestamp,
                                 .read_only = true,
                                 .help = "when the row last changed (UTC, set by the store)"};

constexpr ColumnSpec kContactColumns[] = {
    {.name = "no", .not_null = true, .help = "contact number (default: next of the CONTACT series)"},
    {.name = "type", .required = true, .not_null = true, .allowed = kContactTypes, .help = "person or company"},
    {.name = "name", .not_null = true, .help = "full name; for a person defaults to first name + surname"},
    {.name = "first_name", .help = "a person's first name"},
    {.name = "surname", .help = "a person's surname"},
    {.name = "job_title", .help = "a person's job title"},
    {.name = "email", .help = "e-mail address"},
    {.name = "phone", .help = "phone number"},
    {.name = "mobile", .help = "mobile phone number"},
    {.name = "address", .help = "address line 1"},
    {.name = "address_2", .help = "address line 2"},
    {.name = "city", .help = "city"},
    {.name = "post_code", .help = "post code"},
    {.name = "county", .help = "county or state"},
    {.name = "country_code", .help = "country/region code, e.g. GB"},
    {.name = "company_no",
     .reference = Reference::kCompany,
     .help = "a person's company (a company contact); linking fills the person's empty inherited fields"},
    {.name = "salesperson_code", .reference = Reference::kSalesperson, .help = "responsible salesperson"},
    kCreatedAt,
    kModifiedAt,
    // Schema v4 added these at the end of the table.
    {.name = "language_code", .help = "language code, e.g. ENG"},
    {.name = "correspondence_type",
     .allowed = kCorrespondenceTypes,
     .help = "email or hard_copy (default: setup's default_correspondence_type)"},
};

constexpr ColumnSpec kSalespersonColumns[] = {
    {.name = "code", .not_null = true, .help = "salesperson code; default: the next number of the SALESPERSON series"},
    {.name = "name", .required = true, .not_null = true, .help = "name"},
    {.name = "email", .help = "e-mail address (matches the Dataverse user)"},
    {.name = "phone", .help = "phone number"},
    {.name = "job_title", .help = "job title"},
    {.name = "blocked", .type = CT::kBool, .not_null = true, .help = "true when the salesperson is blocked"},
    kCreatedAt,
    kModifiedAt,
};

constexpr ColumnSpec kOpportunityColumns[] = {
    {.name = "no", .not_null = true, .help = "opportunity number (default: next of the OPPORTUNITY series)"},
    {.name = "description", .required = true, .not_null = true, .help = "what the opportunity is about"},
    {.name = "contact_no",
     .required = true,
     .not_null = true,
     .reference = Reference::kContact,
     .help = "the contact (person or company)"},
    {.name = "salesperson_code", .reference = Reference::kSalesperson, .help = "responsible salesperson"},
    {.name = "status",
     .not_null = true,
     .allowed = kOpportunityStatuses,
     .help = "not_started (default), in_progress, won or lost"},
    {.name = "estimated_value", .type = CT::kDecimal, .minimum = 0, .help = "estimated value (local currency)"},
    {.name = "probability", .type = CT::kInteger, .minimum = 0, .maximum = 100, .help = "chance of success, %"},
    {.name = "estimated_close_date", .type = CT::kDate, .help = "expected close date, YYYY-MM-DD"},
    {.name = "sales_cycle_stage", .allowed = kSalesCycleStages, .help = "qualify, develop, propose or close"},
    kCreatedAt,
    kModifiedAt,
    // Schema v6 added these at the end of the table.
    {.name = "sales_cycle_code",
     .reference = Reference::kSalesCycle,
     .help = "the sales cycle it follows (default: setup's default_sales_cycle_code)"},
    {.name = "current_stage",
     .type = CT::kInteger,
     .minimum = 1,
     .help = "the stage of its sales cycle it has reached (crm opportunity update --stage N)"},
    {.name = "completed_pct",
     .type = CT::kInteger,
     .minimum = 0,
     .maximum = 100,
     .help = "how far it is, % (from the stage)"},
    {.name = "close_opportunity_code",
     .reference = Reference::kCloseOpportunityCode,
     .help = "why it was won or lost (crm opportunity close)"},
    {.name = "date_closed", .type = CT::kDate, .help = "when it was won or lost, YYYY-MM-DD"},
    {.name = "campaign_no", .reference = Reference::kCampaign, .help = "the campaign it came from"},
};

constexpr ColumnSpec kSalesOrderColumns[] = {
    {.name = "no", .not_null = true, .help = "order number (default: next of the SALESORDER series)"},
    {.name = "sell_to_contact_no",
     .required = true,
     .not_null = true,
     .reference = Reference::kContact,
     .help = "the customer contact (person or company)"},
    {.name = "order_date", .type = CT::kDate, .help = "order date, YYYY-MM-DD (default: today, UTC)"},
    {.name = "currency_code", .help = "currency; empty = local currency"},
    {.name = "status",
     .not_null = true,
     .allowed = kOrderStatuses,
     .help = "open (default), released, pending_approval or pending_prepayment"},
    {.name = "external_document_no", .help = "the customer's reference"},
    {.name = "opportunity_no", .reference = Reference::kOpportunity, .help = "the opportunity it came from"},
    {.name = "salesperson_code", .reference = Reference::kSalesperson, .help = "responsible salesperson"},
    kCreatedAt,
    kModifiedAt,
};

constexpr ColumnSpec kSalesOrderLineColumns[] = {
    {.name = "order_no",
     .required = true,
     .not_null = true,
     .reference = Reference::kSalesOrder,
     .help = "the sales order"},
    {.name = "line_no",
     .type = CT::kInteger,
     .not_null = true,
     .minimum = 1,
     .help = "line number (default: last line + 10000)"},
    {.name = "description", .required = true, .not_null = true, .help = "what is sold (write-in product)"},
    {.name = "quantity", .type = CT::kDecimal, .not_null = true, .help = "quantity (default 0)"},
    {.name = "unit_price", .type = CT::kDecimal, .not_null = true, .help = "unit price (default 0)"},
    {.name = "line_discount_pct",
     .type = CT::kDecimal,
     .not_null = true,
     .minimum = 0,
     .maximum = 100,
     .help = "line discount, % (default 0)"},
    {.name = "line_amount",
     .type = CT::kDecimal,
     .help = "default: quantity * unit_price * (1 - line_discount_pct / 100), rounded to 2 decimals"},
    kCreatedAt,
    kModifiedAt,
};

constexpr std::string_view kInteractionTypes[] = {"email", "letter", "phone_call", "meeting"};
constexpr std::string_view kDirections[] = {"in", "out"};
constexpr std::string_view kEvaluations[] = {"very_positive", "positive", "neutral", "negative", "very_negative"};

constexpr ColumnSpec kInteractionTemplateColumns[] = {
    {.name = "code", .required = true, .not_null = true, .help = "template code, e.g. PHONE"},
    {.name = "description", .required = true, .not_null = true, .help = "what the template is for"},
    {.name = "type",
     .required = true,
     .not_null = true,
     .allowed = kInteractionTypes,
     .help = "email, letter, phone_call or meeting"},
    {.name = "direction", .not_null = true, .allowed = kDirections, .help = "in or out (default out)"},
    {.name = "duration_min", .type = CT::kInteger, .minimum = 0, .help = "default duration, minutes"},
    {.name = "cost", .type = CT::kDecimal, .minimum = 0, .help = "default cost (local currency)"},
    kCreatedAt,
    kModifiedAt,
};

constexpr ColumnSpec kInteractionColumns[] = {
    {.name = "no", .not_null = true, .help = "interaction number (default: next of the INTERACTION series)"},
    {.name = "contact_no",
     .required = true,
     .not_null = true,
     .reference = Reference::kContact,
     .help = "the contact (person or company) the interaction was with"},
    {.name = "salesperson_code",
     .reference = Reference::kSalesperson,
     .help = "who interacted (default: the contact's salesperson)"},
    {.name = "template_code",
     .reference = Reference::kInteractionTemplate,
     .help = "the interaction template whose defaults it takes (type, direction, duration, cost)"},
    {.name = "type",
     .not_null = true,
     .allowed = kInteractionTypes,
     .help = "email, letter, phone_call or meeting (required unless the template gives it)"},
    {.name = "date", .type = CT::kDate, .not_null = true, .help = "date, YYYY-MM-DD (default: today, UTC)"},
    {.name = "time", .type = CT::kTime, .help = "time of day, HH:MM"},
    {.name = "duration_min", .type = CT::kInteger, .minimum = 0, .help = "duration, minutes"},
    {.name = "subject", .required = true, .not_null = true, .help = "what it was about"},
    {.name = "description", .help = "notes"},
    {.name = "direction", .not_null = true, .allowed = kDirections, .help = "in (the contact reached out) or out"},
    {.name = "evaluation",
     .allowed = kEvaluations,
     .help = "very_positive, positive, neutral, negative or very_negative"},
    {.name = "attempt_failed", .type = CT::kBool, .not_null = true, .help = "true when the contact was not reached"},
    {.name = "cost", .type = CT::kDecimal, .minimum = 0, .help = "cost (local currency)"},
    {.name = "campaign_no", .reference = Reference::kCampaign, .help = "the campaign it belongs to"},
    {.name = "completed",
     .type = CT::kBool,
     .not_null = true,
     .help = "true once it took place (closes the Dataverse activity)"},
    kCreatedAt,
    kModifiedAt,
};

constexpr std::string_view kProbabilityCalculations[] = {"multiply", "add", "chances_of_success", "completed"};
constexpr std::string_view kCloseTypes[] = {"won", "lost"};
constexpr std::string_view kCampaignStatuses[] = {"planned", "active", "completed", "cancelled"};
constexpr std::string_view kCriterionActions[] = {"add", "remove", "refine"};
constexpr std::string_view kCriterionOperators[] = {"=", "!=", "like", "in"};

constexpr std::string_view kStageKey[] = {"sales_cycle_code", "stage"};
constexpr std::string_view kCriterionKey[] = {"segment_no", "line_no"};
constexpr std::string_view kMemberKey[] = {"segment_no", "contact_no"};
constexpr std::string_view kCampaignSegmentKey[] = {"campaign_no", "segment_no"};

constexpr ColumnSpec kSalesCycleColumns[] = {
    {.name = "code", .required = true, .not_null = true, .help = "sales cycle code, e.g. STANDARD"},
    {.name = "description", .required = true, .not_null = true, .help = "what the cycle is for"},
    {.name = "probability_calculation",
     .not_null = true,
     .allowed = kProbabilityCalculations,
     .help = "how a stage gives an opportunity its probability: multiply (default; chances x completed), add "
             "(their average), chances_of_success or completed"},
    {.name = "blocked", .type = CT::kBool, .not_null = true, .help = "true: new opportunities cannot use it"},
    kCreatedAt,
    kModifiedAt,
};

constexpr ColumnSpec kSalesCycleStageColumns[] = {
    {.name = "sales_cycle_code",
     .required = true,
     .not_null = true,
     .reference = Reference::kSalesCycle,
     .help = "the sales cycle"},
    {.name = "stage", .type = CT::kInteger, .not_null = true, .minimum = 1, .help = "stage number (default: last + 1)"},
    {.name = "description", .required = true, .not_null = true, .help = "what happens in the stage"},
    {.name = "completed_pct",
     .type = CT::kInteger,
     .not_null = true,
     .minimum = 0,
     .maximum = 100,
     .help = "how far an opportunity in this stage is, % (default 0)"},
    {.name = "chances_of_success_pct",
     .type = CT::kInteger,
     .not_null = true,
     .minimum = 0,
     .maximum = 100,
     .help = "chances of success of an opportunity in this stage, % (default 0)"},
    kCreatedAt,
    kModifiedAt,
};

constexpr ColumnSpec kCloseOpportunityCodeColumns[] = {
    {.name = "code", .required = true, .not_null = true, .help = "reason code, e.g. PRICE"},
    {.name = "description", .required = true, .not_null = true, .help = "the reason"},
    {.name = "type", .required = true, .not_null = true, .allowed = kCloseTypes, .help = "won or lost"},
    kCreatedAt,
    kModifiedAt,
};

constexpr ColumnSpec kCampaignColumns[] = {
    {.name = "no", .not_null = true, .help = "campaign number (default: next of the CAMPAIGN series)"},
    {.name = "description", .required = true, .not_null = true, .help = "what the campaign is"},
    {.name = "salesperson_code", .reference = Reference::kSalesperson, .help = "responsible salesperson"},
    {.name = "starting_date", .type = CT::kDate, .help = "first day, YYYY-MM-DD"},
    {.name = "ending_date", .type = CT::kDate, .help = "last day, YYYY-MM-DD (not before starting_date)"},
    {.name = "status",
     .not_null = true,
     .allowed = kCampaignStatuses,
     .help = "planned (default), active, completed or cancelled"},
    kCreatedAt,
    kModifiedAt,
};

constexpr ColumnSpec kSegmentColumns[] = {
    {.name = "no", .not_null = true, .help = "segment number (default: next of the SEGMENT series)"},
    {.name = "description", .required = true, .not_null = true, .help = "who the segment is"},
    {.name = "salesperson_code", .reference = Reference::kSalesperson, .help = "responsible salesperson"},
    {.name = "date", .type = CT::kDate, .not_null = true, .help = "date, YYYY-MM-DD (default: today, UTC)"},
    kCreatedAt,
    kModifiedAt,
};

constexpr ColumnSpec kSegmentCriterionColumns[] = {
    {.name = "segment_no", .required = true, .not_null = true, .reference = Reference::kSegment, .help = "the segment"},
    {.name = "line_no", .type = CT::kInteger, .not_null = true, .minimum = 1, .help = "order (default: last + 1)"},
    {.name = "step",
     .type = CT::kInteger,
     .required = true,
     .not_null = true,
     .minimum = 1,
     .help = "criteria of one step were given together and combine with AND"},
    {.name = "action",
     .required = true,
     .not_null = true,
     .allowed = kCriterionActions,
     .help = "add, remove or refine"},
    {.name = "column_name", .required = true, .not_null = true, .help = "the contact column compared"},
    {.name = "operator",
     .required = true,
     .not_null = true,
     .allowed = kCriterionOperators,
     .help = "=, !=, like or in"},
    {.name = "value", .not_null = true, .help = "the value; for 'in' the values separated by commas"},
    kCreatedAt,
    kModifiedAt,
};

constexpr ColumnSpec kSegmentMemberColumns[] = {
    {.name = "segment_no", .required = true, .not_null = true, .reference = Reference::kSegment, .help = "the segment"},
    {.name = "contact_no", .required = true, .not_null = true, .reference = Reference::kContact, .help = "the contact"},
    kCreatedAt,
    kModifiedAt,
};

constexpr ColumnSpec kCampaignSegmentColumns[] = {
    {.name = "campaign_no",
     .required = true,
     .not_null = true,
     .reference = Reference::kCampaign,
     .help = "the campaign"},
    {.name = "segment_no", .required = true, .not_null = true, .reference = Reference::kSegment, .help = "the segment"},
    kCreatedAt,
    kModifiedAt,
};

constexpr TableSpec kTables[] = {
    {Table::kContact, "contact", "contact", "contact", kNoKey, kContactColumns, "contact_nos", "contacts"},
    {Table::kSalesperson, "salesperson", "salesperson", "salesperson", kCodeKey, kSalespersonColumns, "salesperson_nos",
     "salespeople"},
    {Table::kOpportunity, "opportunity", "opportunity", "opportunity", kNoKey, kOpportunityColumns, "opportunity_nos",
     "opportunities"},
    {Table::kSalesOrder, "sales_order", "order", "sales order", kNoKey, kSalesOrderColumns, "sales_order_nos",
     "sales orders"},
    {Table::kSalesOrderLine, "sales_order_line", "order-line", "sales order line", kLineKey, kSalesOrderLineColumns, "",
     "sales order lines"},
    {Table::kInteractionTemplate, "interaction_template", "interaction-template", "interaction template", kCodeKey,
     kInteractionTemplateColumns, "", "interaction templates"},
    {Table::kInteraction, "interaction", "interaction", "interaction", kNoKey, kInteractionColumns, "interaction_nos",
     "interactions"},
    {Table::kSalesCycle, "sales_cycle", "sales-cycle", "sales cycle", kCodeKey, kSalesCycleColumns, "", "sales cycles"},
    {Table::kSalesCycleStage, "sales_cycle_stage", "sales-cycle-stage", "sales cycle stage", kStageKey,
     kSalesCycleStageColumns, "", "sales cycle stages"},
    {Table::kCloseOpportunityCode, "close_opportunity_code", "close-opportunity-code", "close opportunity code",
     kCodeKey, kCloseOpportunityCodeColumns, "", "close opportunity codes"},
    {Table::kCampaign, "campaign", "campaign", "campaign", kNoKey, kCampaignColumns, "campaign_nos", "campaigns"},
    {Table::kSegment, "segment", "segment", "segment", kNoKey, kSegmentColumns, "segment_nos", "segments"},
    {Table::kSegmentCriterion, "segment_criterion", "", "segment criterion", kCriterionKey, kSegmentCriterionColumns,
     "", "segment criteria"},
    {Table::kSegmentMember, "segment_member", "", "segment member", kMemberKey, kSegmentMemberColumns, "",
     "segment members"},
    {Table::kCampaignSegment, "campaign_segment", "", "campaign segment", kCampaignSegmentKey, kCampaignSegmentColumns,
     "", "campaign segments"},
};

std::string Quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// The value as a user typed or sent it, for messages.
std::string Shown(const Value& v) {
  return v.kind() == Value::Kind::kText ? Quoted(v.as_text()) : v.ToDisplayString();
}

bool IsValidDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  const int year = std::atoi(std::string(s.substr(0, 4)).c_str());
  const int month = std::atoi(std::string(s.substr(5, 2)).c_str());
  const int day = std::atoi(std::string(s.substr(8, 2)).c_str());
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int max_day = month == 2 && leap ? 29 : kDays[month - 1];
  return day <= max_day;
}

Status CheckRange(const ColumnSpec& column, const Value& number) {
  const double d = std::strtod(number.NumberText().c_str(), nullptr);
  const bool below = column.minimum && d < *column.minimum;
  const bool above = column.maximum && d > *column.maximum;
  if (!below && !above) return Status::Ok();
  std::string bound;
  if (column.minimum && column.maximum) {
    bound = "is not between " + Value::DecimalFromDouble(*column.minimum).NumberText() + " and " +
            Value::DecimalFromDouble(*column.maximum).NumberText();
  } else if (column.minimum) {
    bound = "is less than " + Value::DecimalFromDouble(*column.minimum).NumberText();
  } else {
    bound = "is more than " + Value::DecimalFromDouble(*column.maximum).NumberText();
  }
  return InvalidArgument(std::string(column.name) + " " + number.NumberText() + " " + bound);
}

Result<Value> ToInteger(const ColumnSpec& column, const Value& value) {
  const auto bad = [&] {
    return InvalidArgument(std::string(column.name) + " " + Shown(value) + " is not an integer");
  };
  switch (value.kind()) {
    case Value::Kind::kInteger: return value;
    case Value::Kind::kBool: return Value::Integer(value.as_bool() ? 1 : 0);
    case Value::Kind::kDecimal:
    case Value::Kind::kText: {
      const std::string text = value.kind() == Value::Kind::kText ? value.as_text() : value.as_decimal();
      auto canonical = CanonicalDecimal(text);
      if (!canonical || canonical->find('.') != std::string::npos) return bad();
      std::int64_t out = 0;
      auto [end, ec] = std::from_chars(canonical->data(), canonical->data() + canonical->size(), out);
      if (ec != std::errc() || end != canonical->data() + canonical->size()) return bad();
      return Value::Integer(out);
    }
    case Value::Kind::kNull: break;
  }
  return bad();
}

}  // namespace

std::span<const TableSpec> Tables() {
  return kTables;
}

const TableSpec& SpecOf(Table table) {
  for (const auto& t : kTables) {
    if (t.table == table) return t;
  }
  std::abort();  // every enumerator has a spec
}

const TableSpec* FindTable(std::string_view sql_name) {
  for (const auto& t : kTables) {
    if (t.name == sql_name) return &t;
  }
  return nullptr;
}

const TableSpec* FindTableByNoun(std::string_view noun) {
  if (noun.empty()) return nullptr;
  for (const auto& t : kTables) {
    if (t.noun == noun) return &t;
  }
  return nullptr;
}

const ColumnSpec* FindColumn(const TableSpec& spec, std::string_view name) {
  for (const auto& c : spec.columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

bool IsKeyColumn(const TableSpec& spec, std::string_view name) {
  for (const auto& k : spec.key_columns) {
    if (k == name) return true;
  }
  return false;
}

std::string JoinAllowed(const ColumnSpec& column) {
  std::string out;
  for (const auto& a : column.allowed) {
    if (!out.empty()) out += ", ";
    out += a;
  }
  return out;
}

Result<Value> CoerceValue(const ColumnSpec& column, const Value& value) {
  if (value.is_null()) return value;
  const std::string name(column.name);
  switch (column.type) {
    case ColumnType::kText:
    case ColumnType::kTimestamp: {
      Value text = value.kind() == Value::Kind::kText ? value : Value::Text(value.ToDisplayString());
      if (!column.allowed.empty()) {
        bool ok = false;
        for (const auto& a : column.allowed) ok = ok || a == text.as_text();
        if (!ok) return InvalidArgument(name + " " + Shown(value) + " is not one of " + JoinAllowed(column));
      }
      return text;
    }
    case ColumnType::kDate: {
      if (value.kind() != Value::Kind::kText || !IsValidDate(value.as_text())) {
        return InvalidArgument(name + " " + Shown(value) + " is not a date (YYYY-MM-DD)");
      }
      return value;
    }
    case ColumnType::kTime: {
      const bool ok = value.kind() == Value::Kind::kText && value.as_text().size() == 5 && value.as_text()[2] == ':' &&
                      value.as_text() >= "00:00" && value.as_text() < "24:00" &&
                      std::isdigit(static_cast<unsigned char>(value.as_text()[0])) &&
                      std::isdigit(static_cast<unsigned char>(value.as_text()[1])) && value.as_text()[3] >= '0' &&
                      value.as_text()[3] <= '5' && std::isdigit(static_cast<unsigned char>(value.as_text()[4]));
      if (!ok) return InvalidArgument(name + " " + Shown(value) + " is not a time of day (HH:MM)");
      return value;
    }
    case ColumnType::kBool: {
      if (value.kind() == Value::Kind::kBool) return value;
      if (value.is_number() && (value.NumberText() == "0" || value.NumberText() == "1")) {
        return Value::Bool(value.NumberText() == "1");
      }
      if (value.kind() == Value::Kind::kText) {
        const std::string& t = value.as_text();
        if (t == "true" || t == "1" || t == "yes") return Value::Bool(true);
        if (t == "false" || t == "0" || t == "no") return Value::Bool(false);
      }
      return InvalidArgument(name + " " + Shown(value) + " is not true or false");
    }
    case ColumnType::kInteger: {
      CRMSYNC_ASSIGN_OR_RETURN(Value out, ToInteger(column, value));
      CRMSYNC_RETURN_IF_ERROR(CheckRange(column, out));
      return out;
    }
    case ColumnType::kDecimal: {
      std::optional<Value> out;
      if (value.is_number()) {
        out = value;
      } else if (value.kind() == Value::Kind::kText) {
        out = Value::Decimal(value.as_text());
      }
      if (!out) return InvalidArgument(name + " " + Shown(value) + " is not a number");
      CRMSYNC_RETURN_IF_ERROR(CheckRange(column, *out));
      return *out;
    }
  }
  return Internal("unknown column type");
}

Result<Value> ParseFieldText(const ColumnSpec& column, std::string_view text) {
  if (text.empty()) return Value::Null();
  return CoerceValue(column, Value::Text(std::string(text)));
}

Result<std::vector<Value>> DecodeKey(const TableSpec& spec, std::string_view key) {
  const auto bad = [&](const std::string& why) {
    return InvalidArgument(std::string(spec.label) + " key '" + std::string(key) + "' " + why);
  };
  if (spec.key_columns.size() == 1) {
    if (key.empty()) return bad("is empty");
    return std::vector<Value>{Value::Text(std::string(key))};
  }
  nlohmann::json parsed = nlohmann::json::parse(key, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array() || parsed.size() != spec.key_columns.size()) {
    return bad("is not a JSON array of " + std::to_string(spec.key_columns.size()) +
               " values, e.g. [\"SO000001\",10000]");
  }
  std::vector<Value> parts;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    const ColumnSpec* column = FindColumn(spec, spec.key_columns[i]);
    Value raw;
    if (parsed[i].is_string()) {
      raw = Value::Text(parsed[i].get<std::string>());
    } else if (parsed[i].is_number_integer()) {
      raw = Value::Integer(parsed[i].get<std::int64_t>());
    } else {
      return bad("has a part that is neither text nor an integer");
    }
    auto coerced = CoerceValue(*column, raw);
    if (!coerced.ok()) return bad("is invalid: " + coerced.status().message());
    if (coerced->is_null() || (coerced->kind() == Value::Kind::kText && coerced->as_text().empty())) {
      return bad("has an empty part");
    }
    parts.push_back(std::move(coerced).value());
  }
  return parts;
}

std::string EncodeKey(const TableSpec& spec, const std::vector<Value>& parts) {
  if (spec.key_columns.size() == 1) return parts.empty() ? std::string() : parts[0].ToDisplayString();
  nlohmann::json array = nlohmann::json::array();
  for (const auto& p : parts) {
    if (p.kind() == Value::Kind::kInteger) {
      array.push_back(p.as_integer());
    } else {
      array.push_back(p.ToDisplayString());
    }
  }
  return array.dump();  // compact, like SQLite's json_array: ["SO000001",10000]
}

std::string KeyOfRecord(const TableSpec& spec, const Record& row) {
  std::vector<Value> parts;
  for (const auto& k : spec.key_columns) {
    auto it = row.find(k);
    parts.push_back(it == row.end() ? Value() : it->second);
  }
  return EncodeKey(spec, parts);
}

}  // namespace crmsync::crm
