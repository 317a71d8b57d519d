// Sales cycles: the stages an opportunity goes through and how its stage
// gives it a probability; moving an opportunity to a stage, and closing it
// as won or lost with a reason (table close_opportunity_code).
//
// Probability follows Business Central's Relationship Management: from the
// stage's chances of success C% and completed P%, a cycle whose
// probability_calculation is `multiply` gives C * P / 100, `add` (C + P) / 2,
// `chances_of_success` C and `completed` P (rounded to an integer).
//
// Opportunity status keeps its values (not_started, in_progress, won, lost):
// a default mapping turns them into Dataverse's statecode.
//
// Errors: kNotFound when the opportunity does not exist; kInvalidArgument
// naming the field ("stage: ...", "reason: ...") when the change is not
// allowed. Call inside the caller's write transaction (crm::Store::
// InTransaction); a failed call writes nothing.
//
// Thread-safety: free functions over the caller's connection.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/sqlite.h"
#include "crm/statement_cache.h"

namespace crmsync::crm {

// Pure: the probability of an opportunity at a stage, in %.
int Probability(std::string_view calculation, int chances_of_success_pct, int completed_pct);

struct StageInfo {
  int completed_pct = 0;
  int chances_of_success_pct = 0;
  std::string calculation;  // the cycle's probability_calculation
};

// Stage `stage` of sales cycle `cycle`, or nullopt when there is none.
Result<std::optional<StageInfo>> ReadStage(StatementCache& statements, std::string_view cycle, std::int64_t stage);

// Moves an open opportunity to `stage` of its sales cycle: current_stage,
// completed_pct and probability follow the stage, and a not_started
// opportunity becomes in_progress.
Status SetOpportunityStage(SqliteDb& db, std::string_view opportunity_no, std::int64_t stage);

// Closes an open opportunity as won or lost for `reason` (a
// close_opportunity_code of the same type) on `date` (YYYY-MM-DD; empty =
// today, UTC): status, close_opportunity_code, date_closed, probability (100
// or 0) and completed_pct (100).
Status CloseOpportunity(SqliteDb& db, std::string_view opportunity_no, bool won, std::string_view reason,
                        std::string_view date = {});

}  // namespace crmsync::crm
