#include "common/time_format.h"

#include <cstdio>
#include <ctime>

namespace crmsync {

std::string FormatUtc(std::chrono::system_clock::time_point t, bool with_millis) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf);
  if (with_millis) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms));
    out += frac;
  }
  return out + "Z";
}

namespace {

bool ParseDigits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseUtc(std::string_view s) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!ParseDigits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !ParseDigits(s, 5, 2, month) || s[7] != '-' ||
      !ParseDigits(s, 8, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  std::size_t pos = 10;
  int offset_minutes = 0;
  if (s.size() > 10) {
    if ((s[10] != 'T' && s[10] != ' ') || !ParseDigits(s, 11, 2, hour) || s.size() < 19 || s[13] != ':' ||
        !ParseDigits(s, 14, 2, minute) || s[16] != ':' || !ParseDigits(s, 17, 2, second)) {
      return std::nullopt;
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    pos = 19;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int digits = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (digits < 3) millis = millis * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return std::nullopt;
      for (int d = digits; d < 3; ++d) millis *= 10;
    }
    if (pos == s.size()) return std::nullopt;  // a time needs a zone
    if (s[pos] == 'Z' && pos + 1 == s.size()) {
      // UTC
    } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
      int oh = 0, om = 0;
      if (!ParseDigits(s, pos + 1, 2, oh) || !ParseDigits(s, pos + 4, 2, om)) return std::nullopt;
      offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    } else {
      return std::nullopt;
    }
  }
  using namespace std::chrono;
  const year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                           std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits (about 1677 to 2262): a date
  // outside that cannot be held, and converting it would overflow. The five
  // days of margin cover the time of day and the largest offset (+-99:99).
  constexpr sys_days kFirst = ceil<days>(system_clock::time_point::min()) + days(5);
  constexpr sys_days kLast = floor<days>(system_clock::time_point::max()) - days(5);
  if (sys_days(ymd) < kFirst || sys_days(ymd) > kLast) return std::nullopt;
  return sys_days(ymd) + hours(hour) + minutes(minute) + seconds(second) + milliseconds(millis) -
         minutes(offset_minutes);
}

}  // namespace crmsync
