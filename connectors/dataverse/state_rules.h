// StateRules: what crmsync knows about how Dataverse wants a record's state
// changed, kept in this one file so the rest of the connector stays generic.
//
// A WriteOp is planned as the ordered requests ("steps") that carry it out.
// Without a rule that is one step of the op's own kind. With more than one
// step the connector sends them, in order, as one change set (atomic), and
// the op's single WriteResult reflects the whole.
//
// Opportunities (dataverse-web-api.md 3 and 6.6): Dataverse refuses a PATCH
// that closes an opportunity, refuses statecode/statuscode on create, and
// keeps won and lost opportunities read-only until reopened. An op whose
// fields carry statecode and/or statuscode is therefore planned as:
//   - create:  POST of the other fields; then PATCH {"statecode":0,
//              "statuscode":S} for an open status other than the default 1,
//              or WinOpportunity / LoseOpportunity to close;
//   - update, target open:   PATCH {"statecode":0,"statuscode":S} first (it
//              reopens a closed opportunity, and only sets the status of an
//              open one), then PATCH of the other fields;
//   - update, target closed: PATCH of the other fields (or, when the op
//              carries an expected version and nothing else, an empty PATCH
//              that checks it: R3), then WinOpportunity (Status 3) or
//              LoseOpportunity (Status 4 or 5) with an OpportunityClose whose
//              opportunityid@odata.bind is the record;
//   - upsert:  the upsert PATCH of the other fields, then the state step as
//              for a create (a closed opportunity that already exists stays
//              read-only: Dataverse's refusal comes back as the op's error).
// statecode alone implies its default status (0 -> 1, 1 -> 3, 2 -> 4);
// statuscode alone implies its state. A combination Dataverse does not have
// is kInvalidArgument before anything is sent.
//
// Activities (phonecalls, appointments, emails, letters) and campaigns: the
// state is set by a PATCH {"statecode":S,"statuscode":R} of its own (the
// Web API's SetState), never on create, and a closed record (an activity
// Completed or Canceled, an Inactive campaign) is read-only until reopened:
//   - create:  POST of the other fields; then the state PATCH unless the
//              target is the state a new record has with its first status
//              reason (activities Open/1, appointments Scheduled/Busy 5,
//              campaigns Active/Proposed 0);
//   - upsert:  the upsert PATCH, then the state PATCH;
//   - update, target open:   the state PATCH first (it reopens), then the
//              other fields;
//   - update, target closed: the other fields first, then the state PATCH
//              that closes it.
// Status reasons per state are those tests/emulator/README.md lists with
// their Microsoft pages; statecode alone implies its first status reason,
// statuscode alone its state; a pair of another state is kInvalidArgument.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "connectors/connector.h"

namespace crmsync::dataverse {

struct WriteStep {
  enum class Kind { kCreate, kUpdate, kUpsert, kDelete, kAction };
  Kind kind = Kind::kUpdate;
  Record fields;       // kCreate / kUpdate / kUpsert: the body
  std::string action;  // kAction: the unbound action ("WinOpportunity")
  std::string body;    // kAction: its JSON body
};

// The steps of `op` on `entity_set`; `op.key` is the record's canonical GUID.
Result<std::vector<WriteStep>> PlanWrite(std::string_view entity_set, const connectors::WriteOp& op);

}  // namespace crmsync::dataverse
