// The mapper: pure functions from a record of one side to the mapped record
// of the other side, per the fields of one Mapping (design.md section 2,
// step 2). No I/O: lookups go through the injected CouplingResolver.
//
// Only fields whose direction applies are mapped; a field whose source value
// is absent from the input record is left out, so a partial record maps to a
// partial record. Problems are reported per field and never stop the other
// fields: the engine decides what to do with the record (quarantine it on a
// failure, park it on kWaitingForParent).
//
// To Dataverse, a lookup becomes "<nav>@odata.bind": "/<entity_set>(<guid>)"
// (null clears it). From Dataverse, the mapper reads "_<attr>_value" and, when
// present, its "@Microsoft.Dynamics.CRM.lookuplogicalname" annotation to pick
// the target of a polymorphic lookup (customer = account or contact).
//
// Thread-safety: stateless; safe to call concurrently with distinct resolvers
// (or one that is itself thread-safe).
#pragma once

#include <string>
#include <vector>

#include "common/value.h"
#include "mapping/coupling_resolver.h"
#include "mapping/mapping.h"

namespace crmsync::mapping {

struct FieldIssue {
  enum class Kind {
    kTooLong,           // text longer than max_length (and not truncate)
    kUnmappedValue,     // a value the value map has no entry for (unmapped: error)
    kWaitingForParent,  // a lookup whose parent is not coupled yet: park, do not fail
    kBadValue,          // a value of the wrong type or format
    kNotApplicable,     // a lookup pointing at a kind of record this field cannot hold; the field is left out
  };
  std::string field;  // the field's Name(): local column, else remote attribute
  Kind kind = Kind::kBadValue;
  std::string message;
};

std::string_view FieldIssueKindName(FieldIssue::Kind kind);

struct MappedRecord {
  Record fields;
  std::vector<FieldIssue> issues;
  // Not ok when the CouplingResolver failed (the state store could not be
  // read): then `fields` and `issues` are incomplete, the record is neither
  // failed nor waiting, and the engine stops the pass with this Status.
  Status status;

  // True when some field failed (kTooLong, kUnmappedValue, kBadValue): quarantine.
  bool failed() const;
  // True when some lookup waits for its parent (and nothing failed): park.
  bool waiting_for_parent() const;
  // Mapped completely, neither failed nor waiting: the record can be written.
  bool ok() const { return status.ok() && !failed() && !waiting_for_parent(); }
};

// Maps a local row (column -> value) to Dataverse attributes.
MappedRecord MapToRemote(const Mapping& mapping, const Record& local_row, CouplingResolver& resolver);

// Maps a Dataverse record (attribute -> value, annotations included as read)
// to local columns, adding local.filter's columns (type = 'company' for
// records from accounts). `current_local`, when the record is coupled, lets a
// many-to-one value map keep the current local value (see ValueMap).
MappedRecord MapToLocal(const Mapping& mapping, const Record& remote_record, CouplingResolver& resolver,
                        const Record* current_local = nullptr);

}  // namespace crmsync::mapping
