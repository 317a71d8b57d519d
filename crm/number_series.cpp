#include "crm/number_series.h"

namespace crmsync::crm {

namespace {

// Bounds the skip over numbers taken by hand, so a series whose next
// thousand numbers are all taken fails instead of scanning forever.
constexpr int kMaxSkips = 1000;

Result<bool> RowExists(StatementCache& statements, const TableSpec& spec, const std::string& no) {
  CRMSYNC_ASSIGN_OR_RETURN(auto st, statements.Get("SELECT 1 FROM " + std::string(spec.name) + " WHERE " +
                                                   std::string(spec.key_columns[0]) + " = ?"));
  st->Bind(1, std::string_view(no));
  return st->Step();
}

}  // namespace

Result<std::string> IncrementNo(std::string_view no, std::int64_t by) {
  std::size_t start = no.size();
  while (start > 0 && no[start - 1] >= '0' && no[start - 1] <= '9') --start;
  if (start == no.size()) return InvalidArgument("number '" + std::string(no) + "' does not end in digits");
  if (by < 1) return InvalidArgument("increment " + std::to_string(by) + " is not positive");
  std::string digits(no.substr(start));
  // Decimal addition on the digit string: no width limit from integer types.
  std::string addend = std::to_string(by);
  if (addend.size() > digits.size()) {
    return InvalidArgument("cannot add " + addend + " to '" + std::string(no) + "' without more digits");
  }
  addend.insert(0, digits.size() - addend.size(), '0');
  int carry = 0;
  for (std::size_t i = digits.size(); i-- > 0;) {
    const int sum = (digits[i] - '0') + (addend[i] - '0') + carry;
    digits[i] = static_cast<char>('0' + sum % 10);
    carry = sum / 10;
  }
  if (carry != 0) {
    return InvalidArgument("number series ran out of digits after '" + std::string(no) + "'");
  }
  return std::string(no.substr(0, start)) + digits;
}

int CompareNo(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

Result<std::string> SeriesCodeFor(StatementCache& statements, const TableSpec& spec) {
  if (spec.series_setup_key.empty()) return std::string();
  CRMSYNC_ASSIGN_OR_RETURN(auto st, statements.Get("SELECT value FROM setup WHERE key = ?"));
  st->Bind(1, spec.series_setup_key);
  CRMSYNC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row || st->IsNull(0)) return std::string();
  return st->ColumnText(0);
}

namespace {

// The errors of TakeNextNo's search, built outside its loop.
Status SeriesExhausted(const std::string& code, const std::string& next, const std::string& ending) {
  return InvalidArgument("number series '" + code + "' is exhausted: next number " + next + " is past ending_no " +
                         ending);
}

Status SeriesTaken(const std::string& code, const std::string& last) {
  return InvalidArgument("number series '" + code + "': the next " + std::to_string(kMaxSkips) + " numbers after " +
                         last + " are all taken");
}

}  // namespace

Result<std::string> TakeNextNo(StatementCache& statements, const TableSpec& spec, std::string_view series_code) {
  const std::string code(series_code);
  CRMSYNC_ASSIGN_OR_RETURN(
      auto select_st, statements.Get("SELECT starting_no, ending_no, last_no_used, increment_by FROM number_series "
                                     "WHERE code = ?"));
  SqliteStatement& select = *select_st;
  select.Bind(1, std::string_view(code));
  CRMSYNC_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) {
    return InvalidArgument("number series '" + code + "' (setup " + std::string(spec.series_setup_key) +
                           ") does not exist");
  }
  const std::string starting = select.ColumnText(0);
  const std::string ending = select.IsNull(1) ? "" : select.ColumnText(1);
  const std::string last = select.IsNull(2) ? "" : select.ColumnText(2);
  const std::int64_t by = select.ColumnInt(3);

  std::string next;
  if (last.empty()) {
    next = starting;
  } else {
    auto incremented = IncrementNo(last, by);
    if (!incremented.ok()) return incremented.status().WithContext("number series '" + code + "'");
    next = *incremented;
  }
  for (int skips = 0;; ++skips) {
    if (!ending.empty() && CompareNo(next, ending) > 0) return SeriesExhausted(code, next, ending);
    CRMSYNC_ASSIGN_OR_RETURN(bool taken, RowExists(statements, spec, next));
    if (!taken) break;
    if (skips == kMaxSkips) return SeriesTaken(code, last);
    auto incremented = IncrementNo(next, by);
    if (!incremented.ok()) return incremented.status().WithContext("number series '" + code + "'");
    next = *incremented;
  }
  select.Reset();  // done with the series row
  CRMSYNC_ASSIGN_OR_RETURN(auto update, statements.Get("UPDATE number_series SET last_no_used = ? WHERE code = ?"));
  update->Bind(1, std::string_view(next)).Bind(2, std::string_view(code));
  CRMSYNC_RETURN_IF_ERROR(update->Run());
  return next;
}

Status CheckManualNo(StatementCache& statements, const TableSpec& spec, std::string_view series_code,
                     std::string_view no) {
  if (series_code.empty()) return Status::Ok();
  CRMSYNC_ASSIGN_OR_RETURN(auto st, statements.Get("SELECT allow_manual FROM number_series WHERE code = ?"));
  st->Bind(1, series_code);
  CRMSYNC_ASSIGN_OR_RETURN(bool found, st->Step());
  if (found && st->ColumnInt(0) == 0) {
    return InvalidArgument(std::string(spec.key_columns[0]) + " '" + std::string(no) + "': number series '" +
                           std::string(series_code) + "' does not allow numbers given by hand");
  }
  return Status::Ok();
}

}  // namespace crmsync::crm
