#include "connectors/dataverse/state_rules.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

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

// statecode or statuscode of a `table` record ("opportunity", "phone call"), when the op sets it.
Result<std::optional<int>> StateField(const Record& fields, std::string_view name, std::string_view table) {
  const auto it = fields.find(name);
  if (it == fields.end()) return std::optional<int>();
  if (it->second.kind() != Value::Kind::kInteger) {
    return InvalidArgument(std::string(table) + " " + std::string(name) + " must be an integer, not '" +
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

WriteStep SetState(int state, int status) {
  return Fields(WriteStep::Kind::kUpdate,
                {{"statecode", Value::Integer(state)}, {"statuscode", Value::Integer(status)}});
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
  CRMSYNC_ASSIGN_OR_RETURN(std::optional<int> state, StateField(op.fields, "statecode", "opportunity"));
  CRMSYNC_ASSIGN_OR_RETURN(std::optional<int> status, StateField(op.fields, "statuscode", "opportunity"));
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
        steps.push_back(SetState(kOpen, target_status));
      }
      break;
    case WriteOp::Kind::kUpdate:
      if (!closing) {
        steps.push_back(SetState(kOpen, target_status));  // reopens a closed opportunity
        if (!other.empty()) steps.push_back(Fields(WriteStep::Kind::kUpdate, std::move(other)));
      } else {
        if (!other.empty() || !op.expected_version.empty()) {
          steps.push_back(Fields(WriteStep::Kind::kUpdate, std::move(other)));
        }
        steps.push_back(CloseAction(op.key, target_state, target_status));
      }
      break;
    case WriteOp::Kind::kDelete:
    case WriteOp::Kind::kAssociate:
    case WriteOp::Kind::kDisassociate: return std::vector<WriteStep>();
  }
  return steps;
}

// Tables whose state Dataverse sets only after the create and that are
// read-only while closed (activities, campaigns): a status reason belongs to
// exactly one state; the first listed of a state is its default.
struct StateModel {
  std::string_view entity_set;
  std::string_view table;                     // for messages
  int create_state;                           // the state a new record has
  std::vector<std::pair<int, int>> statuses;  // (statuscode, statecode)
  std::vector<int> closed_states;             // read-only while in them
};

// Status reasons per state (tests/emulator/README.md "Activities, marketing
// lists and campaigns" names the Microsoft pages; their current values are
// unconfirmed there).
const std::vector<StateModel>& StateModels() {
  static const auto* const kModels = new std::vector<StateModel>{
      // Open 0: Open 1; Completed 1: Made 2, Received 4; Canceled 2: Canceled 3.
      {"phonecalls", "phone call", 0, {{1, 0}, {2, 1}, {4, 1}, {3, 2}}, {1, 2}},
      // Open 0: Open 1, Draft 2; Completed 1: Received 3, Sent 4; Canceled 2: Canceled 5.
      {"letters", "letter", 0, {{1, 0}, {2, 0}, {3, 1}, {4, 1}, {5, 2}}, {1, 2}},
      // Open 0: Draft 1, Failed 8; Completed 1: Completed 2, Sent 3, Received 4,
      // Pending Send 6, Sending 7; Canceled 2: Canceled 5.
      {"emails", "e-mail", 0, {{1, 0}, {8, 0}, {2, 1}, {3, 1}, {4, 1}, {6, 1}, {7, 1}, {5, 2}}, {1, 2}},
      // Open 0: Free 1, Tentative 2; Completed 1: 3; Canceled 2: 4; Scheduled 3:
      // Busy 5, Out of Office 6. New appointments are Scheduled.
      {"appointments", "appointment", 3, {{1, 0}, {2, 0}, {3, 1}, {4, 2}, {5, 3}, {6, 3}}, {1, 2}},
      // Active 0: Proposed 0, Ready To Launch 1, Launched 2, Completed 3,
      // Canceled 4, Suspended 5; Inactive 1: Inactive 6.
      {"campaigns", "campaign", 0, {{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}, {6, 1}}, {1}},
  };
  return *kModels;
}

const StateModel* StateModelOf(std::string_view entity_set) {
  for (const auto& m : StateModels()) {
    if (m.entity_set == entity_set) return &m;
  }
  return nullptr;
}

std::optional<int> StateOfStatus(const StateModel& m, int status) {
  for (const auto& [code, state] : m.statuses) {
    if (code == status) return state;
  }
  return std::nullopt;
}

std::optional<int> DefaultStatusOf(const StateModel& m, int state) {
  for (const auto& [code, of] : m.statuses) {
    if (of == state) return code;
  }
  return std::nullopt;
}

Result<std::vector<WriteStep>> PlanStateAfterCreate(const StateModel& m, const WriteOp& op) {
  CRMSYNC_ASSIGN_OR_RETURN(std::optional<int> state, StateField(op.fields, "statecode", m.table));
  CRMSYNC_ASSIGN_OR_RETURN(std::optional<int> status, StateField(op.fields, "statuscode", m.table));
  if (!state && !status) return std::vector<WriteStep>();  // no rule applies
  if (state && !DefaultStatusOf(m, *state)) {
    return InvalidArgument(std::string(m.table) + " statecode " + std::to_string(*state) + " does not exist");
  }
  if (status && !StateOfStatus(m, *status)) {
    return InvalidArgument(std::string(m.table) + " statuscode " + std::to_string(*status) + " does not exist");
  }
  const int target_state = state ? *state : *StateOfStatus(m, *status);
  const int target_status = status ? *status : *DefaultStatusOf(m, target_state);
  if (*StateOfStatus(m, target_status) != target_state) {
    return InvalidArgument(std::string(m.table) + " statuscode " + std::to_string(target_status) +
                           " does not belong to statecode " + std::to_string(target_state));
  }
  Record other = op.fields;
  other.erase("statecode");
  other.erase("statuscode");
  const bool closing = std::find(m.closed_states.begin(), m.closed_states.end(), target_state) != m.closed_states.end();
  std::vector<WriteStep> steps;
  switch (op.kind) {
    case WriteOp::Kind::kCreate:
    case WriteOp::Kind::kUpsert:
      steps.push_back(Fields(op.kind == WriteOp::Kind::kCreate ? WriteStep::Kind::kCreate : WriteStep::Kind::kUpsert,
                             std::move(other)));
      // A new record is in its create state with that state's first reason.
      if (op.kind == WriteOp::Kind::kUpsert || target_state != m.create_state ||
          target_status != *DefaultStatusOf(m, m.create_state)) {
        steps.push_back(SetState(target_state, target_status));
      }
      break;
    case WriteOp::Kind::kUpdate:
      if (!closing) {
        steps.push_back(SetState(target_state, target_status));  // reopens a closed record first
        if (!other.empty()) steps.push_back(Fields(WriteStep::Kind::kUpdate, std::move(other)));
      } else {
        if (!other.empty()) steps.push_back(Fields(WriteStep::Kind::kUpdate, std::move(other)));
        steps.push_back(SetState(target_state, target_status));  // closes it last
      }
      break;
    case WriteOp::Kind::kDelete:
    case WriteOp::Kind::kAssociate:
    case WriteOp::Kind::kDisassociate: return std::vector<WriteStep>();
  }
  return steps;
}

WriteStep::Kind OwnKind(WriteOp::Kind kind) {
  switch (kind) {
    case WriteOp::Kind::kCreate: return WriteStep::Kind::kCreate;
    case WriteOp::Kind::kUpdate: return WriteStep::Kind::kUpdate;
    case WriteOp::Kind::kUpsert: return WriteStep::Kind::kUpsert;
    case WriteOp::Kind::kDelete: return WriteStep::Kind::kDelete;
    case WriteOp::Kind::kAssociate:
    case WriteOp::Kind::kDisassociate: break;  // links are not records (DataverseConnector::PrepareLink)
  }
  return WriteStep::Kind::kUpdate;
}

}  // namespace

Result<std::vector<WriteStep>> PlanWrite(std::string_view entity_set, const WriteOp& op) {
  std::vector<WriteStep> steps;
  if (entity_set == "opportunities") {
    CRMSYNC_ASSIGN_OR_RETURN(steps, PlanOpportunity(op));
  } else if (const StateModel* model = StateModelOf(entity_set)) {
    CRMSYNC_ASSIGN_OR_RETURN(steps, PlanStateAfterCreate(*model, op));
  }
  if (steps.empty())
    steps.push_back(Fields(OwnKind(op.kind), op.kind == WriteOp::Kind::kDelete ? Record{} : op.fields));
  return steps;
}

}  // namespace crmsync::dataverse
