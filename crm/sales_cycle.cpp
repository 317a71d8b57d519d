#include "crm/sales_cycle.h"

#include <cmath>

#include "crm/rows.h"
#include "crm/schema.h"

namespace crmsync::crm {

namespace {

std::string Quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

struct OpportunityState {
  std::string status;
  std::optional<std::string> cycle;
};

Result<OpportunityState> ReadOpportunity(SqliteDb& db, std::string_view no) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT status, sales_cycle_code FROM opportunity WHERE no = ?"));
  st.Bind(1, no);
  CRMSYNC_ASSIGN_OR_RETURN(bool found, st.Step());
  if (!found) return NotFound("opportunity " + Quoted(no) + " does not exist");
  OpportunityState out;
  out.status = st.ColumnText(0);
  if (!st.IsNull(1)) out.cycle = st.ColumnText(1);
  return out;
}

Status CheckOpen(std::string_view field, std::string_view no, const OpportunityState& o) {
  if (o.status == "won" || o.status == "lost") {
    return InvalidArgument(std::string(field) + ": opportunity " + Quoted(no) + " is already " + o.status);
  }
  return Status::Ok();
}

}  // namespace

int Probability(std::string_view calculation, int chances, int completed) {
  double p = 0;
  if (calculation == "add") {
    p = (chances + completed) / 2.0;
  } else if (calculation == "chances_of_success") {
    p = chances;
  } else if (calculation == "completed") {
    p = completed;
  } else {  // multiply, the default
    p = chances * completed / 100.0;
  }
  return static_cast<int>(std::lround(p));
}

Result<std::optional<StageInfo>> ReadStage(StatementCache& statements, std::string_view cycle, std::int64_t stage) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st,
                           statements.Get("SELECT s.completed_pct, s.chances_of_success_pct, c.probability_calculation "
                                          "FROM sales_cycle_stage s JOIN sales_cycle c ON c.code = s.sales_cycle_code "
                                          "WHERE s.sales_cycle_code = ? AND s.stage = ?"));
  st->Bind(1, cycle);
  st->Bind(2, Value::Integer(stage));
  CRMSYNC_ASSIGN_OR_RETURN(bool found, st->Step());
  if (!found) return std::optional<StageInfo>();
  return std::optional<StageInfo>(
      StageInfo{static_cast<int>(st->ColumnInt(0)), static_cast<int>(st->ColumnInt(1)), st->ColumnText(2)});
}

Status SetOpportunityStage(SqliteDb& db, std::string_view no, std::int64_t stage) {
  CRMSYNC_ASSIGN_OR_RETURN(OpportunityState o, ReadOpportunity(db, no));
  CRMSYNC_RETURN_IF_ERROR(CheckOpen("stage", no, o));
  if (!o.cycle) {
    return InvalidArgument("stage: opportunity " + Quoted(no) +
                           " has no sales_cycle_code; give it one (--sales-cycle-code) first");
  }
  StatementCache statements(db);
  CRMSYNC_ASSIGN_OR_RETURN(auto info, ReadStage(statements, *o.cycle, stage));
  if (!info) {
    return InvalidArgument("stage: sales cycle " + Quoted(*o.cycle) + " has no stage " + std::to_string(stage));
  }
  Record fields = {{"current_stage", Value::Integer(stage)},
                   {"completed_pct", Value::Integer(info->completed_pct)},
                   {"probability",
                    Value::Integer(Probability(info->calculation, info->chances_of_success_pct, info->completed_pct))}};
  if (o.status == "not_started") fields["status"] = Value::Text("in_progress");
  return UpdateRow(statements, SpecOf(Table::kOpportunity), no, fields).status();
}

Status CloseOpportunity(SqliteDb& db, std::string_view no, bool won, std::string_view reason, std::string_view date) {
  CRMSYNC_ASSIGN_OR_RETURN(OpportunityState o, ReadOpportunity(db, no));
  CRMSYNC_RETURN_IF_ERROR(CheckOpen("status", no, o));
  if (reason.empty()) return InvalidArgument("reason: a close opportunity code is required");
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT type FROM close_opportunity_code WHERE code = ?"));
  st.Bind(1, reason);
  CRMSYNC_ASSIGN_OR_RETURN(bool found, st.Step());
  if (!found) return InvalidArgument("reason: close opportunity code " + Quoted(reason) + " does not exist");
  const std::string type = st.ColumnText(0);
  const std::string wanted = won ? "won" : "lost";
  if (type != wanted) {
    return InvalidArgument("reason: close opportunity code " + Quoted(reason) + " is for " + type +
                           " opportunities, not " + wanted + " ones");
  }
  Record fields = {{"status", Value::Text(wanted)},
                   {"close_opportunity_code", Value::Text(std::string(reason))},
                   {"probability", Value::Integer(won ? 100 : 0)},
                   {"completed_pct", Value::Integer(100)}};
  if (date.empty()) {
    CRMSYNC_ASSIGN_OR_RETURN(auto today, db.Prepare("SELECT date('now')"));
    CRMSYNC_ASSIGN_OR_RETURN(bool row, today.Step());
    if (!row) return Internal("date('now') returned no row");
    fields["date_closed"] = Value::Text(today.ColumnText(0));
  } else {
    fields["date_closed"] = Value::Text(std::string(date));
  }
  return UpdateRow(db, SpecOf(Table::kOpportunity), no, fields).status();
}

}  // namespace crmsync::crm
