// The local CRM store's tables as code sees them: columns, types,
// enumerations, ranges, references and keys of the data tables (contact,
// salesperson, opportunity, sales_order, sales_order_line,
// interaction_template, interaction, sales_cycle, sales_cycle_stage,
// close_opportunity_code, campaign, segment, segment_criterion,
// segment_member, campaign_segment).
//
// The SQL in crm/migrations/ is the truth the database enforces (other
// programs write the tables directly); this description is what crmsync
// validates against before writing, so users get a message naming the
// field and value instead of "CHECK constraint failed". Keep the two in step
// (MigrationsTest.SchemaDescriptionMatchesTheDatabase compares them).
//
// Keys follow connectors/connector.h: the key column as text, or for
// sales_order_line the JSON array ["SO000001",10000].
//
// Thread-safety: everything here is immutable static data or pure functions.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/value.h"

namespace crmsync::crm {

enum class Table {
  kContact,
  kSalesperson,
  kOpportunity,
  kSalesOrder,
  kSalesOrderLine,
  kInteractionTemplate,
  kInteraction,
  kSalesCycle,
  kSalesCycleStage,
  kCloseOpportunityCode,
  kCampaign,
  kSegment,
  kSegmentCriterion,
  kSegmentMember,
  kCampaignSegment,
};

enum class ColumnType {
  kText,
  kInteger,
  kDecimal,    // NUMERIC: amounts, quantities
  kBool,       // INTEGER 0/1
  kDate,       // TEXT YYYY-MM-DD
  kTime,       // TEXT HH:MM (24 hours)
  kTimestamp,  // TEXT UTC ISO 8601, maintained by triggers
};

// What a column refers to; kCompany is a contact whose type is company.
enum class Reference {
  kNone,
  kContact,
  kCompany,
  kSalesperson,
  kOpportunity,
  kSalesOrder,
  kInteractionTemplate,
  kSalesCycle,
  kCloseOpportunityCode,
  kCampaign,
  kSegment,
};

struct ColumnSpec {
  std::string_view name{};
  ColumnType type = ColumnType::kText;
  // A create must give a value (NOT NULL without a default or derivation).
  bool required = false;
  // NOT NULL in the schema (possibly with a default).
  bool not_null = false;
  // Maintained by the store (created_at, modified_at): never written by callers.
  bool read_only = false;
  std::span<const std::string_view> allowed{};  // enumeration; empty = any value
  std::optional<double> minimum{};
  std::optional<double> maximum{};
  Reference reference = Reference::kNone;
  std::string_view help{};
};

struct TableSpec {
  Table table;
  std::string_view name;  // SQL table name
  // CLI noun: contact, salesperson, opportunity, order, order-line, ...; "" =
  // no generic verbs (link tables written through their owner's verbs).
  std::string_view noun;
  std::string_view label;  // for messages: "contact", "sales order", ...
  std::span<const std::string_view> key_columns;
  std::span<const ColumnSpec> columns;  // in table order, keys included
  // setup key naming the number series of new keys; "" = keys are given by hand.
  std::string_view series_setup_key;
  std::string_view plural;  // for messages and help: "contacts", "salespeople", ...
};

std::span<const TableSpec> Tables();
const TableSpec& SpecOf(Table table);
const TableSpec* FindTable(std::string_view sql_name);
const TableSpec* FindTableByNoun(std::string_view noun);
const ColumnSpec* FindColumn(const TableSpec& spec, std::string_view name);
bool IsKeyColumn(const TableSpec& spec, std::string_view name);

// "done" -> "not_started, in_progress, won, lost" for messages.
std::string JoinAllowed(const ColumnSpec& column);

// Converts `value` to what `column` stores, or kInvalidArgument naming the
// column and value ("status 'done' is not one of not_started, ..."). Null
// stays null (NOT NULL is checked by the caller, who knows create vs update).
Result<Value> CoerceValue(const ColumnSpec& column, const Value& value);

// The same for text typed by a user (CLI option, CSV cell): "" is null.
Result<Value> ParseFieldText(const ColumnSpec& column, std::string_view text);

// Key text <-> the values of spec.key_columns.
Result<std::vector<Value>> DecodeKey(const TableSpec& spec, std::string_view key);
std::string EncodeKey(const TableSpec& spec, const std::vector<Value>& parts);
// The key of a row holding at least the key columns.
std::string KeyOfRecord(const TableSpec& spec, const Record& row);

}  // namespace crmsync::crm
