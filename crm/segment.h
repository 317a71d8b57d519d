// Segments: contacts chosen by criteria (Business Central's "Add Contacts",
// "Reduce Contacts" and "Refine Contacts"), kept with the segment so they can
// be run again.
//
// A step is one or more criteria over contact columns, combined with AND.
// Its action adds the matching contacts to the members, removes them, or
// keeps only the members that match (refine). Every step is saved in
// segment_criterion (rows of one step share its number); `ReapplySegment`
// starts from no members and runs the saved steps in order, so members
// follow the contacts' current values. Membership rows (segment_member) are
// inserted and deleted only where they change, so the journal records each
// change once and a sync pass can carry them incrementally.
//
// Criteria are text typed by users: "city=Paris", "city!=Paris",
// "type in person,company", "name like A%". The column must be a column of
// table contact (checked against crm/schema.h, then quoted as an
// identifier); values are bound parameters, never SQL text. `!=` also
// matches contacts without a value; `like` is SQLite's LIKE (% and _,
// case-insensitive for ASCII); `in` takes values separated by commas.
//
// Errors: kNotFound when the segment does not exist; kInvalidArgument
// naming the criterion and what is wrong. Functions that write run inside
// the caller's write transaction (crm::Store::InTransaction) and write
// nothing when they fail.
//
// Thread-safety: free functions over the caller's connection.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/sqlite.h"
#include "common/value.h"

namespace crmsync::crm {

enum class SegmentAction { kAdd, kRemove, kRefine };

struct Criterion {
  std::string column;
  std::string op;  // "=", "!=", "like", "in"
  std::string value;
};

struct SegmentChange {
  int added = 0;
  int removed = 0;
  int members = 0;  // afterwards
};

std::string_view ActionName(SegmentAction action);

// Parses "COLUMN OP VALUE" (spaces around the operator optional for = and
// !=, required around like and in). kInvalidArgument naming the text when
// the column is not a contact column or the operator is not one of =, !=,
// like, in.
Result<Criterion> ParseCriterion(std::string_view text);

// Checks `criterion` against table contact: its column, operator and values.
Status CheckCriterion(const Criterion& criterion);

// Saves `criteria` as the segment's next step and applies it.
Result<SegmentChange> ApplySegmentStep(SqliteDb& db, std::string_view segment_no, SegmentAction action,
                                       const std::vector<Criterion>& criteria);

// Runs the segment's saved steps again, in order, from no members.
Result<SegmentChange> ReapplySegment(SqliteDb& db, std::string_view segment_no);

// The members' contact numbers, in order.
Result<std::vector<std::string>> SegmentMemberNos(SqliteDb& db, std::string_view segment_no);

// kInvalidArgument "contact: contact 'CT000099' does not exist" for the first
// number that is not a contact.
Status CheckContactsExist(SqliteDb& db, const std::vector<std::string>& contact_nos);

}  // namespace crmsync::crm
