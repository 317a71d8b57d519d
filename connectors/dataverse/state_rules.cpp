#include "connectors/dataverse/state_rules.h"

#include <optional>

#include <nlohmann/json.hpp>

namespace crmsync::dataverse {

using connectors::WriteOp;

namespace {

constexpr int kOpen = 0;
constexpr int kWon = 1;
constexpr int kLost = 2;

// opportunity statuscode -> statecode (dataverse-web-api.md 3).
std::optional<int> OpportunityStateOf(int status) {
  switch (status) {
    case 1:
    case 2: return kOpen;
    case 3: return kWon;
    case 4:
    case 5: return kLost;
    default: return std::nullopt;
  }
}

int OpportunityDefaultStatus(int state) {
  return state == kWon ? 3 : state == kLost ? 4 : 1;
}

Result<std::optional<int>> IntegerField(const Record& fields, std::string_view name) {
  const auto it = fields.find(name);
  if (it == fields.end()) return std::optional<int>();
  if (it->second.kind() != Value::Kind::kInteger) {
    return InvalidArgument("opportunity " + std::string(name) + " must be an integer, not '" +
                           it->second.ToDisplayString() + "'");
  }
  return std::optional<int>(static_cast<int>(it->second.as_integer()));
}

WriteStep Fields(WriteStep::Kind kind, Record fields) {
  WriteStep s;
  s.kind = kind;
  s.fields = std::move(fields);
  return s;
}

WriteStep SetOpenStatus(int status) {
  return Fields(WriteStep::Kind::kUpdate,
                {{"statecode", Value::Integer(kOpen)}, {"statuscode", Value::Integer(status)}});
}

WriteStep CloseAction(const std::string& id, int state, int status) {
  WriteStep s;
  s.kind = WriteStep::Kind::kAction;
  s.action = state == kWon ? "WinOpportunity" : "LoseOpportunity";
  const nlohmann::json body = {{"Status", status},
                               {"OpportunityClose",
                                {{"subject", state == kWon ? "Opportunity won" : "Opportunity lost"},
                                 {"opportunityid@odata.bind", "/opportunities(" + id + ")"}}}};
  s.body = body.dump();
  return s;
}

Result<std::vector<WriteStep>> PlanOpportunity(const WriteOp& op) {
  CRMSYNC_ASSIGN_OR_RETURN(std::optional<int> state, IntegerField(op.fields, "statecode"));
  CRMSYNC_ASSIGN_OR_RETURN(std::optional<int> status, IntegerField(op.fields, "statuscode"));
  if (!state && !status) return std::vector<WriteStep>();  // no rule applies
  if (state && *state != kOpen && *state != kWon && *state != kLost) {
    return InvalidArgument("opportunity statecode " + std::to_string(*state) +
                           " does not exist (0 open, 1 won, 2 lost)");
  }
  if (status && !OpportunityStateOf(*status)) {
    return InvalidArgument("opportunity statuscode " + std::to_string(*status) + " does not exist");
  }
  const int target_state = state ? *state : *OpportunityStateOf(*status);
  const int target_status = status ? *status : OpportunityDefaultStatus(target_state);
  if (*OpportunityStateOf(target_status) != target_state) {
    return InvalidArgument("opportunity statuscode " + std::to_string(target_status) +
                           " does not belong to statecode " + std::to_string(target_state));
  }
  Record other = op.fields;
  other.erase("statecode");
  other.erase("statuscode");
  const bool closing = target_state != kOpen;
  std::vector<WriteStep> steps;
  switch (op.kind) {
    case WriteOp::Kind::kCreate:
    case WriteOp::Kind::kUpsert:
      steps.push_back(Fields(op.kind == WriteOp::Kind::kCreate ? WriteStep::Kind::kCreate : WriteStep::Kind::kUpsert,
                             std::move(other)));
      if (closing) {
        steps.push_back(CloseAction(op.key, target_state, target_status));
      } else if (op.kind == WriteOp::Kind::kUpsert || target_status != OpportunityDefaultStatus(kOpen)) {
        steps.push_back(SetOpenStatus(target_status));
      }
      break;
    case WriteOp::Kind::kUpdate:
      if (!closing) {
        steps.push_back(SetOpenStatus(target_status));  // reopens a closed opportunity
        if (!other.empty()) steps.push_back(Fields(WriteStep::Kind::kUpdate, std::move(other)));
      } else {
        if (!other.empty() || !op.expected_version.empty()) {
          steps.push_back(Fields(WriteStep::Kind::kUpdate, std::move(other)));
        }
        steps.push_back(CloseAction(op.key, target_state, target_status));
      }
      break;
    case WriteOp::Kind::kDelete: return std::vector<WriteStep>();
  }
  return steps;
}

WriteStep::Kind OwnKind(WriteOp::Kind kind) {
  switch (kind) {
    case WriteOp::Kind::kCreate: return WriteStep::Kind::kCreate;
    case WriteOp::Kind::kUpdate: return WriteStep::Kind::kUpdate;
    case WriteOp::Kind::kUpsert: return WriteStep::Kind::kUpsert;
    case WriteOp::Kind::kDelete: return WriteStep::Kind::kDelete;
  }
  return WriteStep::Kind::kUpdate;
}

}  // namespace

Result<std::vector<WriteStep>> PlanWrite(std::string_view entity_set, const WriteOp& op) {
  std::vector<WriteStep> steps;
  if (entity_set == "opportunities") {
    CRMSYNC_ASSIGN_OR_RETURN(steps, PlanOpportunity(op));
  }
  if (steps.empty())
    steps.push_back(Fields(OwnKind(op.kind), op.kind == WriteOp::Kind::kDelete ? Record{} : op.fields));
  return steps;
}

}  // namespace crmsync::dataverse
