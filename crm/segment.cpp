#include "crm/segment.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "crm/rows.h"
#include "crm/schema.h"
#include "crm/statement_cache.h"

namespace crmsync::crm {

namespace {

std::string Quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> SplitList(std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = value.find(',', start);
    const std::string_view part =
        Trim(value.substr(start, comma == std::string_view::npos ? value.npos : comma - start));
    out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string Shown(const Criterion& c) {
  return Quoted(c.column + " " + c.op + " " + c.value);
}

// The values a criterion compares with, as the contact column stores them.
Result<std::vector<Value>> CriterionValues(const Criterion& c) {
  const ColumnSpec* column = FindColumn(SpecOf(Table::kContact), c.column);
  if (column == nullptr) {
    return InvalidArgument("criterion " + Shown(c) + ": column " + Quoted(c.column) + " is not a contact column");
  }
  std::vector<Value> out;
  if (c.op == "like") {
    out.push_back(Value::Text(c.value));
    return out;
  }
  if (c.op != "=" && c.op != "!=" && c.op != "in") {
    return InvalidArgument("criterion " + Shown(c) + ": operator " + Quoted(c.op) + " is not one of =, !=, like, in");
  }
  const std::vector<std::string> texts = c.op == "in" ? SplitList(c.value) : std::vector<std::string>{c.value};
  for (const auto& text : texts) {
    if (c.op != "in" && text.empty()) {  // "city=": no city
      out.push_back(Value::Null());
      continue;
    }
    if (c.op == "in" && text.empty()) {
      return InvalidArgument("criterion " + Shown(c) + ": 'in' needs values separated by commas, none empty");
    }
    auto v = CoerceValue(*column, Value::Text(text));
    if (!v.ok()) return InvalidArgument("criterion " + Shown(c) + ": " + v.status().message());
    out.push_back(std::move(v).value());
  }
  return out;
}

// The contacts matching every criterion of a step.
Result<std::set<std::string>> Matching(SqliteDb& db, const std::vector<Criterion>& criteria) {
  std::string where;
  std::vector<Value> params;
  for (const auto& c : criteria) {
    CRMSYNC_ASSIGN_OR_RETURN(std::vector<Value> values, CriterionValues(c));
    const std::string name = QuoteName(c.column);  // a checked contact column
    std::string condition;
    if (c.op == "=") {
      condition = name + " IS ?";
    } else if (c.op == "!=") {
      condition = name + " IS NOT ?";
    } else if (c.op == "like") {
      condition = name + " LIKE ?";
    } else {
      condition = name + " IN (";
      for (std::size_t i = 0; i < values.size(); ++i) condition += i == 0 ? "?" : ", ?";
      condition += ")";
    }
    where += (where.empty() ? "" : " AND ") + condition;
    for (auto& v : values) params.push_back(std::move(v));
  }
  if (where.empty()) return InvalidArgument("a step needs at least one criterion");
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT no FROM contact WHERE " + where));
  for (std::size_t i = 0; i < params.size(); ++i) st.Bind(static_cast<int>(i) + 1, params[i]);
  std::set<std::string> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.insert(st.ColumnText(0));
  }
  return out;
}

void Apply(SegmentAction action, const std::set<std::string>& matched, std::set<std::string>& members) {
  switch (action) {
    case SegmentAction::kAdd: members.insert(matched.begin(), matched.end()); break;
    case SegmentAction::kRemove:
      for (const auto& no : matched) members.erase(no);
      break;
    case SegmentAction::kRefine:
      std::erase_if(members, [&](const std::string& no) { return !matched.contains(no); });
      break;
  }
}

Result<SegmentAction> ParseAction(std::string_view name) {
  if (name == "add") return SegmentAction::kAdd;
  if (name == "remove") return SegmentAction::kRemove;
  if (name == "refine") return SegmentAction::kRefine;
  return InvalidArgument("action " + Quoted(name) + " is not one of add, remove, refine");
}

Status CheckSegmentExists(SqliteDb& db, std::string_view segment_no) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT 1 FROM segment WHERE no = ?"));
  st.Bind(1, segment_no);
  CRMSYNC_ASSIGN_OR_RETURN(bool found, st.Step());
  if (!found) return NotFound("segment " + Quoted(segment_no) + " does not exist");
  return Status::Ok();
}

Result<std::set<std::string>> CurrentMembers(SqliteDb& db, std::string_view segment_no) {
  CRMSYNC_ASSIGN_OR_RETURN(std::vector<std::string> nos, SegmentMemberNos(db, segment_no));
  return std::set<std::string>(nos.begin(), nos.end());
}

// Writes the difference between the stored members and `wanted`.
Result<SegmentChange> Store(SqliteDb& db, std::string_view segment_no, const std::set<std::string>& wanted) {
  CRMSYNC_ASSIGN_OR_RETURN(std::set<std::string> current, CurrentMembers(db, segment_no));
  SegmentChange change;
  CRMSYNC_ASSIGN_OR_RETURN(auto insert,
                           db.Prepare("INSERT INTO segment_member (segment_no, contact_no) VALUES (?, ?)"));
  CRMSYNC_ASSIGN_OR_RETURN(auto erase,
                           db.Prepare("DELETE FROM segment_member WHERE segment_no = ? AND contact_no = ?"));
  for (const auto& no : current) {
    if (wanted.contains(no)) continue;
    erase.Reset();
    erase.Bind(1, segment_no).Bind(2, no);
    CRMSYNC_RETURN_IF_ERROR(erase.Run());
    ++change.removed;
  }
  for (const auto& no : wanted) {
    if (current.contains(no)) continue;
    insert.Reset();
    insert.Bind(1, segment_no).Bind(2, no);
    CRMSYNC_RETURN_IF_ERROR(insert.Run());
    ++change.added;
  }
  change.members = static_cast<int>(wanted.size());
  return change;
}

}  // namespace

std::string_view ActionName(SegmentAction action) {
  switch (action) {
    case SegmentAction::kAdd: return "add";
    case SegmentAction::kRemove: return "remove";
    case SegmentAction::kRefine: return "refine";
  }
  return "add";
}

Result<Criterion> ParseCriterion(std::string_view text) {
  const std::string shown = Quoted(text);
  const std::string_view trimmed = Trim(text);
  std::size_t i = 0;
  while (i < trimmed.size() && (std::isalnum(static_cast<unsigned char>(trimmed[i])) || trimmed[i] == '_')) ++i;
  Criterion c;
  c.column = std::string(trimmed.substr(0, i));
  std::string_view rest = trimmed.substr(i);
  const bool spaced = !rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()));
  rest = Trim(rest);
  if (c.column.empty()) return InvalidArgument("criterion " + shown + " does not start with a contact column");
  if (rest.starts_with("!=")) {
    c.op = "!=";
    rest.remove_prefix(2);
  } else if (rest.starts_with("=")) {
    c.op = "=";
    rest.remove_prefix(1);
  } else {
    std::size_t word = 0;
    while (word < rest.size() && std::isalpha(static_cast<unsigned char>(rest[word]))) ++word;
    const std::string op = Lower(rest.substr(0, word));
    if (!spaced || (op != "like" && op != "in") || word >= rest.size() ||
        !std::isspace(static_cast<unsigned char>(rest[word]))) {
      return InvalidArgument("criterion " + shown + ": the operator after '" + c.column +
                             "' is not one of =, !=, like, in (e.g. city=Paris, \"type in person,company\")");
    }
    c.op = op;
    rest.remove_prefix(word);
  }
  c.value = std::string(Trim(rest));
  CRMSYNC_RETURN_IF_ERROR(CheckCriterion(c));
  return c;
}

Status CheckCriterion(const Criterion& criterion) {
  return CriterionValues(criterion).status();
}

Result<SegmentChange> ApplySegmentStep(SqliteDb& db, std::string_view segment_no, SegmentAction action,
                                       const std::vector<Criterion>& criteria) {
  CRMSYNC_RETURN_IF_ERROR(CheckSegmentExists(db, segment_no));
  CRMSYNC_ASSIGN_OR_RETURN(std::set<std::string> matched, Matching(db, criteria));
  CRMSYNC_ASSIGN_OR_RETURN(auto next, db.Prepare("SELECT coalesce(max(step), 0) + 1, coalesce(max(line_no), 0) "
                                                 "FROM segment_criterion WHERE segment_no = ?"));
  next.Bind(1, segment_no);
  CRMSYNC_ASSIGN_OR_RETURN(bool row, next.Step());
  if (!row) return Internal("max(step) returned no row");
  const std::int64_t step = next.ColumnInt(0);
  std::int64_t line = next.ColumnInt(1);
  CRMSYNC_ASSIGN_OR_RETURN(auto save, db.Prepare("INSERT INTO segment_criterion "
                                                 "(segment_no, line_no, step, action, column_name, operator, value) "
                                                 "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  for (const auto& c : criteria) {
    save.Reset();
    save.Bind(1, segment_no).Bind(2, ++line).Bind(3, step).Bind(4, ActionName(action));
    save.Bind(5, c.column).Bind(6, c.op).Bind(7, c.value);
    CRMSYNC_RETURN_IF_ERROR(save.Run());
  }
  CRMSYNC_ASSIGN_OR_RETURN(std::set<std::string> members, CurrentMembers(db, segment_no));
  Apply(action, matched, members);
  return Store(db, segment_no, members);
}

Result<SegmentChange> ReapplySegment(SqliteDb& db, std::string_view segment_no) {
  CRMSYNC_RETURN_IF_ERROR(CheckSegmentExists(db, segment_no));
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT line_no, step, action, column_name, operator, value "
                                               "FROM segment_criterion WHERE segment_no = ? ORDER BY line_no"));
  st.Bind(1, segment_no);
  struct Step {
    std::int64_t number = 0;
    SegmentAction action = SegmentAction::kAdd;
    std::vector<Criterion> criteria;
  };
  std::vector<Step> steps;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    const std::string where = "segment_criterion line " + std::to_string(st.ColumnInt(0)) + ": ";
    auto action = ParseAction(st.ColumnText(2));
    if (!action.ok()) return InvalidArgument(where + action.status().message());
    if (steps.empty() || steps.back().number != st.ColumnInt(1)) {
      steps.push_back(Step{st.ColumnInt(1), *action, {}});
    } else if (steps.back().action != *action) {
      return InvalidArgument(where + "step " + std::to_string(st.ColumnInt(1)) + " has more than one action");
    }
    Criterion c{st.ColumnText(3), st.ColumnText(4), st.ColumnText(5)};
    if (Status s = CheckCriterion(c); !s.ok()) return InvalidArgument(where + s.message());
    steps.back().criteria.push_back(std::move(c));
  }
  std::set<std::string> members;
  for (const auto& step : steps) {
    CRMSYNC_ASSIGN_OR_RETURN(std::set<std::string> matched, Matching(db, step.criteria));
    Apply(step.action, matched, members);
  }
  return Store(db, segment_no, members);
}

Result<std::vector<std::string>> SegmentMemberNos(SqliteDb& db, std::string_view segment_no) {
  CRMSYNC_ASSIGN_OR_RETURN(
      auto st, db.Prepare("SELECT contact_no FROM segment_member WHERE segment_no = ? ORDER BY contact_no"));
  st.Bind(1, segment_no);
  std::vector<std::string> out;
  for (;;) {
    CRMSYNC_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(st.ColumnText(0));
  }
  return out;
}

Status CheckContactsExist(SqliteDb& db, const std::vector<std::string>& contact_nos) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT 1 FROM contact WHERE no = ?"));
  for (const auto& no : contact_nos) {
    st.Reset();
    st.Bind(1, no);
    CRMSYNC_ASSIGN_OR_RETURN(bool found, st.Step());
    if (!found) return InvalidArgument("contact: contact " + Quoted(no) + " does not exist");
  }
  return Status::Ok();
}

}  // namespace crmsync::crm
